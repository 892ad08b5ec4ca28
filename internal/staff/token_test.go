package staff

import (
	"context"
	"log/slog"
	"strings"

	"errors"
	"fmt"
	"github.com/candid-app/candid/internal/logtest"
	"testing"
	"time"
)

// TestTokenExpiryListRevoke: tokens expire, are listed by ID (never the
// token or its full hash), and are revoked one by one.
func TestTokenExpiryListRevoke(t *testing.T) {
	svc, _, clock := newTest(t)
	ctx := context.Background()
	svc.Add(ctx, "bot", "moderator")
	short, rec, err := svc.NewTokenTTL(ctx, "bot", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.ExpiresAt.Equal(clock.Now().UTC().Add(time.Hour)) || len(rec.ID()) != 12 {
		t.Fatalf("record %+v", rec)
	}
	long, err := svc.NewToken(ctx, "bot")
	if err != nil {
		t.Fatal(err)
	}
	for _, ttl := range []time.Duration{0, time.Second, -time.Hour, MaxTokenTTL + time.Hour} {
		if _, _, err := svc.NewTokenTTL(ctx, "bot", ttl); !errors.Is(err, ErrInvalid) {
			t.Errorf("ttl %v: err %v, want ErrInvalid", ttl, err)
		}
	}

	list, err := svc.Tokens(ctx, "bot")
	if err != nil || len(list) != 2 {
		t.Fatalf("Tokens = %+v %v", list, err)
	}
	for _, l := range list {
		if len(l.Hash) != 12 || l.Hash == hashSecret(short) || l.Hash == hashSecret(long) {
			t.Errorf("the list shows more than the ID: %+v", l)
		}
	}

	// Past its expiry the short token is refused; the long one still works.
	clock.Advance(time.Hour)
	if _, err := svc.Token(ctx, short); !errors.Is(err, ErrBadToken) {
		t.Errorf("expired token: %v", err)
	}
	if a, err := svc.Token(ctx, long); err != nil || a.Name != "bot" {
		t.Errorf("valid token: %+v %v", a, err)
	}

	// Revoke by ID.
	longID := hashSecret(long)[:12]
	for _, bad := range []string{"", "abc", "000000000000", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"} {
		if err := svc.RevokeToken(ctx, "bot", bad); err == nil {
			t.Errorf("revoke %q: no error", bad)
		}
	}
	if err := svc.RevokeToken(ctx, "nobody", longID); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoke for an unknown account: %v", err)
	}
	if err := svc.RevokeToken(ctx, "bot", longID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Token(ctx, long); !errors.Is(err, ErrBadToken) {
		t.Errorf("revoked token still works: %v", err)
	}
	if list, _ := svc.Tokens(ctx, "bot"); len(list) != 1 {
		t.Errorf("after revoking: %+v", list)
	}
}

// TestGlobalFailureBudget: failures from many names and addresses share
// one service-wide budget; past it every login waits for the window (the
// price of stopping a spray from a botnet), and then works again.
func TestGlobalFailureBudget(t *testing.T) {
	svc, _, clock := newTest(t)
	svc.global = 20
	ctx := context.Background()
	pw, err := svc.Add(ctx, "alice", "moderator")
	if err != nil {
		t.Fatal(err)
	}
	limited := 0
	for i := range 40 {
		if _, _, err := svc.Login(ctx, fmt.Sprintf("user%d", i), "guess", fmt.Sprintf("203.0.113.%d", i)); errors.Is(err, ErrRateLimited) {
			limited++
		}
	}
	if limited != 20 {
		t.Errorf("%d of 40 sprayed attempts refused, want 20", limited)
	}
	if _, _, err := svc.Login(ctx, "alice", pw, "198.51.100.7"); !errors.Is(err, ErrRateLimited) {
		t.Errorf("during the spray: %v, want ErrRateLimited", err)
	}
	clock.Advance(LoginWindow + time.Second)
	if _, _, err := svc.Login(ctx, "alice", pw, "198.51.100.7"); err != nil {
		t.Errorf("after the window: %v", err)
	}
}

// LoginRefused answers what Login would for a spent budget, without
// counting: asking it any number of times spends nothing.
func TestLoginRefusedPeeks(t *testing.T) {
	svc, _, clock := newTest(t)
	svc.global = 10
	ctx := context.Background()
	pw, _ := svc.Add(ctx, "alice", "moderator")
	for range 100 {
		if svc.LoginRefused(ctx, "alice", "198.51.100.7") {
			t.Fatal("refused with no failures")
		}
	}
	for range svc.attempts {
		svc.Login(ctx, "alice", "wrong", "198.51.100.7")
	}
	if !svc.LoginRefused(ctx, "alice", "198.51.100.7") {
		t.Error("the name's budget is spent from this address, yet not refused")
	}
	if svc.LoginRefused(ctx, "alice", "198.51.100.8") {
		t.Error("another address refused by the name's budget from the first")
	}
	for i := range 10 {
		svc.Login(ctx, fmt.Sprintf("user%d", i), "guess", fmt.Sprintf("203.0.113.%d", i))
	}
	if !svc.LoginRefused(ctx, "bob", "192.0.2.1") {
		t.Error("the service-wide budget is spent, yet a new name and address are not refused")
	}
	clock.Advance(LoginWindow + time.Second)
	if svc.LoginRefused(ctx, "alice", "198.51.100.7") {
		t.Error("still refused after the window")
	}
	if _, _, err := svc.Login(ctx, "alice", pw, "198.51.100.7"); err != nil {
		t.Errorf("login after the window: %v", err)
	}
}

// A flood of refusals writes one log line a minute, saying how many it held
// back, not one per attempt.
func TestRefusalsLogThrottled(t *testing.T) {
	var logs logtest.Buffer
	svc, _, clock := newTest(t)
	svc.log = slog.New(slog.NewTextHandler(&logs, nil))
	svc.warn = &throttledLog{log: svc.log, every: time.Minute, now: svc.now}
	ctx := context.Background()
	for range 200 {
		svc.Login(ctx, "alice", "wrong", "198.51.100.7")
	}
	if n := strings.Count(logs.String(), "login rate-limited"); n != 1 {
		t.Fatalf("%d log lines for 195 refusals in a minute, want 1:\n%s", n, logs.String())
	}
	clock.Advance(2 * time.Minute)
	svc.Login(ctx, "alice", "wrong", "198.51.100.7")
	if !strings.Contains(logs.String(), "held_back=") {
		t.Errorf("the next line does not say how many were held back:\n%s", logs.String())
	}
}
