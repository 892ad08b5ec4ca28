package staff

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/candid-app/candid/internal/moderation"
	"github.com/candid-app/candid/internal/store/boltstore"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// cheap are argon2id parameters that keep tests fast; the format and code
// path are the production ones.
var cheap = hashParams{memory: 64, time: 1, threads: 1}

func newTest(t *testing.T) (*Service, *boltstore.Store, *clock) {
	t.Helper()
	c := &clock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "candid.db"), boltstore.Options{Timeout: time.Second, Now: c.Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := New(Options{Store: st, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	svc.params = cheap
	svc.dummyHash = cheap.hash("dummy")
	return svc, st, c
}

func TestAddAndLogin(t *testing.T) {
	svc, st, _ := newTest(t)
	ctx := context.Background()
	pw, err := svc.Add(ctx, "alice", moderation.RoleModerator)
	if err != nil {
		t.Fatal(err)
	}
	if len(pw) < 20 {
		t.Fatalf("generated password %q is short", pw)
	}
	rec, _ := st.Staff(ctx, "alice")
	if !strings.HasPrefix(rec.PasswordHash, "$argon2id$") || strings.Contains(rec.PasswordHash, pw) {
		t.Fatalf("stored hash %q", rec.PasswordHash)
	}
	sid, csrf, err := svc.Login(ctx, "alice", pw, "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if sid == "" || csrf == "" || sid == csrf {
		t.Fatalf("session %q csrf %q", sid, csrf)
	}
	a, se, err := svc.Session(ctx, sid)
	if err != nil {
		t.Fatal(err)
	}
	if a != (moderation.Actor{Name: "alice", Role: "moderator"}) || se.CSRF != csrf || se.IDHash == sid {
		t.Fatalf("actor %+v session %+v", a, se)
	}
	// A second login is a new session (no fixation: IDs are always fresh).
	sid2, _, err := svc.Login(ctx, "alice", pw, "10.0.0.1")
	if err != nil || sid2 == sid {
		t.Fatalf("second login %q %v", sid2, err)
	}
	if _, err := svc.Add(ctx, "alice", "admin"); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate add: %v", err)
	}
}

func TestAddValidation(t *testing.T) {
	svc, _, _ := newTest(t)
	for _, tc := range []struct{ name, role string }{
		{"a", "moderator"},
		{strings.Repeat("a", 33), "moderator"},
		{"Alice", "moderator"},
		{"al ice", "moderator"},
		{"al/ice", "moderator"},
		{"", "moderator"},
		{"alice\x00", "moderator"},
		{"álice", "moderator"},
		{"alice", "root"},
		{"alice", ""},
	} {
		if _, err := svc.Add(context.Background(), tc.name, tc.role); !errors.Is(err, ErrInvalid) {
			t.Errorf("Add(%q, %q) = %v, want ErrInvalid", tc.name, tc.role, err)
		}
	}
	for _, name := range []string{"al", "a.b-c_d", "x9", strings.Repeat("z", 32)} {
		if _, err := svc.Add(context.Background(), name, "curator"); err != nil {
			t.Errorf("Add(%q): %v", name, err)
		}
	}
}

func TestBadLogins(t *testing.T) {
	svc, _, _ := newTest(t)
	ctx := context.Background()
	pw, _ := svc.Add(ctx, "alice", "admin")
	for _, tc := range []struct{ name, user, pw string }{
		{"wrong password", "alice", pw + "x"},
		{"empty password", "alice", ""},
		{"unknown user", "bob", pw},
		{"invalid name", "../alice", pw},
		{"NUL in name", "alice\x00", pw},
		{"huge name", strings.Repeat("a", 100000), pw},
		{"huge password", "alice", strings.Repeat(pw, 1000)},
		{"case differs", "ALICE", pw},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := svc.Login(ctx, tc.user, tc.pw, "client-"+tc.name)
			if !errors.Is(err, ErrBadLogin) {
				t.Fatalf("got %v, want ErrBadLogin", err)
			}
			if err.Error() != ErrBadLogin.Error() {
				t.Errorf("the error says more than it should: %v", err)
			}
		})
	}
}

func TestLoginRateLimit(t *testing.T) {
	svc, _, c := newTest(t)
	ctx := context.Background()
	pw, _ := svc.Add(ctx, "alice", "moderator")
	for i := range 5 {
		if _, _, err := svc.Login(ctx, "alice", "guess", "1.2.3.4"); !errors.Is(err, ErrBadLogin) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	// Even the right password is refused now, from that client.
	if _, _, err := svc.Login(ctx, "alice", pw, "1.2.3.4"); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("6th attempt: %v, want ErrRateLimited", err)
	}
	// Another client is not affected; nor is another name.
	if _, _, err := svc.Login(ctx, "alice", pw, "5.6.7.8"); err != nil {
		t.Fatalf("other client: %v", err)
	}
	if _, _, err := svc.Login(ctx, "bob", "x", "1.2.3.4"); !errors.Is(err, ErrBadLogin) {
		t.Fatalf("other name: %v", err)
	}
	c.Advance(LoginWindow)
	if _, _, err := svc.Login(ctx, "alice", pw, "1.2.3.4"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	// A success clears the count.
	for range 4 {
		svc.Login(ctx, "alice", "guess", "1.2.3.4")
	}
	if _, _, err := svc.Login(ctx, "alice", pw, "1.2.3.4"); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		svc.Login(ctx, "alice", "guess", "1.2.3.4")
	}
	if _, _, err := svc.Login(ctx, "alice", pw, "1.2.3.4"); err != nil {
		t.Fatalf("count not reset by success: %v", err)
	}
}

func TestSessionExpiryAndLogout(t *testing.T) {
	svc, _, c := newTest(t)
	ctx := context.Background()
	pw, _ := svc.Add(ctx, "alice", "moderator")
	sid, _, _ := svc.Login(ctx, "alice", pw, "c")
	c.Advance(12*time.Hour - time.Second)
	if _, _, err := svc.Session(ctx, sid); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	c.Advance(time.Second)
	if _, _, err := svc.Session(ctx, sid); !errors.Is(err, ErrNoSession) {
		t.Fatalf("after expiry: %v", err)
	}
	sid, _, _ = svc.Login(ctx, "alice", pw, "c")
	if err := svc.Logout(ctx, sid); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Session(ctx, sid); !errors.Is(err, ErrNoSession) {
		t.Fatalf("after logout: %v", err)
	}
	if err := svc.Logout(ctx, sid); err != nil {
		t.Fatalf("second logout: %v", err)
	}
	for _, bad := range []string{"", "nope", strings.Repeat("x", 10000), "\x00"} {
		if _, _, err := svc.Session(ctx, bad); !errors.Is(err, ErrNoSession) {
			t.Errorf("Session(%.10q) = %v", bad, err)
		}
		if err := svc.Logout(ctx, bad); err != nil {
			t.Errorf("Logout(%.10q) = %v", bad, err)
		}
	}
}

func TestTokens(t *testing.T) {
	svc, _, _ := newTest(t)
	ctx := context.Background()
	svc.Add(ctx, "bot", "moderator")
	tok, err := svc.NewToken(ctx, "bot")
	if err != nil {
		t.Fatal(err)
	}
	tok2, _ := svc.NewToken(ctx, "bot")
	if tok == tok2 || !strings.HasPrefix(tok, tokenPrefix) {
		t.Fatalf("tokens %q %q", tok, tok2)
	}
	for _, tk := range []string{tok, tok2} {
		a, err := svc.Token(ctx, tk)
		if err != nil || a.Name != "bot" || a.Role != "moderator" {
			t.Fatalf("Token: %+v %v", a, err)
		}
	}
	for _, bad := range []string{"", tok + "x", strings.TrimPrefix(tok, tokenPrefix), tokenPrefix, strings.Repeat("cnd_", 1000)} {
		if _, err := svc.Token(ctx, bad); !errors.Is(err, ErrBadToken) {
			t.Errorf("Token(%.12q) = %v", bad, err)
		}
	}
	if _, err := svc.NewToken(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("token for unknown account: %v", err)
	}
}

func TestRemoveCascades(t *testing.T) {
	svc, _, _ := newTest(t)
	ctx := context.Background()
	pw, _ := svc.Add(ctx, "alice", "admin")
	sid, _, _ := svc.Login(ctx, "alice", pw, "c")
	tok, _ := svc.NewToken(ctx, "alice")
	if err := svc.Remove(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Session(ctx, sid); !errors.Is(err, ErrNoSession) {
		t.Errorf("session survives removal: %v", err)
	}
	if _, err := svc.Token(ctx, tok); !errors.Is(err, ErrBadToken) {
		t.Errorf("token survives removal: %v", err)
	}
	if _, _, err := svc.Login(ctx, "alice", pw, "c"); !errors.Is(err, ErrBadLogin) {
		t.Errorf("login after removal: %v", err)
	}
	if err := svc.Remove(ctx, "alice"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second remove: %v", err)
	}
	// A new account with the old name does not inherit the old credentials.
	svc.Add(ctx, "alice", "moderator")
	if _, _, err := svc.Session(ctx, sid); err == nil {
		t.Error("old session works for the new account")
	}
	if _, err := svc.Token(ctx, tok); err == nil {
		t.Error("old token works for the new account")
	}
}

func TestResetPassword(t *testing.T) {
	svc, _, _ := newTest(t)
	ctx := context.Background()
	old, _ := svc.Add(ctx, "alice", "curator")
	sid, _, _ := svc.Login(ctx, "alice", old, "c")
	tok, _ := svc.NewToken(ctx, "alice")
	pw, err := svc.ResetPassword(ctx, "alice")
	if err != nil || pw == old {
		t.Fatalf("reset %q %v", pw, err)
	}
	if _, _, err := svc.Login(ctx, "alice", old, "c"); !errors.Is(err, ErrBadLogin) {
		t.Errorf("old password works: %v", err)
	}
	if _, _, err := svc.Login(ctx, "alice", pw, "c"); err != nil {
		t.Errorf("new password: %v", err)
	}
	if _, _, err := svc.Session(ctx, sid); err == nil {
		t.Error("reset left the old session signed in")
	}
	if _, err := svc.Token(ctx, tok); err == nil {
		t.Error("reset left the old token valid")
	}
	list, _ := svc.List(ctx)
	if len(list) != 1 || list[0].Role != "curator" {
		t.Errorf("account changed: %+v", list)
	}
	if _, err := svc.ResetPassword(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("reset unknown: %v", err)
	}
}

func TestListStripsHashes(t *testing.T) {
	svc, _, _ := newTest(t)
	ctx := context.Background()
	svc.Add(ctx, "alice", "admin")
	svc.Add(ctx, "bob", "moderator")
	list, err := svc.List(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("%+v %v", list, err)
	}
	for _, s := range list {
		if s.PasswordHash != "" {
			t.Fatalf("List returns a hash for %s", s.Name)
		}
	}
}

func TestDisabledAccount(t *testing.T) {
	svc, st, _ := newTest(t)
	ctx := context.Background()
	pw, _ := svc.Add(ctx, "alice", "moderator")
	sid, _, _ := svc.Login(ctx, "alice", pw, "c")
	tok, _ := svc.NewToken(ctx, "alice")
	rec, _ := st.Staff(ctx, "alice")
	rec.Disabled = true
	st.PutStaff(ctx, rec)
	if _, _, err := svc.Login(ctx, "alice", pw, "c"); !errors.Is(err, ErrBadLogin) {
		t.Errorf("disabled login: %v", err)
	}
	if _, _, err := svc.Session(ctx, sid); !errors.Is(err, ErrNoSession) {
		t.Errorf("disabled session: %v", err)
	}
	if _, err := svc.Token(ctx, tok); !errors.Is(err, ErrBadToken) {
		t.Errorf("disabled token: %v", err)
	}
}

func TestVerify(t *testing.T) {
	h := cheap.hash("correct horse")
	if !verify(h, "correct horse") || verify(h, "correct horsE") {
		t.Fatal("verify")
	}
	real := defaultParams.hash("pw")
	if !verify(real, "pw") {
		t.Fatal("default params")
	}
	for _, bad := range []string{"", "$argon2id$", "$2a$10$abcdef", strings.Replace(h, "m=64", "m=99999999", 1),
		strings.Replace(h, "t=1", "t=0", 1), strings.Replace(h, "v=19", "v=16", 1), h[:len(h)-4] + "!!!!"} {
		if verify(bad, "correct horse") {
			t.Errorf("verify accepted %q", bad)
		}
	}
}

// TestParallelGuessesAreCounted: sixty wrong passwords sent at once for one
// name are not all checked; the failures are reserved before hashing, so
// at most LoginAttempts reach the password check and the rest are refused.
// The right password is then refused too, until the window passes.
func TestParallelGuessesAreCounted(t *testing.T) {
	svc, _, c := newTest(t)
	svc.hashing = make(chan struct{}, 100) // no busy refusals in this test
	ctx := context.Background()
	pw, err := svc.Add(ctx, "alice", moderation.RoleModerator)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[error]int{}
	for i := 0; i < 60; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := svc.Login(ctx, "alice", "wrong password", "198.51.100.1")
			mu.Lock()
			counts[err]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if counts[ErrBadLogin] > 5 || counts[ErrBadLogin]+counts[ErrRateLimited] != 60 {
		t.Fatalf("outcomes %v: at most 5 passwords may be checked", counts)
	}
	if _, _, err := svc.Login(ctx, "alice", pw, "198.51.100.1"); !errors.Is(err, ErrRateLimited) {
		t.Errorf("right password during the lockout: %v", err)
	}
	c.Advance(LoginWindow + time.Second)
	if _, _, err := svc.Login(ctx, "alice", pw, "198.51.100.1"); err != nil {
		t.Errorf("after the window: %v", err)
	}
}

// TestNameSprayIsLimitedPerAddress: one address trying many names runs
// out of its own budget.
func TestNameSprayIsLimitedPerAddress(t *testing.T) {
	svc, _, _ := newTest(t)
	ctx := context.Background()
	limited := 0
	for i := 0; i < 2*addressFactor*5; i++ {
		if _, _, err := svc.Login(ctx, fmt.Sprintf("user%d", i), "guess", "198.51.100.9"); errors.Is(err, ErrRateLimited) {
			limited++
		}
	}
	if limited != addressFactor*5 {
		t.Errorf("%d of %d spraying attempts refused, want %d", limited, 2*addressFactor*5, addressFactor*5)
	}
	// Another address is not affected.
	if _, _, err := svc.Login(ctx, "user0", "guess", "198.51.100.10"); !errors.Is(err, ErrBadLogin) {
		t.Errorf("another address: %v", err)
	}
}

// TestLoginBusy: beyond MaxHashing password checks at once, a login is
// refused with ErrBusy (no hashing, no memory), and it costs the name
// none of its attempts.
func TestLoginBusy(t *testing.T) {
	svc, _, _ := newTest(t)
	ctx := context.Background()
	pw, err := svc.Add(ctx, "alice", moderation.RoleModerator)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < cap(svc.hashing); i++ {
		svc.hashing <- struct{}{} // every slot taken by other logins
	}
	if _, _, err := svc.Login(ctx, "alice", pw, "198.51.100.1"); !errors.Is(err, ErrBusy) {
		t.Fatalf("login with every slot taken: %v, want ErrBusy", err)
	}
	if n := svc.failures.Count(ctx, "alice\x00198.51.100.1"); n != 0 {
		t.Errorf("a busy refusal counted %d failures", n)
	}
	<-svc.hashing
	if _, _, err := svc.Login(ctx, "alice", pw, "198.51.100.1"); err != nil {
		t.Fatalf("login with a free slot: %v", err)
	}
}
