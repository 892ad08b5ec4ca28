package console

import (
	"context"
	"html/template"
	"time"

	"github.com/candid-app/candid/internal/moderation"
	"github.com/candid-app/candid/internal/store"
)

// The crisis protocol: what a moderator sees first on an urgent or concern
// ticket. The kind, the tier and why; what the asker was already shown, and
// when; a clock against the clinic's promised response time; the
// clinic-approved safety-check reply, sent in one step; and escalation to
// the on-call clinician, recorded in the ticket's history. There is no AI
// draft and no Reject on urgent tickets (moderation refuses both).

type crisisView struct {
	TierLabel, Kind, Why string
	// ShownHTML is the crisis reply the asker got for this kind, as the web
	// chat shows it; ShownAt when (the ticket opened with it).
	ShownHTML      template.HTML
	ShownAt, AtISO string
	// CheckHTML is the safety-check reply, exactly as the asker would see
	// it; CanCheck whether this moderator may send it now.
	CheckHTML template.HTML
	CanCheck  bool
	// Due is the promised response time as words ("respond within 12
	// min", "overdue by 3 min"); Overdue when it has passed unanswered.
	Due      string
	Overdue  bool
	Answered bool
	// CanEscalate: an on-call contact is set and the ticket is open;
	// Escalated names when and by whom it was, from the history.
	CanEscalate, OnCallSet bool
	Escalated              string
}

func (c *Console) crisisPanel(t store.Ticket, d *ticketData, audit []store.AuditEntry, now time.Time) *crisisView {
	rank := t.SafetyRank()
	if rank == store.RankOrdinary {
		return nil
	}
	v := &crisisView{TierLabel: "CONCERN", Kind: d.Category, Why: d.Why,
		ShownAt: t.CreatedAt.UTC().Format("2006-01-02 15:04 UTC"), AtISO: t.CreatedAt.UTC().Format(time.RFC3339)}
	if rank == store.RankUrgent {
		v.TierLabel = "URGENT"
	}
	if c.crisis != nil {
		v.ShownHTML = askerHTML(c.crisis.Shown(t))
		if check := c.crisis.SafetyCheck(t); check != "" {
			v.CheckHTML = askerHTML(check)
			v.CanCheck = d.CanAnswer
		}
	}
	switch {
	case t.Answer != "" || t.State.Terminal():
		v.Answered = true
	default:
		left := t.CreatedAt.Add(c.respond[rank]).Sub(now)
		if left > 0 {
			v.Due = "respond within " + humanAge(left)
		} else {
			v.Due, v.Overdue = "overdue by "+humanAge(-left), true
		}
	}
	v.OnCallSet = c.mod.CanEscalate()
	v.CanEscalate = v.OnCallSet && d.CanAct && !t.State.Terminal()
	for _, a := range audit {
		if a.Action == "escalated" {
			v.Escalated = "On-call clinician alerted by " + a.Actor + " at " + a.At.UTC().Format("15:04 UTC")
		}
	}
	return v
}

// sendSafetyCheck answers the ticket with the clinic's safety-check reply,
// which the server looks up itself: the form carries no text, so what is
// sent is always the reviewed wording.
func (c *Console) sendSafetyCheck(ctx context.Context, a moderation.Actor, id string) error {
	t, err := c.mod.Ticket(ctx, id)
	if err != nil {
		return err
	}
	if t.SafetyRank() == store.RankOrdinary {
		return invalid("the safety check is for urgent and concern tickets")
	}
	var text string
	if c.crisis != nil {
		text = c.crisis.SafetyCheck(t)
	}
	if text == "" {
		return invalid("no safety-check reply is configured (safety_check in faq/safety/resources.yaml): write the answer instead")
	}
	_, err = c.mod.Answer(ctx, a, id, moderation.Answer{Text: text})
	return err
}
