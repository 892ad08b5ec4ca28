// Package rules owns the record rules both storage backends must apply the
// same way (how a tombstone is made, what an outbox item inherits from its
// ticket, queue order), so that boltstore and redisstore cannot drift apart.
// Only the backends import it.
package rules

import (
	"cmp"
	"slices"
	"time"

	"github.com/candid-app/candid/internal/store"
)

// Tombstone strips a ticket down to what the console needs to explain
// itself: no handle, address, question, category, candidates, draft,
// answer or reason. A pending delivery becomes "failed: <state>". It is
// kept for store.TombstoneRetention from now.
func Tombstone(t store.Ticket, state store.TicketState, now time.Time) store.Ticket {
	n := store.Ticket{
		ID:        t.ID,
		Platform:  t.Platform,
		Locale:    t.Locale,
		Urgent:    t.Urgent,
		State:     state,
		ClaimedBy: t.ClaimedBy,
		ActedBy:   t.ActedBy,
		Delivery:  t.Delivery,
		Refs:      t.Refs, // where adapters showed it, so they can update it
		CreatedAt: t.CreatedAt,
		UpdatedAt: now,
		ExpiresAt: now.Add(store.TombstoneRetention),
		Version:   t.Version + 1,
	}
	if n.Delivery == "pending" {
		n.Delivery = "failed: " + string(state)
	}
	return n
}

// TombstoneAudit is the audit entry written when a ticket becomes a
// tombstone.
func TombstoneAudit(old, tomb store.Ticket, action string, now time.Time) store.AuditEntry {
	return store.AuditEntry{TicketID: old.ID, At: now, Actor: "system", Action: action, From: old.State, To: tomb.State}
}

// Live reports whether an open or claimed ticket (one that Purge turns into
// a tombstone rather than deletes).
func Live(s store.TicketState) bool { return s == store.TicketOpen || s == store.TicketClaimed }

// Tombstoned reports whether a ticket is a tombstone. UpdateTicket refuses
// to change one (ErrConflict): Forget or Purge changed it last, and a
// tombstone must never get content or a handle back.
func Tombstoned(s store.TicketState) bool {
	return s == store.TicketForgotten || s == store.TicketExpired
}

// NewTicket fills what CreateTicket sets itself.
func NewTicket(t store.Ticket, now time.Time) store.Ticket {
	if t.State == "" {
		t.State = store.TicketOpen
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now
	}
	t.UpdatedAt = now
	t.Version = 1
	return t
}

// NextTicket is what UpdateTicket stores over old.
func NextTicket(old, t store.Ticket, now time.Time) store.Ticket {
	t.Version = old.Version + 1
	t.UpdatedAt = now
	if t.State == "" {
		t.State = old.State
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = old.CreatedAt
	}
	if t.ExpiresAt.IsZero() {
		t.ExpiresAt = old.ExpiresAt
	}
	return t
}

// Audit completes an audit entry for ticket id moving from → to.
func Audit(a store.AuditEntry, id string, from, to store.TicketState, now time.Time) store.AuditEntry {
	a.TicketID = id
	if a.At.IsZero() {
		a.At = now
	}
	if a.From == "" {
		a.From = from
	}
	if a.To == "" {
		a.To = to
	}
	return a
}

// Outbox completes an outbox item enqueued with ticket t: it belongs to t,
// reaches t's asker unless told otherwise, is due now unless told
// otherwise, and expires with the ticket unless it has its own ExpiresAt.
func Outbox(o store.OutboxItem, t store.Ticket, now time.Time) store.OutboxItem {
	o.TicketID = t.ID
	if o.Handle == "" {
		o.Handle = t.Handle
	}
	if o.Platform == "" {
		o.Platform = t.Platform
	}
	if o.Address == nil {
		o.Address = t.Address
	}
	if o.NextAttempt.IsZero() {
		o.NextAttempt = now
	}
	if o.CreatedAt.IsZero() {
		o.CreatedAt = now
	}
	if o.ExpiresAt.IsZero() {
		o.ExpiresAt = t.ExpiresAt
	}
	return o
}

// SortTickets puts tickets in queue order: urgent first, then oldest
// first, then by ID.
func SortTickets(ts []store.Ticket) {
	slices.SortFunc(ts, func(a, b store.Ticket) int {
		if a.Urgent != b.Urgent {
			if a.Urgent {
				return -1
			}
			return 1
		}
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

// SortMessages orders a conversation oldest first (by At, then ID).
func SortMessages(ms []store.Message) {
	slices.SortFunc(ms, func(a, b store.Message) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

// Expired reports whether a record with this expiry is gone at now. A zero
// expiry never expires (backends refuse to write one for asker data).
func Expired(exp, now time.Time) bool { return !exp.IsZero() && !now.Before(exp) }

// StatesAll lists every ticket state, for backends that index by state.
var StatesAll = []store.TicketState{
	store.TicketOpen, store.TicketClaimed, store.TicketAnswered, store.TicketBooked,
	store.TicketRejected, store.TicketExpired, store.TicketForgotten,
}
