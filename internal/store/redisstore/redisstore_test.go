package redisstore_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/candid-app/candid/internal/store"
	"github.com/candid-app/candid/internal/store/redisstore"
	"github.com/candid-app/candid/internal/store/redisstore/redistest"
	"github.com/candid-app/candid/internal/store/storetest"
)

var quiet = slog.New(slog.DiscardHandler)

func open(t *testing.T, opts redisstore.Options) *redisstore.Store {
	t.Helper()
	s, err := redisstore.New(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func raw(s *redisstore.Store, prefix string) func(t *testing.T) []byte {
	return func(t *testing.T) []byte {
		b, err := redistest.Dump(context.Background(), s.Client(), prefix)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}

// startMiniredis follows clock: EXPIREAT is computed against it and TTLs
// run down as it advances.
func startMiniredis(t *testing.T, clock *storetest.Clock) *miniredis.Miniredis {
	mr := miniredis.RunT(t)
	mr.SetTime(clock.Now())
	clock.OnAdvance(func(now time.Time, d time.Duration) {
		mr.SetTime(now)
		mr.FastForward(d)
	})
	return mr
}

func TestConformanceMiniredis(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock) storetest.Backend {
		mr := startMiniredis(t, clock)
		s := open(t, redisstore.Options{Addr: mr.Addr(), Now: clock.Now, Logger: quiet})
		return storetest.Backend{Store: s, Raw: raw(s, "candid:")}
	})
}

// TestConformanceRedisServer runs the suite against a real redis-server,
// one server for all subtests, each under its own prefix. The server's TTLs
// follow real time, not the suite's clock: this checks that correctness
// never depends on Redis expiring keys.
func TestConformanceRedisServer(t *testing.T) {
	srv := redistest.Start(t)
	var n atomic.Int64
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock) storetest.Backend {
		prefix := fmt.Sprintf("candidtest%d:", n.Add(1))
		s := open(t, redisstore.Options{URL: srv.URL, Prefix: prefix, Now: clock.Now, Logger: quiet})
		return storetest.Backend{Store: s, Raw: raw(s, prefix)}
	})
}

func TestUnreachable(t *testing.T) {
	mr := miniredis.RunT(t)
	addr := mr.Addr()
	mr.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := redisstore.New(ctx, redisstore.Options{Addr: addr, Logger: quiet})
	if err == nil {
		t.Fatal("New succeeded against a closed port")
	}
	if !strings.Contains(err.Error(), "unreachable") || !strings.Contains(err.Error(), addr) {
		t.Errorf("unclear error: %v", err)
	}
	_, err = redisstore.New(ctx, redisstore.Options{URL: "redis://user:s3cret@[bad", Logger: quiet})
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("bad URL: %v (must fail and not echo the password)", err)
	}
}

// TestTTLSafetyNet checks that Redis removes asker data by itself when no
// replica runs Purge: every record key carries a TTL.
func TestTTLSafetyNet(t *testing.T) {
	clock := storetest.NewClock(time.Now().Truncate(time.Millisecond))
	mr := startMiniredis(t, clock)
	s := open(t, redisstore.Options{Addr: mr.Addr(), Now: clock.Now, Logger: quiet})
	ctx := t.Context()
	exp := clock.Now().Add(time.Hour)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.PutMessage(ctx, store.Message{ID: "m", Handle: "h", Text: "x", ExpiresAt: exp}))
	must(s.PutState(ctx, "h", "k", []byte("v"), time.Hour))
	must(s.CreateTicket(ctx, store.Ticket{ID: "t", Handle: "h", Question: "q", ExpiresAt: exp}, store.AuditEntry{}))
	tk, err := s.Ticket(ctx, "t")
	must(err)
	tk.State = store.TicketAnswered
	_, err = s.UpdateTicket(ctx, tk, store.AuditEntry{}, &store.OutboxItem{ID: "o", Text: "a"})
	must(err)
	must(s.Block(ctx, "h", exp))
	_, err = s.Once(ctx, "e", time.Hour)
	must(err)
	must(s.PutSession(ctx, store.Session{IDHash: "s", Staff: "ann", ExpiresAt: exp}))

	for _, k := range mr.Keys() {
		switch {
		case k == "candid:exp" || k == "candid:odue" || strings.HasPrefix(k, "candid:ts:"):
			// shared indexes; Purge trims them
		default:
			if ttl := mr.TTL(k); ttl <= 0 {
				t.Errorf("key %q has no TTL", k)
			}
		}
	}
	clock.Advance(2*time.Hour + time.Minute) // past expiry + grace
	for _, k := range mr.Keys() {
		if strings.Contains(k, "h") && (strings.HasPrefix(k, "candid:msg:") || strings.HasPrefix(k, "candid:st:") ||
			strings.HasPrefix(k, "candid:h:") || k == "candid:t:t" || k == "candid:a:t" || k == "candid:o:o") {
			t.Errorf("key %q outlived its TTL", k)
		}
	}
	// Purge still cleans the indexes up (and counts each record once).
	rep, err := s.Purge(ctx, clock.Now())
	must(err)
	t.Logf("purge after TTLs: %+v", rep)
	if left := mr.Keys(); len(left) != 0 {
		t.Errorf("keys left after Purge: %q", left)
	}
}

func TestPrefixIsolation(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	a := open(t, redisstore.Options{Client: rdb, Prefix: "a:", Logger: quiet})
	b := open(t, redisstore.Options{Client: rdb, Prefix: "b:", Logger: quiet})
	ctx := t.Context()
	if err := a.PutMessage(ctx, store.Message{ID: "1", Handle: "h", Text: "x", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if msgs, _ := b.Messages(ctx, "h", 0); len(msgs) != 0 {
		t.Errorf("prefix b sees prefix a's messages")
	}
	if rep, _ := b.Forget(ctx, "h"); rep != (store.ForgetReport{}) {
		t.Errorf("forget under b touched a: %+v", rep)
	}
	if msgs, _ := a.Messages(ctx, "h", 0); len(msgs) != 1 {
		t.Errorf("a lost its message")
	}
}
