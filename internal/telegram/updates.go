package telegram

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/candid-app/candid/internal/conversation"
	"github.com/candid-app/candid/internal/identity"
	"github.com/candid-app/candid/internal/store"
)

// What the bot says itself (everything else comes from the engine).
const (
	textOnlyText   = "I can only read text messages. Please type your question. (Photos, voice messages, stickers and files are not opened or kept.)"
	editedText     = "I can't read edited messages. If you changed your question, please send it again as a new message."
	expiredText    = "This button has expired"
	privateOnlyCB  = "Questions go in a private chat with me"
	sorryText      = "Sorry, something went wrong on our side. Please try again in a minute."
	groupText      = "I only answer questions in a private chat, so that nobody else can see them. Please send me a private message"
	emptyReplyText = "Please choose:"
)

// buttonPrefix is the state key prefix of the button → action table.
const buttonPrefix = "tg/btn/"

// maxActionBytes bounds what one button may make us store.
const maxActionBytes = 2048

// handleUpdate acts on one update. It must survive any update shape: every
// pointer is checked, and nothing indexes into platform data.
func (b *Bot) handleUpdate(ctx context.Context, api botAPI, u *tgbotapi.Update) {
	switch {
	case u.Message != nil:
		b.handleMessage(ctx, api, u.Message, false)
	case u.EditedMessage != nil:
		b.handleMessage(ctx, api, u.EditedMessage, true)
	case u.ChannelPost != nil:
		b.handleMessage(ctx, api, u.ChannelPost, false)
	case u.CallbackQuery != nil:
		b.handleCallback(ctx, api, u.CallbackQuery)
	default:
		// Inline queries, polls, member changes …: not for us.
	}
}

func (b *Bot) handleMessage(ctx context.Context, api botAPI, m *tgbotapi.Message, edited bool) {
	if m.Chat == nil {
		return
	}
	switch m.Chat.Type {
	case "private":
	case "group", "supergroup", "channel":
		b.handleGroup(ctx, api, m)
		return
	default:
		return
	}
	if m.From == nil || m.From.IsBot || m.Chat.ID == 0 {
		return
	}
	chatID := m.Chat.ID
	handle := b.handle(m.From.ID)
	switch {
	case edited:
		// Edits are not read as questions, but one that needs help gets it.
		b.refuse(ctx, api, m, messageText(m), editedText)
	case m.Text != "":
		in, err := b.inbound(handle, m.From, chatID)
		if err != nil {
			b.log.Error("telegram: cannot seal the reply address", "err", err)
			b.notice(ctx, api, chatID, sorryText)
			return
		}
		in.Text = m.Text
		b.converse(ctx, api, chatID, in)
	case hasContent(m):
		// Photos and files are never downloaded: only their presence is
		// seen. A caption is text, though: one that needs help gets it.
		b.refuse(ctx, api, m, m.Caption, textOnlyText)
	default:
		// Service messages (pins, timers …): nothing to answer.
	}
}

// messageText is what a person wrote in a message: its text, or the caption
// of a photo or file.
func messageText(m *tgbotapi.Message) string {
	if m.Text != "" {
		return m.Text
	}
	return m.Caption
}

// refuse answers a private message that one of the adapter's rules does not
// take as a question (an edit, a photo) with refusal, unless what it says
// needs help: the engine decides that (Refused), and then the asker gets the
// help instead.
func (b *Bot) refuse(ctx context.Context, api botAPI, m *tgbotapi.Message, text, refusal string) {
	chatID := m.Chat.ID
	if strings.TrimSpace(text) == "" {
		b.notice(ctx, api, chatID, refusal)
		return
	}
	replies, ok := b.refused(ctx, m.From, chatID, text, refusal)
	if !ok {
		b.notice(ctx, api, chatID, refusal)
		return
	}
	b.sendAll(ctx, api, chatID, replies)
}

// refused passes text from a person to the engine's Refused with refusal:
// the replies are the help when the text needs it, and the refusal
// otherwise. The reply address is the person's private chat with the bot
// (in Telegram a user's private chat has the user's ID), wherever they
// wrote: a later answer from the clinic never goes to a group. ok is false
// when the engine could not be asked.
func (b *Bot) refused(ctx context.Context, from *tgbotapi.User, privateChat int64, text, refusal string) ([]conversation.Reply, bool) {
	in, err := b.inbound(b.handle(from.ID), from, privateChat)
	if err != nil {
		b.log.Error("telegram: cannot seal the reply address", "err", err)
		return nil, false
	}
	in.Text = text
	replies, err := b.opts.Engine.Refused(ctx, in, refusal)
	if err != nil {
		b.log.Error("telegram: the conversation engine failed", "err", err)
		return nil, false
	}
	return replies, true
}

// handleGroup answers a message in a group or channel. Questions go in a
// private chat, so the group gets the private-chat notice (once per group),
// unless the message needs help: then it gets the help, here and now, with
// the notice after it, every time.
func (b *Bot) handleGroup(ctx context.Context, api botAPI, m *tgbotapi.Message) {
	if replies, ok := b.groupHelp(ctx, m); ok {
		b.sendAll(ctx, api, m.Chat.ID, replies)
		return
	}
	b.groupNotice(ctx, api, m.Chat)
}

// groupHelp is the help for a group message that needs it, followed by the
// private-chat notice; ok is false for any other message. Only a person's
// message is checked: a channel post or an anonymous admin has no private
// chat to be known by, and gets the notice.
func (b *Bot) groupHelp(ctx context.Context, m *tgbotapi.Message) ([]conversation.Reply, bool) {
	text := messageText(m)
	if m.Chat == nil || m.Chat.ID == 0 || m.From == nil || m.From.IsBot || m.From.ID == 0 || strings.TrimSpace(text) == "" {
		return nil, false
	}
	notice := b.groupNoticeText()
	replies, ok := b.refused(ctx, m.From, m.From.ID, text, notice)
	if !ok || !conversation.NeedsHelp(replies) {
		return nil, false
	}
	if last := replies[len(replies)-1]; last.Kind != conversation.KindInfo || last.Text != notice {
		// The help for an urgent danger comes alone; a concern's comes
		// with the refusal (here the notice) already.
		replies = append(replies, conversation.Reply{Kind: conversation.KindInfo, Text: notice})
	}
	return replies, true
}

// updateText is what a person wrote in an update's message, edit or
// channel post (text or caption); "" for anything else.
func updateText(u *tgbotapi.Update) string {
	for _, m := range []*tgbotapi.Message{u.Message, u.EditedMessage, u.ChannelPost} {
		if m != nil {
			return messageText(m)
		}
	}
	return ""
}

// helpFor is the help for an update that needs it, for overflow: a private
// message (its text, an edit's or a caption) or a group message. ok is false
// for anything else, which overflow drops.
func (b *Bot) helpFor(ctx context.Context, u *tgbotapi.Update) ([]conversation.Reply, bool) {
	m := u.Message
	if m == nil {
		m = u.EditedMessage
	}
	if m == nil {
		m = u.ChannelPost
	}
	if m == nil || m.Chat == nil {
		return nil, false
	}
	switch m.Chat.Type {
	case "private":
		text := messageText(m)
		if m.From == nil || m.From.IsBot || m.From.ID == 0 || m.Chat.ID == 0 || strings.TrimSpace(text) == "" {
			return nil, false
		}
		replies, ok := b.refused(ctx, m.From, m.Chat.ID, text, "")
		if !ok || !conversation.NeedsHelp(replies) {
			return nil, false
		}
		return replies, true
	case "group", "supergroup", "channel":
		return b.groupHelp(ctx, m)
	}
	return nil, false
}

// sendAll sends replies to chat in order, without buttons (help and
// notices carry none), and stops at the first that fails.
func (b *Bot) sendAll(ctx context.Context, api botAPI, chatID int64, replies []conversation.Reply) {
	for _, r := range replies {
		if err := b.sendReply(ctx, api, chatID, "", r, nil); err != nil {
			b.log.Warn("telegram: could not send a reply", "err", err)
			return
		}
	}
}

// hasContent reports a message that carries something other than text.
func hasContent(m *tgbotapi.Message) bool {
	return m.Photo != nil || m.Sticker != nil || m.Voice != nil || m.Audio != nil || m.Document != nil ||
		m.Video != nil || m.VideoNote != nil || m.Animation != nil || m.Location != nil || m.Venue != nil ||
		m.Contact != nil || m.Poll != nil || m.Dice != nil || m.Game != nil || m.Invoice != nil
}

func (b *Bot) handleCallback(ctx context.Context, api botAPI, q *tgbotapi.CallbackQuery) {
	if q.ID == "" {
		return // nothing to answer, and nothing we could answer to
	}
	// Telegram shows a spinner until the query is answered: always answer,
	// exactly once.
	answer := func(text string) {
		cfg := tgbotapi.NewCallback(q.ID, text)
		if _, err := b.call(ctx, api, 0, func(ctx context.Context) (*tgbotapi.APIResponse, error) { return api.Request(ctx, cfg) }); err != nil {
			b.log.Debug("telegram: answerCallbackQuery failed", "err", err)
		}
	}
	if q.From == nil || q.From.IsBot || q.From.ID == 0 {
		answer("")
		return
	}
	if q.Message == nil || q.Message.Chat == nil {
		// An inline-mode message, or one Telegram no longer describes: we
		// have no private chat to answer in.
		answer(expiredText)
		return
	}
	if q.Message.Chat.Type != "private" || q.Message.Chat.ID == 0 {
		answer(privateOnlyCB)
		return
	}
	key, ok := parseButtonKey(q.Data)
	if !ok {
		answer(expiredText)
		return
	}
	handle := b.handle(q.From.ID)
	action, err := b.opts.Store.State(ctx, handle, buttonPrefix+key)
	if errors.Is(err, store.ErrNotFound) || err == nil && len(action) == 0 {
		answer(expiredText)
		return
	}
	if err != nil {
		b.log.Error("telegram: cannot look up a button", "err", err)
		answer(sorryText)
		return
	}
	answer("")
	chatID := q.Message.Chat.ID
	in, err := b.inbound(handle, q.From, chatID)
	if err != nil {
		b.log.Error("telegram: cannot seal the reply address", "err", err)
		b.notice(ctx, api, chatID, sorryText)
		return
	}
	in.Action = string(action)
	b.converse(ctx, api, chatID, in)
}

// handle is the asker's pseudonymous handle.
func (b *Bot) handle(userID int64) string {
	return b.opts.Keys.Handle(Platform, strconv.FormatInt(userID, 10))
}

// inbound builds what the engine receives: the handle and a freshly sealed
// address (Seal is randomised, so stored addresses cannot be compared).
func (b *Bot) inbound(handle string, from *tgbotapi.User, chatID int64) (conversation.Inbound, error) {
	sealed, err := b.opts.Keys.Seal(identity.Address{Platform: Platform, To: strconv.FormatInt(chatID, 10)}, b.now().Add(b.opts.AddressTTL))
	if err != nil {
		return conversation.Inbound{}, err
	}
	return conversation.Inbound{
		Handle:      handle,
		PastHandles: b.opts.Keys.PastHandles(Platform, strconv.FormatInt(from.ID, 10)),
		Platform:    Platform,
		Address:     sealed,
		Locale:      locale(from.LanguageCode),
		Region:      b.opts.Region,
	}, nil
}

// locale keeps the primary language subtag ("pt-br" → "pt") when it looks
// like one.
func locale(code string) string {
	code, _, _ = strings.Cut(strings.ToLower(code), "-")
	if len(code) < 2 || len(code) > 3 {
		return ""
	}
	for _, c := range code {
		if c < 'a' || c > 'z' {
			return ""
		}
	}
	return code
}

// converse passes one inbound to the engine and sends its replies in order.
func (b *Bot) converse(ctx context.Context, api botAPI, chatID int64, in conversation.Inbound) {
	replies, err := b.opts.Engine.Handle(ctx, in)
	if err != nil {
		b.log.Error("telegram: the conversation engine failed", "err", err)
		replies = []conversation.Reply{{Kind: conversation.KindInfo, Text: sorryText}}
	}
	for _, r := range replies {
		if err := b.sendReply(ctx, api, chatID, in.Handle, r, nil); err != nil {
			b.log.Warn("telegram: could not send a reply", "err", err)
			return
		}
	}
}

// notice sends one of the bot's own short messages.
func (b *Bot) notice(ctx context.Context, api botAPI, chatID int64, text string) {
	if err := b.sendReply(ctx, api, chatID, "", conversation.Reply{Kind: conversation.KindInfo, Text: text}, nil); err != nil {
		b.log.Debug("telegram: could not send a notice", "err", err)
	}
}

// groupNotice says once per group that questions go in a private chat. The
// group is remembered by a keyed digest, never by its ID.
func (b *Bot) groupNotice(ctx context.Context, api botAPI, chat *tgbotapi.Chat) {
	if chat.ID == 0 {
		return
	}
	key := "telegram/group-notice/" + b.opts.Keys.Digest("telegram-chat", strconv.FormatInt(chat.ID, 10))
	first, err := b.opts.Store.Once(ctx, key, groupNoticeTTL)
	if err != nil || !first {
		return
	}
	if err := b.sendReply(ctx, api, chat.ID, "", conversation.Reply{Kind: conversation.KindInfo, Text: b.groupNoticeText()}, nil); err != nil {
		// The bot may not be allowed to post in that chat; nothing to do.
		b.log.Debug("telegram: could not post the private-chat notice in a group", "err", err)
	}
}

// groupNoticeText says that questions go in a private chat, with a link to
// the bot. It takes no lock (accept holds b.mu when overflow calls it).
func (b *Bot) groupNoticeText() string {
	username := ""
	if p := b.username.Load(); p != nil {
		username = *p
	}
	if validUsername(username) {
		return groupText + ": [@" + username + "](https://t.me/" + username + ")."
	}
	return groupText + "."
}

func validUsername(s string) bool {
	if len(s) < 3 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// sentMarks records which parts of a multi-message delivery went out, so a
// retried delivery does not send them twice.
type sentMarks struct {
	handle string
	id     string
}

func (m *sentMarks) key(i int) string { return "tg/sent/" + m.id + "/" + strconv.Itoa(i) }

// sendReply renders r and sends it as one or more messages (the keyboard
// goes with the last). handle owns the buttons; without one, none are sent.
func (b *Bot) sendReply(ctx context.Context, api botAPI, chatID int64, handle string, r conversation.Reply, marks *sentMarks) error {
	chunks := renderHTML(r.Text, MaxMessageLength)
	var kb *tgbotapi.InlineKeyboardMarkup
	if handle != "" && len(r.Buttons) > 0 {
		kb = b.keyboard(ctx, handle, r.Buttons)
	}
	if len(chunks) == 0 {
		if kb == nil {
			return nil
		}
		chunks = []string{emptyReplyText}
	}
	for i, c := range chunks {
		if marks != nil {
			if _, err := b.opts.Store.State(ctx, marks.handle, marks.key(i)); err == nil {
				continue // sent by an earlier attempt
			}
		}
		msg := tgbotapi.NewMessage(chatID, c)
		msg.ParseMode = tgbotapi.ModeHTML
		msg.DisableWebPagePreview = true
		if i == len(chunks)-1 && kb != nil {
			msg.ReplyMarkup = *kb
		}
		send := func(ctx context.Context) (*tgbotapi.APIResponse, error) { return api.Request(ctx, msg) }
		_, err := b.call(ctx, api, chatID, send)
		if entityError(err) {
			// Our renderer and Telegram disagree: the answer matters more
			// than its formatting.
			b.log.Warn("telegram: Telegram refused the HTML; sending plain text", "err", err)
			msg.ParseMode = ""
			msg.Text = stripTags(c)
			_, err = b.call(ctx, api, chatID, send)
		}
		if err != nil {
			return err
		}
		if marks != nil {
			if err := b.opts.Store.PutState(ctx, marks.handle, marks.key(i), []byte{1}, sentMarkTTL); err != nil {
				b.log.Warn("telegram: cannot record a sent message; a retry may repeat it", "err", err)
			}
		}
	}
	return nil
}

// keyboard turns the engine's buttons into an inline keyboard. Each button
// carries a random key; the action it stands for stays in the store under
// the asker's handle, so callback data is never trusted and never holds
// more than 64 bytes. Short labels go two to a row.
func (b *Bot) keyboard(ctx context.Context, handle string, buttons []store.Button) *tgbotapi.InlineKeyboardMarkup {
	var rows [][]tgbotapi.InlineKeyboardButton
	var row []tgbotapi.InlineKeyboardButton
	flush := func() {
		if len(row) > 0 {
			rows = append(rows, row)
			row = nil
		}
	}
	for i, btn := range buttons {
		if i >= 20 {
			break
		}
		label := buttonLabel(btn.Label)
		if label == "" || btn.Action == "" || len(btn.Action) > maxActionBytes {
			continue
		}
		key := newButtonKey()
		if err := b.opts.Store.PutState(ctx, handle, buttonPrefix+key, []byte(btn.Action), b.opts.ButtonTTL); err != nil {
			b.log.Warn("telegram: cannot store a button; sending the reply without buttons", "err", err)
			return nil
		}
		kbtn := tgbotapi.NewInlineKeyboardButtonData(label, "k:"+key)
		if utf8.RuneCountInString(label) > 20 {
			flush()
			row = append(row, kbtn)
			flush()
			continue
		}
		row = append(row, kbtn)
		if len(row) == 2 {
			flush()
		}
	}
	flush()
	if len(rows) == 0 {
		return nil
	}
	kb := tgbotapi.NewInlineKeyboardMarkup(rows...)
	return &kb
}

// buttonLabel is a button's plain text (labels are not parsed), trimmed to
// what Telegram displays.
func buttonLabel(s string) string {
	s = strings.Join(strings.Fields(strings.ToValidUTF8(s, "")), " ")
	s = strings.NewReplacer("**", "", "*", "").Replace(s)
	if utf8.RuneCountInString(s) > 64 {
		r := []rune(s)
		s = string(r[:63]) + "…"
	}
	return s
}

// newButtonKey returns 12 URL-safe characters (72 random bits).
func newButtonKey() string {
	var k [9]byte
	_, _ = rand.Read(k[:])
	return base64.RawURLEncoding.EncodeToString(k[:])
}

// parseButtonKey accepts exactly what newButtonKey and keyboard produce.
func parseButtonKey(data string) (string, bool) {
	key, ok := strings.CutPrefix(data, "k:")
	if !ok || len(key) != 12 {
		return "", false
	}
	for _, c := range key {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return "", false
		}
	}
	return key, true
}

// call makes one Bot API call within the rate limits (chat 0: the global
// limit only) and honours a 429's retry_after by pausing that chat (or, for
// calls outside a chat, everything) and trying again.
func (b *Bot) call(ctx context.Context, api botAPI, chat int64, fn func(context.Context) (*tgbotapi.APIResponse, error)) (*tgbotapi.APIResponse, error) {
	for attempt := 1; ; attempt++ {
		if err := b.lim.wait(ctx, chat); err != nil {
			return nil, err
		}
		resp, err := fn(ctx)
		e, ok := apiError(err)
		if !ok || e.Code != http.StatusTooManyRequests || attempt >= sendAttempts {
			return resp, err
		}
		d := time.Duration(e.RetryAfter) * time.Second
		if d <= 0 {
			d = time.Second
		}
		if d > maxRetryAfter {
			return resp, err
		}
		b.log.Info("telegram: Telegram asked us to slow down; waiting", "retry_after", d, "chat_scoped", chat != 0)
		b.lim.pause(chat, d)
	}
}
