package redisstore_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/candid-app/candid/internal/logtest"
	"github.com/candid-app/candid/internal/ratelimit/ratelimittest"
	"github.com/candid-app/candid/internal/store/redisstore"
	"github.com/candid-app/candid/internal/store/redisstore/redistest"
)

// replicas opens two stores on one real redis-server under a fresh prefix:
// what two Candid replicas see.
func replicas(t *testing.T, srv *redistest.Server, n *atomic.Int64) (a, b *redisstore.Store, prefix string) {
	prefix = fmt.Sprintf("rltest%d:", n.Add(1))
	a = open(t, redisstore.Options{URL: srv.URL, Prefix: prefix, Logger: quiet})
	b = open(t, redisstore.Options{URL: srv.URL, Prefix: prefix, Logger: quiet})
	return a, b, prefix
}

// TestLimitsRedisServer runs the rate-limit suite against a real
// redis-server, each limit seen through two stores (two replicas).
func TestLimitsRedisServer(t *testing.T) {
	srv := redistest.Start(t)
	var n atomic.Int64
	ratelimittest.TestLimiter(t, func(t *testing.T, perSecond float64, burst int) (a, b ratelimittest.Limiter) {
		sa, sb, _ := replicas(t, srv, &n)
		return sa.Limiter("asker", perSecond, burst), sb.Limiter("asker", perSecond, burst)
	})
	ratelimittest.TestWindow(t, func(t *testing.T, span time.Duration) (a, b ratelimittest.Window) {
		sa, sb, _ := replicas(t, srv, &n)
		return sa.Window("login", span), sb.Window("login", span)
	})
}

// TestLimitsStoreNoKey: what the limits store in Redis holds no caller key
// as given (a handle, or a login name and client address), and two limits
// with different names do not share a budget.
func TestLimitsStoreNoKey(t *testing.T) {
	srv := redistest.Start(t)
	var n atomic.Int64
	s, _, prefix := replicas(t, srv, &n)
	ctx := context.Background()
	const handle, login = "web-handle-7f3a9c", "alice\x00203.0.113.9"
	l := s.Limiter("asker", 1.0/3600, 1)
	l.Allow(ctx, handle)
	if ok, _ := l.Allow(ctx, handle); ok {
		t.Fatal("the second event of a burst of 1 was allowed")
	}
	if ok, _ := s.Limiter("client", 1.0/3600, 1).Allow(ctx, handle); !ok {
		t.Error("the client limit shares the asker limit's budget")
	}
	s.Window("login", time.Hour).Add(ctx, login)
	dump, err := redistest.Dump(ctx, s.Client(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	if len(dump) == 0 {
		t.Fatal("nothing was stored")
	}
	for _, raw := range []string{handle, "alice", "203.0.113.9"} {
		if bytes.Contains(dump, []byte(raw)) {
			t.Errorf("Redis holds %q as given", raw)
		}
	}
}

// TestLimitsFailOpen: with Redis gone the limits allow and count nothing,
// and the error is logged without the caller's key.
func TestLimitsFailOpen(t *testing.T) {
	mr := miniredis.RunT(t)
	var logs logtest.Buffer
	s := open(t, redisstore.Options{Addr: mr.Addr(), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	mr.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	const key = "web-handle-secret"
	l := s.Limiter("asker", 1.0/3600, 1)
	for i := range 3 {
		if ok, _ := l.Allow(ctx, key); !ok {
			t.Fatalf("event %d refused while Redis is down", i+1)
		}
	}
	w := s.Window("login", time.Hour)
	w.Add(ctx, key)
	if n := w.Count(ctx, key); n != 0 {
		t.Errorf("count %d while Redis is down", n)
	}
	w.Reset(ctx, key)
	out := logs.String()
	if !strings.Contains(out, "redis rate limit unavailable") || !strings.Contains(out, "redis window unavailable") {
		t.Errorf("the outage was not logged: %s", out)
	}
	if strings.Contains(out, key) {
		t.Errorf("a log line holds the caller's key: %s", out)
	}
}
