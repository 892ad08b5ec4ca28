package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/candid-app/candid/internal/conversation"
	"github.com/candid-app/candid/internal/identity"
	"github.com/candid-app/candid/internal/logtest"
	"github.com/candid-app/candid/internal/moderation"
	"github.com/candid-app/candid/internal/store"
	"github.com/candid-app/candid/internal/telegram/telegramtest"
)

func TestNewValidatesOptions(t *testing.T) {
	base := func() Options {
		return Options{Token: "1:abc", Engine: &fakeEngine{}, Keys: identity.RandomKeys(), Store: newMemStore()}
	}
	tests := []struct {
		name   string
		mutate func(*Options)
		want   string
	}{
		{"no token", func(o *Options) { o.Token = " " }, "CANDID_TELEGRAM_TOKEN"},
		{"token with slash", func(o *Options) { o.Token = "1:a/b" }, "malformed"},
		{"no engine", func(o *Options) { o.Engine = nil }, "required"},
		{"no keys", func(o *Options) { o.Keys = nil }, "required"},
		{"no store", func(o *Options) { o.Store = nil }, "required"},
		{"bad endpoint", func(o *Options) { o.APIEndpoint = "https://api.example/bot%s" }, "CANDID_TELEGRAM_API_ENDPOINT"},
		{"http webhook", func(o *Options) { o.WebhookURL = "http://x.example/telegram/webhook"; o.WebhookSecret = "s" }, "https"},
		{"webhook without secret", func(o *Options) { o.WebhookURL = "https://x.example/telegram/webhook" }, "CANDID_TELEGRAM_WEBHOOK_SECRET"},
		{"webhook bad secret", func(o *Options) { o.WebhookURL = "https://x.example/telegram/webhook"; o.WebhookSecret = "no spaces!" }, "CANDID_TELEGRAM_WEBHOOK_SECRET"},
		{"client timeout too short", func(o *Options) { o.HTTPClient = &http.Client{Timeout: time.Second} }, "timeout"},
		{"client without timeout", func(o *Options) { o.HTTPClient = &http.Client{} }, "timeout"},
		{"default client", func(o *Options) { o.HTTPClient = http.DefaultClient }, "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base()
			tt.mutate(&o)
			_, err := New(o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
	b, err := New(base())
	if err != nil {
		t.Fatal(err)
	}
	if b.opts.HTTPClient == nil || b.opts.HTTPClient == http.DefaultClient || b.opts.HTTPClient.Timeout == 0 {
		t.Error("the default HTTP client has no timeout")
	}
	if b.opts.APIEndpoint != "https://api.telegram.org/bot%s/%s" {
		t.Errorf("default endpoint %q", b.opts.APIEndpoint)
	}
}

func TestStartWelcomeAndIdentity(t *testing.T) {
	h := newHarness(t, nil)
	h.eng.reply = func(in conversation.Inbound) ([]conversation.Reply, error) {
		return []conversation.Reply{{Kind: conversation.KindInfo, Text: "Hi. **Welcome** & read /privacy.",
			Buttons: []store.Button{{Label: "Privacy", Action: "privacy"}, {Label: "Help", Action: "help"}}}}, nil
	}
	h.start()
	h.tg.PushUpdate(fixture(t, "private_text", map[string]any{
		"message.text":     "/start",
		"message.entities": []any{map[string]any{"offset": 0, "length": 6, "type": "bot_command"}},
	}))
	sent := h.tg.WaitSent(t, 1)
	in := h.waitEngine(1)[0]
	if in.Text != "/start" || in.Action != "" {
		t.Errorf("engine got text %q action %q, want /start", in.Text, in.Action)
	}
	if want := h.keys.Handle("telegram", askerIDString); in.Handle != want || in.Platform != "telegram" {
		t.Errorf("handle %q platform %q, want %q telegram", in.Handle, in.Platform, want)
	}
	if in.Locale != "en" {
		t.Errorf("locale %q", in.Locale)
	}
	addr, err := h.keys.Open(in.Address, h.clock.Now())
	if err != nil || addr.Platform != "telegram" || addr.To != askerIDString {
		t.Errorf("sealed address opens to %+v, %v", addr, err)
	}
	if _, err := h.keys.Open(in.Address, h.clock.Now().Add(31*24*time.Hour)); !errors.Is(err, identity.ErrSealExpired) {
		t.Errorf("the address should expire with the ticket retention; Open after 31 days: %v", err)
	}
	if len(sent) != 1 {
		t.Fatalf("%d messages sent", len(sent))
	}
	m := sent[0]
	if m.ChatID() != askerID || m.Params.Get("parse_mode") != "HTML" {
		t.Errorf("sent to %d with parse_mode %q", m.ChatID(), m.Params.Get("parse_mode"))
	}
	if m.Text() != "Hi. <b>Welcome</b> &amp; read /privacy." {
		t.Errorf("text %q", m.Text())
	}
	kb := m.Keyboard()
	if len(kb) != 1 || len(kb[0]) != 2 || kb[0][0].Text != "Privacy" || kb[0][1].Text != "Help" {
		t.Fatalf("keyboard %+v", kb)
	}
	for _, b := range kb[0] {
		if len(b.CallbackData) > 64 || strings.Contains(b.CallbackData, "privacy") || strings.Contains(b.CallbackData, "help") {
			t.Errorf("callback data %q carries the action or is too long", b.CallbackData)
		}
	}
	// Start-up calls: commands registered for private chats, webhook removed.
	var cmds []struct{ Command string }
	if err := json.Unmarshal([]byte(h.tg.Commands()), &cmds); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cmds {
		names = append(names, c.Command)
	}
	if got := strings.Join(names, ","); got != "start,help,privacy,forget,book" {
		t.Errorf("setMyCommands %q", got)
	}
	if len(h.tg.Calls("deleteWebhook")) == 0 {
		t.Error("polling started without deleteWebhook")
	}
	if err := h.stop(); err != nil {
		t.Errorf("Run: %v", err)
	}
	assertNoIdentity(t, "store", h.store.dump())
	assertNoIdentity(t, "logs", h.logs.String())
	if strings.Contains(h.logs.String(), "/start") {
		t.Error("message text was logged")
	}
}

func TestButtonsAndCallbacks(t *testing.T) {
	h := newHarness(t, nil)
	h.eng.reply = func(in conversation.Inbound) ([]conversation.Reply, error) {
		if in.Action != "" {
			return []conversation.Reply{{Kind: conversation.KindQueued, Text: "Sent to " + in.Action}}, nil
		}
		return []conversation.Reply{{Kind: conversation.KindAnswer, Text: "An answer.", Buttons: []store.Button{
			{Label: "Helpful", Action: "helpful:erectile-dysfunction"},
			{Label: "Not what I asked", Action: "not:erectile-dysfunction"},
			{Label: "Ask a therapist", Action: "ask"},
			{Label: "Book a session", Action: "book"},
			{Label: "Did you mean: what is a very long suggested question?", Action: "show:" + strings.Repeat("x", 200)},
		}}}, nil
	}
	h.start()
	h.tg.PushUpdate(fixture(t, "private_text", nil))
	sent := h.tg.WaitSent(t, 1)
	kb := sent[0].Keyboard()
	var ask, long string
	for _, row := range kb {
		for _, b := range row {
			if len(b.CallbackData) > 64 {
				t.Errorf("callback data of %d bytes", len(b.CallbackData))
			}
			switch b.Text {
			case "Ask a therapist":
				ask = b.CallbackData
			case "Did you mean: what is a very long suggested question?":
				long = b.CallbackData
				if len(row) != 1 {
					t.Error("a long label should have a row of its own")
				}
			}
		}
	}
	if ask == "" || long == "" {
		t.Fatalf("keyboard %+v", kb)
	}

	press := func(id, data string) {
		h.tg.PushUpdate(fixture(t, "callback_query", map[string]any{"update_id": 0, "callback_query.id": id, "callback_query.data": data}))
	}
	press("q1", ask)
	h.tg.WaitSent(t, 2)
	in := h.waitEngine(2)[1]
	if in.Action != "ask" || in.Text != "" || in.Handle != h.keys.Handle("telegram", askerIDString) || len(in.Address) == 0 {
		t.Errorf("callback inbound %+v", in)
	}
	press("q2", long)
	h.tg.WaitSent(t, 3)
	if in := h.waitEngine(3)[2]; in.Action != "show:"+strings.Repeat("x", 200) {
		t.Errorf("a long action did not round-trip: %q", in.Action)
	}

	// Forged, malformed and unknown keys: "expired", and the engine is not
	// called. One at a time: six at once would overflow the chat's queue.
	forged := []string{"k:AAAAAAAAAAAA", "ask", "", "k:" + strings.Repeat("z", 62), "k:../../etc/pa", "k:<script>x<"}
	var calls []telegramtest.Call
	for i, data := range forged {
		press("forged"+strconv.Itoa(i), data)
		calls = h.tg.WaitFor(t, 10*time.Second, "callback answer", func(calls []telegramtest.Call) bool {
			n := 0
			for _, c := range calls {
				if c.Method == "answerCallbackQuery" {
					n++
				}
			}
			return n >= 3+i
		})
	}
	answers := map[string]string{}
	for _, c := range calls {
		if c.Method == "answerCallbackQuery" {
			if c.Status != http.StatusOK {
				t.Errorf("answerCallbackQuery %s failed: %d (answered twice?)", c.Params.Get("callback_query_id"), c.Status)
			}
			answers[c.Params.Get("callback_query_id")] = c.Params.Get("text")
		}
	}
	if answers["q1"] != "" || answers["q2"] != "" {
		t.Errorf("valid presses answered with %q / %q", answers["q1"], answers["q2"])
	}
	for i := 0; i < 6; i++ {
		if got := answers["forged"+strconv.Itoa(i)]; got != "This button has expired" {
			t.Errorf("forged press %d answered %q", i, got)
		}
	}
	if n := len(h.eng.inbounds()); n != 3 {
		t.Errorf("engine called %d times, want 3 (forged presses must not reach it)", n)
	}

	// A button pressed by someone else (another handle) is unknown to them.
	h.tg.PushUpdate(fixture(t, "callback_query", map[string]any{"update_id": 0, "callback_query.id": "other",
		"callback_query.data": ask, "callback_query.from.id": 999}))
	h.tg.WaitFor(t, 10*time.Second, "the other user's answer", func(calls []telegramtest.Call) bool {
		for _, c := range calls {
			if c.Method == "answerCallbackQuery" && c.Params.Get("callback_query_id") == "other" {
				return c.Params.Get("text") == "This button has expired"
			}
		}
		return false
	})
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	assertNoIdentity(t, "store", h.store.dump())
	assertNoIdentity(t, "logs", h.logs.String())
}

func TestButtonsExpire(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.ButtonTTL = time.Minute })
	h.eng.reply = func(in conversation.Inbound) ([]conversation.Reply, error) {
		return []conversation.Reply{{Kind: conversation.KindAnswer, Text: "A.", Buttons: []store.Button{{Label: "Helpful", Action: "helpful"}}}}, nil
	}
	h.store.now = func() time.Time { return time.Now().Add(-2 * time.Minute) } // buttons stored "two minutes ago"
	h.start()
	h.tg.PushUpdate(fixture(t, "private_text", nil))
	data := h.tg.WaitSent(t, 1)[0].Keyboard()[0][0].CallbackData
	h.store.mu.Lock()
	h.store.now = time.Now
	h.store.mu.Unlock()
	h.tg.PushUpdate(fixture(t, "callback_query", map[string]any{"callback_query.data": data}))
	h.tg.WaitFor(t, 10*time.Second, "expired answer", func(calls []telegramtest.Call) bool {
		for _, c := range calls {
			if c.Method == "answerCallbackQuery" {
				return c.Params.Get("text") == "This button has expired"
			}
		}
		return false
	})
}

func TestGroupsGetOneNotice(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	h.tg.PushUpdate(fixture(t, "group_text", nil))
	h.tg.PushUpdate(fixture(t, "group_text", map[string]any{"update_id": 0, "message.text": "and again"}))
	h.tg.PushUpdate(fixture(t, "group_text", map[string]any{"update_id": 0, "message.chat.type": "group"}))
	// A callback from a button in a group: answered, nothing else.
	h.tg.PushUpdate(fixture(t, "callback_query", map[string]any{"update_id": 0, "callback_query.id": "g",
		"callback_query.message.chat": map[string]any{"id": groupChatID, "type": "supergroup", "title": "x"}}))
	// A private message afterwards proves the group updates were all handled.
	h.tg.PushUpdate(fixture(t, "private_text", map[string]any{"update_id": 0}))
	h.waitEngine(1)
	h.tg.WaitSent(t, 2)
	h.tg.WaitFor(t, 10*time.Second, "the group callback answer", func(calls []telegramtest.Call) bool {
		for _, c := range calls {
			if c.Method == "answerCallbackQuery" && c.Params.Get("callback_query_id") == "g" {
				return true
			}
		}
		return false
	})
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	sent := h.tg.Sent()
	var group []telegramtest.Call
	for _, c := range sent {
		if c.ChatID() == groupChatID {
			group = append(group, c)
		}
	}
	if len(group) != 1 {
		t.Fatalf("%d messages to the group, want exactly one notice", len(group))
	}
	if v := group[0].VisibleText(); !strings.Contains(v, "private chat") || !strings.Contains(v, "@"+telegramtest.Bot.UserName) {
		t.Errorf("group notice %q", v)
	}
	if !strings.Contains(group[0].Text(), `href="https://t.me/`+telegramtest.Bot.UserName+`"`) {
		t.Errorf("group notice without a link to the bot: %q", group[0].Text())
	}
	if got := h.eng.inbounds(); len(got) != 1 || got[0].Text == "and again" {
		t.Errorf("group messages reached the engine: %+v", got)
	}
	assertNoIdentity(t, "store", h.store.dump())
	assertNoIdentity(t, "logs", h.logs.String())
}

func TestNonTextUpdates(t *testing.T) {
	tests := []struct {
		fixture string
		edits   map[string]any
		want    string // "" = ignored
	}{
		{"photo", nil, "only read text"},
		{"sticker", nil, "only read text"},
		{"edited_message", nil, "edited"},
		{"private_text", map[string]any{"message.text": nil, "message.voice": map[string]any{"file_id": "v", "file_unique_id": "u", "duration": 3}}, "only read text"},
		{"private_text", map[string]any{"message.text": nil, "message.document": map[string]any{"file_id": "d", "file_unique_id": "u"}}, "only read text"},
		{"private_text", map[string]any{"message.text": nil, "message.location": map[string]any{"latitude": 51.5, "longitude": -0.1}}, "only read text"},
		{"private_text", map[string]any{"message.text": nil, "message.pinned_message": map[string]any{"message_id": 1, "date": 1}}, ""},
		{"private_text", map[string]any{"message.from": nil}, ""},
		{"private_text", map[string]any{"message.chat": nil}, ""},
		{"private_text", map[string]any{"message.from.is_bot": true}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			h := newHarness(t, nil)
			h.start()
			h.tg.PushUpdate(fixture(t, tt.fixture, tt.edits))
			// A marker message from another chat shows when the first update is done.
			h.tg.PushUpdate(fixture(t, "private_text", map[string]any{"update_id": 0, "message.chat.id": 42, "message.from.id": 42, "message.text": "marker"}))
			h.waitEngine(1)
			if tt.want != "" {
				h.tg.WaitSent(t, 2)
			} else {
				h.tg.WaitSent(t, 1)
			}
			if err := h.stop(); err != nil { // drains the queues
				t.Fatal(err)
			}
			sent := h.tg.Sent()
			var mine []telegramtest.Call
			for _, c := range sent {
				if c.ChatID() == askerID {
					mine = append(mine, c)
				}
			}
			if tt.want == "" {
				if len(mine) != 0 {
					t.Errorf("ignored update got a reply: %q", mine[0].VisibleText())
				}
			} else if len(mine) != 1 || !strings.Contains(mine[0].VisibleText(), tt.want) {
				t.Errorf("replies %s, want one containing %q", telegramtest.Summary(mine), tt.want)
			}
			if got := h.eng.inbounds(); len(got) != 1 || got[0].Text != "marker" {
				t.Errorf("engine saw %+v; non-text updates must not reach it", got)
			}
			for _, c := range h.tg.Calls("") {
				if c.Method == "getFile" {
					t.Error("a file was requested")
				}
			}
			assertNoIdentity(t, "logs", h.logs.String())
		})
	}
}

func TestDeduplicationAcrossRestarts(t *testing.T) {
	h := newHarness(t, nil)
	shared := func(o *Options) { o.Store, o.Engine, o.Keys = h.store, h.eng, h.keys }
	h.start()
	u1 := fixture(t, "private_text", nil)
	h.tg.PushUpdate(u1)
	h.tg.WaitSent(t, 1)
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	offsetKey := h.bot.stateKey + "\x00poll-offset"
	h.store.mu.Lock()
	saved := string(h.store.state[offsetKey].v)
	// A crash before the offset was saved: only Once can catch the redelivery.
	delete(h.store.state, offsetKey)
	h.store.mu.Unlock()
	if saved != "872340002" {
		t.Errorf("saved offset %q, want 872340002", saved)
	}

	h2 := newHarness(t, shared)
	h2.tg.PushUpdate(u1) // Telegram redelivers (the confirmation was lost)
	h2.tg.PushUpdate(fixture(t, "private_text", map[string]any{"update_id": 872340099, "message.text": "second"}))
	h2.start()
	h2.tg.WaitSent(t, 1)
	if err := h2.stop(); err != nil {
		t.Fatal(err)
	}
	if got := h.eng.inbounds(); len(got) != 2 || got[1].Text != "second" {
		t.Fatalf("engine saw %d inbounds; the redelivered update must be skipped", len(got))
	}
	if len(h2.tg.Sent()) != 1 {
		t.Errorf("%d replies after the restart, want 1", len(h2.tg.Sent()))
	}

	// Next start polls from the saved offset.
	h3 := newHarness(t, shared)
	h3.tg.PushUpdate(fixture(t, "private_text", map[string]any{"update_id": 872340100, "message.text": "third"}))
	h3.start()
	h3.tg.WaitSent(t, 1)
	if err := h3.stop(); err != nil {
		t.Fatal(err)
	}
	if first := h3.tg.Calls("getUpdates")[0]; first.Params.Get("offset") != "872340100" {
		t.Errorf("restart polled from offset %q, want the saved 872340100", first.Params.Get("offset"))
	}
	h.store.mu.Lock()
	saved = string(h.store.state[offsetKey].v)
	h.store.mu.Unlock()
	if saved != "872340101" {
		t.Errorf("saved offset %q, want 872340101", saved)
	}
}

func TestStoreDownStopsAndRetries(t *testing.T) {
	h := newHarness(t, nil)
	h.store.setFail(errors.New("disk on fire"))
	h.start()
	h.tg.PushUpdate(fixture(t, "private_text", nil))
	h.tg.WaitFor(t, 10*time.Second, "a few polls", func(calls []telegramtest.Call) bool {
		n := 0
		for _, c := range calls {
			if c.Method == "getUpdates" {
				n++
			}
		}
		return n >= 3
	})
	if len(h.eng.inbounds()) != 0 {
		t.Fatal("handled an update that could not be de-duplicated")
	}
	h.store.setFail(nil)
	h.waitEngine(1)
	h.tg.WaitSent(t, 1)
}

func TestRateLimit429IsHonoured(t *testing.T) {
	h := newHarness(t, nil)
	h.tg.FailNext("sendMessage", telegramtest.TooManyRequests(7))
	h.start()
	h.tg.PushUpdate(fixture(t, "private_text", nil))
	sent := h.tg.WaitSent(t, 1)
	if len(sent) != 1 || len(h.tg.Calls("sendMessage")) != 2 {
		t.Fatalf("sendMessage calls %s", telegramtest.Summary(h.tg.Calls("sendMessage")))
	}
	waited := false
	for _, d := range h.clock.sleeps() {
		if d >= 7*time.Second {
			waited = true
		}
	}
	if !waited {
		t.Errorf("retry_after 7 was not honoured; fake sleeps %v", h.clock.sleeps())
	}
}

func TestRateLimitGivesUpOnHugeRetryAfter(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	h.tg.PushUpdate(fixture(t, "private_text", map[string]any{"message.text": "warm-up"}))
	h.tg.WaitSent(t, 1)
	sealed, _ := h.keys.Seal(identity.Address{Platform: "telegram", To: askerIDString}, h.clock.Now().Add(time.Hour))
	h.tg.FailNext("sendMessage", telegramtest.TooManyRequests(3600))
	err := h.bot.Deliver(context.Background(), store.OutboxItem{ID: "o1", Handle: "h_x", Platform: "telegram", Address: sealed, Text: "answer"})
	if err == nil || errors.Is(err, moderation.ErrUndeliverable) {
		t.Fatalf("Deliver = %v, want a retryable error", err)
	}
	// The outbox retries later and then it goes out once.
	if err := h.bot.Deliver(context.Background(), store.OutboxItem{ID: "o1", Handle: "h_x", Platform: "telegram", Address: sealed, Text: "answer"}); err != nil {
		t.Fatal(err)
	}
	if n := len(h.tg.Sent()); n != 2 {
		t.Errorf("%d messages sent, want 2", n)
	}
}

// TestFloodIsThrottledWithoutSlowingOthers: one asker sends 30 messages
// while their first is still being answered; another asker is answered
// meanwhile, and the flood beyond the per-chat queue is dropped.
func TestFloodIsThrottledWithoutSlowingOthers(t *testing.T) {
	h := newHarness(t, nil)
	release := make(chan struct{})
	h.eng.reply = func(in conversation.Inbound) ([]conversation.Reply, error) {
		if in.Text == "flood 0" {
			<-release // the flooder's first message is slow
		}
		return []conversation.Reply{{Kind: conversation.KindInfo, Text: "ok " + in.Text}}, nil
	}
	h.start()
	h.tg.PushUpdate(fixture(t, "private_text", map[string]any{"update_id": 0, "message.text": "flood 0"}))
	h.waitEngine(1) // the flooder's first message is being handled
	for i := 1; i < 30; i++ {
		h.tg.PushUpdate(fixture(t, "private_text", map[string]any{"update_id": 0, "message.text": "flood " + strconv.Itoa(i)}))
	}
	h.tg.PushUpdate(fixture(t, "private_text", map[string]any{"update_id": 0, "message.chat.id": 42, "message.from.id": 42, "message.text": "other asker"}))
	sent := h.tg.WaitSent(t, 1)
	if sent[0].ChatID() != 42 {
		t.Fatalf("first reply went to %d, want the other asker", sent[0].ChatID())
	}
	h.tg.WaitFor(t, 10*time.Second, "all updates confirmed", func([]telegramtest.Call) bool { return h.tg.Pending() == 0 })
	close(release)
	want := 1 + 1 + perChatQueue // other asker + running + queued
	h.tg.WaitSent(t, want)
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	if n := len(h.eng.inbounds()); n != want {
		t.Errorf("engine handled %d messages, want %d (the rest of the flood dropped)", n, want)
	}
	// The flooder's replies respect ~1/s: 6 replies need ≥ 3 s of fake time
	// after the burst of 3.
	var total time.Duration
	for _, d := range h.clock.sleeps() {
		total += d
	}
	if total < 2*time.Second {
		t.Errorf("replies to one chat were not rate limited (fake sleeps %v)", h.clock.sleeps())
	}
}

func TestLongAndHostileRepliesAreSplitAndEscaped(t *testing.T) {
	h := newHarness(t, nil)
	para := strings.Repeat("Some **bold** & <tags> with *italics* and [a link](https://example.org/?a=1&b=2). ", 20)
	long := strings.Repeat(para+"\n\n", 8) + allSpecials
	h.eng.reply = func(in conversation.Inbound) ([]conversation.Reply, error) {
		return []conversation.Reply{{Kind: conversation.KindAnswer, Text: long, Buttons: []store.Button{{Label: "Helpful", Action: "helpful"}}}}, nil
	}
	h.start()
	h.tg.PushUpdate(fixture(t, "private_text", nil))
	h.waitEngine(1)
	want := len(renderHTML(long, MaxMessageLength))
	if want < 2 {
		t.Fatalf("test text renders in %d message", want)
	}
	sent := h.tg.WaitSent(t, want)
	if calls := h.tg.Calls("sendMessage"); len(calls) != want {
		t.Fatalf("the fake refused some messages: %s", telegramtest.Summary(calls))
	}
	for i, c := range sent {
		if (len(c.Keyboard()) > 0) != (i == len(sent)-1) {
			t.Errorf("message %d keyboard %v: only the last message carries buttons", i, c.Keyboard())
		}
	}
	if !strings.HasSuffix(sent[len(sent)-1].VisibleText(), allSpecials) {
		t.Errorf("special characters did not arrive intact: %q", sent[len(sent)-1].VisibleText())
	}
}

func TestEngineErrorGetsApology(t *testing.T) {
	h := newHarness(t, nil)
	h.eng.reply = func(in conversation.Inbound) ([]conversation.Reply, error) {
		return nil, errors.New("engine broke while reading " + in.Text)
	}
	h.start()
	h.tg.PushUpdate(fixture(t, "private_text", nil))
	sent := h.tg.WaitSent(t, 1)
	if !strings.Contains(sent[0].VisibleText(), "went wrong") {
		t.Errorf("reply %q", sent[0].VisibleText())
	}
}

func TestUnauthorizedTokenStopsRun(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Token = "999:wrong-token" })
	err := h.bot.Run(context.Background())
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("Run = %v, want ErrUnauthorized", err)
	}
	if strings.Contains(err.Error(), "wrong-token") {
		t.Error("the error shows the token")
	}
}

func TestRunRetriesUntilReachableAndStopsTwice(t *testing.T) {
	h := newHarness(t, nil)
	h.tg.FailNext("getMe", telegramtest.Failure{Code: 502, Description: "Bad Gateway"}, telegramtest.Failure{Code: 500, Description: "Internal"})
	h.start()
	h.tg.PushUpdate(fixture(t, "private_text", nil))
	h.tg.WaitSent(t, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := h.bot.Run(ctx); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("a second Run: %v", err)
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	// Run can be started again after it stopped (GetUpdatesChan cannot).
	h.start()
	h.tg.PushUpdate(fixture(t, "private_text", map[string]any{"update_id": 0, "message.text": "again"}))
	h.tg.WaitSent(t, 2)
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
}

func TestTokenNeverInErrorsOrLogs(t *testing.T) {
	tg := telegramtest.NewServer(t)
	endpoint := tg.Endpoint()
	tg.Close() // unreachable
	logs := &logtest.Buffer{}
	b, err := New(Options{Token: tg.Token, APIEndpoint: endpoint, HTTPClient: &http.Client{Timeout: time.Minute},
		Engine: &fakeEngine{}, Keys: identity.RandomKeys(), Store: newMemStore(), Logger: slogTo(logs)})
	if err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	b.sleep = clock.Sleep
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	for len(clock.sleeps()) < 2 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after cancel: %v", err)
	}
	secret := strings.SplitN(tg.Token, ":", 2)[1]
	if out := logs.String(); strings.Contains(out, secret) || !strings.Contains(out, "cannot reach") {
		t.Errorf("logs leak the token or say nothing:\n%s", out)
	}
}

func TestDeliver(t *testing.T) {
	h := newHarness(t, nil)
	item := func(id, to string, exp time.Duration) store.OutboxItem {
		sealed, err := h.keys.Seal(identity.Address{Platform: "telegram", To: to}, h.clock.Now().Add(exp))
		if err != nil {
			t.Fatal(err)
		}
		return store.OutboxItem{ID: id, TicketID: "t1", Handle: h.keys.Handle("telegram", to), Platform: "telegram",
			Address: sealed, Kind: "therapist", Text: "A therapist says: **it's common** & treatable."}
	}
	ctx := context.Background()
	if err := h.bot.Deliver(ctx, item("o0", askerIDString, time.Hour)); err == nil || errors.Is(err, moderation.ErrUndeliverable) {
		t.Errorf("Deliver before Run = %v, want a retryable error", err)
	}
	h.start()
	h.tg.PushUpdate(fixture(t, "private_text", nil))
	h.tg.WaitSent(t, 1)

	if err := h.bot.Deliver(ctx, item("o1", askerIDString, time.Hour)); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	sent := h.tg.Sent()
	last := sent[len(sent)-1]
	if last.ChatID() != askerID || last.VisibleText() != "A therapist says: it's common & treatable." {
		t.Errorf("delivered %q to %d", last.VisibleText(), last.ChatID())
	}
	// Re-delivering the same item (a crash before CompleteOutbox) sends nothing.
	if err := h.bot.Deliver(ctx, item("o1", askerIDString, time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := len(h.tg.Sent()); n != len(sent) {
		t.Errorf("a re-delivery was sent again (%d → %d messages)", len(sent), n)
	}

	otherPlatform, _ := h.keys.Seal(identity.Address{Platform: "slack", To: "D123"}, h.clock.Now().Add(time.Hour))
	h.tg.FailChat(555, telegramtest.Blocked)
	h.tg.FailChat(556, telegramtest.ChatNotFound)
	h.tg.FailChat(557, telegramtest.Failure{Code: 403, Description: "Forbidden: user is deactivated"})
	h.tg.FailChat(558, telegramtest.Failure{Code: 500, Description: "Internal Server Error"})
	tests := []struct {
		name          string
		it            store.OutboxItem
		undeliverable bool
	}{
		{"blocked the bot", item("b", "555", time.Hour), true},
		{"chat not found", item("c", "556", time.Hour), true},
		{"deactivated", item("d", "557", time.Hour), true},
		{"expired seal", item("e", askerIDString, -time.Second), true},
		{"garbage seal", store.OutboxItem{ID: "g", Platform: "telegram", Address: []byte("garbage"), Text: "x"}, true},
		{"no address", store.OutboxItem{ID: "n", Platform: "telegram", Text: "x"}, true},
		{"slack address", store.OutboxItem{ID: "s", Platform: "telegram", Address: otherPlatform, Text: "x"}, true},
		{"wrong platform", store.OutboxItem{ID: "w", Platform: "slack", Address: otherPlatform, Text: "x"}, true},
		{"non-numeric chat", item("x", "abc", time.Hour), true},
		{"server error", item("s5", "558", time.Hour), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := h.bot.Deliver(ctx, tt.it)
			if err == nil {
				t.Fatal("Deliver succeeded")
			}
			if errors.Is(err, moderation.ErrUndeliverable) != tt.undeliverable {
				t.Errorf("Deliver = %v; undeliverable = %v, want %v", err, errors.Is(err, moderation.ErrUndeliverable), tt.undeliverable)
			}
			if strings.Contains(err.Error(), "555") || strings.Contains(err.Error(), askerIDString) {
				t.Errorf("the error names the chat: %v", err)
			}
		})
	}
}

func TestDeliverLongAnswerResumesAfterFailure(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	h.tg.PushUpdate(fixture(t, "private_text", nil))
	h.tg.WaitSent(t, 1)
	para := strings.Repeat("x", 3000)
	sealed, _ := h.keys.Seal(identity.Address{Platform: "telegram", To: askerIDString}, h.clock.Now().Add(time.Hour))
	it := store.OutboxItem{ID: "long", Handle: "h_a", Platform: "telegram", Address: sealed, Text: para + "\n\n" + para + "\n\n" + para}
	// Part 1 goes out, part 2 fails with a server error.
	h.tg.FailNext("sendMessage", telegramtest.Pass, telegramtest.Failure{Code: 500, Description: "Internal Server Error"})
	ctx := context.Background()
	if err := h.bot.Deliver(ctx, it); err == nil || errors.Is(err, moderation.ErrUndeliverable) {
		t.Fatalf("Deliver = %v, want a retryable error", err)
	}
	if n := len(h.tg.Sent()); n != 2 {
		t.Fatalf("%d sent, want 2", n)
	}
	if err := h.bot.Deliver(ctx, it); err != nil {
		t.Fatal(err)
	}
	sent := h.tg.Sent()
	if len(sent) != 4 {
		t.Fatalf("%d sent after the retry, want 4 (part 1 must not repeat)", len(sent))
	}
	for i, c := range sent[1:] {
		if c.VisibleText() != para {
			t.Errorf("part %d is not one paragraph", i+1)
		}
	}
}

func slogTo(w *logtest.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestPollingSurvivesOddUpdates(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	// An update whose known field has an unexpected type (a future Bot API
	// change) is skipped without blocking the ones after it.
	h.tg.PushUpdate([]byte(`{"update_id":872340010,"message":"not an object"}`))
	h.tg.PushUpdate([]byte(`{"update_id":872340011,"inline_query":{"id":"1","from":{"id":1,"is_bot":false,"first_name":"x"},"query":"q","offset":""}}`))
	h.tg.PushUpdate([]byte(`{"update_id":872340012,"my_chat_member":{"chat":{"id":1,"type":"private"}}}`))
	h.tg.PushUpdate(fixture(t, "private_text", map[string]any{"update_id": 872340013}))
	h.tg.WaitSent(t, 1)
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	if n := len(h.eng.inbounds()); n != 1 {
		t.Errorf("engine saw %d inbounds, want 1", n)
	}
}

func TestDecodeUpdates(t *testing.T) {
	for _, in := range []string{`{}`, `"x"`, `null`, ``, `{"ok":true}`} {
		if _, ok := decodeUpdates([]byte(in)); ok && in != `null` {
			t.Errorf("decodeUpdates(%q) accepted a non-list", in)
		}
	}
	got, ok := decodeUpdates([]byte(`[{"update_id":5,"message":7},{"update_id":6},{"nothing":1},{"update_id":-1}]`))
	if !ok || len(got) != 2 || got[0].ok || got[0].id != 5 || !got[1].ok || got[1].id != 6 {
		t.Errorf("decodeUpdates = %+v, %v", got, ok)
	}
}
