package conversation

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/candid-app/candid/internal/faq"
	"github.com/candid-app/candid/internal/logtest"
	"github.com/candid-app/candid/internal/safety"
	"github.com/candid-app/candid/internal/store"
)

const refusal = "You are sending messages too quickly. Please wait a moment."

// TestRefused: an input an adapter's limit stopped gets the help for a
// danger when it needs it (the resources and an urgent ticket, exactly as
// the crisis path gives them) and the adapter's refusal otherwise.
func TestRefused(t *testing.T) {
	long := strings.Repeat("I have been thinking about everything that went wrong this year. ", 60) +
		"I want to kill myself tonight. " + strings.Repeat("Nobody would notice. ", 300)
	tests := []struct {
		name     string
		platform string
		text     string
		action   string
		blocked  bool
		help     bool
	}{
		{name: "emergency", platform: "telegram", text: "I want to kill myself tonight", help: true},
		{name: "emergency on the web", platform: "web", text: "I want to kill myself tonight", help: true},
		{name: "emergency from a blocked asker", platform: "slack", text: "I want to die", blocked: true, help: true},
		{name: "emergency longer than a question may be", platform: "web", text: long, help: true},
		{name: "ordinary question", platform: "web", text: "how do I put on a condom"},
		{name: "ordinary question from a blocked asker", platform: "telegram", text: "is it normal to masturbate every day", blocked: true},
		{name: "command", platform: "telegram", text: "/forget"},
		{name: "unknown command", platform: "telegram", text: "/die"},
		{name: "button", platform: "slack", action: ActionAskTherapist},
		{name: "empty", platform: "web", text: "   "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, true)
			ctx := context.Background()
			const handle = "h_refused"
			if tt.blocked {
				if err := f.st.Block(ctx, handle, time.Now().Add(24*time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
			in := Inbound{Handle: handle, Platform: tt.platform, Text: tt.text, Action: tt.action, Address: []byte("sealed"), Region: "UK"}
			rs, err := f.e.Refused(ctx, in, refusal)
			if err != nil {
				t.Fatal(err)
			}
			msgs, err := f.st.Messages(ctx, handle, 10)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.help {
				if len(rs) != 1 || rs[0].Kind != KindInfo || rs[0].Text != refusal {
					t.Fatalf("replies %+v, want the refusal alone", rs)
				}
				if NeedsHelp(rs) {
					t.Error("NeedsHelp on a refusal")
				}
				if len(f.tickets.Opened) != 0 || len(msgs) != 0 {
					t.Errorf("a refusal stored %d tickets and %d messages", len(f.tickets.Opened), len(msgs))
				}
				if _, err := f.st.State(ctx, handle, stateLastQuestion); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("a refusal kept the last question (%v)", err)
				}
				return
			}
			if len(rs) != 1 || rs[0].Kind != KindCrisis || !NeedsHelp(rs) {
				t.Fatalf("replies %+v, want the crisis reply", rs)
			}
			if !strings.Contains(rs[0].Text, "116 123") || !strings.Contains(rs[0].Text, "urgent") {
				t.Errorf("the crisis reply lacks the UK resources or the ticket line: %q", rs[0].Text)
			}
			if len(f.tickets.Opened) != 1 {
				t.Fatalf("%d tickets, want one urgent ticket", len(f.tickets.Opened))
			}
			tk := f.tickets.Opened[0]
			if !tk.Urgent || tk.Category == "" || tk.Handle != handle || tk.Platform != tt.platform || string(tk.Address) != "sealed" {
				t.Errorf("ticket %+v", tk)
			}
			if n := len([]rune(tk.Question)); n > maxTicketRunes+len([]rune(ticketCut)) || !strings.Contains(tk.Question, tt.text[:13]) {
				t.Errorf("ticket question of %d runes: %.80q…", n, tk.Question)
			}
			lq, err := f.e.last(ctx, handle)
			if err != nil || !lq.Urgent || lq.TicketID != tk.ID {
				t.Errorf("last question %+v (%v): want it urgent and tied to the ticket", lq, err)
			}
			// "Ask a therapist" afterwards does not open a second ticket.
			if rs, _ := f.e.Handle(ctx, Inbound{Handle: handle, Platform: tt.platform, Action: ActionAskTherapist, Address: []byte("sealed")}); len(f.tickets.Opened) != 1 {
				t.Errorf("ask a therapist after the crisis: %+v, %d tickets", rs, len(f.tickets.Opened))
			}
			// The web chat shows the exchange from its history (the no-JS
			// form redirects to it); other platforms keep none.
			wantMsgs := 0
			if tt.platform == "web" {
				wantMsgs = 2
			}
			if len(msgs) != wantMsgs {
				t.Fatalf("%d history messages, want %d", len(msgs), wantMsgs)
			}
			if wantMsgs > 0 && (msgs[0].From != "asker" || msgs[1].Kind != string(KindCrisis)) {
				t.Errorf("history %+v", msgs)
			}
		})
	}
}

// concernAssessor says every message tells of a possible danger (the
// concern tier), so that Refused is seen to act on NeedsHelp, not on the
// urgent tier alone.
type concernAssessor struct{ Assessor }

func (c concernAssessor) Assess(text string) safety.Assessment {
	a := c.Assessor.Assess(text)
	a.Tier, a.Kind, a.Crisis = safety.TierConcern, safety.KindSuicide, false
	return a
}

// TestRefusedConcernTierGetsHelp: a concern (a possible danger) that a
// limit stopped gets the check-in with the resources and a concern ticket,
// as the concern path gives them, and then the refusal, since the question
// itself was not answered; with an empty refusal, the check-in alone.
func TestRefusedConcernTierGetsHelp(t *testing.T) {
	st, _ := openStore(t)
	lib, det, res := ShippedContent(t)
	ft := &FakeTickets{Store: st}
	e, err := New(Options{Library: lib, Safety: concernAssessor{det}, Resources: res, Memory: st, Tickets: ft, Forgetter: ft})
	if err != nil {
		t.Fatal(err)
	}
	for i, refusal := range []string{refusal, ""} {
		rs, err := e.Refused(context.Background(), Inbound{Handle: "h_c", Platform: "web", Text: "my friend keeps talking about not being here next week"}, refusal)
		if err != nil {
			t.Fatal(err)
		}
		want := 2
		if refusal == "" {
			want = 1
		}
		if !NeedsHelp(rs) || len(rs) != want || rs[0].Kind != KindCheckIn || refusal != "" && rs[1].Text != refusal {
			t.Fatalf("concern tier, refusal %q: replies %+v", refusal, rs)
		}
		if len(ft.Opened) != i+1 || ft.Opened[i].Urgent || ft.Opened[i].Tier != string(safety.TierConcern) {
			t.Fatalf("tickets %+v, want a concern ticket", ft.Opened)
		}
	}
}

func TestRefusedNeedsHandle(t *testing.T) {
	f := newFixture(t, false)
	if _, err := f.e.Refused(context.Background(), Inbound{Platform: "web", Text: "I want to die"}, refusal); err == nil {
		t.Error("no error for an inbound without a handle")
	}
}

// failingMemory is a store whose block check fails.
type failingMemory struct {
	Memory
	blockErr error
}

func (m failingMemory) Blocked(ctx context.Context, handle string) (bool, error) {
	return false, m.blockErr
}

type failingTickets struct{ err error }

func (f failingTickets) OpenTicket(context.Context, store.Ticket) (store.Ticket, error) {
	return store.Ticket{}, f.err
}

// TestCrisisNeverStoppedByTheStore: the crisis path opens the urgent ticket
// when the block check fails, and when the ticket itself cannot be stored it
// still shows the resources and logs an error that holds neither the text
// nor the handle.
func TestCrisisNeverStoppedByTheStore(t *testing.T) {
	ctx := context.Background()
	lib, det, res := ShippedContent(t)

	t.Run("block check fails", func(t *testing.T) {
		st, _ := openStore(t)
		ft := &FakeTickets{Store: st}
		mem := failingMemory{Memory: st, blockErr: errors.New("store unavailable")}
		e, err := New(Options{Library: lib, Safety: det, Resources: res, Memory: mem, Tickets: ft, Forgetter: ft})
		if err != nil {
			t.Fatal(err)
		}
		for _, call := range []func(Inbound) ([]Reply, error){
			func(in Inbound) ([]Reply, error) { return e.Handle(ctx, in) },
			func(in Inbound) ([]Reply, error) { return e.Refused(ctx, in, refusal) },
		} {
			rs, err := call(Inbound{Handle: "h_x", Platform: "web", Text: "I want to kill myself"})
			if err != nil || !NeedsHelp(rs) {
				t.Fatalf("replies %+v, %v", rs, err)
			}
		}
		if len(ft.Opened) != 2 || !ft.Opened[0].Urgent {
			t.Fatalf("%d tickets opened, want 2 urgent", len(ft.Opened))
		}
	})

	t.Run("ticket cannot be stored", func(t *testing.T) {
		st, _ := openStore(t)
		logs := &logtest.Buffer{}
		e, err := New(Options{Library: lib, Safety: det, Resources: res, Memory: st,
			Tickets: failingTickets{errors.New("moderation: store the new ticket: disk full")}, Forgetter: &FakeTickets{Store: st},
			Logger: slog.New(slog.NewTextHandler(logs, nil)), Vars: faq.ExampleVars})
		if err != nil {
			t.Fatal(err)
		}
		const text = "I took all my pills, I want to die"
		const handle = "h_secret_handle_77"
		for _, call := range []func(Inbound) ([]Reply, error){
			func(in Inbound) ([]Reply, error) { return e.Handle(ctx, in) },
			func(in Inbound) ([]Reply, error) { return e.Refused(ctx, in, refusal) },
		} {
			rs, err := call(Inbound{Handle: handle, Platform: "telegram", Address: []byte("sealed"), Text: text})
			if err != nil || !NeedsHelp(rs) {
				t.Fatalf("replies %+v, %v", rs, err)
			}
			if strings.Contains(rs[0].Text, "as urgent") {
				t.Errorf("the reply says the message was passed on, but no ticket was stored: %q", rs[0].Text)
			}
		}
		out := logs.String()
		if strings.Count(out, "urgent ticket not stored") != 2 || !strings.Contains(out, "level=ERROR") {
			t.Errorf("want two errors logged, got:\n%s", out)
		}
		for _, secret := range []string{"pills", "want to die", handle, "sealed"} {
			if strings.Contains(out, secret) {
				t.Errorf("the log holds %q:\n%s", secret, out)
			}
		}
	})
}
