package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	slackgo "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/candid-app/candid/internal/conversation"
	"github.com/candid-app/candid/internal/identity"
	"github.com/candid-app/candid/internal/moderation"
	"github.com/candid-app/candid/internal/store"
)

// eventEnvelope is an Events API delivery reduced to what the app uses, the
// same whether it arrived over HTTP or Socket Mode.
type eventEnvelope struct {
	Type      string // slackevents.URLVerification, slackevents.CallbackEvent or "" (ignored)
	Challenge string
	EventID   string
	TeamID    string
	Message   *slackevents.MessageEvent
	Mention   *slackevents.AppMentionEvent
}

// parseEventBody parses an Events API request body. Inner event types that
// slack-go does not know are not an error: they are acknowledged and ignored.
func parseEventBody(body []byte) (eventEnvelope, error) {
	ev, err := slackevents.ParseEvent(json.RawMessage(body), slackevents.OptionNoVerifyToken())
	if err != nil {
		var outer struct {
			Type string `json:"type"`
		}
		if jerr := json.Unmarshal(body, &outer); jerr != nil || outer.Type == "" {
			return eventEnvelope{}, fmt.Errorf("slack: not an Events API payload: %w", err)
		}
		return eventEnvelope{}, nil
	}
	return fromEventsAPI(ev), nil
}

func fromEventsAPI(ev slackevents.EventsAPIEvent) eventEnvelope {
	env := eventEnvelope{TeamID: ev.TeamID}
	switch ev.Type {
	case slackevents.URLVerification:
		if v, ok := ev.Data.(*slackevents.EventsAPIURLVerificationEvent); ok && v != nil {
			env.Type, env.Challenge = slackevents.URLVerification, v.Challenge
		}
	case slackevents.CallbackEvent:
		cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent)
		if !ok || cb == nil {
			return eventEnvelope{}
		}
		env.Type, env.EventID = slackevents.CallbackEvent, cb.EventID
		if env.TeamID == "" {
			env.TeamID = cb.TeamID
		}
		switch inner := ev.InnerEvent.Data.(type) {
		case *slackevents.MessageEvent:
			env.Message = inner
		case *slackevents.AppMentionEvent:
			env.Mention = inner
		}
	}
	return env
}

// What the app says itself to an asker (everything else comes from the
// engine).
const (
	// busyText answers an input from an asker who already has maxWaiting
	// inputs being answered or waiting.
	busyText = "I'm still answering your earlier messages. Please wait for my replies, then send this one again."
	// fileText answers a DM with a file: files are never opened.
	fileText = "I can only read text: files and images are not opened or kept. Please type your question as a message."
	// mentionText answers a mention in a channel.
	mentionText = "I only answer questions in private, so nobody else sees what you ask. Open a direct message with me (find me under *Apps*) or type `/ask` followed by your question. If your message above says something personal, you may want to delete it."
	sorryText   = "Sorry, something went wrong on our side. Please try again in a minute."
)

// maxWaiting bounds one asker's inputs being answered or waiting their turn
// (the per-asker lock): past it an input is refused (Refused: one that needs
// help still gets it), so that one asker's flood cannot hold every worker.
const maxWaiting = 4

// refuseTimeout bounds the work for a refused input, which may run after
// the request that brought it has ended.
const refuseTimeout = time.Minute

// dmInput is what kind of DM event an asker sent.
type dmInput int

const (
	dmMessage dmInput = iota + 1 // a message: a question or a command
	dmFile                       // a message with a file: not read as a question
	dmEdit                       // an edit: not read as a question
)

// dmEvent reads a DM event: who sent it, what they wrote and what kind of
// input it is; ok is false for anything that is not an asker's (bot
// messages, ours too, deletions, channels, malformed IDs).
func (a *App) dmEvent(m *slackevents.MessageEvent) (user, text string, kind dmInput, ok bool) {
	user, text = m.User, m.Text
	switch m.SubType {
	case "":
		kind = dmMessage
	case "file_share":
		kind = dmFile
	case "message_changed":
		// The edited message is in Message (slack-go fills it in).
		if m.Message == nil || m.Message.BotID != "" || m.Message.SubType != "" {
			return "", "", 0, false
		}
		user, text, kind = m.Message.User, m.Message.Text, dmEdit
	default:
		return "", "", 0, false
	}
	if m.BotID != "" || user == "" || a.isBot(user) ||
		m.ChannelType != slackevents.ChannelTypeIM || !dmIDRE.MatchString(m.Channel) || !userIDRE.MatchString(user) {
		return "", "", 0, false
	}
	return user, text, kind, true
}

// handleEvent processes one Events API event at most once. It returns an
// error only when the event could not be recorded (the caller then does not
// acknowledge it, so Slack retries); a failure after that is logged and, for
// an asker, answered with an apology.
//
// A DM with a file and an edit are not read as questions, but the engine
// sees them first (Refused): one that needs help gets it.
func (a *App) handleEvent(ctx context.Context, env eventEnvelope) error {
	var user, text string
	var kind dmInput
	switch {
	case env.Message != nil:
		var ok bool
		if user, text, kind, ok = a.dmEvent(env.Message); !ok {
			return nil
		}
	case env.Mention != nil:
		m := env.Mention
		if m.BotID != "" || !userIDRE.MatchString(m.User) || a.isBot(m.User) || !channelIDRE.MatchString(m.Channel) {
			return nil
		}
	default:
		return nil
	}
	if env.EventID == "" || len(env.EventID) > 64 {
		a.log.WarnContext(ctx, "slack: event without a usable event_id ignored")
		return nil
	}
	switch err := a.checkTeam(env.TeamID); {
	case errors.Is(err, errTeamUnknown):
		return err // not acknowledged: Slack sends it again
	case err != nil:
		a.log.WarnContext(ctx, "slack: event from another workspace ignored")
		return nil
	}
	fresh, err := a.store.Once(ctx, "slack:event:"+env.EventID, eventOnceTTL)
	if err != nil {
		return fmt.Errorf("slack: record event: %w", err)
	}
	if !fresh {
		a.log.DebugContext(ctx, "slack: duplicate event ignored", "event_id", env.EventID)
		return nil
	}
	if env.Mention != nil {
		a.answerMention(ctx, env.TeamID, env.Mention)
		return nil
	}
	channel := env.Message.Channel
	switch kind {
	case dmFile:
		a.refuse(ctx, env.TeamID, user, channel, plainFromSlack(text), fileText)
	case dmEdit:
		// An edit gets nothing unless it needs help (as before: edits are
		// often a typo fixed).
		a.refuse(ctx, env.TeamID, user, channel, plainFromSlack(text), "")
	default:
		a.ask(ctx, env.TeamID, user, channel, conversation.Inbound{Text: dmCommand(plainFromSlack(text))})
	}
	return nil
}

// answerMention tells someone who mentioned the app in a channel that
// questions belong in a DM. Only the person who wrote it sees the reply,
// and the question is not answered there; but the engine sees it first
// (Refused), and a message that needs help gets the help, in the same
// private reply, with an urgent ticket whose later answer goes to the DM.
func (a *App) answerMention(ctx context.Context, team string, m *slackevents.AppMentionEvent) {
	text := mentionText
	if teamIDRE.MatchString(team) {
		dm, _ := a.openDM(ctx, m.User)
		replies, helped := a.refused(ctx, team, m.User, dm, plainFromSlack(m.Text), mentionText)
		if helped {
			text = helpText(replies, mentionText)
		}
	}
	err := a.call(ctx, "chat.postEphemeral", func(ctx context.Context) error {
		_, err := a.api.PostEphemeralContext(ctx, m.Channel, m.User, slackgo.MsgOptionText(text, false))
		return err
	})
	if err != nil {
		a.log.WarnContext(ctx, "slack: could not answer a mention", "err", err)
	}
}

// ask runs one asker input (text or button action) through the engine and
// posts the replies to the asker's DM channel, one input per asker at a
// time. An input that cannot have its turn (maxWaiting inputs of the asker
// are ahead of it, or its request ended while it waited) is refused: it goes
// to the engine's Refused, so a message that needs help gets the help all
// the same, and anything else is told to wait.
func (a *App) ask(ctx context.Context, team, user, channel string, in conversation.Inbound) {
	in.Handle = a.handle(team, user)
	in.PastHandles = a.keys.PastHandles("slack", team+":"+user)
	in.Platform = "slack"
	in.Region = a.region
	addr, err := a.seal(channel)
	if err != nil {
		a.log.ErrorContext(ctx, "slack: cannot seal the reply address", "err", err)
		return
	}
	in.Address = addr
	unlock, ok := a.askers.tryLock(ctx, in.Handle, maxWaiting)
	if !ok {
		a.log.InfoContext(ctx, "slack: an asker's input could not have its turn; refused")
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refuseTimeout)
		defer cancel()
		replies, err := a.engine.Refused(ctx, in, busyText)
		if err != nil {
			a.log.ErrorContext(ctx, "slack: the engine failed", "err", err)
			replies = []conversation.Reply{{Kind: conversation.KindInfo, Text: busyText}}
		}
		a.postReplies(ctx, channel, "", replies)
		return
	}
	defer unlock()
	replies, err := a.engine.Handle(ctx, in)
	if err != nil {
		a.log.ErrorContext(ctx, "slack: the engine failed", "err", err)
		replies = []conversation.Reply{{Kind: conversation.KindInfo, Text: sorryText}}
	}
	a.postReplies(ctx, channel, in.Handle, replies)
}

// postReplies posts replies to channel in order, and stops at the first
// that fails. handle owns the buttons ("" for none).
func (a *App) postReplies(ctx context.Context, channel, handle string, replies []conversation.Reply) {
	for _, r := range replies {
		if err := a.postText(ctx, channel, handle, r.Text, r.Buttons); err != nil {
			a.log.ErrorContext(ctx, "slack: could not send a reply", "kind", string(r.Kind), "err", err)
			return
		}
	}
}

// refuse answers a DM input that is not read as a question (a file, an
// edit) with refusal (nothing when it is empty), unless it needs help: then
// the asker gets the help.
func (a *App) refuse(ctx context.Context, team, user, channel, text, refusal string) {
	replies, _ := a.refused(ctx, team, user, channel, text, refusal)
	a.postReplies(ctx, channel, "", replies)
}

// refused passes text from user to the engine's Refused with refusal, with
// the DM channel (when known; "" otherwise) as the sealed reply address of
// a ticket. helped reports that the replies are the help for a danger; when
// the engine cannot be asked, the replies are the refusal.
func (a *App) refused(ctx context.Context, team, user, dm, text, refusal string) (replies []conversation.Reply, helped bool) {
	refusedOnly := []conversation.Reply{{Kind: conversation.KindInfo, Text: refusal}}
	in := conversation.Inbound{Handle: a.handle(team, user), PastHandles: a.keys.PastHandles("slack", team+":"+user), Platform: "slack", Region: a.region, Text: text}
	// Without a DM the ticket is still opened (staff see the danger); its
	// later answer cannot be delivered, and says so in the queue.
	to := dm
	if !dmIDRE.MatchString(to) {
		to = user
	}
	addr, err := a.seal(to)
	if err != nil {
		a.log.ErrorContext(ctx, "slack: cannot seal the reply address", "err", err)
		return refusedOnly, false
	}
	in.Address = addr
	replies, err = a.engine.Refused(ctx, in, refusal)
	if err != nil {
		a.log.ErrorContext(ctx, "slack: the engine failed", "err", err)
		return refusedOnly, false
	}
	return replies, conversation.NeedsHelp(replies)
}

// helpText is the help and then note as one mrkdwn text, for an ephemeral
// reply. (A concern's help ends with the refusal, the note, already.)
func helpText(replies []conversation.Reply, note string) string {
	var parts []string
	for _, r := range replies {
		if strings.TrimSpace(r.Text) != "" && r.Text != note {
			parts = append(parts, mrkdwn(r.Text))
		}
	}
	return strings.Join(append(parts, note), "\n\n")
}

// openDM opens (or finds) the app's DM with user.
func (a *App) openDM(ctx context.Context, user string) (string, error) {
	var dm string
	err := a.call(ctx, "conversations.open", func(ctx context.Context) error {
		ch, _, _, err := a.api.OpenConversationContext(ctx, &slackgo.OpenConversationParameters{Users: []string{user}, ReturnIM: true})
		if err == nil && ch != nil {
			dm = ch.ID
		}
		return err
	})
	if err == nil && !dmIDRE.MatchString(dm) {
		err = errors.New("slack: conversations.open did not return a DM")
	}
	return dm, err
}

// handle derives the asker's handle. The workspace is part of it so that the
// same user ID in two workspaces is two people.
func (a *App) handle(team, user string) string { return a.keys.Handle("slack", team+":"+user) }

func (a *App) seal(channel string) ([]byte, error) {
	return a.keys.Seal(identity.Address{Platform: "slack", To: channel}, a.now().Add(a.addressTTL))
}

// dmCommands are the engine's commands an asker can type in a DM as a bare
// word: Slack itself swallows anything that starts with "/" in the composer.
var dmCommands = map[string]bool{"start": true, "help": true, "privacy": true, "forget": true, "book": true}

// dmCommand maps "help", "Forget", "forget me" or "!privacy" to the engine's
// command ("/help" …); anything else is a question and passes unchanged.
func dmCommand(text string) string {
	t := strings.ToLower(strings.TrimSpace(text))
	t = strings.TrimLeft(t, "!/")
	t = strings.TrimSuffix(strings.TrimSuffix(t, "."), "!")
	if t == "forget me" || t == "delete me" {
		t = "forget"
	}
	if dmCommands[t] {
		return "/" + t
	}
	return text
}

// handleSlash answers /ask. The reply to the command itself is ephemeral;
// the engine's answer goes to the asker's DM, never to the channel where the
// command was typed.
func (a *App) handleSlash(ctx context.Context, cmd slackgo.SlashCommand) map[string]any {
	ephemeral := func(text string) map[string]any {
		return map[string]any{"response_type": "ephemeral", "text": text}
	}
	if !userIDRE.MatchString(cmd.UserID) || !teamIDRE.MatchString(cmd.TeamID) {
		return ephemeral("Sorry, I could not read that command.")
	}
	switch err := a.checkTeam(cmd.TeamID); {
	case errors.Is(err, errTeamUnknown):
		return ephemeral("I am still starting up. Please send that again in a minute.")
	case err != nil:
		a.log.WarnContext(ctx, "slack: command from another workspace refused")
		return ephemeral("Sorry, this app does not serve this workspace.")
	}
	name := cmd.Command
	if name == "" || len(name) > 32 {
		name = "/ask"
	}
	text := strings.TrimSpace(plainFromSlack(cmd.Text))
	if text == "" {
		return ephemeral(fmt.Sprintf("Ask anything about sex, sexual health or relationships, anonymously: type `%s` followed by your question, for example `%s is it normal to…`. I answer in a private DM; nobody in this channel sees your question. `%s help`, `%s privacy` and `%s forget` work too.",
			escape(name), escape(name), escape(name), escape(name), escape(name)))
	}
	dm, err := a.openDM(ctx, cmd.UserID)
	if err != nil {
		a.log.ErrorContext(ctx, "slack: cannot open a DM for /ask", "err", err)
		const sorry = "Sorry, I could not open a private conversation with you. Please try again, or message me directly under Apps."
		// The question cannot be answered in the DM, but one that needs
		// help gets it here, privately.
		if replies, helped := a.refused(ctx, cmd.TeamID, cmd.UserID, "", dmCommand(text), sorry); helped {
			return ephemeral(helpText(replies, sorry))
		}
		return ephemeral(sorry)
	}
	a.ask(ctx, cmd.TeamID, cmd.UserID, dm, conversation.Inbound{Text: dmCommand(text)})
	return ephemeral("I have answered you in our private DM (find me under *Apps*). Nobody in this channel can see your question.")
}

// Asker buttons carry the engine's action, signed and bound to the asker's
// handle; the presser's handle is recomputed when it comes back.
const (
	askerActionPrefix = "candid_ask_"
	purposeAskerBtn   = "asker-button"
)

// handleAskerAction runs an asker's button press through the engine.
func (a *App) handleAskerAction(ctx context.Context, cb *slackgo.InteractionCallback, act *slackgo.BlockAction) {
	channel := cb.Container.ChannelID
	if channel == "" {
		channel = cb.Channel.ID
	}
	team := cb.Team.ID
	if team == "" {
		team = cb.User.TeamID
	}
	if !dmIDRE.MatchString(channel) || !userIDRE.MatchString(cb.User.ID) || !teamIDRE.MatchString(team) {
		a.log.WarnContext(ctx, "slack: asker button outside a DM ignored")
		return
	}
	action, ok := a.sig.verify(purposeAskerBtn, act.Value, a.handle(team, cb.User.ID))
	if !ok {
		a.log.WarnContext(ctx, "slack: asker button with an invalid signature ignored")
		return
	}
	a.ask(ctx, team, cb.User.ID, channel, conversation.Inbound{Action: action})
}

// postText sends text (the Markdown subset) and buttons to a channel as one
// or more messages: Slack allows 50 blocks a message and 3000 characters a
// section. Buttons go with the last message.
func (a *App) postText(ctx context.Context, channel, handle, text string, buttons []store.Button) error {
	chunks := mrkdwnChunks(text, sectionLimit)
	if len(chunks) == 0 && len(buttons) == 0 {
		return nil
	}
	var messages [][]slackgo.Block
	var cur []slackgo.Block
	for _, c := range chunks {
		if len(cur) == maxMessageBlocks-1 {
			messages = append(messages, cur)
			cur = nil
		}
		cur = append(cur, slackgo.NewSectionBlock(slackgo.NewTextBlockObject(slackgo.MarkdownType, c, false, false), nil, nil))
	}
	if ab := a.askerButtons(handle, buttons); ab != nil {
		cur = append(cur, ab)
	}
	messages = append(messages, cur)
	for _, blocks := range messages {
		err := a.call(ctx, "chat.postMessage", func(ctx context.Context) error {
			_, _, err := a.api.PostMessageContext(ctx, channel,
				slackgo.MsgOptionBlocks(blocks...),
				slackgo.MsgOptionText(escape(a.notifyText), false),
				slackgo.MsgOptionDisableLinkUnfurl(), slackgo.MsgOptionDisableMediaUnfurl())
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (a *App) askerButtons(handle string, buttons []store.Button) slackgo.Block {
	var els []slackgo.BlockElement
	for i, b := range buttons {
		if i == 25 { // Slack's limit per actions block
			break
		}
		if b.Action == "" || len(b.Action) > 1000 {
			continue
		}
		label := truncateRunes(strings.TrimSpace(b.Label), buttonLabelLimit)
		if label == "" {
			continue
		}
		els = append(els, slackgo.NewButtonBlockElement(askerActionPrefix+strconv.Itoa(i),
			a.sig.sign(purposeAskerBtn, b.Action, handle),
			slackgo.NewTextBlockObject(slackgo.PlainTextType, label, true, false)))
	}
	if len(els) == 0 {
		return nil
	}
	return slackgo.NewActionBlock("candid_ask", els...)
}

// Deliver sends a later answer (an outbox item) to an asker's DM. It opens
// the sealed address itself; an expired or foreign address, or a DM that
// Slack says is gone, is a permanent failure (moderation.ErrUndeliverable).
// Delivery is idempotent: an item already sent is not sent again.
func (a *App) Deliver(ctx context.Context, item store.OutboxItem) error {
	if item.Platform != "slack" {
		return fmt.Errorf("slack: outbox item %s is for platform %q: %w", item.ID, item.Platform, moderation.ErrUndeliverable)
	}
	addr, err := a.keys.Open(item.Address, a.now())
	if err != nil {
		why := "its reply address is invalid"
		if errors.Is(err, identity.ErrSealExpired) {
			why = "its reply address has expired"
		}
		return fmt.Errorf("slack: outbox item %s: %s: %w", item.ID, why, moderation.ErrUndeliverable)
	}
	if addr.Platform != "slack" || !dmIDRE.MatchString(addr.To) {
		return fmt.Errorf("slack: outbox item %s: the reply address is not a Slack DM: %w", item.ID, moderation.ErrUndeliverable)
	}
	sentKey := "sent:" + item.ID
	if b, err := a.store.State(ctx, stateOwner, sentKey); err == nil && len(b) > 0 {
		return nil // sent before a crash or a lost acknowledgement
	}
	if err := a.postText(ctx, addr.To, item.Handle, item.Text, item.Buttons); err != nil {
		switch code := slackErr(err); code {
		case "channel_not_found", "is_archived", "account_inactive", "user_disabled", "user_not_found",
			"not_in_channel", "cannot_dm_bot", "messages_tab_disabled", "team_access_not_granted", "restricted_action":
			return fmt.Errorf("slack: outbox item %s: Slack says %s: %w", item.ID, code, moderation.ErrUndeliverable)
		}
		return fmt.Errorf("slack: deliver outbox item %s: %w", item.ID, err)
	}
	if err := a.store.PutState(ctx, stateOwner, sentKey, []byte("1"), sentTTL); err != nil {
		a.log.WarnContext(ctx, "slack: delivered, but could not record it", "outbox", item.ID, "err", err)
	}
	return nil
}
