package conversation

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestTicketBudget: an asker's ordinary tickets are capped per hour, and
// per client address at a multiple; an emergency is never held back by the
// cap (its urgent ticket opens all the same).
func TestTicketBudget(t *testing.T) {
	f := newFixture(t, false)
	f.e.opts.TicketsPerHour = 2
	ctx := context.Background()
	ask := func(handle, client, text string) []Reply {
		t.Helper()
		if _, err := f.e.Handle(ctx, Inbound{Handle: handle, Platform: "web", Client: client, Text: text}); err != nil {
			t.Fatal(err)
		}
		out, err := f.e.Handle(ctx, Inbound{Handle: handle, Platform: "web", Client: client, Action: ActionAskTherapist})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for i := range 2 {
		if r := ask("h_budget", "c1", fmt.Sprintf("queue please %d", i)); r[0].Kind != KindQueued {
			t.Fatalf("ticket %d: %+v", i, r)
		}
	}
	r := ask("h_budget", "c1", "queue please 3")
	if r[0].Kind != KindInfo || !strings.Contains(r[0].Text, "in the last hour") {
		t.Fatalf("over the budget: %+v", r)
	}
	if n := len(f.tickets.Opened); n != 2 {
		t.Errorf("%d tickets opened, want 2", n)
	}
	// An emergency from the same asker still opens an urgent ticket.
	out, err := f.e.Handle(ctx, Inbound{Handle: "h_budget", Platform: "web", Client: "c1", Text: "answer I want to kill myself"})
	if err != nil {
		t.Fatal(err)
	}
	if out[0].Kind != KindCrisis || !strings.Contains(out[0].Text, "passed your message") {
		t.Fatalf("emergency over the budget: %+v", out)
	}
	// Fresh askers behind one address: the address budget (2 × 6) stops
	// the thirteenth ticket.
	opened := 0
	for i := range 14 {
		if r := ask(fmt.Sprintf("h_fresh%d", i), "c2", fmt.Sprintf("queue please %d", i)); r[0].Kind == KindQueued {
			opened++
		}
	}
	if opened != 12 {
		t.Errorf("%d tickets from one address, want 12", opened)
	}
}
