// Package conversation is the one dialogue engine behind every adapter. It
// receives an Inbound (a message or a button press from an anonymous asker)
// and returns the replies: commands, crisis first, FAQ answers, "did you
// mean" choices, out-of-scope replies, tickets for the clinic's therapists and
// booking. A rule of the dialogue lives here once, never in an adapter.
//
// The engine scrubs the asker's text before it is stored, logged or passed
// on, and it never imports an adapter, a storage backend or an SDK: it
// defines the small interfaces it needs and the wiring supplies them.
package conversation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/candid-app/candid/internal/faq"
	"github.com/candid-app/candid/internal/match"
	"github.com/candid-app/candid/internal/safety"
	"github.com/candid-app/candid/internal/store"
)

// MaxQuestionRunes bounds a question. Longer text is refused with a clear
// message rather than silently cut, so nobody thinks the end was read.
const MaxQuestionRunes = 2000

// Assessor finds crisis signals and requests for sexual content.
type Assessor interface {
	Assess(text string) safety.Assessment
}

// CrisisResources renders the crisis reply for a region.
type CrisisResources interface {
	Message(region string, a safety.Assessment) string
}

// Library is the FAQ as the engine sees it: the matcher and the entries it
// points at, swapped together when curators change the FAQ.
type Library interface {
	Match(query string) match.Result
	Entry(id string) *faq.Entry
}

// Memory is what the engine keeps between messages.
type Memory interface {
	PutMessage(ctx context.Context, m store.Message) error
	Messages(ctx context.Context, handle string, limit int) ([]store.Message, error)
	PutState(ctx context.Context, handle, key string, value []byte, ttl time.Duration) error
	State(ctx context.Context, handle, key string) ([]byte, error)
	DeleteState(ctx context.Context, handle, key string) error
	Blocked(ctx context.Context, handle string) (bool, error)
}

// Forgetter deletes everything held for an asker (the moderation service,
// which also tells the console).
type Forgetter interface {
	Forget(ctx context.Context, handle string) (store.ForgetReport, error)
}

// Recorder counts decisions for metrics; it never receives text or handles.
type Recorder interface {
	Decision(platform, decision string)
}

// Options configure an Engine. Library, Safety, Resources, Memory, Tickets
// and Forgetter are required.
type Options struct {
	Logger    *slog.Logger
	Library   Library
	Safety    Assessor
	Resources CrisisResources
	Memory    Memory
	Tickets   Tickets
	Forgetter Forgetter
	Recorder  Recorder
	Now       func() time.Time

	// Vars fill the FAQ's template variables (clinic name, booking URL,
	// retention) and the engine's own texts.
	Vars faq.Vars
	// Region is the default crisis-resource region ("US", "UK", "EU",
	// "INTL").
	Region string
	// Retention is how long conversation history and per-asker state are
	// kept (default 30 days).
	Retention time.Duration
	// EmergencyLine is shown on /start and /help ("In an emergency call …").
	EmergencyLine string
	// TicketsPerHour caps the ordinary tickets one asker opens in an hour
	// (default DefaultTicketsPerHour; negative: no cap). One client address
	// may open six times as many. Urgent and concern tickets are never
	// counted. TicketCounter counts them (nil: in memory, per process;
	// several replicas pass a shared one).
	TicketsPerHour int
	TicketCounter  Counter
	// Feedback stores per-entry counts for curators (nil: not counted).
	Feedback FeedbackRecorder
}

// Engine is the conversation engine. It is safe for concurrent use.
type Engine struct {
	opts    Options
	log     *slog.Logger
	tickets Counter
}

// New checks the options and returns an engine.
func New(opts Options) (*Engine, error) {
	var missing []string
	for name, v := range map[string]any{"Library": opts.Library, "Safety": opts.Safety, "Resources": opts.Resources,
		"Memory": opts.Memory, "Tickets": opts.Tickets, "Forgetter": opts.Forgetter} {
		if v == nil {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("conversation: missing options: %s", strings.Join(missing, ", "))
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Retention <= 0 {
		opts.Retention = 30 * 24 * time.Hour
	}
	if opts.Vars.ClinicName == "" {
		opts.Vars.ClinicName = "the clinic"
	}
	if opts.Vars.AnswerTime == "" {
		opts.Vars.AnswerTime = "within a few working days"
	}
	if opts.EmergencyLine == "" {
		opts.EmergencyLine = "This is not medical advice and not an emergency service. In an emergency, call your local emergency number now."
	}
	e := &Engine{opts: opts, log: opts.Logger, tickets: opts.TicketCounter}
	if e.tickets == nil {
		e.tickets = newTicketWindow(opts.Now)
	}
	return e, nil
}

// Actions carried by buttons. Adapters pass them back unchanged.
const (
	ActionHelpful      = "helpful:"     // + FAQ id
	ActionNotHelpful   = "not_helpful:" // + FAQ id
	ActionShowFAQ      = "faq:"         // + FAQ id: a "did you mean" choice
	ActionMore         = "more:"        // + FAQ id: the full answer after its summary
	ActionAskTherapist = "ask_therapist"
	ActionBook         = "book"
	ActionForget       = "forget"
	ActionHelp         = "help"
	ActionPrivacy      = "privacy"
)

// Button labels, the same on every adapter.
const (
	LabelHelpful      = "Helpful"
	LabelNotHelpful   = "Not what I asked"
	LabelAskTherapist = "Ask a therapist"
	LabelBook         = "Book a session"
	LabelReadMore     = "Read more"
	// LabelAlsoAsked prefixes the question of a second entry that the
	// message asked about.
	LabelAlsoAsked = "You also asked: "
)

// Decisions, as `candid match` prints them: the matcher's, plus crisis
// from safety. (internal/evaluate spells the same strings: it reads them
// back from eval output and imports nothing of the engine.)
const (
	DecisionCrisis     = "crisis"
	DecisionAnswer     = string(match.Answer)
	DecisionSuggest    = string(match.Suggest)
	DecisionQueue      = string(match.Queue)
	DecisionOutOfScope = string(match.OutOfScope)
)

// Classification is the engine's verdict on one question: the same code
// path the bot uses, exposed for `candid match` and `candid faq eval`.
type Classification struct {
	Decision   string            `json:"decision"`
	FAQID      string            `json:"faq_id"`
	Score      float64           `json:"score"`
	Candidates []store.Candidate `json:"candidates"`
	Safety     safety.Assessment `json:"-"`
	Match      match.Result      `json:"-"`
}

// Classify runs safety then matching on text and decides. It is pure: it
// stores nothing.
func (e *Engine) Classify(text string) Classification {
	return classify(e.opts.Safety, e.opts.Library, text)
}

// Classify is the decision path without an engine (no storage needed), for
// tools that only classify.
func Classify(s Assessor, lib Library, text string) Classification {
	return classify(s, lib, text)
}

func classify(s Assessor, lib Library, text string) Classification {
	a := s.Assess(text)
	c := Classification{Safety: a, Candidates: []store.Candidate{}}
	if a.Crisis {
		c.Decision = DecisionCrisis
		return c
	}
	if a.Request {
		c.Decision = DecisionOutOfScope
		return c
	}
	r := lib.Match(text)
	c.Match = r
	for _, cand := range r.Candidates {
		c.Candidates = append(c.Candidates, store.Candidate{FAQID: cand.ID, Score: cand.Score})
	}
	c.Decision = string(r.Decision)
	c.Score = r.Confidence
	if r.Decision == match.Answer && len(r.Candidates) > 0 {
		c.FAQID = r.Candidates[0].ID
	}
	return c
}

// lastQuestion is kept per asker so that "Ask a therapist" and "Not what I
// asked" know which question they are about. Text is scrubbed.
type lastQuestion struct {
	Text       string            `json:"text"`
	Candidates []store.Candidate `json:"candidates,omitempty"`
	Urgent     bool              `json:"urgent,omitempty"`
	Category   string            `json:"category,omitempty"`
	TicketID   string            `json:"ticket_id,omitempty"`
	// Shown is the FAQ entry answered at once, so that pressing Ask a
	// therapist or Book after it counts against that entry.
	Shown string `json:"shown,omitempty"`
}

const stateLastQuestion = "last_question"

// Handle processes one inbound message or button press and returns the
// replies, in order. Crisis replies are always first.
func (e *Engine) Handle(ctx context.Context, in Inbound) ([]Reply, error) {
	if in.Handle == "" || in.Platform == "" {
		return nil, errors.New("conversation: inbound without handle or platform")
	}
	var replies []Reply
	var err error
	if in.Action != "" {
		replies, err = e.action(ctx, in)
	} else {
		replies, err = e.message(ctx, in)
	}
	if err != nil {
		return nil, err
	}
	e.remember(ctx, in, replies)
	return replies, nil
}

// History returns the asker's conversation so far (web chat).
func (e *Engine) History(ctx context.Context, handle string, limit int) ([]store.Message, error) {
	return e.opts.Memory.Messages(ctx, handle, limit)
}

func (e *Engine) message(ctx context.Context, in Inbound) ([]Reply, error) {
	text := strings.TrimSpace(strings.ToValidUTF8(in.Text, "\uFFFD"))
	if text == "" {
		return []Reply{{Kind: KindInfo, Text: "Type your question in your own words — there is no wrong way to ask."}}, nil
	}
	if cmd, ok := command(text); ok {
		return e.command(ctx, in, cmd)
	}
	// Safety reads every message, a long one too: a story of 3,000
	// characters with the danger in the middle must still get help.
	c := e.Classify(text)
	long := utf8.RuneCountInString(text) > MaxQuestionRunes
	if long && c.Decision != DecisionCrisis {
		c.Decision, c.FAQID, c.Candidates = DecisionTooLong, "", []store.Candidate{}
	}
	e.record(in.Platform, c.Decision)
	scrubbed, _ := safety.Scrub(text)

	if c.Decision == DecisionCrisis {
		return e.crisis(ctx, in, scrubbed, c)
	}
	if c.Safety.Tier == safety.TierConcern {
		// A possible danger: answer what we can (a block or a store error
		// stops only that part), then check in, give the resources for its
		// kind and open a concern ticket, whatever a block says.
		replies, err := e.ordinary(ctx, in, scrubbed, c)
		if err != nil {
			e.log.ErrorContext(ctx, "concern: ordinary reply failed", "platform", in.Platform, "err", err)
			replies = nil
		}
		return append(replies, e.concern(ctx, in, scrubbed, c)), nil
	}
	return e.ordinary(ctx, in, scrubbed, c)
}

// DecisionTooLong is recorded for a message over MaxQuestionRunes that
// needs no help: it is refused with a clear message rather than cut.
const DecisionTooLong = "too_long"

// ordinary answers a message that needs no crisis reply: an FAQ answer,
// "did you mean" choices, an offer to ask a therapist or an out-of-scope
// line (or, to a blocked asker, that the service is not available).
func (e *Engine) ordinary(ctx context.Context, in Inbound, scrubbed string, c Classification) ([]Reply, error) {
	if c.Decision == DecisionTooLong {
		return []Reply{{Kind: KindInfo, Text: fmt.Sprintf("That message is longer than I can read (%d characters at most). Could you shorten it to the main question?", MaxQuestionRunes)}}, nil
	}
	blocked, err := e.blocked(ctx, in)
	if err != nil {
		return nil, err
	}
	if blocked {
		return []Reply{{Kind: KindInfo, Text: "This service is not available to you at the moment. If you are in danger, call your local emergency number."}}, nil
	}
	lq := lastQuestion{Text: scrubbed, Candidates: c.Candidates}
	if c.Decision == DecisionAnswer {
		lq.Shown = c.FAQID
	}
	if err := e.putLast(ctx, in.Handle, lq); err != nil {
		return nil, err
	}
	ask := Button{Label: LabelAskTherapist, Action: ActionAskTherapist}
	switch c.Decision {
	case DecisionAnswer:
		r, ok := e.answer(c.FAQID)
		if ok {
			e.feedback(ctx, c.FAQID, FeedbackShown)
			// A message that asked two things: the other one, a tap away.
			if also := e.opts.Library.Entry(c.Match.Also); also != nil && c.Match.Also != c.FAQID {
				r.Buttons = append([]Button{{Label: LabelAlsoAsked + also.Question, Action: ActionShowFAQ + also.ID}}, r.Buttons...)
			}
			return []Reply{r}, nil
		}
		fallthrough // an entry vanished in a reload: treat as no match
	case DecisionQueue:
		return []Reply{{Kind: KindInfo, Buttons: []Button{ask},
			Text: fmt.Sprintf("I don't have a ready answer for that one. You can send it to %s's therapists: they will see only your question, never who you are, and reply here %s. Press **%s** to send it.",
				e.opts.Vars.ClinicName, e.opts.Vars.AnswerTime, LabelAskTherapist)}}, nil
	case DecisionSuggest:
		return []Reply{e.suggest(c.Candidates, "")}, nil
	default: // out of scope
		return []Reply{{Kind: KindOutOfScope, Buttons: []Button{ask},
			Text: "I'm here for questions about sex, sexual health and relationships — anything you might feel too embarrassed to ask someone face to face. I can't help with that one, but ask me anything in that area."}}, nil
	}
}

// Button is an alias so engine code reads naturally.
type Button = store.Button

// crisis answers with resources first and opens an urgent ticket so that a
// person at the clinic follows up. Nothing stands between the asker and
// either: a block does not (a blocked asker in danger still reaches a
// person; staff see the ticket like any other urgent one), and neither does
// a store that cannot check the block. A ticket that cannot be stored is
// logged (without the text or the handle), and the resources are shown all
// the same. It never fails: the resources matter more than any error.
func (e *Engine) crisis(ctx context.Context, in Inbound, scrubbed string, c Classification) ([]Reply, error) {
	region := in.Region
	if region == "" {
		region = e.opts.Region
	}
	text := e.opts.Resources.Message(region, c.Safety)
	category := string(c.Safety.Kind)
	question := ticketQuestion(scrubbed)
	lq := lastQuestion{Text: question, Urgent: true, Category: category}
	t, err := e.openUrgent(ctx, store.Ticket{Handle: in.Handle, Platform: in.Platform, Address: in.Address,
		Question: question, Locale: in.Locale, Urgent: true, Category: category,
		Tier: string(safety.TierUrgent), Why: why(c.Safety)})
	if err != nil {
		// The resources matter more than the ticket: still show them.
		e.log.ErrorContext(ctx, "urgent ticket not stored", "platform", in.Platform, "err", err)
		e.record(in.Platform, "urgent_ticket_failed")
	} else {
		lq.TicketID = t.ID
		text += fmt.Sprintf("\n\nI have also passed your message, without your name, to %s's team as urgent.", e.opts.Vars.ClinicName)
	}
	if err := e.putLast(ctx, in.Handle, lq); err != nil {
		e.log.ErrorContext(ctx, "state not stored", "err", err)
	}
	return []Reply{{Kind: KindCrisis, Text: text}}, nil
}

// openUrgent stores an urgent ticket, trying again when the store fails:
// a store that blinks (a Redis failover, a full disk freed) must not lose
// the one ticket that matters most. The waits add up to under a second, so
// the person still gets the resources at once.
func (e *Engine) openUrgent(ctx context.Context, t store.Ticket) (store.Ticket, error) {
	waits := [...]time.Duration{100 * time.Millisecond, 300 * time.Millisecond, 500 * time.Millisecond}
	out, err := e.opts.Tickets.OpenTicket(ctx, t)
	for _, wait := range waits {
		if err == nil || ctx.Err() != nil {
			break
		}
		e.log.WarnContext(ctx, "the store refused an urgent ticket; trying again", "wait", wait, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		out, err = e.opts.Tickets.OpenTicket(ctx, t)
	}
	return out, err
}

// answer renders an FAQ entry as an answer with its buttons: its summary
// first, with the full answer a tap away, when it has one.
func (e *Engine) answer(id string) (Reply, bool) {
	entry := e.opts.Library.Entry(id)
	if entry == nil {
		return Reply{}, false
	}
	if entry.Summary == "" {
		return e.fullAnswer(id)
	}
	r, ok := e.fullAnswer(id)
	if !ok {
		return r, false
	}
	r.Text = strings.TrimSpace(entry.Summary) + reviewedNote(entry)
	r.Buttons = append([]Button{{Label: LabelReadMore, Action: ActionMore + id}}, r.Buttons...)
	return r, true
}

// reviewedNote is the line that tells an asker a clinician has checked the
// answer. Only a reviewed entry has it: a draft never claims a review it has
// not had (every shipped entry is a draft until a clinician signs it off).
func reviewedNote(entry *faq.Entry) string {
	if entry.IsDraft() || entry.Review.Date == "" {
		return ""
	}
	return "\n\nReviewed by the clinic's therapists (" + entry.Review.Date + ")."
}

// fullAnswer renders an FAQ entry's whole answer with its buttons.
func (e *Engine) fullAnswer(id string) (Reply, bool) {
	entry := e.opts.Library.Entry(id)
	if entry == nil {
		return Reply{}, false
	}
	text, err := entry.Render(e.opts.Vars)
	if err != nil {
		e.log.Error("answer template failed", "faq_id", id, "err", err)
		return Reply{}, false
	}
	buttons := []Button{
		{Label: LabelHelpful, Action: ActionHelpful + id},
		{Label: LabelNotHelpful, Action: ActionNotHelpful + id},
		{Label: LabelAskTherapist, Action: ActionAskTherapist},
	}
	if e.opts.Vars.BookingURL != "" {
		buttons = append(buttons, Button{Label: LabelBook, Action: ActionBook})
	}
	if note := reviewedNote(entry); note != "" {
		text = strings.TrimSpace(text) + note
	}
	return Reply{Kind: KindAnswer, FAQID: id, Text: text, Buttons: buttons}, true
}

// suggest offers up to three entries as "did you mean" choices.
func (e *Engine) suggest(cands []store.Candidate, exclude string) Reply {
	var buttons []Button
	for _, c := range cands {
		if c.FAQID == exclude {
			continue
		}
		if entry := e.opts.Library.Entry(c.FAQID); entry != nil {
			buttons = append(buttons, Button{Label: entry.Question, Action: ActionShowFAQ + c.FAQID})
		}
		if len(buttons) == 3 {
			break
		}
	}
	buttons = append(buttons, Button{Label: LabelAskTherapist, Action: ActionAskTherapist})
	text := "I'm not sure I understood. Did you mean one of these? If not, you can send your question to a therapist."
	if len(buttons) == 1 {
		text = fmt.Sprintf("I couldn't find a better answer. You can send your question to %s's therapists — anonymously.", e.opts.Vars.ClinicName)
	}
	return Reply{Kind: KindSuggest, Text: text, Buttons: buttons}
}

func (e *Engine) action(ctx context.Context, in Inbound) ([]Reply, error) {
	act := in.Action
	e.record(in.Platform, "action:"+strings.TrimSuffix(strings.SplitAfter(act, ":")[0], ":"))
	switch {
	case act == ActionAskTherapist:
		return e.askTherapist(ctx, in)
	case act == ActionBook:
		if lq, err := e.last(ctx, in.Handle); err == nil && lq.Shown != "" {
			e.feedback(ctx, lq.Shown, FeedbackBook)
		}
		return e.book(), nil
	case act == ActionForget:
		return e.forget(ctx, in)
	case act == ActionHelp:
		return e.help(), nil
	case act == ActionPrivacy:
		return e.privacy(), nil
	case strings.HasPrefix(act, ActionHelpful):
		e.feedback(ctx, strings.TrimPrefix(act, ActionHelpful), FeedbackHelpful)
		return []Reply{{Kind: KindInfo, Text: "Thank you — I'm glad it helped. You can ask another question any time."}}, nil
	case strings.HasPrefix(act, ActionNotHelpful):
		e.feedback(ctx, strings.TrimPrefix(act, ActionNotHelpful), FeedbackNotHelpful)
		lq, err := e.last(ctx, in.Handle)
		if err != nil {
			return nil, err
		}
		return []Reply{e.suggest(lq.Candidates, strings.TrimPrefix(act, ActionNotHelpful))}, nil
	case strings.HasPrefix(act, ActionMore):
		if r, ok := e.fullAnswer(strings.TrimPrefix(act, ActionMore)); ok {
			return []Reply{r}, nil
		}
	case strings.HasPrefix(act, ActionShowFAQ):
		if r, ok := e.answer(strings.TrimPrefix(act, ActionShowFAQ)); ok {
			e.feedback(ctx, r.FAQID, FeedbackShown)
			return []Reply{r}, nil
		}
	}
	return []Reply{{Kind: KindInfo, Text: "That button has expired. Please type your question again."}}, nil
}

func (e *Engine) askTherapist(ctx context.Context, in Inbound) ([]Reply, error) {
	lq, err := e.last(ctx, in.Handle)
	if err != nil {
		return nil, err
	}
	if lq.Text == "" {
		return []Reply{{Kind: KindInfo, Text: "Type your question first, then press **Ask a therapist** to send it to the clinic."}}, nil
	}
	if lq.TicketID != "" {
		return []Reply{{Kind: KindQueued, Text: "Your question is already with the therapists. You will get the answer here."}}, nil
	}
	if lq.Shown != "" {
		e.feedback(ctx, lq.Shown, FeedbackAskTherapist)
	}
	blocked, err := e.blocked(ctx, in)
	if err != nil {
		return nil, err
	}
	if blocked {
		return []Reply{{Kind: KindInfo, Text: "This service is not available to you at the moment."}}, nil
	}
	if !lq.Urgent && !e.allowTicket(ctx, in) {
		e.record(in.Platform, "ticket_budget")
		return e.overTicketBudget(), nil
	}
	t, err := e.opts.Tickets.OpenTicket(ctx, store.Ticket{Handle: in.Handle, Platform: in.Platform, Address: in.Address,
		Question: lq.Text, Locale: in.Locale, Urgent: lq.Urgent, Category: lq.Category, Candidates: lq.Candidates})
	if err != nil {
		return nil, fmt.Errorf("conversation: open ticket: %w", err)
	}
	lq.TicketID = t.ID
	if err := e.putLast(ctx, in.Handle, lq); err != nil {
		return nil, err
	}
	where := "here"
	if in.Platform == "web" {
		where = "in this chat (keep this browser; the answer is tied to it, not to your name)"
	}
	return []Reply{{Kind: KindQueued, Text: fmt.Sprintf(
		"Sent. Your question has gone to %s's therapists without your name or any contact details. They usually answer %s, and the answer will appear %s. Type /forget at any time to delete your question and everything else.",
		e.opts.Vars.ClinicName, e.opts.Vars.AnswerTime, where)}}, nil
}

func (e *Engine) command(ctx context.Context, in Inbound, cmd string) ([]Reply, error) {
	e.record(in.Platform, "command:"+cmd)
	switch cmd {
	case "start":
		return []Reply{{Kind: KindInfo, Buttons: []Button{{Label: "Privacy", Action: ActionPrivacy}, {Label: "Help", Action: ActionHelp}},
			Text: fmt.Sprintf("Hi. This is %s's anonymous question service. Ask anything about sex, sexual health or relationships — no account and no name needed.\n\nOnly a pseudonymous code is kept, never your name or number; /privacy explains what is stored and /forget deletes it all.\n\n%s",
				e.opts.Vars.ClinicName, e.opts.EmergencyLine)}}, nil
	case "help":
		return e.help(), nil
	case "privacy":
		return e.privacy(), nil
	case "forget":
		return e.forget(ctx, in)
	case "book":
		return e.book(), nil
	}
	return []Reply{{Kind: KindInfo, Text: "I don't know that command. " + helpCommands}}, nil
}

const helpCommands = "Commands: /help, /privacy (what is stored), /forget (delete everything), /book (book a session)."

func (e *Engine) help() []Reply {
	return []Reply{{Kind: KindInfo, Text: "Type a question in your own words and I'll answer from the clinic's FAQ (drafts that its therapists are reviewing). If it has no answer, you can send it to a therapist anonymously.\n\n" +
		helpCommands + "\n\n" + e.opts.EmergencyLine}}
}

const (
	privacyEntry = "privacy-of-this-service"
	bookingEntry = "book-a-session"
)

func (e *Engine) privacy() []Reply {
	if r, ok := e.fullAnswer(privacyEntry); ok {
		r.Kind, r.Buttons = KindInfo, []Button{{Label: "Forget me", Action: ActionForget}}
		return []Reply{r}
	}
	return []Reply{{Kind: KindInfo, Text: fmt.Sprintf("No name or account is kept, only a pseudonymous code. Conversations are deleted after %d days; /forget deletes everything now.", e.opts.Vars.RetentionDays)}}
}

func (e *Engine) book() []Reply {
	if e.opts.Vars.BookingURL == "" {
		return []Reply{{Kind: KindInfo, Text: fmt.Sprintf("Online booking is not set up here yet. Please contact %s directly to book a session.", e.opts.Vars.ClinicName)}}
	}
	r, ok := e.fullAnswer(bookingEntry)
	if !ok {
		r = Reply{Text: fmt.Sprintf("You can book a session with %s here: %s", e.opts.Vars.ClinicName, e.opts.Vars.BookingURL)}
	}
	r.Kind, r.Buttons = KindInfo, nil
	if !strings.Contains(r.Text, e.opts.Vars.BookingURL) {
		r.Text += fmt.Sprintf("\n\nBook here: [%s](%s)", e.opts.Vars.BookingURL, e.opts.Vars.BookingURL)
	}
	return []Reply{r}
}

// blocked reports whether the asker is blocked under their handle or under
// one the retired keys gave them (a block outlives a key rotation).
func (e *Engine) blocked(ctx context.Context, in Inbound) (bool, error) {
	for _, h := range append([]string{in.Handle}, in.PastHandles...) {
		b, err := e.opts.Memory.Blocked(ctx, h)
		if err != nil {
			return false, fmt.Errorf("conversation: check block: %w", err)
		}
		if b {
			return true, nil
		}
	}
	return false, nil
}

func (e *Engine) forget(ctx context.Context, in Inbound) ([]Reply, error) {
	// Under every handle the asker has had: what was held before a key
	// rotation is theirs too.
	var rep store.ForgetReport
	for _, h := range append([]string{in.Handle}, in.PastHandles...) {
		r, err := e.opts.Forgetter.Forget(ctx, h)
		if err != nil {
			return nil, fmt.Errorf("conversation: forget: %w", err)
		}
		rep.Messages += r.Messages
		rep.Tickets += r.Tickets
		rep.Outbox += r.Outbox
		rep.State += r.State
	}
	e.log.InfoContext(ctx, "forget", "messages", rep.Messages, "tickets", rep.Tickets, "outbox", rep.Outbox, "state", rep.State)
	text := "Done. Everything held for you has been deleted: your messages, your questions to therapists and any answer not yet delivered. You can start again any time."
	if rep.Tickets > 0 {
		text += " (A therapist who opens your question now will see only that it was withdrawn.)"
	}
	return []Reply{{Kind: KindInfo, Text: text}}, nil
}

// remember keeps the web chat's history; other platforms keep their own
// history, so nothing is stored for them (data minimisation).
func (e *Engine) remember(ctx context.Context, in Inbound, replies []Reply) {
	if in.Platform != "web" || len(replies) == 0 {
		return
	}
	if isForget(in) {
		return // after /forget, keep nothing, not even the confirmation
	}
	now := e.opts.Now()
	exp := now.Add(e.opts.Retention)
	put := func(m store.Message) {
		if err := e.opts.Memory.PutMessage(ctx, m); err != nil {
			e.log.ErrorContext(ctx, "history not stored", "err", err)
		}
	}
	asker := in.Text
	if in.Action != "" {
		asker = ""
	}
	if asker != "" {
		// A command is stored as its name alone: what follows a known
		// command ("/help my email is …") is never kept, and an unknown
		// "/word" is scrubbed like any text.
		if name, isCmd := command(strings.TrimSpace(asker)); isCmd && knownCommands[name] {
			asker = "/" + name
		} else {
			asker, _ = safety.Scrub(asker)
		}
		put(store.Message{ID: newMessageID(now, 0), Handle: in.Handle, From: "asker", Text: asker, At: now, ExpiresAt: exp})
	}
	for i, r := range replies {
		put(store.Message{ID: newMessageID(now, i+1), Handle: in.Handle, From: "candid", Kind: string(r.Kind), Text: r.Text,
			FAQID: r.FAQID, Buttons: r.Buttons, At: now.Add(time.Duration(i+1) * time.Microsecond), ExpiresAt: exp})
	}
}

// isForget reports whether in asks to delete everything (button or command).
func isForget(in Inbound) bool {
	if in.Action != "" {
		return in.Action == ActionForget
	}
	cmd, ok := command(strings.TrimSpace(in.Text))
	return ok && cmd == "forget"
}

func newMessageID(now time.Time, seq int) string {
	return fmt.Sprintf("%020d-%02d-%s", now.UnixNano(), seq, randomSuffix())
}

func (e *Engine) last(ctx context.Context, handle string) (lastQuestion, error) {
	var lq lastQuestion
	b, err := e.opts.Memory.State(ctx, handle, stateLastQuestion)
	if errors.Is(err, store.ErrNotFound) {
		return lq, nil
	}
	if err != nil {
		return lq, fmt.Errorf("conversation: read state: %w", err)
	}
	if err := json.Unmarshal(b, &lq); err != nil {
		return lastQuestion{}, nil // unreadable state is as good as none
	}
	return lq, nil
}

func (e *Engine) putLast(ctx context.Context, handle string, lq lastQuestion) error {
	b, _ := json.Marshal(lq)
	if err := e.opts.Memory.PutState(ctx, handle, stateLastQuestion, b, e.opts.Retention); err != nil {
		return fmt.Errorf("conversation: store state: %w", err)
	}
	return nil
}

func (e *Engine) record(platform, decision string) {
	if e.opts.Recorder != nil {
		e.opts.Recorder.Decision(metricPlatform(platform), metricDecision(decision))
	}
}

// Metric labels come from fixed sets only. Actions and commands arrive
// from askers (a forged button action, any "/word"); recorded as sent they
// would publish what askers typed on /metrics and add a series per string.
var (
	metricDecisions = map[string]bool{DecisionCrisis: true, DecisionAnswer: true, DecisionSuggest: true,
		DecisionQueue: true, DecisionOutOfScope: true, DecisionTooLong: true, DecisionRefused: true,
		DecisionRefused + ":concern": true, "ticket_budget": true, "urgent_ticket_failed": true}
	metricActions = map[string]bool{strings.TrimSuffix(ActionHelpful, ":"): true, strings.TrimSuffix(ActionNotHelpful, ":"): true,
		strings.TrimSuffix(ActionShowFAQ, ":"): true, strings.TrimSuffix(ActionMore, ":"): true,
		ActionAskTherapist: true, ActionBook: true, ActionForget: true, ActionHelp: true, ActionPrivacy: true}
	metricPlatforms = map[string]bool{"web": true, "telegram": true, "slack": true}
)

// metricDecision is decision if it is one of the fixed labels, else the
// kind of label with "unknown" ("action:unknown", "command:unknown",
// "unknown").
func metricDecision(decision string) string {
	kind, name, ok := strings.Cut(decision, ":")
	switch {
	case metricDecisions[decision]:
		return decision
	case ok && kind == "action":
		if metricActions[name] {
			return decision
		}
		return "action:unknown"
	case ok && kind == "command":
		if knownCommands[name] {
			return decision
		}
		return "command:unknown"
	}
	return "unknown"
}

func metricPlatform(p string) string {
	if metricPlatforms[p] {
		return p
	}
	return "unknown"
}

// knownCommands are the commands every adapter offers.
var knownCommands = map[string]bool{"start": true, "help": true, "privacy": true, "forget": true, "book": true}

// command recognises "/help", "/help@candid_bot", "/HELP" and a known command
// followed by words ("/forget me"). An unknown single "/word" is a command
// too (answered with the list); "/unknown words…" is treated as a question.
func command(text string) (string, bool) {
	if !strings.HasPrefix(text, "/") {
		return "", false
	}
	first, rest, _ := strings.Cut(text[1:], " ")
	name, _, _ := strings.Cut(first, "@")
	name = strings.ToLower(name)
	if name == "" {
		return "", false
	}
	if knownCommands[name] || strings.TrimSpace(rest) == "" && !strings.ContainsAny(first, "\n\t") {
		return name, true
	}
	return "", false
}

// PrivacyNotice is the full privacy notice (the curated privacy entry with
// the clinic's values), for the web chat's privacy page.
func (e *Engine) PrivacyNotice() string {
	return e.privacy()[0].Text
}
