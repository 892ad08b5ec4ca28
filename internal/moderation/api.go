package moderation

// This file is the moderation service's contract, written first so that the
// console, Telegram and Slack adapters can be built against it in parallel.

import (
	"context"
	"errors"
	"time"

	"github.com/candid-app/candid/internal/store"
)

// Errors the service returns (wrapped); the console maps them to HTTP codes.
var (
	ErrNotFound   = store.ErrNotFound                                        // 404
	ErrConflict   = errors.New("conflict: another moderator acted first")    // 409
	ErrIllegal    = errors.New("that action is not allowed in this state")   // 409
	ErrInvalid    = errors.New("invalid request")                            // 422
	ErrForbidden  = errors.New("your role does not allow this")              // 403
	ErrNotClaimer = errors.New("the ticket is claimed by another moderator") // 409
)

// Actor is the staff member doing something. Name is shown to other staff
// and written to the audit log; Role is moderator, curator or admin.
type Actor struct {
	Name string
	Role string
}

// Answer is a moderator's reply to a ticket: Text, or FAQID (the curated
// answer), or both empty with Booking true (a plain booking recommendation).
// Booking adds the clinic's booking link.
type Answer struct {
	Text    string `json:"text,omitempty"`
	FAQID   string `json:"faq_id,omitempty"`
	Booking bool   `json:"booking,omitempty"`
}

// QueueStats summarise the queue for the console header and metrics.
type QueueStats struct {
	Open        int           `json:"open"`
	Claimed     int           `json:"claimed"`
	Urgent      int           `json:"urgent"`
	Concern     int           `json:"concern"` // flagged concern by the safety check, not urgent
	OldestAge   time.Duration `json:"oldest_age_ns"`
	Undelivered int           `json:"undelivered"` // answered but delivery failed
}

// Event is published on every ticket change, so that the console's live count
// and the Slack channel message can follow the ticket.
type Event struct {
	Kind   string       `json:"kind"` // opened, claimed, released, answered, booked, rejected, expired, forgotten, delivered, delivery_failed, blocked
	Ticket store.Ticket `json:"ticket"`
	Actor  string       `json:"actor,omitempty"`
}

// Sender delivers an outbox item to an asker on one platform. Telegram and
// Slack adapters implement it (opening the sealed address themselves); web
// delivery is built in (it writes to the asker's conversation history).
// Deliver must return ErrUndeliverable (wrapped) for a permanent failure
// (address expired or invalid, user blocked the bot) so the item is not
// retried forever.
type Sender interface {
	Deliver(ctx context.Context, item store.OutboxItem) error
}

// ErrUndeliverable marks a permanent delivery failure.
var ErrUndeliverable = errors.New("undeliverable")

// Drafter writes a draft answer for a ticket (the LLM). A draft is only ever
// shown to staff; the service never sends it without a human's approval.
type Drafter interface {
	Draft(ctx context.Context, question string, candidates []store.Candidate) (text, model string, err error)
}

// FAQ renders a curated answer by ID (with the clinic's variables), so that
// a moderator can answer with it in one click.
type FAQ interface {
	RenderAnswer(id string) (text string, ok bool)
}
