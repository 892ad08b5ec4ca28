// Package store owns Candid's data model: the records that outlive one request
// (conversation messages, tickets, the outbox, the audit log, staff accounts)
// and the contract every storage backend implements.
//
// It holds types and interfaces only. The backends live in sub-packages
// (boltstore: the embedded default; redisstore: for several replicas) and are
// chosen by the wiring in cmd/candid alone. Consumers (the conversation
// engine, the moderation service, the adapters) define the small interfaces
// they need next to their own code; a *boltstore.Store or *redisstore.Store
// satisfies them because it implements Store. The conformance suite in
// storetest runs the same tests against every backend.
//
// Anonymity is built into the model: an asker is only ever a Handle (a keyed
// HMAC, see internal/identity); a reply address is only ever Sealed bytes; text
// is stored only after it has been scrubbed. Nothing here may hold a raw
// platform ID, a name or an unscrubbed message.
package store

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Errors every backend returns (wrapped) so callers can use errors.Is.
var (
	// ErrNotFound: the record does not exist, or it expired.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a compare-and-swap lost (someone else changed the record
	// first) or a record that must be new already exists.
	ErrConflict = errors.New("conflict: the record was changed by someone else")
)

// TombstoneRetention is how long a ticket tombstone (state expired or
// forgotten) is kept: when a backend turns a ticket into a tombstone it sets
// the tombstone's ExpiresAt to that moment plus TombstoneRetention, and Purge
// deletes it, with its audit entries, once that has passed. Audit entries
// have no expiry of their own: they live exactly as long as their ticket.
const TombstoneRetention = 30 * 24 * time.Hour

// TicketState is where a ticket is in its lifecycle:
// open → claimed → answered | booked | rejected, and expired past retention.
// forgotten is a tombstone left when the asker ran /forget: it holds no
// content and no handle, so that the console can say why an answer could
// not be delivered.
type TicketState string

const (
	TicketOpen      TicketState = "open"
	TicketClaimed   TicketState = "claimed"
	TicketAnswered  TicketState = "answered"
	TicketBooked    TicketState = "booked"
	TicketRejected  TicketState = "rejected"
	TicketExpired   TicketState = "expired"
	TicketForgotten TicketState = "forgotten"
)

// Terminal reports whether no further transition is allowed.
func (s TicketState) Terminal() bool {
	switch s {
	case TicketAnswered, TicketBooked, TicketRejected, TicketExpired, TicketForgotten:
		return true
	}
	return false
}

// Button is an action offered with a reply ("Helpful", "Ask a therapist" …).
// Action is an opaque string the engine understands; adapters never parse it.
type Button struct {
	Label  string `json:"label"`
	Action string `json:"action"`
}

// Message is one line of an asker's conversation, kept so that the web chat
// can show the history and answers that arrive later. Text is scrubbed (for
// the asker's own words) or is the service's reply.
type Message struct {
	ID        string    `json:"id"`     // unique per handle; a re-used ID overwrites (idempotent delivery)
	Handle    string    `json:"handle"` // the asker's handle
	From      string    `json:"from"`   // "asker" | "candid" | "therapist"
	Kind      string    `json:"kind"`   // reply kind: answer, crisis, suggest, queued, info, out_of_scope, therapist
	Text      string    `json:"text"`
	FAQID     string    `json:"faq_id,omitempty"`
	Buttons   []Button  `json:"buttons,omitempty"`
	At        time.Time `json:"at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Candidate is one of the matcher's suggestions kept with a ticket, so a
// moderator can send an FAQ answer in one click.
type Candidate struct {
	FAQID string  `json:"faq_id"`
	Score float64 `json:"score"`
}

// Safety ranks, in the order staff must see tickets: urgent, then concern,
// then the rest (see Ticket.SafetyRank).
const (
	RankOrdinary = 0
	RankConcern  = 1
	RankUrgent   = 2
)

// SafetyRank says how soon a person must see t: RankUrgent for an urgent
// ticket (Urgent is the older field and still counts), RankConcern for one
// flagged concern, RankOrdinary otherwise. Queues sort on it before age.
func (t Ticket) SafetyRank() int {
	switch {
	case t.Urgent || t.Tier == "urgent":
		return RankUrgent
	case t.Tier == "concern":
		return RankConcern
	}
	return RankOrdinary
}

// WhyLabel says for staff what set t's tier: "rule suicide-plan" for a
// crisis rule's id, "model 0.93" for the learned layer's score, "" when
// nothing did. It is built from Why alone, which never holds asker text.
func (t Ticket) WhyLabel() string {
	why := strings.TrimSpace(t.Why)
	if why == "" || strings.HasPrefix(why, "model") {
		return why
	}
	return "rule " + why
}

// Ticket is a question waiting for (or answered by) the clinic's staff.
type Ticket struct {
	ID       string `json:"id"`
	Handle   string `json:"handle"`   // empty once forgotten
	Platform string `json:"platform"` // web | telegram | slack
	// Address is the sealed reply address (identity.Sealer output); nil for
	// web askers, whose answers go to their conversation. Deleted on delivery
	// and on /forget.
	Address  []byte `json:"address,omitempty"`
	Question string `json:"question"` // scrubbed
	Locale   string `json:"locale,omitempty"`
	Urgent   bool   `json:"urgent"`
	Category string `json:"category,omitempty"` // the kind of danger (safety.Kind) when urgent or concern
	// Tier is the safety tier: "urgent", "concern" or "" for an ordinary
	// question. A concern ticket is opened without the asker pressing
	// anything, so that a person sees it soon.
	Tier string `json:"tier,omitempty"`
	// Why says what decided the tier: a crisis rule's id, or "model 0.93"
	// (the learned layer's probability of danger). Never asker text.
	Why        string      `json:"why,omitempty"`
	Candidates []Candidate `json:"candidates,omitempty"`

	// Draft is an LLM draft waiting for a human; it is never sent as is.
	Draft      string `json:"draft,omitempty"`
	DraftModel string `json:"draft_model,omitempty"`

	State        TicketState `json:"state"`
	ClaimedBy    string      `json:"claimed_by,omitempty"` // staff name
	ClaimExpires time.Time   `json:"claim_expires,omitzero"`

	Answer       string `json:"answer,omitempty"`     // the text the asker was sent
	AnswerFAQ    string `json:"answer_faq,omitempty"` // when answered with an FAQ entry
	RejectReason string `json:"reject_reason,omitempty"`
	ActedBy      string `json:"acted_by,omitempty"` // staff who answered, booked or rejected

	// Delivery is "" until answered, then "pending", "delivered" or
	// "failed: <reason>" (for example when the asker ran /forget).
	Delivery string `json:"delivery,omitempty"`

	// Refs lets an adapter remember where it showed the ticket (for
	// example the Slack channel message to update in place). Never asker
	// identity.
	Refs map[string]string `json:"refs,omitempty"`

	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// Version increases by one on every write; UpdateTicket compares it.
	Version int64 `json:"version"`
}

// AuditEntry records one ticket transition: who (staff name or "system"),
// what and when. It never holds asker identity or the question.
type AuditEntry struct {
	TicketID string      `json:"ticket_id"`
	At       time.Time   `json:"at"`
	Actor    string      `json:"actor"`
	Action   string      `json:"action"`
	From     TicketState `json:"from"`
	To       TicketState `json:"to"`
	Note     string      `json:"note,omitempty"`
}

// OutboxItem is an answer on its way to an asker. It is written in the same
// transaction as the ticket transition that created it, delivered by a
// worker, then completed; so a crash loses nothing.
type OutboxItem struct {
	ID       string   `json:"id"` // idempotency key; also the delivered Message ID for web askers
	TicketID string   `json:"ticket_id"`
	Handle   string   `json:"handle"`
	Platform string   `json:"platform"`
	Address  []byte   `json:"address,omitempty"` // sealed
	Kind     string   `json:"kind"`
	Text     string   `json:"text"`
	Buttons  []Button `json:"buttons,omitempty"`

	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt"`
	LastError   string    `json:"last_error,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// Staff is a clinic account for the console and the staff API.
type Staff struct {
	Name         string    `json:"name"`
	Role         string    `json:"role"` // moderator | curator | admin
	PasswordHash string    `json:"password_hash"`
	Disabled     bool      `json:"disabled,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
}

// Session is a logged-in console session. Only a hash of the cookie value
// is stored.
type Session struct {
	IDHash    string    `json:"id_hash"`
	Staff     string    `json:"staff"`
	CSRF      string    `json:"csrf"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// APIToken is an API bearer token as stored: a hash of it, never the token.
type APIToken struct {
	Hash      string    `json:"hash"`
	Staff     string    `json:"staff"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	// ExpiresAt is when the token stops working. Zero only on tokens made
	// before tokens expired; they keep working until revoked.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// ID is how people name a token to list or revoke it: the first 12 hex
// digits of its hash, enough to tell one account's tokens apart and of no
// use for logging in.
func (t APIToken) ID() string {
	if len(t.Hash) > 12 {
		return t.Hash[:12]
	}
	return t.Hash
}

// FeedbackCount is how often something happened to one FAQ entry on one
// day: counts only, never who (no handle, no text), so /forget has nothing
// to remove from them. Days are UTC, "2006-01-02".
type FeedbackCount struct {
	Day   string `json:"day"`
	FAQID string `json:"faq_id"`
	Event string `json:"event"` // shown, helpful, not_helpful, ask_therapist, book
	N     int64  `json:"n"`
}

// FeedbackRetention is how long the daily counts are kept (a year and a
// month, so a clinic can compare with last year's same month).
const FeedbackRetention = 400 * 24 * time.Hour

// TicketFilter selects tickets for the queue. Zero values mean "any".
type TicketFilter struct {
	States []TicketState
	Limit  int // 0 = no limit
}

// ForgetReport says what /forget removed, for the reply and for metrics.
type ForgetReport struct {
	Messages int `json:"messages"`
	Tickets  int `json:"tickets"`
	Outbox   int `json:"outbox"`
	State    int `json:"state"`
}

// PurgeReport says what retention removed.
type PurgeReport struct {
	Messages int `json:"messages"`
	Tickets  int `json:"tickets"`
	Outbox   int `json:"outbox"`
	State    int `json:"state"`
	Audit    int `json:"audit"`
	Other    int `json:"other"`
}

// Store is the whole contract of a backend. Every method that returns nil
// has made its write durable (fsync for bbolt, the server's reply for
// Redis): a user may be told it succeeded.
type Store interface {
	// Conversation memory. Messages past ExpiresAt are never returned.
	PutMessage(ctx context.Context, m Message) error
	Messages(ctx context.Context, handle string, limit int) ([]Message, error)

	// Per-asker state (e.g. the last question, for "Ask a therapist").
	// Deleted by Forget and by retention.
	PutState(ctx context.Context, handle, key string, value []byte, ttl time.Duration) error
	State(ctx context.Context, handle, key string) ([]byte, error) // ErrNotFound if absent or expired
	DeleteState(ctx context.Context, handle, key string) error

	// Tickets. CreateTicket fails with ErrConflict if the ID exists.
	CreateTicket(ctx context.Context, t Ticket, audit AuditEntry) error
	Ticket(ctx context.Context, id string) (Ticket, error)
	Tickets(ctx context.Context, f TicketFilter) ([]Ticket, error)
	// UpdateTicket replaces the ticket if its stored Version equals
	// t.Version (else ErrConflict), increments Version, appends the audit
	// entry and, when out is not nil, enqueues the outbox item; all in one
	// atomic write. It returns the stored ticket.
	UpdateTicket(ctx context.Context, t Ticket, audit AuditEntry, out *OutboxItem) (Ticket, error)
	Audit(ctx context.Context, ticketID string) ([]AuditEntry, error)

	// Outbox. ClaimOutbox returns up to limit items whose NextAttempt is
	// due and pushes their NextAttempt to now+lease, so that another worker
	// (or replica) does not take them meanwhile.
	ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]OutboxItem, error)
	// CompleteOutbox removes the item and sets the ticket's Delivery to
	// delivery ("delivered" or "failed: …") and clears its Address.
	CompleteOutbox(ctx context.Context, id, delivery string) error
	RetryOutbox(ctx context.Context, id string, next time.Time, lastErr string) error

	// Blocks. A block outlives Forget on purpose: it holds only the handle
	// and an expiry, and lets a clinic stop abuse without knowing who it is.
	Block(ctx context.Context, handle string, until time.Time) error
	Unblock(ctx context.Context, handle string) error
	Blocked(ctx context.Context, handle string) (bool, error)

	// Once records key and reports whether it was new. Adapters use it to
	// process each platform event once (Telegram update_id, Slack event_id).
	Once(ctx context.Context, key string, ttl time.Duration) (bool, error)

	// Staff accounts, sessions and API tokens (hashes only).
	PutStaff(ctx context.Context, s Staff) error
	Staff(ctx context.Context, name string) (Staff, error)
	ListStaff(ctx context.Context) ([]Staff, error)
	DeleteStaff(ctx context.Context, name string) error // also deletes its sessions and tokens
	PutSession(ctx context.Context, s Session) error
	Session(ctx context.Context, idHash string) (Session, error)
	DeleteSession(ctx context.Context, idHash string) error
	PutToken(ctx context.Context, t APIToken) error
	Token(ctx context.Context, tokenHash string) (APIToken, error)
	Tokens(ctx context.Context, staff string) ([]APIToken, error) // oldest first
	DeleteToken(ctx context.Context, tokenHash string) error

	// AddFeedback adds c.N to the day's count of c.Event for c.FAQID.
	// Feedback returns every count from day since (inclusive) on. Counts
	// older than FeedbackRetention are purged.
	AddFeedback(ctx context.Context, c FeedbackCount) error
	Feedback(ctx context.Context, since string) ([]FeedbackCount, error)

	// Forget deletes everything held for handle: messages, state, outbox
	// items; tickets become content-free "forgotten" tombstones.
	Forget(ctx context.Context, handle string) (ForgetReport, error)
	// Purge deletes everything whose retention has passed; open or claimed
	// tickets past ExpiresAt become content-free "expired" tombstones.
	Purge(ctx context.Context, now time.Time) (PurgeReport, error)

	Close() error
}
