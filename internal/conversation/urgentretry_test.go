package conversation

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/candid-app/candid/internal/store"
)

// flakyTickets fails the first n OpenTicket calls, as a store does while
// Redis fails over.
type flakyTickets struct {
	*FakeTickets
	mu    sync.Mutex
	fails int
	calls int
}

func (f *flakyTickets) OpenTicket(ctx context.Context, t store.Ticket) (store.Ticket, error) {
	f.mu.Lock()
	f.calls++
	fail := f.calls <= f.fails
	f.mu.Unlock()
	if fail {
		return store.Ticket{}, errors.New("redis: connection refused")
	}
	return f.FakeTickets.OpenTicket(ctx, t)
}

// TestUrgentTicketRetried: an urgent ticket survives a store that fails a
// few times, and the asker is told it was passed on only when it was.
func TestUrgentTicketRetried(t *testing.T) {
	for _, tc := range []struct {
		fails  int
		stored bool
	}{{0, true}, {2, true}, {3, true}, {10, false}} {
		f := newFixture(t, false)
		ft := &flakyTickets{FakeTickets: f.tickets, fails: tc.fails}
		f.e.opts.Tickets = ft
		out, err := f.e.Handle(context.Background(), Inbound{Handle: "h_retry", Platform: "web", Text: "answer I want to kill myself"})
		if err != nil {
			t.Fatal(err)
		}
		if out[0].Kind != KindCrisis || !strings.Contains(out[0].Text, "116 123") && !strings.Contains(out[0].Text, "call") {
			t.Fatalf("fails %d: no crisis reply: %+v", tc.fails, out)
		}
		told := strings.Contains(out[0].Text, "passed your message")
		if got := len(f.tickets.Opened) == 1; got != tc.stored || told != tc.stored {
			t.Errorf("fails %d: stored %v, told %v; want %v", tc.fails, got, told, tc.stored)
		}
	}
}
