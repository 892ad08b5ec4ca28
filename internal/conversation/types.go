package conversation

import (
	"context"

	"github.com/candid-app/candid/internal/store"
)

// Inbound is one thing an asker did, already translated from the platform by
// an adapter: a message (Text) or a button press (Action).
type Inbound struct {
	// Handle is the asker's pseudonymous handle (identity.Keys.Handle).
	Handle string
	// PastHandles are the handles retired keys gave the same account
	// (identity.Keys.PastHandles): /forget deletes under them too, and a
	// block made under one still holds. Empty until keys are rotated.
	PastHandles []string
	// Platform is "web", "telegram" or "slack".
	Platform string
	// Address is the sealed reply address for later answers (nil for web,
	// whose answers go to the conversation history).
	Address []byte
	// Text is the message as typed. The engine scrubs it before it is
	// stored, logged or shown to anyone.
	Text string
	// Action is a button's action string (Reply.Buttons[i].Action). An
	// adapter passes it back as it came (after checking it was its own).
	Action string
	// Locale ("en") and Region (a crisis-resource region code such as "US",
	// "UK", "EU"; empty means the configured default).
	Locale string
	Region string
	// Client is a keyed digest of the client's network address (web chat
	// only; empty elsewhere), so that tickets can be budgeted per address.
	// It is never stored.
	Client string
}

// Kind says what a reply is, so adapters can style it.
type Kind string

const (
	KindAnswer     Kind = "answer"       // an FAQ answer
	KindCrisis     Kind = "crisis"       // crisis resources; always first
	KindCheckIn    Kind = "check_in"     // a concern: a warm check-in and the resources, after the answer
	KindSuggest    Kind = "suggest"      // "did you mean" choices
	KindQueued     Kind = "queued"       // the question went to the clinic's therapists
	KindInfo       Kind = "info"         // help, privacy, forget, booking, no match …
	KindOutOfScope Kind = "out_of_scope" // not what the service is for
	KindTherapist  Kind = "therapist"    // a later answer from the clinic
)

// Reply is one message back to the asker. Text uses the FAQ's Markdown
// subset (paragraphs, "- " bullets, **bold**, *italic*, [links](https://…));
// each adapter renders it for its platform.
type Reply struct {
	Kind    Kind           `json:"kind"`
	Text    string         `json:"text"`
	FAQID   string         `json:"faq_id,omitempty"`
	Buttons []store.Button `json:"buttons,omitempty"`
}

// Tickets opens a ticket for the clinic's queue. The moderation service
// implements it: it fills ID, State, timestamps and retention, stores the
// ticket durably and notifies staff.
type Tickets interface {
	OpenTicket(ctx context.Context, t store.Ticket) (store.Ticket, error)
}
