package moderation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/candid-app/candid/internal/store"
	"github.com/candid-app/candid/internal/store/boltstore"
	"github.com/candid-app/candid/internal/store/redisstore"

	"github.com/alicebob/miniredis/v2"
)

// clock is a fake clock that tests move by hand. Hooks follow it (the
// miniredis server's time, so that its TTLs agree with the store's view).
type clock struct {
	mu    sync.Mutex
	now   time.Time
	hooks []func(now time.Time, d time.Duration)
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	now, hooks := c.now, append([]func(time.Time, time.Duration){}, c.hooks...)
	c.mu.Unlock()
	for _, h := range hooks {
		h(now, d)
	}
}

func (c *clock) onAdvance(f func(now time.Time, d time.Duration)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hooks = append(c.hooks, f)
}

type env struct {
	t     *testing.T
	clock *clock
	st    store.Store
	svc   *Service
	n     int
}

var (
	alice = Actor{Name: "alice", Role: RoleModerator}
	bob   = Actor{Name: "bob", Role: RoleModerator}
	root  = Actor{Name: "root", Role: RoleAdmin}
)

const testFAQText = "Most people feel this way at some point. **You are not alone.**"

// backendEnv selects the store the suite runs on: bbolt by default;
// "redis" runs it on redisstore over miniredis (TestRedisBackend does that
// in a subprocess, so both backends are covered by a plain go test).
const backendEnv = "CANDID_MODERATION_BACKEND"

func openStore(t *testing.T, c *clock) store.Store {
	t.Helper()
	now := c.Now
	discard := slog.New(slog.DiscardHandler)
	if os.Getenv(backendEnv) == "redis" {
		mr := miniredis.RunT(t)
		mr.SetTime(c.Now())
		c.onAdvance(func(now time.Time, d time.Duration) {
			mr.SetTime(now)
			mr.FastForward(d)
		})
		st, err := redisstore.New(context.Background(), redisstore.Options{Addr: mr.Addr(), Now: now, Logger: discard})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "candid.db"), boltstore.Options{Timeout: time.Second, Now: now, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestRedisBackend(t *testing.T) {
	if os.Getenv(backendEnv) != "" {
		t.Skip("already running on " + os.Getenv(backendEnv))
	}
	if testing.Short() {
		t.Skip("re-runs the suite on redisstore; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.skip=^(TestRedisBackend|TestCrashDelivery)$", "-test.count=1")
	cmd.Env = append(os.Environ(), backendEnv+"=redis")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the suite fails on redisstore: %v\n%s", err, out)
	}
}

func newEnv(t *testing.T, mod func(*Options)) *env {
	t.Helper()
	c := newClock()
	st := openStore(t, c)
	opts := Options{
		Store:      st,
		Now:        c.Now,
		ClinicName: "Example Clinic",
		BookingURL: "https://clinic.example/book",
		FAQ:        MapFAQ{"performance-anxiety": testFAQText},
	}
	if mod != nil {
		mod(&opts)
	}
	svc, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		svc.Close()
		st.Close()
	})
	return &env{t: t, clock: c, st: st, svc: svc}
}

// open opens a ticket for a new asker and returns it with the handle.
func (e *env) open(platform string, urgent bool) (store.Ticket, string) {
	e.t.Helper()
	e.n++
	handle := fmt.Sprintf("h_asker%d", e.n)
	t := store.Ticket{Handle: handle, Platform: platform, Question: fmt.Sprintf("question number %d about my body", e.n), Urgent: urgent}
	if platform != "web" {
		t.Address = []byte("sealed-address")
	}
	got, err := e.svc.OpenTicket(context.Background(), t)
	if err != nil {
		e.t.Fatal(err)
	}
	return got, handle
}

func (e *env) stored(id string) store.Ticket {
	e.t.Helper()
	t, err := e.st.Ticket(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return t
}

func (e *env) deliverAll() int {
	e.t.Helper()
	n, err := e.svc.DeliverDue(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func therapistMessages(t *testing.T, st store.Store, handle string) []store.Message {
	t.Helper()
	msgs, err := st.Messages(context.Background(), handle, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.Message
	for _, m := range msgs {
		if m.From != "asker" {
			out = append(out, m)
		}
	}
	return out
}

type op func(e *env, id string) error

func claim(a Actor) op {
	return func(e *env, id string) error { _, err := e.svc.Claim(context.Background(), a, id); return err }
}
func release(a Actor) op {
	return func(e *env, id string) error { _, err := e.svc.Release(context.Background(), a, id); return err }
}
func answer(a Actor, ans Answer) op {
	return func(e *env, id string) error { _, err := e.svc.Answer(context.Background(), a, id, ans); return err }
}
func reject(a Actor, reason string) op {
	return func(e *env, id string) error { _, err := e.svc.Reject(context.Background(), a, id, reason); return err }
}
func block(a Actor) op {
	return func(e *env, id string) error { return e.svc.BlockAsker(context.Background(), a, id, 24*time.Hour) }
}
func forget(e *env, handle string) op {
	return func(e *env, id string) error { _, err := e.svc.Forget(context.Background(), handle); return err }
}

var text = Answer{Text: "Here is what we think."}

func TestTransitions(t *testing.T) {
	tests := []struct {
		name      string
		setup     []op
		do        op
		wantErr   []error // every one must match (errors.Is)
		wantState store.TicketState
		wantAudit string // the last audit action, when do succeeds
	}{
		{name: "claim open", do: claim(alice), wantState: store.TicketClaimed, wantAudit: "claimed"},
		{name: "renew own claim", setup: []op{claim(alice)}, do: claim(alice), wantState: store.TicketClaimed, wantAudit: "claim_renewed"},
		{name: "claim another's claim", setup: []op{claim(alice)}, do: claim(bob), wantErr: []error{ErrConflict, ErrNotClaimer}, wantState: store.TicketClaimed},
		{name: "claim answered", setup: []op{answer(alice, text)}, do: claim(bob), wantErr: []error{ErrIllegal}, wantState: store.TicketAnswered},
		{name: "claim booked", setup: []op{answer(alice, Answer{Booking: true})}, do: claim(bob), wantErr: []error{ErrIllegal}, wantState: store.TicketBooked},
		{name: "claim rejected", setup: []op{reject(alice, "spam")}, do: claim(bob), wantErr: []error{ErrIllegal}, wantState: store.TicketRejected},
		{name: "release own", setup: []op{claim(alice)}, do: release(alice), wantState: store.TicketOpen, wantAudit: "released"},
		{name: "release another's", setup: []op{claim(alice)}, do: release(bob), wantErr: []error{ErrNotClaimer}, wantState: store.TicketClaimed},
		{name: "admin releases another's", setup: []op{claim(alice)}, do: release(root), wantState: store.TicketOpen, wantAudit: "released"},
		{name: "release open", do: release(alice), wantErr: []error{ErrIllegal}, wantState: store.TicketOpen},
		{name: "release answered", setup: []op{claim(alice), answer(alice, text)}, do: release(alice), wantErr: []error{ErrIllegal}, wantState: store.TicketAnswered},
		{name: "answer open", do: answer(alice, text), wantState: store.TicketAnswered, wantAudit: "answered"},
		{name: "answer own claim", setup: []op{claim(alice)}, do: answer(alice, text), wantState: store.TicketAnswered, wantAudit: "answered"},
		{name: "answer another's claim", setup: []op{claim(alice)}, do: answer(bob, text), wantErr: []error{ErrNotClaimer}, wantState: store.TicketClaimed},
		{name: "answer twice", setup: []op{answer(alice, text)}, do: answer(bob, text), wantErr: []error{ErrIllegal}, wantState: store.TicketAnswered},
		{name: "answer rejected", setup: []op{reject(alice, "spam")}, do: answer(alice, text), wantErr: []error{ErrIllegal}, wantState: store.TicketRejected},
		{name: "answer with booking", do: answer(alice, Answer{Text: "Come and see us.", Booking: true}), wantState: store.TicketBooked, wantAudit: "booked"},
		{name: "answer by FAQ", do: answer(alice, Answer{FAQID: "performance-anxiety"}), wantState: store.TicketAnswered, wantAudit: "answered"},
		{name: "answer unknown FAQ", do: answer(alice, Answer{FAQID: "nope"}), wantErr: []error{ErrInvalid}, wantState: store.TicketOpen},
		{name: "answer empty", do: answer(alice, Answer{}), wantErr: []error{ErrInvalid}, wantState: store.TicketOpen},
		{name: "reject open", do: reject(alice, "out_of_scope"), wantState: store.TicketRejected, wantAudit: "rejected"},
		{name: "reject own claim", setup: []op{claim(alice)}, do: reject(alice, "abuse"), wantState: store.TicketRejected, wantAudit: "rejected"},
		{name: "reject another's claim", setup: []op{claim(alice)}, do: reject(bob, "spam"), wantErr: []error{ErrNotClaimer}, wantState: store.TicketClaimed},
		{name: "reject answered", setup: []op{answer(alice, text)}, do: reject(bob, "spam"), wantErr: []error{ErrIllegal}, wantState: store.TicketAnswered},
		{name: "reject unknown reason", do: reject(alice, "because"), wantErr: []error{ErrInvalid}, wantState: store.TicketOpen},
		{name: "reject hostile reason", do: reject(alice, strings.Repeat("<script>", 1000)), wantErr: []error{ErrInvalid}, wantState: store.TicketOpen},
		{name: "no role", do: claim(Actor{Name: "mallory"}), wantErr: []error{ErrForbidden}, wantState: store.TicketOpen},
		{name: "no name", do: answer(Actor{Role: RoleAdmin}, text), wantErr: []error{ErrForbidden}, wantState: store.TicketOpen},
		{name: "block open", do: block(alice), wantState: store.TicketOpen, wantAudit: "blocked"},
		{name: "block answered", setup: []op{answer(alice, text)}, do: block(bob), wantState: store.TicketAnswered, wantAudit: "blocked"},
		{name: "curator answers", do: answer(Actor{Name: "cara", Role: RoleCurator}, text), wantState: store.TicketAnswered, wantAudit: "answered"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			tk, _ := e.open("web", false)
			for i, s := range tc.setup {
				if err := s(e, tk.ID); err != nil {
					t.Fatalf("setup step %d: %v", i, err)
				}
			}
			err := tc.do(e, tk.ID)
			for _, want := range tc.wantErr {
				if !errors.Is(err, want) {
					t.Errorf("error = %v, want %v", err, want)
				}
			}
			if len(tc.wantErr) == 0 && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if err != nil && err.Error() == "" {
				t.Error("empty error message")
			}
			if got := e.stored(tk.ID).State; got != tc.wantState {
				t.Errorf("state = %s, want %s", got, tc.wantState)
			}
			if tc.wantAudit != "" {
				audit, err := e.svc.Audit(context.Background(), tk.ID)
				if err != nil {
					t.Fatal(err)
				}
				last := audit[len(audit)-1]
				if last.Action != tc.wantAudit {
					t.Errorf("last audit action = %q, want %q (%+v)", last.Action, tc.wantAudit, audit)
				}
				if last.Actor == "" || last.Actor == systemActor {
					t.Errorf("audit actor = %q, want the staff member", last.Actor)
				}
			}
		})
	}
}

func TestUnknownTicket(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	for _, id := range []string{"nope", "", strings.Repeat("x", 10000), "a\x00b"} {
		if _, err := e.svc.Claim(ctx, alice, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Claim(%.20q) = %v, want ErrNotFound", id, err)
		}
		if _, err := e.svc.Ticket(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Ticket(%.20q) = %v, want ErrNotFound", id, err)
		}
		if _, err := e.svc.Audit(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Audit(%.20q) = %v, want ErrNotFound", id, err)
		}
	}
}

func TestClaimRace(t *testing.T) {
	e := newEnv(t, nil)
	tk, _ := e.open("web", false)
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = e.svc.Claim(context.Background(), Actor{Name: fmt.Sprintf("mod%d", i), Role: RoleModerator}, tk.ID)
		}()
	}
	close(start)
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
			if got := e.stored(tk.ID).ClaimedBy; got != fmt.Sprintf("mod%d", i) {
				t.Errorf("winner mod%d but ticket claimed by %s", i, got)
			}
		case !errors.Is(err, ErrConflict):
			t.Errorf("loser got %v, want ErrConflict", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d claims won, want exactly 1", won)
	}
}

func TestAnswerRace(t *testing.T) {
	e := newEnv(t, nil)
	tk, handle := e.open("web", false)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.svc.Answer(context.Background(), Actor{Name: fmt.Sprintf("mod%d", i), Role: RoleModerator}, tk.ID, Answer{Text: fmt.Sprintf("answer %d", i)})
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else if !errors.Is(err, ErrConflict) {
			t.Errorf("loser got %v, want ErrConflict", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d answers won, want 1", won)
	}
	e.deliverAll()
	if msgs := therapistMessages(t, e.st, handle); len(msgs) != 1 {
		t.Fatalf("asker got %d answers, want 1", len(msgs))
	}
}

func TestClaimLapse(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.ClaimTimeout = 10 * time.Minute })
	ctx := context.Background()
	tk, _ := e.open("web", false)
	if _, err := e.svc.Claim(ctx, alice, tk.ID); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(9 * time.Minute)
	if _, err := e.svc.Claim(ctx, bob, tk.ID); !errors.Is(err, ErrConflict) {
		t.Fatalf("claim before lapse: %v, want ErrConflict", err)
	}
	e.clock.Advance(time.Minute)
	q, stats, err := e.svc.Queue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != 1 || q[0].State != store.TicketOpen || q[0].ClaimedBy != "" || stats.Open != 1 || stats.Claimed != 0 {
		t.Fatalf("lapsed claim should show as open: %+v %+v", q, stats)
	}
	if got, _ := e.svc.Ticket(ctx, tk.ID); got.State != store.TicketOpen {
		t.Fatalf("Ticket shows %s, want open", got.State)
	}
	got, err := e.svc.Claim(ctx, bob, tk.ID)
	if err != nil {
		t.Fatalf("re-claim of a lapsed claim: %v", err)
	}
	if got.ClaimedBy != "bob" {
		t.Fatalf("claimed by %q", got.ClaimedBy)
	}
	audit, _ := e.svc.Audit(ctx, tk.ID)
	if last := audit[len(audit)-1]; !strings.Contains(last.Note, "alice") || !strings.Contains(last.Note, "lapsed") {
		t.Errorf("audit should say alice's claim lapsed: %+v", last)
	}
	if _, err := e.svc.Answer(ctx, alice, tk.ID, text); !errors.Is(err, ErrNotClaimer) {
		t.Fatalf("alice answers bob's claim: %v", err)
	}
	// Alice may answer her own lapsed claim if nobody took it.
	tk2, _ := e.open("web", false)
	e.svc.Claim(ctx, alice, tk2.ID)
	e.clock.Advance(time.Hour)
	if _, err := e.svc.Answer(ctx, alice, tk2.ID, text); err != nil {
		t.Fatalf("answer own lapsed claim: %v", err)
	}
}

func TestQueueOrderAndStats(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	old, _ := e.open("web", false)
	e.clock.Advance(time.Minute)
	urgentNew, _ := e.open("telegram", true)
	e.clock.Advance(time.Minute)
	mid, _ := e.open("web", false)
	e.clock.Advance(time.Minute)
	urgentNewer, _ := e.open("web", true)
	done, _ := e.open("web", false)
	e.svc.Answer(ctx, alice, done.ID, text)
	e.svc.Claim(ctx, bob, mid.ID)
	e.clock.Advance(time.Minute)

	// A concern ticket, opened last, still comes before every ordinary one;
	// an urgent one set by Tier alone (without the older Urgent field)
	// counts as urgent.
	concern, err := e.svc.OpenTicket(ctx, store.Ticket{Handle: "h_concern", Platform: "web", Question: "worried about a friend",
		Tier: "concern", Category: "suicide", Why: "model 0.61"})
	if err != nil {
		t.Fatal(err)
	}
	tierUrgent, err := e.svc.OpenTicket(ctx, store.Ticket{Handle: "h_tier", Platform: "web", Question: "help now", Tier: "urgent"})
	if err != nil {
		t.Fatal(err)
	}

	q, stats, err := e.svc.Queue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, tk := range q {
		ids = append(ids, tk.ID)
	}
	want := []string{urgentNew.ID, urgentNewer.ID, tierUrgent.ID, concern.ID, old.ID, mid.ID}
	if strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Fatalf("queue order = %v, want %v", ids, want)
	}
	if q[3].Why != "model 0.61" || q[3].Tier != "concern" || q[3].Category != "suicide" {
		t.Errorf("concern ticket lost its tier, kind or reason: %+v", q[3])
	}
	if stats.Open != 5 || stats.Claimed != 1 || stats.Urgent != 3 || stats.Concern != 1 || stats.OldestAge != 4*time.Minute || stats.Undelivered != 0 {
		t.Fatalf("stats = %+v", stats)
	}
}

func TestAnswerTexts(t *testing.T) {
	tests := []struct {
		name    string
		ans     Answer
		noFAQ   bool
		noBook  bool
		want    []string
		wantErr string
	}{
		{name: "text", ans: Answer{Text: "  Hello there.  "}, want: []string{"A therapist at Example Clinic answered your question:\n\nHello there."}},
		{name: "faq", ans: Answer{FAQID: "performance-anxiety"}, want: []string{testFAQText}},
		{name: "booking with text", ans: Answer{Text: "Let's talk.", Booking: true}, want: []string{"Let's talk.", "[Book an appointment](https://clinic.example/book)"}},
		{name: "booking alone", ans: Answer{Booking: true}, want: []string{"in person", "https://clinic.example/book"}},
		{name: "faq with booking", ans: Answer{FAQID: "performance-anxiety", Booking: true}, want: []string{testFAQText, "https://clinic.example/book"}},
		{name: "control characters stripped", ans: Answer{Text: "a\x00b\x1b[31mc\u202Ed\r\ne"}, want: []string{"ab[31mcd\ne"}},
		{name: "empty", ans: Answer{}, wantErr: "write an answer"},
		{name: "spaces only", ans: Answer{Text: " \n\t "}, wantErr: "empty"},
		{name: "controls only", ans: Answer{Text: "\x00\x01\u202E"}, wantErr: "empty"},
		{name: "too long", ans: Answer{Text: strings.Repeat("é", MaxAnswerRunes+1)}, wantErr: "shorten"},
		{name: "exactly max", ans: Answer{Text: strings.Repeat("é", MaxAnswerRunes)}, want: []string{"éé"}},
		{name: "invalid utf-8", ans: Answer{Text: "bad \xff\xfe"}, wantErr: "UTF-8"},
		{name: "text and faq", ans: Answer{Text: "hi", FAQID: "performance-anxiety"}, wantErr: "not both"},
		{name: "unknown faq", ans: Answer{FAQID: "no-such-entry"}, wantErr: "no FAQ entry"},
		{name: "hostile faq id", ans: Answer{FAQID: strings.Repeat("../", 500)}, wantErr: "not an FAQ entry id"},
		{name: "faq off", ans: Answer{FAQID: "performance-anxiety"}, noFAQ: true, wantErr: "not available"},
		{name: "booking without link", ans: Answer{Booking: true}, noBook: true, wantErr: "no booking link"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(o *Options) {
				if tc.noFAQ {
					o.FAQ = nil
				}
				if tc.noBook {
					o.BookingURL = ""
				}
			})
			got, err := e.svc.Preview(tc.ans)
			if tc.wantErr != "" {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Preview error = %v, want ErrInvalid mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("preview %q lacks %q", got, w)
				}
			}
			// What the asker receives is exactly the preview.
			tk, handle := e.open("web", false)
			if _, err := e.svc.Answer(context.Background(), alice, tk.ID, tc.ans); err != nil {
				t.Fatal(err)
			}
			if n := e.deliverAll(); n != 1 {
				t.Fatalf("delivered %d, want 1", n)
			}
			msgs := therapistMessages(t, e.st, handle)
			if len(msgs) != 1 || msgs[0].Text != got {
				t.Fatalf("delivered %+v, want exactly the preview %q", msgs, got)
			}
			if msgs[0].From != "therapist" || msgs[0].Kind != "therapist" {
				t.Errorf("message from %q kind %q", msgs[0].From, msgs[0].Kind)
			}
			st := e.stored(tk.ID)
			if st.Answer != got || st.Delivery != "delivered" {
				t.Errorf("ticket answer %q delivery %q", st.Answer, st.Delivery)
			}
			if tc.ans.FAQID != "" && st.AnswerFAQ != tc.ans.FAQID {
				t.Errorf("AnswerFAQ = %q", st.AnswerFAQ)
			}
		})
	}
}

func TestRejectReasons(t *testing.T) {
	e := newEnv(t, nil)
	reasons := e.svc.RejectReasons()
	codes := map[string]bool{}
	for _, r := range reasons {
		codes[r.Code] = true
	}
	for _, want := range []string{"spam", "abuse", "not_a_question", "out_of_scope", "duplicate"} {
		if !codes[want] {
			t.Errorf("reason %s missing", want)
		}
	}
	reasons[0].AskerText = "mutated"
	if e.svc.RejectReasons()[0].AskerText == "mutated" {
		t.Error("RejectReasons exposes its internal slice")
	}
	for _, r := range e.svc.RejectReasons() {
		t.Run(r.Code, func(t *testing.T) {
			tk, handle := e.open("web", false)
			got, err := e.svc.Reject(context.Background(), bob, tk.ID, r.Code)
			if err != nil {
				t.Fatal(err)
			}
			if got.State != store.TicketRejected || got.RejectReason != r.Code || got.ActedBy != "bob" {
				t.Fatalf("ticket %+v", got)
			}
			e.deliverAll()
			msgs := therapistMessages(t, e.st, handle)
			if len(msgs) != 1 || !strings.Contains(msgs[0].Text, r.AskerText) || msgs[0].Kind != "info" {
				t.Fatalf("asker got %+v", msgs)
			}
		})
	}
}

func TestBlockAsker(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	tk, handle := e.open("telegram", false)
	for _, d := range []time.Duration{0, -time.Hour, 400 * 24 * time.Hour} {
		if err := e.svc.BlockAsker(ctx, alice, tk.ID, d); !errors.Is(err, ErrInvalid) {
			t.Errorf("block for %v: %v, want ErrInvalid", d, err)
		}
	}
	if err := e.svc.BlockAsker(ctx, alice, tk.ID, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if ok, _ := e.st.Blocked(ctx, handle); !ok {
		t.Fatal("asker not blocked")
	}
	e.clock.Advance(25 * time.Hour)
	if ok, _ := e.st.Blocked(ctx, handle); ok {
		t.Fatal("block did not expire")
	}
	// After /forget there is no one to block.
	e.svc.Forget(ctx, handle)
	if err := e.svc.BlockAsker(ctx, alice, tk.ID, time.Hour); !errors.Is(err, ErrIllegal) {
		t.Fatalf("block forgotten asker: %v, want ErrIllegal", err)
	}
}

func TestRedaction(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	events, cancel := e.svc.Subscribe()
	defer cancel()
	tk, handle := e.open("telegram", true)
	if tk.Handle != "" || tk.Address != nil {
		t.Fatal("OpenTicket returned asker identity")
	}
	var got []store.Ticket
	got = append(got, tk)
	c, _ := e.svc.Claim(ctx, alice, tk.ID)
	a, _ := e.svc.Answer(ctx, alice, tk.ID, text)
	one, _ := e.svc.Ticket(ctx, tk.ID)
	q, _, _ := e.svc.Queue(ctx)
	got = append(append(got, c, a, one), q...)
	for len(events) > 0 {
		got = append(got, (<-events).Ticket)
	}
	for _, g := range got {
		b, _ := json.Marshal(g)
		if g.Handle != "" || g.Address != nil || strings.Contains(string(b), handle) {
			t.Fatalf("ticket shown to staff holds asker identity: %s", b)
		}
	}
}

func TestOpenTicketValidation(t *testing.T) {
	e := newEnv(t, nil)
	ok := store.Ticket{Handle: "h_x", Platform: "web", Question: "Is this normal?"}
	tests := []struct {
		name string
		mod  func(*store.Ticket)
	}{
		{"no handle", func(t *store.Ticket) { t.Handle = "" }},
		{"huge handle", func(t *store.Ticket) { t.Handle = strings.Repeat("h", 1000) }},
		{"no platform", func(t *store.Ticket) { t.Platform = "" }},
		{"hostile platform", func(t *store.Ticket) { t.Platform = "web/../x" }},
		{"telegram without address", func(t *store.Ticket) { t.Platform = "telegram" }},
		{"empty question", func(t *store.Ticket) { t.Question = "" }},
		{"blank question", func(t *store.Ticket) { t.Question = " \n " }},
		{"invalid utf-8", func(t *store.Ticket) { t.Question = "\xff\xfe" }},
		{"oversized question", func(t *store.Ticket) { t.Question = strings.Repeat("a", maxQuestionRunes+1) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tk := ok
			tc.mod(&tk)
			if _, err := e.svc.OpenTicket(context.Background(), tk); !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
		})
	}
	// Caller-supplied lifecycle fields are ignored.
	tk := ok
	tk.ID, tk.State, tk.Answer, tk.Delivery, tk.ClaimedBy, tk.Draft = "chosen", store.TicketAnswered, "x", "delivered", "eve", "draft"
	got, err := e.svc.OpenTicket(context.Background(), tk)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID == "chosen" || got.State != store.TicketOpen || got.Answer != "" || got.Delivery != "" || got.ClaimedBy != "" || got.Draft != "" {
		t.Fatalf("caller fields leaked into the new ticket: %+v", got)
	}
	if !got.ExpiresAt.Equal(e.clock.Now().Add(30 * 24 * time.Hour)) {
		t.Errorf("ExpiresAt = %v", got.ExpiresAt)
	}
	audit, _ := e.svc.Audit(context.Background(), got.ID)
	if len(audit) != 1 || audit[0].Action != "opened" || audit[0].Actor != systemActor {
		t.Fatalf("audit = %+v", audit)
	}
}

func TestNewValidation(t *testing.T) {
	st := MapFAQ{}
	_ = st
	for _, o := range []Options{
		{},
		{Store: &boltstore.Store{}, BookingURL: "javascript:alert(1)"},
		{Store: &boltstore.Store{}, WebhookURL: "not a url"},
		{Store: &boltstore.Store{}, WebhookURL: "ftp://hooks.example/x"},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted bad options", o)
		} else if strings.Contains(err.Error(), "hooks.example") {
			t.Errorf("error echoes the webhook URL: %v", err)
		}
	}
}
