package llm_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/candid-app/candid/internal/content"
	"github.com/candid-app/candid/internal/faq"
	"github.com/candid-app/candid/internal/llm"
	"github.com/candid-app/candid/internal/moderation"
	"github.com/candid-app/candid/internal/store"
	"github.com/candid-app/candid/internal/store/boltstore"
)

// The wiring passes the live content (or a catalog) to EntriesFAQ.
var (
	_ llm.EntrySource = (*content.Live)(nil)
	_ llm.EntrySource = (*faq.Catalog)(nil)
)

const draftText = "Losing an erection now and then is very common.\n\n- **Slow down** and take the pressure off."

// modEnv is the real moderation service over a bbolt store, drafting with
// a real Drafter against a fake OpenAI-compatible server.
type modEnv struct {
	fake   *llm.FakeServer
	st     *boltstore.Store
	svc    *moderation.Service
	sender *moderation.RecordingSender
	events <-chan moderation.Event
}

func newModEnv(t *testing.T, fake *llm.FakeServer) *modEnv {
	t.Helper()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "candid.db"), boltstore.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	d, err := llm.New(llm.Options{
		BaseURL: srv.URL + "/v1", APIKey: "sk-test", Model: "gpt-4o-mini", ClinicName: "Example Clinic",
		FAQ: llm.StaticFAQ{"erection-difficulties": {Question: "Why can't I keep an erection?", Answer: "Erection difficulties are common."}},
	})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := moderation.New(moderation.Options{
		Store: st, Drafter: d, ClinicName: "Example Clinic", BookingURL: "https://clinic.example/book",
		FAQ: moderation.MapFAQ{"erection-difficulties": "Erection difficulties are common."},
	})
	if err != nil {
		t.Fatal(err)
	}
	sender := &moderation.RecordingSender{}
	svc.RegisterSender("telegram", sender)
	events, stop := svc.Subscribe()
	t.Cleanup(func() {
		stop()
		svc.Close()
		st.Close()
	})
	return &modEnv{fake: fake, st: st, svc: svc, sender: sender, events: events}
}

// waitFor returns when n tickets have had an event of kind, or fails the
// test if the service stops publishing.
func (e *modEnv) waitFor(t *testing.T, kind string, n int) {
	t.Helper()
	seen := map[string]bool{}
	for len(seen) < n {
		select {
		case ev := <-e.events:
			if ev.Kind == kind {
				seen[ev.Ticket.ID] = true
			}
		case <-time.After(30 * time.Second): // a hang guard, not a timing assertion
			t.Fatalf("no %q event after 30s", kind)
		}
	}
}

// nothingDelivered checks that no answer is on its way to, or has reached,
// the asker.
func (e *modEnv) nothingDelivered(t *testing.T, webHandle string) {
	t.Helper()
	ctx := context.Background()
	if n, err := e.svc.DeliverDue(ctx); err != nil || n != 0 {
		t.Fatalf("delivered %d (%v) before a moderator answered", n, err)
	}
	items, err := e.st.ClaimOutbox(ctx, time.Now().Add(24*time.Hour), time.Millisecond, 100)
	if err != nil || len(items) != 0 {
		t.Fatalf("outbox holds %d items (%v) before a moderator answered", len(items), err)
	}
	msgs, err := e.st.Messages(ctx, webHandle, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.From != "asker" {
			t.Fatalf("the asker received %q before a moderator answered", m.Text)
		}
	}
	if e.sender.Calls() != 0 {
		t.Fatal("a platform sender was called before a moderator answered")
	}
}

func TestDraftOnTicketNeverSentWithoutApproval(t *testing.T) {
	e := newModEnv(t, &llm.FakeServer{Reply: draftText})
	ctx := context.Background()
	web, err := e.svc.OpenTicket(ctx, store.Ticket{Handle: "h_webasker", Platform: "web",
		Question:   "I lose my erection with my partner, write to me at [email]",
		Candidates: []store.Candidate{{FAQID: "erection-difficulties", Score: 0.7}}})
	if err != nil {
		t.Fatal(err)
	}
	tg, err := e.svc.OpenTicket(ctx, store.Ticket{Handle: "h_tgasker", Platform: "telegram", Address: []byte("sealed-address"),
		Question: "is it normal to lose it sometimes"})
	if err != nil {
		t.Fatal(err)
	}
	e.waitFor(t, "drafted", 2)

	// The draft is on the tickets, for staff.
	for _, id := range []string{web.ID, tg.ID} {
		got, err := e.svc.Ticket(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Draft != draftText || got.DraftModel != "gpt-4o-mini+draft.v1" || got.State != store.TicketOpen {
			t.Fatalf("ticket %s: draft %q model %q state %s", id, got.Draft, got.DraftModel, got.State)
		}
	}
	// The model saw the questions and the curated answer, nothing about the asker.
	reqs := e.fake.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	var all []byte
	for _, r := range reqs {
		all = append(all, r.Body...)
	}
	for _, want := range []string{"I lose my erection", "is it normal to lose it", "Erection difficulties are common."} {
		if !bytes.Contains(all, []byte(want)) {
			t.Errorf("the model did not get %q", want)
		}
	}
	for _, leak := range []string{"h_webasker", "h_tgasker", "sealed-address", "telegram", web.ID, tg.ID} {
		if bytes.Contains(all, []byte(leak)) {
			t.Errorf("the model received %q", leak)
		}
	}

	// Invariant 6: nothing reaches either asker until a human answers.
	e.nothingDelivered(t, "h_webasker")

	// A moderator answers in their own words: only those are delivered.
	mod := moderation.Actor{Name: "alice", Role: moderation.RoleModerator}
	human := "It happens to most people at some point. Our therapists can help."
	for _, id := range []string{web.ID, tg.ID} {
		if _, err := e.svc.Answer(ctx, mod, id, moderation.Answer{Text: human}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := e.svc.DeliverDue(ctx); err != nil || n != 2 {
		t.Fatalf("delivered %d: %v", n, err)
	}
	msgs, err := e.st.Messages(ctx, "h_webasker", 0)
	if err != nil {
		t.Fatal(err)
	}
	var webGot []string
	for _, m := range msgs {
		if m.From != "asker" {
			webGot = append(webGot, m.Text)
		}
	}
	items := e.sender.Delivered()
	if len(webGot) != 1 || len(items) != 1 {
		t.Fatalf("web got %d messages, telegram %d items", len(webGot), len(items))
	}
	for _, text := range []string{webGot[0], items[0].Text} {
		if !strings.Contains(text, human) || strings.Contains(text, "Losing an erection") || strings.Contains(text, "Slow down") {
			t.Fatalf("the asker got %q", text)
		}
	}
}

func TestFailedDraftLeavesSlotEmpty(t *testing.T) {
	for _, fake := range []*llm.FakeServer{
		{Status: 500, ErrorType: "server_error", ErrorMsg: "The server had an error while processing your request."},
		{Status: 401, ErrorType: "invalid_request_error", ErrorCode: "invalid_api_key", ErrorMsg: "Incorrect API key provided"},
		{Reply: "something", FinishReason: "content_filter"},
		{NoChoices: true},
	} {
		e := newModEnv(t, fake)
		ctx := context.Background()
		tk, err := e.svc.OpenTicket(ctx, store.Ticket{Handle: "h_asker", Platform: "web", Question: "a question that gets no draft"})
		if err != nil {
			t.Fatal(err)
		}
		e.svc.Close() // waits for the background draft
		if len(e.fake.Requests()) != 1 {
			t.Fatalf("%d requests", len(e.fake.Requests()))
		}
		got, err := e.svc.Ticket(ctx, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Draft != "" || got.DraftModel != "" || got.State != store.TicketOpen {
			t.Fatalf("draft %q model %q state %s", got.Draft, got.DraftModel, got.State)
		}
		e.nothingDelivered(t, "h_asker")
	}
}
