package ratelimit

import (
	"context"
	"testing"
	"time"

	"github.com/candid-app/candid/internal/ratelimit/ratelimittest"
)

func TestLimiterSuite(t *testing.T) {
	ratelimittest.TestLimiter(t, func(t *testing.T, perSecond float64, burst int) (a, b ratelimittest.Limiter) {
		l := New(perSecond, burst, nil)
		return l, l
	})
}

func TestWindowSuite(t *testing.T) {
	ratelimittest.TestWindow(t, func(t *testing.T, span time.Duration) (a, b ratelimittest.Window) {
		w := NewWindow(span, nil)
		return w, w
	})
}

// TestLimiterClock checks the refill arithmetic and the collection of idle
// buckets on a fake clock.
func TestLimiterClock(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1000, 0)
	l := New(1, 3, func() time.Time { return now })
	for i := 0; i < 3; i++ {
		if ok, _ := l.Allow(ctx, "a"); !ok {
			t.Fatalf("burst %d refused", i)
		}
	}
	ok, wait := l.Allow(ctx, "a")
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("4th: ok=%v wait=%v", ok, wait)
	}
	if ok, _ := l.Allow(ctx, "b"); !ok {
		t.Fatal("another key is throttled by a")
	}
	now = now.Add(time.Second)
	if ok, _ := l.Allow(ctx, "a"); !ok {
		t.Fatal("no refill after 1s")
	}
	now = now.Add(time.Hour)
	l.Allow(ctx, "c")
	if _, ok := l.buckets["a"]; ok {
		t.Fatal("idle bucket not collected")
	}
}

// TestWindowMemoryBound: a flood of distinct keys does not grow the window
// without bound once their events are old.
func TestWindowMemoryBound(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1000, 0)
	w := NewWindow(time.Minute, func() time.Time { return now })
	for i := range maxWindowKeys + 10 {
		w.Add(ctx, string(rune(i))+"k")
	}
	now = now.Add(2 * time.Minute)
	w.Add(ctx, "fresh")
	if n := len(w.events); n != 1 {
		t.Errorf("%d keys kept after their events left the window, want 1", n)
	}
}
