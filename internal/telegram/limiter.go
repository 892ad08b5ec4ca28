package telegram

import (
	"context"
	"sync"
	"time"
)

// Telegram's documented guidance: about one message a second in one chat
// (short bursts are tolerated) and about 30 a second overall.
const (
	defaultChatRate   = 1.0
	defaultChatBurst  = 3
	defaultGlobalRate = 30.0
	maxChatBuckets    = 10000 // idle buckets beyond this are forgotten
)

// bucket is a token bucket that can also be paused (after a 429).
type bucket struct {
	tokens float64
	last   time.Time
	paused time.Time // no sends before this
}

// limiter enforces the per-chat and the global send rate, in memory. The
// per-chat buckets are keyed by chat ID, which lives only here, in memory,
// and only while the chat is active.
type limiter struct {
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	chatRate, chatBurst     float64
	globalRate, globalBurst float64

	mu     sync.Mutex
	global bucket
	chats  map[int64]*bucket
}

func newLimiter(now func() time.Time, sleep func(context.Context, time.Duration) error) *limiter {
	return &limiter{
		now: now, sleep: sleep,
		chatRate: defaultChatRate, chatBurst: defaultChatBurst,
		globalRate: defaultGlobalRate, globalBurst: defaultGlobalRate,
		global: bucket{tokens: defaultGlobalRate, last: now()},
		chats:  make(map[int64]*bucket),
	}
}

// refill adds the tokens earned since b.last and returns how long until one
// token is available (0 if one is).
func refill(b *bucket, now time.Time, rate, burst float64) time.Duration {
	if now.After(b.last) {
		b.tokens += now.Sub(b.last).Seconds() * rate
		if b.tokens > burst {
			b.tokens = burst
		}
		b.last = now
	}
	var wait time.Duration
	if b.tokens < 1 {
		wait = time.Duration((1 - b.tokens) / rate * float64(time.Second))
		if wait <= 0 {
			wait = time.Millisecond
		}
	}
	if p := b.paused.Sub(now); p > wait {
		wait = p
	}
	return wait
}

// wait blocks until both the chat (when chat != 0) and the global bucket
// allow one message, then takes a token from each. A slow chat never holds
// the lock while it waits, so other chats go on.
func (l *limiter) wait(ctx context.Context, chat int64) error {
	for {
		l.mu.Lock()
		now := l.now()
		w := refill(&l.global, now, l.globalRate, l.globalBurst)
		var cb *bucket
		if chat != 0 {
			cb = l.chatBucket(chat, now)
			if cw := refill(cb, now, l.chatRate, l.chatBurst); cw > w {
				w = cw
			}
		}
		if w == 0 {
			l.global.tokens--
			if cb != nil {
				cb.tokens--
			}
			l.mu.Unlock()
			return nil
		}
		l.mu.Unlock()
		if err := l.sleep(ctx, w); err != nil {
			return err
		}
	}
}

// pause stops sends to chat (or all sends, when chat == 0) until now+d: how
// a 429's retry_after is honoured.
func (l *limiter) pause(chat int64, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := &l.global
	if chat != 0 {
		b = l.chatBucket(chat, now)
	}
	if until := now.Add(d); until.After(b.paused) {
		b.paused = until
	}
}

// chatBucket returns chat's bucket, creating it full. When the map grows
// large, buckets that are full again (idle for a while) are dropped: they
// carry no information a new full bucket would not.
func (l *limiter) chatBucket(chat int64, now time.Time) *bucket {
	if b, ok := l.chats[chat]; ok {
		return b
	}
	if len(l.chats) >= maxChatBuckets {
		for id, b := range l.chats {
			refill(b, now, l.chatRate, l.chatBurst)
			if b.tokens >= l.chatBurst && !b.paused.After(now) {
				delete(l.chats, id)
			}
		}
	}
	b := &bucket{tokens: l.chatBurst, last: now}
	l.chats[chat] = b
	return b
}

// sleepCtx sleeps for d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
