package console

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/candid-app/candid/internal/moderation"
	"github.com/candid-app/candid/internal/store"
)

// ticketJSON is a ticket as staff see it. It is built field by field from
// store.Ticket so that the asker's handle, sealed address and adapter refs
// can never leak into a page or a response by a later change to the model.
type ticketJSON struct {
	ID           string            `json:"id"`
	State        store.TicketState `json:"state"`
	Urgent       bool              `json:"urgent"`
	Category     string            `json:"category,omitempty"`
	Tier         string            `json:"tier,omitempty"` // urgent, concern or empty
	Why          string            `json:"why,omitempty"`  // the rule id or model score that set the tier
	Question     string            `json:"question"`
	Locale       string            `json:"locale,omitempty"`
	Platform     string            `json:"platform"`
	CreatedAt    time.Time         `json:"created_at"`
	UpdatedAt    time.Time         `json:"updated_at"`
	ExpiresAt    time.Time         `json:"expires_at"`
	Candidates   []candidateJSON   `json:"candidates"`
	ClaimedBy    string            `json:"claimed_by"`
	ClaimExpires time.Time         `json:"claim_expires,omitzero"`
	Draft        string            `json:"draft,omitempty"`
	DraftModel   string            `json:"draft_model,omitempty"`
	Answer       string            `json:"answer,omitempty"`
	AnswerFAQ    string            `json:"answer_faq,omitempty"`
	RejectReason string            `json:"reject_reason,omitempty"`
	ActedBy      string            `json:"acted_by,omitempty"`
	Delivery     string            `json:"delivery"`
}

type candidateJSON struct {
	FAQID    string  `json:"faq_id"`
	Score    float64 `json:"score"`
	Question string  `json:"question,omitempty"`
}

func (c *Console) ticketView(t store.Ticket) ticketJSON {
	v := ticketJSON{
		ID: t.ID, State: t.State, Urgent: t.Urgent, Category: t.Category, Tier: tierOf(t), Why: t.Why, Question: t.Question,
		Locale: t.Locale, Platform: t.Platform, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
		ExpiresAt: t.ExpiresAt, Candidates: []candidateJSON{}, ClaimedBy: t.ClaimedBy,
		ClaimExpires: t.ClaimExpires, Draft: t.Draft, DraftModel: t.DraftModel, Answer: t.Answer,
		AnswerFAQ: t.AnswerFAQ, RejectReason: t.RejectReason, ActedBy: t.ActedBy, Delivery: t.Delivery,
	}
	for _, cand := range t.Candidates {
		v.Candidates = append(v.Candidates, candidateJSON{FAQID: cand.FAQID, Score: cand.Score, Question: c.faqEntry(cand.FAQID).Question})
	}
	return v
}

type statsJSON struct {
	Open             int   `json:"open"`
	Claimed          int   `json:"claimed"`
	Urgent           int   `json:"urgent"`
	Concern          int   `json:"concern"`
	Undelivered      int   `json:"undelivered"`
	OldestAgeSeconds int64 `json:"oldest_age_seconds"`
	// OldestAge is OldestAgeSeconds for people ("3 h 5 min").
	OldestAge string `json:"oldest_age"`
}

func statsView(s moderation.QueueStats) statsJSON {
	return statsJSON{Open: s.Open, Claimed: s.Claimed, Urgent: s.Urgent, Concern: s.Concern, Undelivered: s.Undelivered,
		OldestAgeSeconds: int64(s.OldestAge / time.Second), OldestAge: humanAge(s.OldestAge)}
}

// splitQueue separates the tickets waiting for staff, ordered urgent first
// and then oldest first whatever order the service used (the order is a
// safety rule), from answered tickets whose delivery failed, kept in the
// service's order (newest first).
func splitQueue(ts []store.Ticket) (waiting, undelivered []store.Ticket) {
	for _, t := range ts {
		if t.State == store.TicketOpen || t.State == store.TicketClaimed {
			waiting = append(waiting, t)
		} else {
			undelivered = append(undelivered, t)
		}
	}
	slices.SortStableFunc(waiting, func(a, b store.Ticket) int {
		if c := cmp.Compare(b.SafetyRank(), a.SafetyRank()); c != 0 {
			return c
		}
		return cmp.Compare(a.CreatedAt.UnixNano(), b.CreatedAt.UnixNano())
	})
	return waiting, undelivered
}

// humanAge says how long ago something was, coarsely, for a person.
func humanAge(d time.Duration) string {
	switch {
	case d <= 0:
		return "none"
	case d < time.Minute:
		return "under 1 min"
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 24*time.Hour:
		h := int(d / time.Hour)
		m := int(d%time.Hour) / int(time.Minute)
		if m == 0 {
			return fmt.Sprintf("%d h", h)
		}
		return fmt.Sprintf("%d h %d min", h, m)
	default:
		days := int(d / (24 * time.Hour))
		h := int(d%(24*time.Hour)) / int(time.Hour)
		if h == 0 {
			return fmt.Sprintf("%d d", days)
		}
		return fmt.Sprintf("%d d %d h", days, h)
	}
}

// excerpt shortens text to about n runes on a word boundary.
func excerpt(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	cut := string(r[:n])
	if i := strings.LastIndexByte(cut, ' '); i > n/2 {
		cut = cut[:i]
	}
	return cut + "…"
}

// stateLabel names a state for people.
func stateLabel(s store.TicketState) string {
	switch s {
	case store.TicketOpen:
		return "Open"
	case store.TicketClaimed:
		return "Claimed"
	case store.TicketAnswered:
		return "Answered"
	case store.TicketBooked:
		return "Booking recommended"
	case store.TicketRejected:
		return "Rejected"
	case store.TicketExpired:
		return "Expired"
	case store.TicketForgotten:
		return "Deleted by the asker"
	}
	return string(s)
}

// deliveryLabel explains Ticket.Delivery.
func deliveryLabel(d string) string {
	switch {
	case d == "":
		return ""
	case d == "pending":
		return "On its way to the asker"
	case d == "delivered":
		return "Delivered to the asker"
	case strings.HasPrefix(d, "failed"):
		reason := strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(d, "failed"), ":"))
		if reason == "" {
			return "Could not be delivered"
		}
		return "Could not be delivered: " + reason
	}
	return d
}

// validID keeps hostile path values away from the store: ticket IDs are
// URL-safe base64.
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// categoryLabel names a safety category for people ("self_harm" → "self harm").
func categoryLabel(c string) string { return strings.ReplaceAll(c, "_", " ") }

// tierOf is the safety tier staff see: "urgent", "concern" or "".
func tierOf(t store.Ticket) string {
	switch t.SafetyRank() {
	case store.RankUrgent:
		return "urgent"
	case store.RankConcern:
		return "concern"
	}
	return ""
}
