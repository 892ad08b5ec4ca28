// Package ratelimittest is the conformance suite that every implementation
// of Candid's two limits passes: the in-memory ones of package ratelimit and
// the Redis ones of redisstore, whose state several replicas share.
package ratelimittest

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Limiter is a token bucket per key (ratelimit.Limiter, redisstore.Limiter).
type Limiter interface {
	Allow(ctx context.Context, key string) (bool, time.Duration)
}

// Window counts events per key over a sliding window (ratelimit.Window,
// redisstore.Window).
type Window interface {
	Count(ctx context.Context, key string) int
	Add(ctx context.Context, key string)
	Reset(ctx context.Context, key string)
}

// NewLimiter returns two handles on one limiter's state: what two replicas
// see (for an in-memory limiter, the same one twice).
type NewLimiter func(t *testing.T, perSecond float64, burst int) (a, b Limiter)

// NewWindow is NewLimiter for windows.
type NewWindow func(t *testing.T, span time.Duration) (a, b Window)

// hostileKeys are keys a caller could pass; each must get its own budget.
func hostileKeys() []string {
	return []string{"", "\x00", "a\x00b", "\xff\xfe invalid utf-8", strings.Repeat("k", 10<<10), "*", "{tag}", "key with spaces"}
}

// TestLimiter runs the token-bucket suite.
func TestLimiter(t *testing.T, newLimiter NewLimiter) {
	ctx := context.Background()
	t.Run("burst then refuse, shared by both handles", func(t *testing.T) {
		// One token an hour: no refill can happen during the test, however
		// slow the machine.
		a, b := newLimiter(t, 1.0/3600, 3)
		for i, l := range []Limiter{a, b, a} {
			if ok, _ := l.Allow(ctx, "asker-1"); !ok {
				t.Fatalf("event %d of a burst of 3 was refused", i+1)
			}
		}
		ok, wait := b.Allow(ctx, "asker-1")
		if ok {
			t.Fatal("a 4th event within the burst of 3 was allowed: the handles do not share the budget")
		}
		if wait <= 0 || wait > time.Hour+time.Second {
			t.Errorf("refused with wait %v, want (0, 1h]", wait)
		}
		if ok, _ := a.Allow(ctx, "asker-2"); !ok {
			t.Error("another key is throttled by asker-1")
		}
	})
	t.Run("refills", func(t *testing.T) {
		a, _ := newLimiter(t, 50, 1)
		if ok, _ := a.Allow(ctx, "k"); !ok {
			t.Fatal("the first event was refused")
		}
		// A token comes back 20 ms later; poll for it (a slow machine only
		// makes more tokens, so this cannot pass by accident).
		deadline := time.Now().Add(5 * time.Second)
		for {
			if ok, _ := a.Allow(ctx, "k"); ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("no token came back within 5s at 50 a second")
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	t.Run("hostile keys", func(t *testing.T) {
		a, b := newLimiter(t, 1.0/3600, 2)
		for _, k := range hostileKeys() {
			if ok, _ := a.Allow(ctx, k); !ok {
				t.Errorf("key %.20q: first event refused", k)
			}
			if ok, _ := b.Allow(ctx, k); !ok {
				t.Errorf("key %.20q: second event refused", k)
			}
			if ok, _ := a.Allow(ctx, k); ok {
				t.Errorf("key %.20q: third event of a burst of 2 allowed", k)
			}
		}
	})
}

// TestWindow runs the sliding-window suite.
func TestWindow(t *testing.T, newWindow NewWindow) {
	ctx := context.Background()
	t.Run("counts, shared by both handles, and resets", func(t *testing.T) {
		a, b := newWindow(t, time.Hour)
		if n := a.Count(ctx, "name\x00client"); n != 0 {
			t.Fatalf("a new key counts %d", n)
		}
		a.Add(ctx, "name\x00client")
		b.Add(ctx, "name\x00client")
		a.Add(ctx, "name\x00client")
		if n := b.Count(ctx, "name\x00client"); n != 3 {
			t.Fatalf("count after 3 events = %d, want 3: the handles do not share the window", n)
		}
		if n := a.Count(ctx, "other"); n != 0 {
			t.Errorf("another key counts %d", n)
		}
		b.Reset(ctx, "name\x00client")
		if n := a.Count(ctx, "name\x00client"); n != 0 {
			t.Errorf("count after reset = %d", n)
		}
	})
	t.Run("events leave the window", func(t *testing.T) {
		a, _ := newWindow(t, 100*time.Millisecond)
		a.Add(ctx, "k")
		deadline := time.Now().Add(5 * time.Second)
		for a.Count(ctx, "k") != 0 {
			if time.Now().After(deadline) {
				t.Fatal("an event 5s old still counts in a 100ms window")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	t.Run("hostile keys in a window", func(t *testing.T) {
		a, b := newWindow(t, time.Hour)
		for i, k := range hostileKeys() {
			for range i + 1 {
				a.Add(ctx, k)
			}
		}
		for i, k := range hostileKeys() {
			if n := b.Count(ctx, k); n != i+1 {
				t.Errorf("key %.20q counts %d, want %d", k, n, i+1)
			}
		}
	})
}
