package moderation

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/candid-app/candid/internal/store"
)

// ErrNoOnCall is returned by Escalate when the clinic has set no on-call
// webhook; ErrOnCallFailed when the webhook did not take the alert (the
// message says to call the on-call clinician directly).
var (
	ErrNoOnCall     = fmt.Errorf("%w: no on-call contact is set (alerts.oncall_webhook): call the on-call clinician directly", ErrIllegal)
	ErrOnCallFailed = errors.New("the on-call clinician could not be alerted")
)

// CanEscalate reports whether an on-call contact is configured.
func (s *Service) CanEscalate() bool { return s.onCallURL != "" }

// Escalate alerts the clinic's on-call clinician about an urgent or concern
// ticket through the on-call webhook, then records it in the ticket's
// history. The alert holds the tier, the short ticket ID and the console
// link only: the webhook's receiver is outside the clinic's control, so the
// question, the kind of danger and the handle never go there. The history
// says "escalated" only once the webhook has accepted the alert.
func (s *Service) Escalate(ctx context.Context, a Actor, id string) (store.Ticket, error) {
	if err := checkActor(a); err != nil {
		return store.Ticket{}, err
	}
	if s.onCallURL == "" {
		return store.Ticket{}, ErrNoOnCall
	}
	t, err := s.Ticket(ctx, id)
	if err != nil {
		return store.Ticket{}, err
	}
	if t.SafetyRank() == store.RankOrdinary {
		return store.Ticket{}, fmt.Errorf("%w: only urgent and concern tickets go to the on-call clinician", ErrIllegal)
	}
	if t.State.Terminal() {
		return store.Ticket{}, fmt.Errorf("%w: the ticket is closed", ErrIllegal)
	}
	tier := "concern"
	if t.SafetyRank() == store.RankUrgent {
		tier = "URGENT"
	}
	text := fmt.Sprintf(":rotating_light: On-call needed: %s ticket %s, escalated by a moderator.", tier, shortTicketID(t.ID))
	if s.consoleURL != "" {
		text += fmt.Sprintf(" <%s|Open it in the console>", slackEscape(strings.TrimSuffix(s.consoleURL, "/")+"/tickets/"+t.ID))
	}
	if err := s.postOnCall(ctx, text); err != nil {
		return store.Ticket{}, err
	}
	return s.transition(ctx, a.Name, id, func(t *store.Ticket, now time.Time) (change, error) {
		return change{action: "escalated", event: "escalated", note: "on-call clinician alerted"}, nil
	})
}

func shortTicketID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func (s *Service) postOnCall(ctx context.Context, text string) error {
	status, err := s.postWebhook(ctx, s.onCallURL, text)
	switch {
	case err != nil:
		return fmt.Errorf("%w (%v): call the on-call clinician directly, and check alerts.oncall_webhook", ErrOnCallFailed, err)
	case status/100 != 2:
		return fmt.Errorf("%w (the webhook answered HTTP %d): call the on-call clinician directly, and check alerts.oncall_webhook", ErrOnCallFailed, status)
	}
	return nil
}
