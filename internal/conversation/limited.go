package conversation

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/candid-app/candid/internal/safety"
)

// DecisionRefused is what the Recorder counts when an adapter's limit, cap
// or block stopped an ordinary message (Refused); a refused message that
// needs help counts as DecisionCrisis.
const DecisionRefused = "refused"

// Urgent reports whether text is a present danger: a message that Handle
// and Refused answer with the crisis path (resources first, an urgent
// ticket). It runs the safety check alone (local, microseconds) and stores
// nothing, so an adapter can ask it of every message before queueing it,
// and answer an emergency before it confirms the message to its platform.
// A command or an empty text is never urgent, as in Refused.
func (e *Engine) Urgent(text string) bool {
	text, ok := asMessage(text)
	return ok && e.opts.Safety.Assess(text).Crisis
}

// asMessage is text as the safety check reads it (valid UTF-8, trimmed),
// and false for what is not a message: an empty text or a command.
func asMessage(text string) (string, bool) {
	text = strings.TrimSpace(strings.ToValidUTF8(text, "\uFFFD"))
	if text == "" {
		return "", false
	}
	if _, ok := command(text); ok {
		return "", false
	}
	return text, true
}

// Refused is what an adapter calls, instead of answering with its own
// refusal, when one of its limits would stop an asker's input: a rate
// limit, a full queue, a busy asker, a block, a place the service does not
// answer in (a group chat). Safety comes before every such limit, on every
// channel, so the rule lives here once:
//
//   - A message that needs help gets the help as the normal path gives it,
//     whatever the limit says. Urgent: the crisis reply (the resources for
//     its kind first) and an urgent ticket, exactly as the crisis path. A
//     concern: the check-in with the resources for its kind and a concern
//     ticket, as the concern path; then the refusal, because the question
//     itself is not answered (the limit stands for that part).
//   - Anything else gets one KindInfo reply with the adapter's refusal
//     text, and nothing is stored. Commands and button presses are not
//     messages: they always get the refusal.
//
// An empty refusal is never returned as a reply of its own: an adapter that
// answers a refused input with silence passes "".
//
// The check is the engine's own (Classify), local and cheap, so adapters
// may call Refused for every input they refuse, floods included. Refused
// stores nothing for a refusal; for a crisis it stores what the crisis
// path stores (the ticket, the last question and, on the web, the
// history). The error is non-nil only for an inbound without a handle or
// platform.
func (e *Engine) Refused(ctx context.Context, in Inbound, refusal string) ([]Reply, error) {
	if in.Handle == "" || in.Platform == "" {
		return nil, errors.New("conversation: inbound without handle or platform")
	}
	var refused []Reply
	if refusal != "" {
		refused = []Reply{{Kind: KindInfo, Text: refusal}}
	}
	refuse := func() ([]Reply, error) {
		e.record(in.Platform, DecisionRefused)
		return refused, nil
	}
	if in.Action != "" {
		return refuse()
	}
	text, ok := asMessage(in.Text)
	if !ok {
		return refuse()
	}
	c := e.Classify(text)
	if !c.Safety.NeedsHelp() {
		return refuse()
	}
	scrubbed, _ := safety.Scrub(text)
	var replies []Reply
	if c.Safety.Crisis {
		e.record(in.Platform, DecisionCrisis)
		var err error
		if replies, err = e.crisis(ctx, in, scrubbed, c); err != nil {
			return nil, err
		}
	} else {
		e.record(in.Platform, DecisionRefused+":"+string(safety.TierConcern))
		replies = append([]Reply{e.concern(ctx, in, scrubbed, c)}, refused...)
	}
	e.remember(ctx, in, replies)
	return replies, nil
}

// NeedsHelp reports whether replies carry the help for a danger (the crisis
// reply or a concern's check-in): what an adapter checks after Refused to
// tell help, which it must deliver whatever its limits say, from its own
// refusal.
func NeedsHelp(replies []Reply) bool {
	for _, r := range replies {
		if r.Kind == KindCrisis || r.Kind == KindCheckIn {
			return true
		}
	}
	return false
}

// maxTicketRunes bounds the question on an urgent ticket. A message that
// reaches the crisis path through Refused has not passed the length check
// (a person in danger is not told to shorten their message first); its
// ticket keeps the beginning and says that the rest was cut.
const maxTicketRunes = 4 * MaxQuestionRunes

const ticketCut = "\n[… the rest of this long message was not kept]"

// ticketQuestion is scrubbed as it goes on a ticket: whole when it fits,
// otherwise its first maxTicketRunes runes and a note.
func ticketQuestion(scrubbed string) string {
	if utf8.RuneCountInString(scrubbed) <= maxTicketRunes {
		return scrubbed
	}
	n := 0
	for i := range scrubbed {
		if n == maxTicketRunes {
			return scrubbed[:i] + ticketCut
		}
		n++
	}
	return scrubbed
}
