package moderation

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/candid-app/candid/internal/identity"
	"github.com/candid-app/candid/internal/store"
)

// ErrForgotten: the asker ran /forget, so the ticket is an empty tombstone
// and nothing can be sent. It wraps ErrIllegal (a 409 for the console).
var ErrForgotten = fmt.Errorf("%w: the asker deleted their data (/forget), so nothing can be sent to them", ErrIllegal)

// deliveryForgotten is the ticket's Delivery when the asker ran /forget
// before their answer reached them.
const deliveryForgotten = "failed: the asker deleted their data"

// deliveryExpired is the ticket's Delivery when retention ran out first.
const deliveryExpired = "failed: the answer expired before it could be delivered"

// systemActor is the audit actor for the service's own transitions.
const systemActor = "system"

// maxBlock bounds BlockAsker's duration.
const maxBlock = 366 * 24 * time.Hour

// OpenTicket stores a new ticket for the queue (it implements
// conversation.Tickets). It fills the ID, state, timestamps and retention,
// writes the ticket durably with an "opened" audit entry, tells subscribers
// and the webhook, and starts an LLM draft when a Drafter is configured.
// The returned ticket is redacted (no handle, no address).
func (s *Service) OpenTicket(ctx context.Context, t store.Ticket) (store.Ticket, error) {
	if err := validateNewTicket(&t); err != nil {
		return store.Ticket{}, err
	}
	now := s.now()
	t.ID = identity.NewID()
	t.State = store.TicketOpen
	t.ClaimedBy, t.ClaimExpires = "", time.Time{}
	t.Answer, t.AnswerFAQ, t.RejectReason, t.ActedBy, t.Delivery = "", "", "", "", ""
	t.Draft, t.DraftModel = "", ""
	t.CreatedAt, t.UpdatedAt = now, now
	t.ExpiresAt = now.Add(s.retention)
	t.Version = 0
	note := ""
	if t.Urgent {
		note = "urgent"
	}
	audit := store.AuditEntry{TicketID: t.ID, At: now, Actor: systemActor, Action: "opened", To: store.TicketOpen, Note: note}
	if err := s.st.CreateTicket(ctx, t, audit); err != nil {
		return store.Ticket{}, fmt.Errorf("moderation: store the new ticket: %w", err)
	}
	// Re-read so the caller gets the stored Version.
	stored, err := s.st.Ticket(ctx, t.ID)
	if err != nil {
		stored = t
	}
	s.log.Info("moderation: ticket opened", "ticket", t.ID, "platform", t.Platform, "urgent", t.Urgent)
	s.publish("opened", stored, systemActor)
	if s.webhookURL != "" {
		s.goBackground(func(ctx context.Context) { s.notifyWebhook(ctx, stored.Urgent) })
	}
	// No AI draft for a possible danger: a generic answer is the wrong
	// start there, and the moderator works from the resources the asker was
	// already given.
	if s.drafter != nil && stored.SafetyRank() == store.RankOrdinary && s.allowDraft(ctx) {
		s.goBackground(func(ctx context.Context) { s.draft(ctx, stored) })
	}
	return redact(stored), nil
}

func validateNewTicket(t *store.Ticket) error {
	if t.Handle == "" || len(t.Handle) > 256 {
		return fmt.Errorf("%w: a ticket needs the asker's handle", ErrInvalid)
	}
	if t.Platform == "" || len(t.Platform) > 32 || strings.ContainsFunc(t.Platform, func(r rune) bool { return (r < 'a' || r > 'z') && (r < '0' || r > '9') }) {
		return fmt.Errorf("%w: a ticket needs a platform such as web, telegram or slack", ErrInvalid)
	}
	if t.Platform != "web" && len(t.Address) == 0 {
		return fmt.Errorf("%w: a %s ticket needs a sealed reply address, or its answer could never be delivered", ErrInvalid, t.Platform)
	}
	if !utf8.ValidString(t.Question) {
		return fmt.Errorf("%w: the question is not valid UTF-8", ErrInvalid)
	}
	if strings.TrimSpace(t.Question) == "" {
		return fmt.Errorf("%w: the question is empty", ErrInvalid)
	}
	if utf8.RuneCountInString(t.Question) > maxQuestionRunes {
		return fmt.Errorf("%w: the question is longer than %d characters", ErrInvalid, maxQuestionRunes)
	}
	if len(t.Candidates) > 20 {
		t.Candidates = t.Candidates[:20]
	}
	return nil
}

// effective is a ticket as staff should see it at now: a lapsed claim is
// open again.
func (s *Service) effective(t store.Ticket, now time.Time) store.Ticket {
	if t.State == store.TicketClaimed && !now.Before(t.ClaimExpires) {
		t.State = store.TicketOpen
		t.ClaimedBy = ""
		t.ClaimExpires = time.Time{}
	}
	return t
}

// live reports whether the ticket still waits for staff at now.
func live(t store.Ticket, now time.Time) bool {
	return (t.State == store.TicketOpen || t.State == store.TicketClaimed) && now.Before(t.ExpiresAt)
}

// Queue returns the tickets that need staff: open and claimed ones (a lapsed
// claim shows as open), urgent first, then oldest first; followed by recent
// tickets whose answer could not be delivered (Delivery "failed: …"),
// newest first, so that staff see them. Tickets are redacted.
func (s *Service) Queue(ctx context.Context) ([]store.Ticket, QueueStats, error) {
	now := s.now()
	var stats QueueStats
	waiting, err := s.st.Tickets(ctx, store.TicketFilter{States: []store.TicketState{store.TicketOpen, store.TicketClaimed}})
	if err != nil {
		return nil, stats, fmt.Errorf("moderation: read the queue: %w", err)
	}
	done, err := s.st.Tickets(ctx, store.TicketFilter{States: []store.TicketState{store.TicketAnswered, store.TicketBooked, store.TicketRejected, store.TicketForgotten}})
	if err != nil {
		return nil, stats, fmt.Errorf("moderation: read the queue: %w", err)
	}
	var out, failed []store.Ticket
	var oldest time.Time
	for _, t := range waiting {
		if !live(t, now) {
			continue // past retention; Purge will turn it into a tombstone
		}
		t = s.effective(t, now)
		switch t.State {
		case store.TicketOpen:
			stats.Open++
		case store.TicketClaimed:
			stats.Claimed++
		}
		switch t.SafetyRank() {
		case store.RankUrgent:
			stats.Urgent++
		case store.RankConcern:
			stats.Concern++
		}
		if oldest.IsZero() || t.CreatedAt.Before(oldest) {
			oldest = t.CreatedAt
		}
		out = append(out, redact(t))
	}
	for _, t := range done {
		if strings.HasPrefix(t.Delivery, "failed") && now.Sub(t.UpdatedAt) < s.failedFor {
			stats.Undelivered++
			failed = append(failed, redact(t))
		}
	}
	if !oldest.IsZero() {
		stats.OldestAge = now.Sub(oldest)
	}
	slices.SortStableFunc(out, func(a, b store.Ticket) int {
		if c := cmp.Compare(b.SafetyRank(), a.SafetyRank()); c != 0 {
			return c
		}
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	slices.SortStableFunc(failed, func(a, b store.Ticket) int { return b.UpdatedAt.Compare(a.UpdatedAt) })
	return append(out, failed...), stats, nil
}

// Ticket returns one ticket, redacted, with a lapsed claim shown as open.
func (s *Service) Ticket(ctx context.Context, id string) (store.Ticket, error) {
	t, err := s.load(ctx, id)
	if err != nil {
		return store.Ticket{}, err
	}
	return redact(s.effective(t, s.now())), nil
}

func (s *Service) load(ctx context.Context, id string) (store.Ticket, error) {
	if id == "" || len(id) > 128 {
		return store.Ticket{}, fmt.Errorf("moderation: ticket %.32q: %w", id, ErrNotFound)
	}
	t, err := s.st.Ticket(ctx, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return store.Ticket{}, fmt.Errorf("moderation: ticket %q does not exist or has expired: %w", id, ErrNotFound)
		}
		return store.Ticket{}, fmt.Errorf("moderation: read ticket %q: %w", id, err)
	}
	return t, nil
}

// Audit returns a ticket's audit log, oldest first.
func (s *Service) Audit(ctx context.Context, id string) ([]store.AuditEntry, error) {
	if _, err := s.load(ctx, id); err != nil {
		return nil, err
	}
	entries, err := s.st.Audit(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("moderation: read the audit log of %q: %w", id, err)
	}
	return entries, nil
}

// change is what a transition wrote, for the audit log and subscribers.
type change struct {
	action string
	note   string
	event  string
	out    *store.OutboxItem
	// after, when set, is returned to the caller once the change is saved
	// (a write that records a failure, such as answering a forgotten ticket).
	after error
}

// transition loads a ticket, applies f to a copy and saves it with a
// compare-and-swap. When another writer changed the ticket first it
// re-reads and re-applies f, which re-checks legality: so of two staff who
// act at once exactly one succeeds and the other gets an error wrapping
// ErrConflict that says what happened.
func (s *Service) transition(ctx context.Context, actor, id string, f func(t *store.Ticket, now time.Time) (change, error)) (store.Ticket, error) {
	lost := false
	for range 5 {
		cur, err := s.load(ctx, id)
		if err != nil {
			return store.Ticket{}, err
		}
		now := s.now()
		next := cur
		c, err := f(&next, now)
		if err != nil {
			if lost && !errors.Is(err, ErrConflict) {
				err = fmt.Errorf("%w: %w", ErrConflict, err)
			}
			return store.Ticket{}, err
		}
		next.UpdatedAt = now
		audit := store.AuditEntry{TicketID: cur.ID, At: now, Actor: actor, Action: c.action, From: cur.State, To: next.State, Note: c.note}
		saved, err := s.st.UpdateTicket(ctx, next, audit, c.out)
		if errors.Is(err, store.ErrConflict) {
			lost = true
			continue
		}
		if err != nil {
			return store.Ticket{}, fmt.Errorf("moderation: save ticket %q: %w", id, err)
		}
		if c.out != nil {
			s.fire(stepOutboxWritten)
			s.wake()
		}
		if c.event != "" {
			s.publish(c.event, saved, actor)
		}
		if c.after != nil {
			return store.Ticket{}, c.after
		}
		return redact(s.effective(saved, s.now())), nil
	}
	return store.Ticket{}, fmt.Errorf("%w: ticket %q keeps changing; reload it and try again", ErrConflict, id)
}

func checkActor(a Actor) error {
	if a.Name == "" || !ValidRole(a.Role) {
		return fmt.Errorf("%w: only signed-in staff can work the queue", ErrForbidden)
	}
	return nil
}

func claimedByOther(t store.Ticket) error {
	return fmt.Errorf("%w: %w (%s, until %s)", ErrConflict, ErrNotClaimer, t.ClaimedBy, t.ClaimExpires.UTC().Format("15:04 UTC"))
}

func illegal(t store.Ticket, actor, verb string, now time.Time) error {
	switch {
	case t.State == store.TicketForgotten:
		return ErrForgotten
	case t.State == store.TicketExpired || ((t.State == store.TicketOpen || t.State == store.TicketClaimed) && !now.Before(t.ExpiresAt)):
		return fmt.Errorf("%w: cannot %s a ticket that has expired", ErrIllegal, verb)
	case t.State == store.TicketOpen:
		return fmt.Errorf("%w: cannot %s a ticket that is not claimed", ErrIllegal, verb)
	}
	if t.ActedBy != "" && t.ActedBy != actor {
		// Another staff member finished it first: that is a conflict too,
		// whether they won the race by a millisecond or an hour.
		return fmt.Errorf("%w: %w: cannot %s a ticket that %s already %s", ErrConflict, ErrIllegal, verb, t.ActedBy, t.State)
	}
	return fmt.Errorf("%w: cannot %s a ticket that was already %s", ErrIllegal, verb, t.State)
}

// Claim reserves a ticket for a moderator until ClaimTimeout passes. A
// moderator may renew their own claim; a lapsed claim may be taken by anyone.
func (s *Service) Claim(ctx context.Context, a Actor, id string) (store.Ticket, error) {
	if err := checkActor(a); err != nil {
		return store.Ticket{}, err
	}
	return s.transition(ctx, a.Name, id, func(t *store.Ticket, now time.Time) (change, error) {
		if !live(*t, now) {
			return change{}, illegal(*t, a.Name, "claim", now)
		}
		eff := s.effective(*t, now)
		note := ""
		switch {
		case eff.State == store.TicketOpen && t.State == store.TicketClaimed:
			note = "the claim by " + t.ClaimedBy + " had lapsed"
		case eff.State == store.TicketClaimed && t.ClaimedBy == a.Name:
			t.ClaimExpires = now.Add(s.claimTimeout)
			return change{action: "claim_renewed", event: "claimed"}, nil
		case eff.State == store.TicketClaimed:
			return change{}, claimedByOther(*t)
		}
		t.State = store.TicketClaimed
		t.ClaimedBy = a.Name
		t.ClaimExpires = now.Add(s.claimTimeout)
		return change{action: "claimed", event: "claimed", note: note}, nil
	})
}

// Release gives a claimed ticket back to the queue. Only the claimer (or an
// admin) may release a live claim.
func (s *Service) Release(ctx context.Context, a Actor, id string) (store.Ticket, error) {
	if err := checkActor(a); err != nil {
		return store.Ticket{}, err
	}
	return s.transition(ctx, a.Name, id, func(t *store.Ticket, now time.Time) (change, error) {
		if t.State != store.TicketClaimed || !live(*t, now) {
			return change{}, illegal(*t, a.Name, "release", now)
		}
		eff := s.effective(*t, now)
		note := ""
		if eff.State == store.TicketClaimed && t.ClaimedBy != a.Name {
			if a.Role != RoleAdmin {
				return change{}, claimedByOther(*t)
			}
			note = "released the claim of " + t.ClaimedBy
		}
		t.State = store.TicketOpen
		t.ClaimedBy = ""
		t.ClaimExpires = time.Time{}
		return change{action: "released", event: "released", note: note}, nil
	})
}

// mayAct checks that a can answer or reject t: it waits for staff and is
// open, or claimed by a, or its claim lapsed.
func (s *Service) mayAct(t store.Ticket, a Actor, verb string, now time.Time) error {
	if !live(t, now) {
		return illegal(t, a.Name, verb, now)
	}
	eff := s.effective(t, now)
	if eff.State == store.TicketClaimed && eff.ClaimedBy != a.Name {
		return claimedByOther(t)
	}
	return nil
}

// Answer sends ans to the asker: it validates and renders it (exactly as
// Preview shows), moves the ticket to answered (or booked when ans.Booking)
// and writes the outbox item in the same atomic write. The delivery worker
// takes it from there.
func (s *Service) Answer(ctx context.Context, a Actor, id string, ans Answer) (store.Ticket, error) {
	if err := checkActor(a); err != nil {
		return store.Ticket{}, err
	}
	text, err := s.Preview(ans)
	if err != nil {
		return store.Ticket{}, err
	}
	return s.transition(ctx, a.Name, id, func(t *store.Ticket, now time.Time) (change, error) {
		if t.State == store.TicketForgotten {
			return s.recordForgotten(t, a.Name)
		}
		if err := s.mayAct(*t, a, "answer", now); err != nil {
			return change{}, err
		}
		action := "answered"
		t.State = store.TicketAnswered
		if ans.Booking {
			action = "booked"
			t.State = store.TicketBooked
		}
		t.Answer = text
		t.AnswerFAQ = strings.TrimSpace(ans.FAQID)
		t.ActedBy = a.Name
		t.ClaimedBy = a.Name
		t.ClaimExpires = time.Time{}
		t.Delivery = "pending"
		note := ""
		if t.AnswerFAQ != "" {
			note = "faq:" + t.AnswerFAQ
		}
		return change{action: action, event: action, note: note, out: s.outboxItem(*t, "therapist", text, now)}, nil
	})
}

// recordForgotten handles an answer to a forgotten ticket: nothing is sent
// and, since a tombstone can no longer be written (the store refuses, so it
// never gets content back), the failure is reported to the caller and to
// subscribers instead.
func (s *Service) recordForgotten(t *store.Ticket, actor string) (change, error) {
	s.log.Info("moderation: answer to a forgotten ticket not sent", "ticket", t.ID)
	s.publish("delivery_failed", *t, actor)
	return change{}, ErrForgotten
}

func (s *Service) outboxItem(t store.Ticket, kind, text string, now time.Time) *store.OutboxItem {
	return &store.OutboxItem{
		ID:          identity.NewID(),
		TicketID:    t.ID,
		Handle:      t.Handle,
		Platform:    t.Platform,
		Address:     t.Address,
		Kind:        kind,
		Text:        text,
		NextAttempt: now,
		CreatedAt:   now,
		ExpiresAt:   t.ExpiresAt,
	}
}

// Reject closes a ticket with one of RejectReasons; the asker receives the
// reason's kind text through the outbox.
func (s *Service) Reject(ctx context.Context, a Actor, id, reason string) (store.Ticket, error) {
	if err := checkActor(a); err != nil {
		return store.Ticket{}, err
	}
	r, ok := findReason(reason)
	if !ok {
		codes := make([]string, len(rejectReasons))
		for i, r := range rejectReasons {
			codes[i] = r.Code
		}
		return store.Ticket{}, fmt.Errorf("%w: unknown rejection reason %.40q; use one of %s", ErrInvalid, reason, strings.Join(codes, ", "))
	}
	return s.transition(ctx, a.Name, id, func(t *store.Ticket, now time.Time) (change, error) {
		if err := s.mayAct(*t, a, "reject", now); err != nil {
			return change{}, err
		}
		if t.SafetyRank() == store.RankUrgent {
			// "Spam" or "off topic" is never the answer to a person who may
			// be in danger; answer, recommend booking, or block an abuser.
			return change{}, fmt.Errorf("%w: an urgent ticket cannot be rejected: answer it (the asker already has the crisis resources), recommend booking, or block the sender if it is abuse", ErrIllegal)
		}
		t.State = store.TicketRejected
		t.RejectReason = r.Code
		t.ActedBy = a.Name
		t.ClaimedBy = a.Name
		t.ClaimExpires = time.Time{}
		t.Delivery = "pending"
		return change{action: "rejected", event: "rejected", note: r.Code, out: s.outboxItem(*t, "info", s.rejectText(r), now)}, nil
	})
}

// BlockAsker blocks the ticket's asker for d (at most a year) without
// anyone at the clinic learning who it is: the handle never leaves the
// service. The ticket itself is unchanged apart from its audit log.
func (s *Service) BlockAsker(ctx context.Context, a Actor, id string, d time.Duration) error {
	if err := checkActor(a); err != nil {
		return err
	}
	if d <= 0 || d > maxBlock {
		return fmt.Errorf("%w: a block lasts from a minute up to a year", ErrInvalid)
	}
	_, err := s.transition(ctx, a.Name, id, func(t *store.Ticket, now time.Time) (change, error) {
		if t.Handle == "" || t.State == store.TicketForgotten || t.State == store.TicketExpired {
			return change{}, fmt.Errorf("%w: the asker's data is gone (deleted or expired), so there is no one to block", ErrIllegal)
		}
		if err := s.st.Block(ctx, t.Handle, now.Add(d)); err != nil {
			return change{}, fmt.Errorf("moderation: block the asker: %w", err)
		}
		return change{action: "blocked", event: "blocked", note: "for " + humanSpan(d)}, nil
	})
	return err
}

// Forget deletes everything held for an asker (store.Forget). Their tickets
// become empty tombstones; an answer still on its way is recorded on the
// tombstone as "failed: the asker deleted their data" so that the console
// can say why it was not delivered. The engine calls it for /forget.
func (s *Service) Forget(ctx context.Context, handle string) (store.ForgetReport, error) {
	if handle == "" {
		// An empty handle would match every tombstone.
		return store.ForgetReport{}, fmt.Errorf("%w: forget needs the asker's handle", ErrInvalid)
	}
	all, err := s.st.Tickets(ctx, store.TicketFilter{})
	if err != nil {
		return store.ForgetReport{}, fmt.Errorf("moderation: find the asker's tickets: %w", err)
	}
	var mine []store.Ticket
	for _, t := range all {
		if t.Handle == handle {
			mine = append(mine, t)
		}
	}
	rep, err := s.st.Forget(ctx, handle)
	if err != nil {
		return rep, fmt.Errorf("moderation: forget: %w", err)
	}
	for _, before := range mine {
		t, err := s.st.Ticket(ctx, before.ID)
		if err != nil {
			t = store.Ticket{ID: before.ID, State: store.TicketForgotten}
		}
		// The backend's tombstone records a pending delivery as failed
		// (shown to staff as "failed: the asker deleted their data").
		if before.Delivery == "pending" {
			s.publish("delivery_failed", t, systemActor)
		}
		s.publish("forgotten", t, systemActor)
	}
	return rep, nil
}

var errNoChange = errors.New("no change")

// humanSpan says a block's length as people do ("30 days", "1 day",
// "3 hours"), not as Go prints it ("720h0m0s").
func humanSpan(d time.Duration) string {
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return plural(int(d/(24*time.Hour)), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return plural(int(d/time.Hour), "hour")
	default:
		return plural(int(d.Round(time.Minute)/time.Minute), "minute")
	}
}
