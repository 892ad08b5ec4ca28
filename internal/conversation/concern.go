package conversation

import (
	"context"
	"fmt"

	"github.com/candid-app/candid/internal/safety"
	"github.com/candid-app/candid/internal/store"
)

// concern opens a concern ticket and returns the check-in reply that
// follows the answer: a warm line and the resources for the kind of danger.
// Like the crisis path it never fails: the resources are shown even when the
// ticket cannot be stored.
func (e *Engine) concern(ctx context.Context, in Inbound, scrubbed string, c Classification) Reply {
	region := in.Region
	if region == "" {
		region = e.opts.Region
	}
	text := e.opts.Resources.Message(region, c.Safety)
	question := ticketQuestion(scrubbed)
	lq := lastQuestion{Text: question, Candidates: c.Candidates, Category: string(c.Safety.Kind)}
	t, err := e.opts.Tickets.OpenTicket(ctx, store.Ticket{Handle: in.Handle, Platform: in.Platform, Address: in.Address,
		Question: question, Locale: in.Locale, Category: string(c.Safety.Kind), Candidates: c.Candidates,
		Tier: string(safety.TierConcern), Why: why(c.Safety)})
	if err != nil {
		e.log.ErrorContext(ctx, "concern ticket not stored", "platform", in.Platform, "err", err)
	} else {
		lq.TicketID = t.ID
		text += fmt.Sprintf("\n\nA person on %s's team will also read your message (without your name) and can reply here.", e.opts.Vars.ClinicName)
	}
	if err := e.putLast(ctx, in.Handle, lq); err != nil {
		e.log.ErrorContext(ctx, "state not stored", "err", err)
	}
	return Reply{Kind: KindCheckIn, Text: text}
}

// why is the reason a moderator sees on the ticket: the rule's id, or the
// model's probability of danger. It never holds asker text.
func why(a safety.Assessment) string {
	if a.Why == "model" {
		return fmt.Sprintf("model %.2f", a.Score)
	}
	if a.Softened {
		return fmt.Sprintf("%s softened by model %.2f", a.Why, a.Score)
	}
	return a.Why
}
