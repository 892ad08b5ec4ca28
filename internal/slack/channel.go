package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/candid-app/candid/internal/moderation"
	"github.com/candid-app/candid/internal/store"
)

// This file keeps the moderators' channel in step with the moderation
// service: one message per ticket, posted when the ticket opens and updated
// in place on every event, whoever acted and wherever (Slack or console).

// ticketRef is where a ticket's channel message is, kept in the store under
// the app's own key so that any replica can update it.
type ticketRef struct {
	Channel   string `json:"c"`
	TS        string `json:"ts"`
	BlockedBy string `json:"blocked_by,omitempty"` // staff name; the ticket itself does not record blocks
}

// pendingTicket is the latest news about a ticket, waiting for the follower.
type pendingTicket struct {
	kind   string
	actor  string
	ticket store.Ticket
	opened bool // an "opened" event was among the news: post even if closed since
}

// collect moves events from the subscription into the pending set at once,
// so that the service never drops an event for us because a Slack call is
// slow; several events for one ticket collapse into one update.
func (a *App) collect(ctx context.Context, events <-chan moderation.Event) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			if ev.Ticket.ID == "" {
				continue
			}
			a.enqueue(ev.Ticket.ID, pendingTicket{kind: ev.Kind, actor: ev.Actor, ticket: ev.Ticket})
		}
	}
}

func (a *App) enqueue(id string, p pendingTicket) {
	a.followMu.Lock()
	old, ok := a.pending[id]
	opened := p.opened || p.kind == "opened" || old.opened
	switch {
	case !ok:
		a.order = append(a.order, id)
	case p.kind == "opened":
		p = old // news from resync adds nothing to a pending event
	case old.kind == "blocked" && p.kind != "blocked":
		// Keep who blocked: the ticket does not record it.
		p.kind, p.actor = old.kind, old.actor
	}
	p.opened = opened
	a.pending[id] = p
	a.followMu.Unlock()
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// next takes the ticket whose news is oldest.
func (a *App) next() (string, pendingTicket, bool) {
	a.followMu.Lock()
	defer a.followMu.Unlock()
	if len(a.order) == 0 {
		return "", pendingTicket{}, false
	}
	id := a.order[0]
	a.order = a.order[1:]
	p := a.pending[id]
	delete(a.pending, id)
	return id, p, true
}

// follow posts and updates ticket messages, one ticket at a time, in the
// order news arrived (so new tickets appear in the channel in order).
func (a *App) follow(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.kick:
		}
		for ctx.Err() == nil {
			id, p, ok := a.next()
			if !ok {
				break
			}
			if err := a.syncTicket(ctx, id, p); err != nil {
				a.log.WarnContext(ctx, "slack: could not update the ticket message", "ticket", id, "err", err)
			}
		}
	}
}

// resync posts the open tickets that have no channel message yet (for
// example those opened while the app was down).
func (a *App) resync(ctx context.Context) {
	ts, _, err := a.mod.Queue(ctx)
	if err != nil {
		a.log.WarnContext(ctx, "slack: could not read the queue to post missing tickets", "err", err)
		return
	}
	for _, t := range ts {
		if t.State.Terminal() {
			continue
		}
		if _, ok, _ := a.loadRef(ctx, t.ID); !ok {
			a.enqueue(t.ID, pendingTicket{kind: "opened", ticket: t})
		}
	}
}

func refKey(id string) string { return "ticket:" + id }

func (a *App) loadRef(ctx context.Context, id string) (ticketRef, bool, error) {
	b, err := a.store.State(ctx, stateOwner, refKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return ticketRef{}, false, nil
	}
	if err != nil {
		return ticketRef{}, false, err
	}
	var r ticketRef
	if json.Unmarshal(b, &r) != nil || r.Channel == "" || r.TS == "" {
		return ticketRef{}, false, nil
	}
	return r, true, nil
}

func (a *App) saveRef(ctx context.Context, t store.Ticket, r ticketRef) error {
	b, _ := json.Marshal(r)
	// Keep the reference as long as the ticket or its tombstone exists.
	ttl := t.ExpiresAt.Sub(a.now()) + store.TombstoneRetention
	ttl = max(ttl, 24*time.Hour)
	return a.store.PutState(ctx, stateOwner, refKey(t.ID), b, ttl)
}

// syncTicket re-reads the ticket (events are only "something changed") and
// posts or updates its channel message.
func (a *App) syncTicket(ctx context.Context, id string, p pendingTicket) error {
	t, err := a.mod.Ticket(ctx, id)
	switch {
	case errors.Is(err, moderation.ErrNotFound):
		t = p.ticket // purged meanwhile: the event's copy is all there is
		if t.State == "" {
			t.State = store.TicketExpired
		}
	case err != nil:
		return fmt.Errorf("read ticket: %w", err)
	}
	t.Handle, t.Address = "", nil // never needed here; never rendered
	ref, found, err := a.loadRef(ctx, id)
	if err != nil {
		return fmt.Errorf("read message reference: %w", err)
	}
	if p.kind == "blocked" {
		ref.BlockedBy = p.actor
		if ref.BlockedBy == "" {
			ref.BlockedBy = "a moderator"
		}
	}
	blocks, fallback := a.ticketMessage(t, ref)
	if !found {
		if t.State.Terminal() && !p.opened {
			return nil // never shown here: nothing to update
		}
		// Only one replica posts a ticket: the lock lapses after two
		// minutes, so a failed post is retried by the next event or start.
		fresh, err := a.store.Once(ctx, "slack:posting:"+id, 2*time.Minute)
		if err != nil || !fresh {
			return err
		}
		var ch, ts string
		err = a.call(ctx, "chat.postMessage", func(ctx context.Context) error {
			var err error
			ch, ts, err = a.api.PostMessageContext(ctx, a.channel, slackgo.MsgOptionBlocks(blocks...),
				slackgo.MsgOptionText(fallback, false), slackgo.MsgOptionDisableLinkUnfurl(), slackgo.MsgOptionDisableMediaUnfurl())
			return err
		})
		if err != nil {
			return fmt.Errorf("post: %w", err)
		}
		ref.Channel, ref.TS = ch, ts
		if ref.Channel == "" {
			ref.Channel = a.channel
		}
		return a.saveRef(ctx, t, ref)
	}
	if p.kind == "opened" {
		return nil // already posted (a resync raced the event)
	}
	err = a.call(ctx, "chat.update", func(ctx context.Context) error {
		_, _, _, err := a.api.UpdateMessageContext(ctx, ref.Channel, ref.TS, slackgo.MsgOptionBlocks(blocks...), slackgo.MsgOptionText(fallback, false))
		return err
	})
	if err != nil {
		return fmt.Errorf("update: %w", err)
	}
	if p.kind == "blocked" {
		return a.saveRef(ctx, t, ref)
	}
	return nil
}

// Moderator buttons. Their value is the ticket ID, signed.
const (
	modActionPrefix = "candid_mod_"
	actClaim        = modActionPrefix + "claim"
	actRelease      = modActionPrefix + "release"
	actFAQ          = modActionPrefix + "faq"
	actWrite        = modActionPrefix + "write"
	actBooking      = modActionPrefix + "booking"
	actReject       = modActionPrefix + "reject"
	actBlock        = modActionPrefix + "block"
	purposeTicket   = "ticket-button"
)

// staffName renders a staff name for the channel: a Slack moderator
// ("slack:U123") becomes a mention, anyone else (a console account) is
// shown as written, escaped.
func staffName(name string) string {
	if id, ok := strings.CutPrefix(name, "slack:"); ok && userIDRE.MatchString(id) {
		return "<@" + id + ">"
	}
	if name == "" {
		return "someone"
	}
	return "*" + escape(truncateRunes(name, 80)) + "*"
}

// ticketMessage renders a ticket for the moderators' channel. The asker is
// only ever the ticket ID; asker text is shown as plain_text, so nothing in
// it can mention anyone or fake a link.
func (a *App) ticketMessage(t store.Ticket, ref ticketRef) ([]slackgo.Block, string) {
	md := func(s string) *slackgo.TextBlockObject {
		return slackgo.NewTextBlockObject(slackgo.MarkdownType, s, false, false)
	}
	plain := func(s string) *slackgo.TextBlockObject {
		return slackgo.NewTextBlockObject(slackgo.PlainTextType, s, false, false)
	}
	section := func(t *slackgo.TextBlockObject) slackgo.Block { return slackgo.NewSectionBlock(t, nil, nil) }

	var blocks []slackgo.Block
	rank := t.SafetyRank()
	title := "Question " + t.ID
	switch rank {
	case store.RankUrgent:
		title = "Urgent question " + t.ID
	case store.RankConcern:
		title = "Concern: question " + t.ID
	}
	blocks = append(blocks, slackgo.NewHeaderBlock(plain(truncateRunes(title, 150))))

	gone := t.State == store.TicketForgotten || t.State == store.TicketExpired
	if rank != store.RankOrdinary && !gone {
		line := ":rotating_light: *URGENT*"
		if rank == store.RankConcern {
			line = ":warning: *CONCERN*: a possible danger; the asker was given the help for it and told a person will read this"
		}
		if t.Category != "" {
			line += " — " + escape(truncateRunes(t.Category, 80))
		}
		if w := t.WhyLabel(); w != "" {
			line += " · _" + escape(truncateRunes(w, 80)) + "_"
		}
		blocks = append(blocks, section(md(line)))
	}
	if gone {
		why := "The asker withdrew this question (/forget): its text and any answer not yet delivered have been deleted."
		if t.State == store.TicketExpired {
			why = "This question expired under the retention policy: its text has been deleted."
		}
		blocks = append(blocks, section(md(":wastebasket: "+why)))
	} else {
		q := strings.TrimSpace(t.Question)
		if q == "" {
			q = "(empty)"
		}
		blocks = append(blocks, section(plain(truncateRunes(q, sectionLimit))))
	}

	meta := []string{"ticket `" + escape(t.ID) + "`"}
	if !t.CreatedAt.IsZero() {
		meta = append(meta, fmt.Sprintf("asked <!date^%d^{ago}|%s>", t.CreatedAt.Unix(), t.CreatedAt.UTC().Format("2006-01-02 15:04 UTC")))
	}
	if t.Platform != "" {
		meta = append(meta, "via "+escape(t.Platform))
	}
	blocks = append(blocks, slackgo.NewContextBlock("", md(strings.Join(meta, " · "))))

	if !gone {
		if len(t.Candidates) > 0 {
			lines := []string{"*Top FAQ candidates*"}
			for i, c := range t.Candidates {
				if i == 3 {
					break
				}
				id := escape(truncateRunes(c.FAQID, 80))
				if title := a.faqTitle(c.FAQID); title != c.FAQID {
					lines = append(lines, fmt.Sprintf("• %s (`%s`, %.2f)", escape(truncateRunes(title, 120)), id, c.Score))
				} else {
					lines = append(lines, fmt.Sprintf("• `%s` (%.2f)", id, c.Score))
				}
			}
			blocks = append(blocks, section(md(strings.Join(lines, "\n"))))
		} else {
			blocks = append(blocks, section(md("*Top FAQ candidates:* none")))
		}
		if d := strings.TrimSpace(t.Draft); d != "" {
			head := ":robot_face: *AI draft — not sent.* A moderator must check, edit and approve it (Write answer… starts from it)."
			if t.DraftModel != "" {
				head += " Model: " + escape(truncateRunes(t.DraftModel, 60)) + "."
			}
			blocks = append(blocks, section(md(head)), section(plain(truncateRunes(d, sectionLimit))))
		} else {
			blocks = append(blocks, slackgo.NewContextBlock("", md("No draft")))
		}
	}

	blocks = append(blocks, section(md("*Status:* "+statusLine(t, ref))))
	if a := strings.TrimSpace(t.Answer); a != "" && !gone {
		blocks = append(blocks, section(md("*Sent to the asker:*")), section(plain(truncateRunes(a, sectionLimit))))
	}
	if acts := a.ticketButtons(t, ref); acts != nil {
		blocks = append(blocks, acts)
	}
	fallback := "Ticket " + t.ID + ": " + string(t.State)
	if t.State == store.TicketOpen {
		fallback = "New question in the queue (ticket " + t.ID + ")"
		switch rank {
		case store.RankUrgent:
			fallback = "URGENT question in the queue (ticket " + t.ID + ")"
		case store.RankConcern:
			fallback = "Concern question in the queue (ticket " + t.ID + ")"
		}
	}
	return blocks, escape(fallback)
}

func statusLine(t store.Ticket, ref ticketRef) string {
	var s string
	switch t.State {
	case store.TicketOpen:
		s = "open, waiting for a moderator"
	case store.TicketClaimed:
		s = ":raising_hand: claimed by " + staffName(t.ClaimedBy)
	case store.TicketAnswered:
		s = ":white_check_mark: answered by " + staffName(t.ActedBy)
		if t.AnswerFAQ != "" {
			s += " with FAQ `" + escape(truncateRunes(t.AnswerFAQ, 80)) + "`"
		}
	case store.TicketBooked:
		s = ":calendar: answered by " + staffName(t.ActedBy) + ", recommending a booking"
	case store.TicketRejected:
		s = ":no_entry_sign: rejected by " + staffName(t.ActedBy)
		if t.RejectReason != "" {
			s += " (" + escape(truncateRunes(t.RejectReason, 80)) + ")"
		}
	case store.TicketExpired:
		s = "expired"
	case store.TicketForgotten:
		s = "withdrawn by the asker"
	default:
		s = escape(string(t.State))
	}
	switch {
	case t.Delivery == "delivered":
		s += " · delivered"
	case t.Delivery == "pending":
		s += " · delivery pending"
	case strings.HasPrefix(t.Delivery, "failed"):
		s += " · :warning: " + escape(truncateRunes(t.Delivery, 200))
	}
	if ref.BlockedBy != "" {
		s += " · :lock: asker blocked by " + staffName(ref.BlockedBy)
	}
	return s
}

func (a *App) faqTitle(id string) string {
	if a.faq != nil {
		if e := a.faq.Entry(id); e != nil && strings.TrimSpace(e.Question) != "" {
			return strings.TrimSpace(e.Question)
		}
	}
	return id
}

// ticketButtons offers what can still be done with the ticket.
func (a *App) ticketButtons(t store.Ticket, ref ticketRef) slackgo.Block {
	if t.State == store.TicketForgotten || t.State == store.TicketExpired {
		return nil
	}
	val := a.sig.sign(purposeTicket, t.ID)
	btn := func(action, label string) *slackgo.ButtonBlockElement {
		return slackgo.NewButtonBlockElement(action, val, slackgo.NewTextBlockObject(slackgo.PlainTextType, label, false, false))
	}
	var els []slackgo.BlockElement
	if !t.State.Terminal() {
		if t.State == store.TicketClaimed {
			els = append(els, btn(actRelease, "Release"))
		} else {
			els = append(els, btn(actClaim, "Claim").WithStyle(slackgo.StylePrimary))
		}
		els = append(els, btn(actFAQ, "Send FAQ answer…"), btn(actWrite, "Write answer…"),
			btn(actBooking, "Recommend booking"))
		if t.SafetyRank() != store.RankUrgent {
			els = append(els, btn(actReject, "Reject…")) // never for a person who may be in danger
		}
	}
	if ref.BlockedBy == "" {
		block := btn(actBlock, "Block asker").WithStyle(slackgo.StyleDanger)
		block.Confirm = slackgo.NewConfirmationBlockObject(
			slackgo.NewTextBlockObject(slackgo.PlainTextType, "Block this asker?", false, false),
			slackgo.NewTextBlockObject(slackgo.MarkdownType, fmt.Sprintf("Whoever asked this can send no new questions for %d days. You will not learn who they are.", int(a.blockFor.Hours()/24)), false, false),
			slackgo.NewTextBlockObject(slackgo.PlainTextType, "Block", false, false),
			slackgo.NewTextBlockObject(slackgo.PlainTextType, "Cancel", false, false))
		els = append(els, block)
	}
	if len(els) == 0 {
		return nil
	}
	return slackgo.NewActionBlock("candid_mod_actions", els...)
}
