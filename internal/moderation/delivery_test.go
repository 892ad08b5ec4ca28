package moderation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/candid-app/candid/internal/store"
)

// flakyComplete fails CompleteOutbox a number of times, as a crash between
// delivery and completion would leave things.
type flakyComplete struct {
	store.Store
	fails atomic.Int32
}

func (f *flakyComplete) CompleteOutbox(ctx context.Context, id, delivery string) error {
	if f.fails.Add(-1) >= 0 {
		return errors.New("disk on fire")
	}
	return f.Store.CompleteOutbox(ctx, id, delivery)
}

// retries records RetryOutbox calls, so tests can see the backoff.
type retries struct {
	store.Store
	mu    sync.Mutex
	calls []retryCall
}

type retryCall struct {
	id, lastErr string
	next        time.Time
}

func (r *retries) RetryOutbox(ctx context.Context, id string, next time.Time, lastErr string) error {
	r.mu.Lock()
	r.calls = append(r.calls, retryCall{id, lastErr, next})
	r.mu.Unlock()
	return r.Store.RetryOutbox(ctx, id, next, lastErr)
}

func (r *retries) last(t *testing.T) retryCall {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.calls) == 0 {
		t.Fatal("no retry was scheduled")
	}
	return r.calls[len(r.calls)-1]
}

func (r *retries) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

func withRetries(r **retries) func(*Options) {
	return func(o *Options) {
		*r = &retries{Store: o.Store.(store.Store)}
		o.Store = *r
	}
}

func TestWebDeliveryIdempotent(t *testing.T) {
	var flaky *flakyComplete
	e := newEnv(t, func(o *Options) {
		flaky = &flakyComplete{Store: o.Store.(store.Store)}
		flaky.fails.Store(2)
		o.Store = flaky
		o.DeliveryLease = time.Minute
	})
	ctx := context.Background()
	tk, handle := e.open("web", false)
	if _, err := e.svc.Answer(ctx, alice, tk.ID, text); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		e.deliverAll()
		e.clock.Advance(2 * time.Minute) // the lease runs out
	}
	msgs := therapistMessages(t, e.st, handle)
	if len(msgs) != 1 {
		t.Fatalf("asker sees %d answers after 3 deliveries, want 1: %+v", len(msgs), msgs)
	}
	if got := e.stored(tk.ID).Delivery; got != "delivered" {
		t.Fatalf("delivery = %q", got)
	}
	if n := e.deliverAll(); n != 0 {
		t.Fatalf("delivered %d more", n)
	}
}

func TestSenderRetryAndBackoff(t *testing.T) {
	snd := &RecordingSender{Errs: []error{errors.New("timeout"), errors.New("502"), errors.New("502")}}
	var rec *retries
	e := newEnv(t, withRetries(&rec))
	e.svc.RegisterSender("telegram", snd)
	ctx := context.Background()
	tk, _ := e.open("telegram", false)
	e.svc.Answer(ctx, alice, tk.ID, text)

	var waits []time.Duration
	for i := range 3 {
		start := e.clock.Now()
		if n := e.deliverAll(); n != 0 {
			t.Fatalf("delivered %d while the sender fails", n)
		}
		r := rec.last(t)
		if rec.count() != i+1 || r.lastErr == "" {
			t.Fatalf("retry %d not recorded: %+v", i, r)
		}
		wait := r.next.Sub(start)
		waits = append(waits, wait)
		// Not retried before the backoff.
		e.clock.Advance(wait / 2)
		if n := e.deliverAll(); n != 0 || snd.Calls() != len(waits) {
			t.Fatalf("retried before the backoff (%d calls)", snd.Calls())
		}
		e.clock.Advance(wait)
	}
	for i := 1; i < len(waits); i++ {
		if waits[i] <= waits[i-1] {
			t.Errorf("backoff does not grow: %v", waits)
		}
	}
	if n := e.deliverAll(); n != 1 {
		t.Fatalf("delivered %d after the sender recovered", n)
	}
	if got := e.stored(tk.ID); got.Delivery != "delivered" || got.Address != nil {
		t.Fatalf("delivery %q, address %v", got.Delivery, got.Address)
	}
	if d := snd.Delivered(); len(d) != 1 || d[0].TicketID != tk.ID || string(d[0].Address) != "sealed-address" || d[0].Text != e.stored(tk.ID).Answer {
		t.Fatalf("sender got %+v", d)
	}
}

func TestBackoffBounds(t *testing.T) {
	for attempts := 0; attempts < 40; attempts++ {
		d := backoff(attempts)
		if d < retryBase*8/10 || d > retryMax*12/10 {
			t.Errorf("backoff(%d) = %v out of bounds", attempts, d)
		}
	}
}

func TestUndeliverable(t *testing.T) {
	e := newEnv(t, nil)
	snd := &RecordingSender{Errs: []error{fmt.Errorf("bot blocked by the user: %w", ErrUndeliverable)}}
	e.svc.RegisterSender("telegram", snd)
	events, cancel := e.svc.Subscribe()
	defer cancel()
	ctx := context.Background()
	tk, _ := e.open("telegram", false)
	e.svc.Answer(ctx, alice, tk.ID, text)
	e.deliverAll()
	got := e.stored(tk.ID)
	if !strings.HasPrefix(got.Delivery, "failed: ") || !strings.Contains(got.Delivery, "blocked") || got.Address != nil {
		t.Fatalf("ticket %+v", got)
	}
	e.clock.Advance(24 * time.Hour)
	e.deliverAll()
	if snd.Calls() != 1 {
		t.Fatal("an undeliverable item is retried")
	}
	if !sawEvent(events, "delivery_failed", tk.ID) {
		t.Error("no delivery_failed event")
	}
	q, stats, _ := e.svc.Queue(ctx)
	if stats.Undelivered != 1 || len(q) != 1 || q[0].ID != tk.ID {
		t.Fatalf("queue does not flag the failed delivery: %+v %+v", stats, q)
	}
	e.clock.Advance(73 * time.Hour)
	if _, stats, _ := e.svc.Queue(ctx); stats.Undelivered != 0 {
		t.Error("old failures stay in the queue forever")
	}
}

func TestGiveUpAfterMaxAttempts(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MaxAttempts = 3 })
	errs := make([]error, 10)
	for i := range errs {
		errs[i] = errors.New("connection refused")
	}
	e.svc.RegisterSender("slack", &RecordingSender{Errs: errs})
	tk, _ := e.open("slack", false)
	e.svc.Answer(context.Background(), alice, tk.ID, text)
	for range 5 {
		e.deliverAll()
		e.clock.Advance(2 * time.Hour)
	}
	if got := e.stored(tk.ID).Delivery; !strings.Contains(got, "gave up after 3 attempts") {
		t.Fatalf("delivery = %q", got)
	}
}

func TestNoSenderRetries(t *testing.T) {
	var rec *retries
	e := newEnv(t, withRetries(&rec))
	tk, _ := e.open("telegram", false)
	e.svc.Answer(context.Background(), alice, tk.ID, text)
	e.deliverAll()
	if r := rec.last(t); !strings.Contains(r.lastErr, "no sender") {
		t.Fatalf("retry %+v", r)
	}
	snd := &RecordingSender{}
	e.svc.RegisterSender("telegram", snd)
	e.clock.Advance(time.Minute)
	if n := e.deliverAll(); n != 1 {
		t.Fatalf("delivered %d once the sender registered", n)
	}
}

func sawEvent(ch <-chan Event, kind, id string) bool {
	for {
		select {
		case ev := <-ch:
			if ev.Kind == kind && ev.Ticket.ID == id {
				return true
			}
		default:
			return false
		}
	}
}

func TestForgetWhileOpenThenAnswer(t *testing.T) {
	for _, platform := range []string{"web", "telegram"} {
		t.Run(platform, func(t *testing.T) {
			e := newEnv(t, nil)
			e.svc.RegisterSender("telegram", &RecordingSender{})
			ctx := context.Background()
			tk, handle := e.open(platform, false)
			e.svc.Claim(ctx, alice, tk.ID)
			events, cancel := e.svc.Subscribe()
			defer cancel()
			rep, err := e.svc.Forget(ctx, handle)
			if err != nil || rep.Tickets != 1 {
				t.Fatalf("forget: %+v %v", rep, err)
			}
			if !sawEvent(events, "forgotten", tk.ID) {
				t.Error("no forgotten event")
			}
			if q, _, _ := e.svc.Queue(ctx); len(q) != 0 {
				t.Fatalf("forgotten ticket still waits in the queue: %+v", q)
			}
			_, err = e.svc.Answer(ctx, alice, tk.ID, text)
			if !errors.Is(err, ErrForgotten) || !errors.Is(err, ErrIllegal) {
				t.Fatalf("answer after forget: %v, want ErrForgotten", err)
			}
			if !strings.Contains(err.Error(), "deleted their data") {
				t.Errorf("unclear error: %v", err)
			}
			got := e.stored(tk.ID)
			if got.State != store.TicketForgotten || got.Handle != "" || got.Question != "" || got.Answer != "" {
				t.Fatalf("tombstone %+v", got)
			}
			if !sawEvent(events, "delivery_failed", tk.ID) {
				t.Error("no delivery_failed event")
			}
			if n := e.deliverAll(); n != 0 {
				t.Fatal("something was delivered")
			}
			if len(therapistMessages(t, e.st, handle)) != 0 {
				t.Fatal("a message was written for a forgotten asker")
			}
			// A second try says the same and writes nothing more.
			if _, err := e.svc.Answer(ctx, bob, tk.ID, text); !errors.Is(err, ErrForgotten) {
				t.Fatalf("second answer: %v", err)
			}
		})
	}
}

func TestForgetAfterAnswerBeforeDelivery(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	tk, handle := e.open("web", false)
	e.svc.Answer(ctx, alice, tk.ID, text)
	events, cancel := e.svc.Subscribe()
	defer cancel()
	rep, err := e.svc.Forget(ctx, handle)
	if err != nil || rep.Outbox != 1 {
		t.Fatalf("forget %+v %v", rep, err)
	}
	if got, _ := e.svc.Ticket(ctx, tk.ID); got.Delivery != deliveryForgotten || got.State != store.TicketForgotten {
		t.Fatalf("ticket shows state %s delivery %q", got.State, got.Delivery)
	}
	if !sawEvent(events, "delivery_failed", tk.ID) {
		t.Error("no delivery_failed event")
	}
	if n := e.deliverAll(); n != 0 || len(therapistMessages(t, e.st, handle)) != 0 {
		t.Fatal("answer delivered after /forget")
	}
	if _, stats, _ := e.svc.Queue(ctx); stats.Undelivered != 1 {
		t.Fatalf("stats %+v", stats)
	}
}

// forgetDuringPut runs /forget while a web answer is being written, the
// race the delivery worker guards against.
type forgetDuringPut struct {
	store.Store
	svc    *Service
	handle string
	once   sync.Once
}

func (f *forgetDuringPut) PutMessage(ctx context.Context, m store.Message) error {
	f.once.Do(func() { f.svc.Forget(ctx, f.handle) })
	return f.Store.PutMessage(ctx, m)
}

func TestForgetRacesWebDelivery(t *testing.T) {
	var racer *forgetDuringPut
	e := newEnv(t, func(o *Options) {
		racer = &forgetDuringPut{Store: o.Store.(store.Store)}
		o.Store = racer
	})
	racer.svc = e.svc
	tk, handle := e.open("web", false)
	racer.handle = handle
	// The worker claims the item first, then /forget lands mid-write.
	e.svc.Answer(context.Background(), alice, tk.ID, text)
	e.deliverAll()
	if msgs, _ := e.st.Messages(context.Background(), handle, 0); len(msgs) != 0 {
		t.Fatalf("an answer outlived /forget: %+v", msgs)
	}
	if got := e.stored(tk.ID).Delivery; !strings.HasPrefix(got, "failed") {
		t.Fatalf("delivery = %q", got)
	}
}

func TestForgetValidation(t *testing.T) {
	e := newEnv(t, nil)
	if _, err := e.svc.Forget(context.Background(), ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Forget(\"\") = %v", err)
	}
}

func TestRetentionExpiry(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.TicketRetention = 48 * time.Hour })
	ctx := context.Background()
	waiting, _ := e.open("web", true)
	claimed, _ := e.open("web", false)
	e.svc.Claim(ctx, alice, claimed.ID)
	events, cancel := e.svc.Subscribe()
	defer cancel()

	e.clock.Advance(47 * time.Hour)
	if _, err := e.svc.PurgeNow(ctx); err != nil {
		t.Fatal(err)
	}
	if q, _, _ := e.svc.Queue(ctx); len(q) != 2 {
		t.Fatalf("queue before expiry: %d", len(q))
	}
	e.clock.Advance(90 * time.Minute)
	if q, _, _ := e.svc.Queue(ctx); len(q) != 0 {
		t.Fatalf("expired tickets still in the queue: %d", len(q))
	}
	if _, err := e.svc.Claim(ctx, bob, waiting.ID); err == nil {
		t.Fatal("claimed a ticket past retention")
	}
	rep, err := e.svc.PurgeNow(ctx)
	if err != nil || rep.Tickets == 0 {
		t.Fatalf("purge %+v %v", rep, err)
	}
	for _, id := range []string{waiting.ID, claimed.ID} {
		if !sawEvent(events, "expired", id) {
			t.Errorf("no expired event for %s", id)
		}
		got, err := e.svc.Ticket(ctx, id)
		if err == nil && (got.State != store.TicketExpired || got.Question != "") {
			t.Errorf("expired ticket %+v", got)
		}
		if _, err := e.svc.Answer(ctx, alice, id, text); !errors.Is(err, ErrIllegal) && !errors.Is(err, ErrNotFound) {
			t.Errorf("answer expired ticket: %v", err)
		}
	}
}

func TestRunRetentionAndDeliveryStop(t *testing.T) {
	e := newEnv(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- e.svc.RunRetention(ctx, time.Hour) }()
	go func() { done <- e.svc.RunDelivery(ctx) }()
	tk, handle := e.open("web", false)
	e.svc.Answer(context.Background(), alice, tk.ID, text)
	// RunDelivery is woken by the answer; wait for it without timing it.
	deadline := time.Now().Add(time.Minute) // a hang guard, not a timing assertion
	for len(therapistMessages(t, e.st, handle)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("RunDelivery never delivered the answer")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

func TestAuditNamesStaffNeverAskers(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Drafter = &StubDrafter{Text: "draft", Model: "m"} })
	e.svc.RegisterSender("telegram", &RecordingSender{})
	ctx := context.Background()
	type tkt struct{ id, handle, question string }
	var all []tkt
	add := func(platform string) store.Ticket {
		tk, h := e.open(platform, false)
		all = append(all, tkt{tk.ID, h, e.stored(tk.ID).Question})
		return tk
	}
	a := add("web")
	e.svc.Claim(ctx, alice, a.ID)
	e.svc.Release(ctx, alice, a.ID)
	e.svc.Claim(ctx, bob, a.ID)
	e.svc.BlockAsker(ctx, bob, a.ID, time.Hour)
	e.svc.Answer(ctx, bob, a.ID, Answer{Text: "answer", Booking: true})
	b := add("telegram")
	e.svc.Reject(ctx, alice, b.ID, "spam")
	c := add("web")
	e.svc.Forget(ctx, all[2].handle)
	e.svc.Answer(ctx, alice, c.ID, text)
	d := add("web")
	e.svc.Answer(ctx, root, d.ID, text)
	e.svc.Forget(ctx, all[3].handle)
	e.deliverAll()
	e.svc.Close() // drafts done

	staff := map[string]bool{"alice": true, "bob": true, "root": true, systemActor: true}
	for _, tk := range all {
		audit, err := e.st.Audit(ctx, tk.id)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(audit)
		for _, x := range all {
			if strings.Contains(string(raw), x.handle) || strings.Contains(string(raw), x.question) {
				t.Fatalf("audit of %s holds asker identity or text: %s", tk.id, raw)
			}
		}
		for _, en := range audit {
			if !staff[en.Actor] {
				t.Errorf("audit actor %q is not staff", en.Actor)
			}
		}
	}
	audit, _ := e.st.Audit(ctx, a.ID)
	var actions []string
	for _, en := range audit {
		actions = append(actions, en.Actor+":"+en.Action)
	}
	want := "system:opened,alice:claimed,alice:released,bob:claimed,bob:blocked,bob:booked"
	if got := strings.Join(actions, ","); !strings.HasPrefix(strings.ReplaceAll(got, "system:drafted,", ""), want) {
		t.Errorf("audit = %s, want %s", got, want)
	}
}

func TestSubscribeNeverBlocks(t *testing.T) {
	e := newEnv(t, nil)
	slow, cancelSlow := e.svc.Subscribe() // never read
	fast, cancelFast := e.svc.Subscribe()
	var got atomic.Int32
	done := make(chan struct{})
	go func() {
		for range fast {
			got.Add(1)
		}
		close(done)
	}()
	for range 200 {
		e.open("web", false)
	}
	if len(slow) != cap(slow) {
		t.Errorf("slow subscriber holds %d of %d", len(slow), cap(slow))
	}
	cancelFast()
	cancelFast() // idempotent
	<-done
	if got.Load() == 0 {
		t.Error("fast subscriber got nothing")
	}
	cancelSlow()
	for range slow {
	}
	e.open("web", false) // publishing after every cancel is fine
}

func TestWebhook(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Header.Get("Content-Type") != "application/json" || r.Method != http.MethodPost {
			t.Errorf("webhook got %s %s", r.Method, r.Header.Get("Content-Type"))
		}
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
	}))
	defer srv.Close()
	e := newEnv(t, func(o *Options) {
		o.WebhookURL = srv.URL + "/hooks/T000/B000/secret"
		o.ConsoleURL = "https://candid.example/console"
		o.HTTPClient = srv.Client()
	})
	ctx := context.Background()
	secretQ := "I think I have SYMPTOM-XYZ after the party"
	handles := []string{"h_webhook_asker1", "h_webhook_asker2"}
	for i, h := range handles {
		tk := store.Ticket{Handle: h, Platform: "web", Question: secretQ, Urgent: i == 1, Category: "self_harm"}
		if _, err := e.svc.OpenTicket(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	e.svc.Close()
	if len(bodies) != 2 {
		t.Fatalf("webhook got %d alerts", len(bodies))
	}
	urgent := 0
	for _, b := range bodies {
		var m map[string]any
		if err := json.Unmarshal([]byte(b), &m); err != nil {
			t.Fatalf("not JSON: %s", b)
		}
		text, _ := m["text"].(string)
		if len(m) != 1 || text == "" {
			t.Fatalf("not a Slack incoming-webhook message: %s", b)
		}
		for _, secret := range append(handles, "SYMPTOM", "party", "self_harm") {
			if strings.Contains(b, secret) {
				t.Fatalf("webhook alert leaks %q: %s", secret, b)
			}
		}
		if !strings.Contains(text, "<https://candid.example/console|Open the console>") {
			t.Errorf("no console link: %s", text)
		}
		if strings.HasPrefix(text, ":rotating_light: New *urgent* ticket") {
			urgent++
		}
	}
	if urgent != 1 {
		t.Errorf("%d alerts mention urgency, want 1: %v", urgent, bodies)
	}
}

func TestWebhookFailureDoesNotBlock(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer srv.Close()
	e := newEnv(t, func(o *Options) { o.WebhookURL = srv.URL; o.HTTPClient = srv.Client() })
	if _, err := e.svc.OpenTicket(context.Background(), store.Ticket{Handle: "h_x", Platform: "web", Question: "q?"}); err != nil {
		t.Fatal(err)
	}
	e.svc.Close()
	// Closed: later tickets still open, with no background work started.
	if _, err := e.svc.OpenTicket(context.Background(), store.Ticket{Handle: "h_y", Platform: "web", Question: "q?"}); err != nil {
		t.Fatal(err)
	}
}

func TestDraftIsStoredNeverSent(t *testing.T) {
	drafter := &StubDrafter{Text: "LLM says: \x1b[2Jtry this", Model: "test-model"}
	e := newEnv(t, func(o *Options) { o.Drafter = drafter })
	ctx := context.Background()
	tk, handle := e.open("web", false)
	e.svc.Close() // waits for the draft
	got, _ := e.svc.Ticket(ctx, tk.ID)
	if got.Draft != "LLM says: [2Jtry this" || got.DraftModel != "test-model" {
		t.Fatalf("draft %q model %q", got.Draft, got.DraftModel)
	}
	if q := drafter.Questions(); len(q) != 1 || !strings.Contains(q[0], "question number") {
		t.Fatalf("drafter asked %v", q)
	}
	if n := e.deliverAll(); n != 0 || len(therapistMessages(t, e.st, handle)) != 0 {
		t.Fatal("a draft reached the asker without approval")
	}
	// A failing drafter leaves no draft and no error for the asker.
	e2 := newEnv(t, func(o *Options) { o.Drafter = &StubDrafter{Err: errors.New("model down")} })
	tk2, _ := e2.open("web", false)
	e2.svc.Close()
	if got, _ := e2.svc.Ticket(ctx, tk2.ID); got.Draft != "" {
		t.Fatal("draft from a failing drafter")
	}
}

// TestNoDraftOrRejectForDanger: a ticket flagged urgent or concern gets no
// AI draft (a generic answer is the wrong start for a person who may be in
// danger), an urgent one cannot be rejected, and a drafted link outside
// the booking site is shown as text, never as a live link.
func TestNoDraftOrRejectForDanger(t *testing.T) {
	drafter := &StubDrafter{Text: "Try this: [Book here](http://evil.example/pay) or [book](https://clinic.example/book)", Model: "m"}
	e := newEnv(t, func(o *Options) { o.Drafter = drafter })
	ctx := context.Background()
	urgent, _ := e.open("web", true)
	concern, err := e.svc.OpenTicket(ctx, store.Ticket{Handle: "h_c", Platform: "web", Question: "worried", Tier: "concern", Category: "suicide"})
	if err != nil {
		t.Fatal(err)
	}
	ordinary, _ := e.open("web", false)
	if _, err := e.svc.Reject(ctx, alice, urgent.ID, "spam"); !errors.Is(err, ErrIllegal) {
		t.Errorf("rejecting an urgent ticket: %v, want ErrIllegal", err)
	}
	e.svc.Close() // waits for drafts
	if q := drafter.Questions(); len(q) != 1 {
		t.Fatalf("drafter asked %d times, want once (the ordinary ticket only)", len(q))
	}
	for _, id := range []string{urgent.ID, concern.ID} {
		if got, _ := e.svc.Ticket(ctx, id); got.Draft != "" {
			t.Errorf("ticket %s flagged %q has a draft", id, got.Tier)
		}
	}
	got, _ := e.svc.Ticket(ctx, ordinary.ID)
	if want := "Try this: Book here [link removed: http://evil.example/pay] or [book](https://clinic.example/book)"; got.Draft != want {
		t.Errorf("draft %q, want %q", got.Draft, want)
	}
}
