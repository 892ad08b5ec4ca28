// Package ratelimit owns Candid's in-memory limits: per-key token buckets
// (the web chat's per-asker and per-client limits) and sliding windows of
// failures (the console's login attempts). Keys are handles or digests,
// never raw identifiers.
//
// These are per process. With several replicas the Redis backend provides
// the same two limits with their state in Redis (redisstore.Store.Limiter
// and Window), so that every replica draws on one budget; ratelimittest
// holds the suite that both implementations pass.
package ratelimit

import (
	"context"
	"math"
	"sync"
	"time"
)

// Limiter allows Burst events at once and Rate events per second after that,
// for each key separately.
type Limiter struct {
	rate  float64
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	sweep   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// New returns a limiter; now may be nil (time.Now).
func New(perSecond float64, burst int, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{rate: perSecond, burst: float64(burst), now: now, buckets: map[string]*bucket{}}
}

// Allow takes one token for key. When none is left it returns false and how
// long until one is. (ctx is unused: it is there so that a limiter whose
// state is remote has the same method.)
func (l *Limiter) Allow(_ context.Context, key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.gc(now)
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return false, wait
}

// gc drops full buckets now and then, so memory follows active keys only.
func (l *Limiter) gc(now time.Time) {
	if now.Sub(l.sweep) < time.Minute {
		return
	}
	l.sweep = now
	full := time.Duration(l.burst / l.rate * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.last) > full {
			delete(l.buckets, k)
		}
	}
}

// Window counts events per key over a sliding window: failed logins, say,
// where an attacker must not get a fresh budget by waiting for a refill
// tick.
type Window struct {
	span time.Duration
	now  func() time.Time

	mu     sync.Mutex
	events map[string][]time.Time
}

// maxWindowKeys bounds memory under a flood of distinct keys: past it, keys
// with no event left in the window are dropped.
const maxWindowKeys = 10000

// NewWindow counts events over span; now may be nil (time.Now).
func NewWindow(span time.Duration, now func() time.Time) *Window {
	if now == nil {
		now = time.Now
	}
	return &Window{span: span, now: now, events: map[string][]time.Time{}}
}

// Count returns how many events key had in the window.
func (w *Window) Count(_ context.Context, key string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	keep := w.recent(key, w.now())
	if len(keep) == 0 {
		delete(w.events, key)
	} else {
		w.events[key] = keep
	}
	return len(keep)
}

// Add records an event for key now.
func (w *Window) Add(_ context.Context, key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	if len(w.events) > maxWindowKeys {
		for k := range w.events {
			if len(w.recent(k, now)) == 0 {
				delete(w.events, k)
			}
		}
	}
	w.events[key] = append(w.recent(key, now), now)
}

// Reset forgets key's events (a successful login clears its failures).
func (w *Window) Reset(_ context.Context, key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.events, key)
}

func (w *Window) recent(key string, now time.Time) []time.Time {
	var keep []time.Time
	for _, t := range w.events[key] {
		if now.Sub(t) < w.span {
			keep = append(keep, t)
		}
	}
	return keep
}
