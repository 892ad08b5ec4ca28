package moderation

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/candid-app/candid/internal/store"
)

// HistoryLimit is how many closed tickets History returns at most.
const HistoryLimit = 200

// Handled is a closed ticket with when a person first handled it.
type Handled struct {
	Ticket store.Ticket
	// HandledAt is when it was answered, booked or rejected (from its
	// history); zero for tickets closed without a person (expired,
	// forgotten).
	HandledAt time.Time
}

// History returns the closed tickets in states (all closed states when
// none is given), most recently closed first, at most HistoryLimit, each
// with when it was handled. Like the queue it never carries handles or
// addresses.
func (s *Service) History(ctx context.Context, states ...store.TicketState) ([]Handled, error) {
	if len(states) == 0 {
		states = []store.TicketState{store.TicketAnswered, store.TicketBooked, store.TicketRejected, store.TicketExpired, store.TicketForgotten}
	}
	for _, st := range states {
		if !st.Terminal() {
			return nil, fmt.Errorf("%w: %s is not a closed state", ErrInvalid, st)
		}
	}
	ts, err := s.st.Tickets(ctx, store.TicketFilter{States: states})
	if err != nil {
		return nil, fmt.Errorf("moderation: read the history: %w", err)
	}
	slices.SortStableFunc(ts, func(a, b store.Ticket) int {
		if c := b.UpdatedAt.Compare(a.UpdatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	if len(ts) > HistoryLimit {
		ts = ts[:HistoryLimit]
	}
	out := make([]Handled, 0, len(ts))
	for _, t := range ts {
		h := Handled{Ticket: redact(t)}
		if t.State == store.TicketAnswered || t.State == store.TicketBooked || t.State == store.TicketRejected {
			audit, err := s.st.Audit(ctx, t.ID)
			if err != nil {
				return nil, fmt.Errorf("moderation: read the history: %w", err)
			}
			for _, a := range audit {
				if a.Action == "answered" || a.Action == "booked" || a.Action == "rejected" {
					h.HandledAt = a.At
					break
				}
			}
		}
		out = append(out, h)
	}
	return out, nil
}
