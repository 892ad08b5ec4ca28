package telegram

import (
	"context"
	"sync"
)

// dispatcher runs updates one chat at a time, each chat in its own
// goroutine, so that a chat waiting for its rate limit (or flooding us)
// never delays another chat. Each chat's queue is bounded: a flood beyond it
// is not queued (the Bot gives what needs help the help all the same, and
// drops the rest). The total number of queued updates is bounded too, which
// gives the polling loop back-pressure and the webhook a reason to answer
// 503 (Telegram then retries).
//
// Help for a danger goes in a chat's first lane: it runs before the chat's
// other waiting updates, and has a bound of its own, so a flood of ordinary
// messages never keeps it out and a flood of alarming ones cannot take every
// slot.
type dispatcher struct {
	perChat int
	sem     chan struct{} // one slot per queued or running update

	mu     sync.Mutex
	queues map[int64]*chatQueue // chat ID in memory only
	wg     sync.WaitGroup
}

type chatQueue struct {
	first []job // help for a danger
	rest  []job
}

// job is one queued update; slot says it holds a queue slot, which drain
// gives back once it has run (an urgent reply holds none).
type job struct {
	fn   func(context.Context)
	slot bool
}

func newDispatcher(perChat, total int) *dispatcher {
	return &dispatcher{perChat: perChat, sem: make(chan struct{}, total), queues: make(map[int64]*chatQueue)}
}

// tryAcquire takes one slot if one is free.
func (d *dispatcher) tryAcquire() bool {
	select {
	case d.sem <- struct{}{}:
		return true
	default:
		return false
	}
}

// acquire takes one slot, waiting for one.
func (d *dispatcher) acquire(ctx context.Context) error {
	select {
	case d.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (d *dispatcher) release() { <-d.sem }

// submit queues fn for chat, using a slot the caller acquired. It reports
// false when the chat's queue is full; the caller still holds the slot.
func (d *dispatcher) submit(ctx context.Context, chat int64, fn func(context.Context)) bool {
	return d.enqueue(ctx, chat, job{fn: fn, slot: true}, false, false)
}

// submitFirst queues fn ahead of chat's other waiting updates (behind help
// queued earlier), using a slot the caller acquired. It reports false when
// the chat's first lane is full; the caller still holds the slot.
func (d *dispatcher) submitFirst(ctx context.Context, chat int64, fn func(context.Context)) bool {
	return d.enqueue(ctx, chat, job{fn: fn, slot: true}, true, false)
}

// submitUrgent queues the reply to a present danger in chat's first lane
// without a queue slot, always: no cap stands between a person in danger
// and the help. The caller checks firstHasRoom first, so a flood of
// alarming messages still finds the lane's bound.
func (d *dispatcher) submitUrgent(ctx context.Context, chat int64, fn func(context.Context)) {
	d.enqueue(ctx, chat, job{fn: fn}, true, true)
}

// firstHasRoom reports whether submitFirst would take one more for chat.
func (d *dispatcher) firstHasRoom(chat int64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	q := d.queues[chat]
	return q == nil || len(q.first) < d.perChat
}

func (d *dispatcher) enqueue(ctx context.Context, chat int64, j job, first, always bool) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	q, running := d.queues[chat]
	if !running {
		q = &chatQueue{}
	}
	lane := &q.rest
	if first {
		lane = &q.first
	}
	if len(*lane) >= d.perChat && !always {
		return false
	}
	*lane = append(*lane, j)
	if !running {
		d.queues[chat] = q
		d.wg.Add(1)
		go d.drain(ctx, chat)
	}
	return true
}

// drain runs chat's queue until it is empty, then forgets the chat.
func (d *dispatcher) drain(ctx context.Context, chat int64) {
	defer d.wg.Done()
	for {
		d.mu.Lock()
		q := d.queues[chat]
		var j job
		switch {
		case len(q.first) > 0:
			j, q.first[0], q.first = q.first[0], job{}, q.first[1:]
		case len(q.rest) > 0:
			j, q.rest[0], q.rest = q.rest[0], job{}, q.rest[1:]
		default:
			delete(d.queues, chat)
			d.mu.Unlock()
			return
		}
		d.mu.Unlock()
		j.fn(ctx)
		if j.slot {
			d.release()
		}
	}
}

// wait blocks until every queued update has run.
func (d *dispatcher) wait() { d.wg.Wait() }
