package conversation

import (
	"context"
	"time"

	"github.com/candid-app/candid/internal/store"
)

// Feedback per FAQ entry, for curators: how often each entry was shown,
// found helpful or not, and followed by Ask a therapist or Book. Counts
// only, by day: no handle, no text, so /forget has nothing to remove there.

// Feedback events.
const (
	FeedbackShown        = "shown"
	FeedbackHelpful      = "helpful"
	FeedbackNotHelpful   = "not_helpful"
	FeedbackAskTherapist = "ask_therapist"
	FeedbackBook         = "book"
)

// FeedbackRecorder stores the counts (store.Store does).
type FeedbackRecorder interface {
	AddFeedback(ctx context.Context, c store.FeedbackCount) error
}

// feedback counts event for the entry id. Only entries the catalog has are
// counted (a forged button cannot create keys), and a store that fails
// costs the count, never the reply.
func (e *Engine) feedback(ctx context.Context, id, event string) {
	if e.opts.Feedback == nil || e.opts.Library.Entry(id) == nil {
		return
	}
	day := e.opts.Now().UTC().Format(time.DateOnly)
	if err := e.opts.Feedback.AddFeedback(ctx, store.FeedbackCount{Day: day, FAQID: id, Event: event, N: 1}); err != nil {
		e.log.WarnContext(ctx, "feedback count not stored", "event", event, "err", err)
	}
}
