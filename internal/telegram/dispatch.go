package telegram

import (
	"context"
	"sync"
)

// dispatcher runs updates one chat at a time, each chat in its own
// goroutine, so that a chat waiting for its rate limit (or flooding us)
// never delays another chat. Each chat's queue is bounded: a flood beyond it
// is dropped. The total number of queued updates is bounded too, which
// gives the polling loop back-pressure and the webhook a reason to answer
// 503 (Telegram then retries).
type dispatcher struct {
	perChat int
	sem     chan struct{} // one slot per queued or running update

	mu     sync.Mutex
	queues map[int64][]func(context.Context) // chat ID in memory only
	wg     sync.WaitGroup
}

func newDispatcher(perChat, total int) *dispatcher {
	return &dispatcher{perChat: perChat, sem: make(chan struct{}, total), queues: make(map[int64][]func(context.Context))}
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
// false (and releases the slot) when the chat's queue is full.
func (d *dispatcher) submit(ctx context.Context, chat int64, fn func(context.Context)) bool {
	d.mu.Lock()
	q, running := d.queues[chat]
	if len(q) >= d.perChat {
		d.mu.Unlock()
		d.release()
		return false
	}
	d.queues[chat] = append(q, fn)
	if !running {
		d.wg.Add(1)
		go d.drain(ctx, chat)
	}
	d.mu.Unlock()
	return true
}

// drain runs chat's queue until it is empty, then forgets the chat.
func (d *dispatcher) drain(ctx context.Context, chat int64) {
	defer d.wg.Done()
	for {
		d.mu.Lock()
		q := d.queues[chat]
		if len(q) == 0 {
			delete(d.queues, chat)
			d.mu.Unlock()
			return
		}
		fn := q[0]
		q[0] = nil
		d.queues[chat] = q[1:]
		d.mu.Unlock()
		fn(ctx)
		d.release()
	}
}

// wait blocks until every queued update has run.
func (d *dispatcher) wait() { d.wg.Wait() }
