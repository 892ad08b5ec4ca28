package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

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

// handleEvent processes one Events API event at most once. It returns an
// error only when the event could not be recorded (the caller then does not
// acknowledge it, so Slack retries); a failure after that is logged and, for
// an asker, answered with an apology.
func (a *App) handleEvent(ctx context.Context, env eventEnvelope) error {
	switch {
	case env.Message != nil:
		m := env.Message
		if m.SubType != "" || m.BotID != "" || m.User == "" || a.isBot(m.User) ||
			m.ChannelType != slackevents.ChannelTypeIM || !dmIDRE.MatchString(m.Channel) || !userIDRE.MatchString(m.User) {
			return nil // edits, deletions, bot messages (ours too), channels
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
	fresh, err := a.store.Once(ctx, "slack:event:"+env.EventID, eventOnceTTL)
	if err != nil {
		return fmt.Errorf("slack: record event: %w", err)
	}
	if !fresh {
		a.log.DebugContext(ctx, "slack: duplicate event ignored", "event_id", env.EventID)
		return nil
	}
	if env.Mention != nil {
		a.answerMention(ctx, env.Mention)
		return nil
	}
	m := env.Message
	a.ask(ctx, env.TeamID, m.User, m.Channel, conversation.Inbound{Text: dmCommand(plainFromSlack(m.Text))})
	return nil
}

// answerMention tells someone who mentioned the app in a channel that
// questions belong in a DM. The question itself is never read: only the
// person who wrote it sees this reply.
func (a *App) answerMention(ctx context.Context, m *slackevents.AppMentionEvent) {
	text := "I only answer questions in private, so nobody else sees what you ask. Open a direct message with me (find me under *Apps*) or type `/ask` followed by your question. If your message above says something personal, you may want to delete it."
	err := a.call(ctx, "chat.postEphemeral", func(ctx context.Context) error {
		_, err := a.api.PostEphemeralContext(ctx, m.Channel, m.User, slackgo.MsgOptionText(text, false))
		return err
	})
	if err != nil {
		a.log.WarnContext(ctx, "slack: could not answer a mention", "err", err)
	}
}

// ask runs one asker input (text or button action) through the engine and
// posts the replies to the asker's DM channel.
func (a *App) ask(ctx context.Context, team, user, channel string, in conversation.Inbound) {
	in.Handle = a.handle(team, user)
	defer a.askers.lock(in.Handle)()
	in.Platform = "slack"
	in.Region = a.region
	addr, err := a.seal(channel)
	if err != nil {
		a.log.ErrorContext(ctx, "slack: cannot seal the reply address", "err", err)
		return
	}
	in.Address = addr
	replies, err := a.engine.Handle(ctx, in)
	if err != nil {
		a.log.ErrorContext(ctx, "slack: the engine failed", "err", err)
		replies = []conversation.Reply{{Kind: conversation.KindInfo, Text: "Sorry, something went wrong on our side. Please try again in a minute."}}
	}
	for _, r := range replies {
		if err := a.postText(ctx, channel, in.Handle, r.Text, r.Buttons); err != nil {
			a.log.ErrorContext(ctx, "slack: could not send a reply", "kind", string(r.Kind), "err", err)
			return
		}
	}
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
	name := cmd.Command
	if name == "" || len(name) > 32 {
		name = "/ask"
	}
	text := strings.TrimSpace(plainFromSlack(cmd.Text))
	if text == "" {
		return ephemeral(fmt.Sprintf("Ask anything about sex, sexual health or relationships, anonymously: type `%s` followed by your question, for example `%s is it normal to…`. I answer in a private DM; nobody in this channel sees your question. `%s help`, `%s privacy` and `%s forget` work too.",
			escape(name), escape(name), escape(name), escape(name), escape(name)))
	}
	var dm string
	err := a.call(ctx, "conversations.open", func(ctx context.Context) error {
		ch, _, _, err := a.api.OpenConversationContext(ctx, &slackgo.OpenConversationParameters{Users: []string{cmd.UserID}, ReturnIM: true})
		if err == nil && ch != nil {
			dm = ch.ID
		}
		return err
	})
	if err != nil || !dmIDRE.MatchString(dm) {
		a.log.ErrorContext(ctx, "slack: cannot open a DM for /ask", "err", err)
		return ephemeral("Sorry, I could not open a private conversation with you. Please try again, or message me directly under Apps.")
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
