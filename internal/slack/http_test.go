package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/candid-app/candid/internal/conversation"
)

// TestHTTPSignature checks that every HTTP-mode request is authenticated
// before it is parsed: only the correctly signed, fresh, small request gets
// through.
func TestHTTPSignature(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	body := readFixture(t, "event_url_verification.json")
	now := time.Now()
	sign := func(r *http.Request, b []byte) { SignRequest(r, testSecret, b, now) }
	big := bytes.Repeat([]byte("a"), MaxBodyBytes+1)
	tests := []struct {
		name   string
		method string
		body   []byte
		prep   func(r *http.Request, body []byte)
		want   int
	}{
		{"valid", http.MethodPost, body, sign, http.StatusOK},
		{"unsigned", http.MethodPost, body, func(r *http.Request, b []byte) {}, http.StatusUnauthorized},
		{"signature only", http.MethodPost, body, func(r *http.Request, b []byte) {
			sign(r, b)
			r.Header.Del("X-Slack-Request-Timestamp")
		}, http.StatusUnauthorized},
		{"tampered body", http.MethodPost, body, func(r *http.Request, b []byte) {
			sign(r, b)
			r.Body = readCloser(bytes.Replace(b, []byte("3eZbrw"), []byte("3eZbrX"), 1))
		}, http.StatusUnauthorized},
		{"wrong secret", http.MethodPost, body, func(r *http.Request, b []byte) { SignRequest(r, "another-secret", b, now) }, http.StatusUnauthorized},
		{"replayed (old timestamp)", http.MethodPost, body, func(r *http.Request, b []byte) { SignRequest(r, testSecret, b, now.Add(-6*time.Minute)) }, http.StatusUnauthorized},
		{"from the future", http.MethodPost, body, func(r *http.Request, b []byte) { SignRequest(r, testSecret, b, now.Add(6*time.Minute)) }, http.StatusUnauthorized},
		{"timestamp swapped after signing", http.MethodPost, body, func(r *http.Request, b []byte) {
			sign(r, b)
			r.Header.Set("X-Slack-Request-Timestamp", "1")
		}, http.StatusUnauthorized},
		{"signature not hex", http.MethodPost, body, func(r *http.Request, b []byte) {
			sign(r, b)
			r.Header.Set("X-Slack-Signature", "v0=zzzz")
		}, http.StatusUnauthorized},
		{"signature wrong version", http.MethodPost, body, func(r *http.Request, b []byte) {
			sign(r, b)
			r.Header.Set("X-Slack-Signature", strings.Replace(r.Header.Get("X-Slack-Signature"), "v0=", "v1=", 1))
		}, http.StatusUnauthorized},
		{"oversized with length", http.MethodPost, big, sign, http.StatusRequestEntityTooLarge},
		{"oversized without length", http.MethodPost, big, func(r *http.Request, b []byte) {
			sign(r, b)
			r.ContentLength = -1
		}, http.StatusRequestEntityTooLarge},
		{"GET", http.MethodGet, nil, sign, http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "/slack/events", bytes.NewReader(tt.body))
			tt.prep(r, tt.body)
			w := httptest.NewRecorder()
			h.mux.ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d (%s)", w.Code, tt.want, w.Body)
			}
			if tt.want == http.StatusOK {
				var resp map[string]string
				if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || resp["challenge"] != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
					t.Fatalf("url_verification answer %q (%v)", w.Body, err)
				}
			}
		})
	}
	// The same checks guard the other two endpoints.
	for _, path := range []string{"/slack/interactivity", "/slack/commands"} {
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader("payload=%7B%7D"))
		w := httptest.NewRecorder()
		h.mux.ServeHTTP(w, r)
		if w.Code != http.StatusUnauthorized {
			t.Errorf("%s unsigned: status %d", path, w.Code)
		}
	}
	if got := len(h.engine.Inbounds()); got != 0 {
		t.Errorf("the engine saw %d inputs from refused requests", got)
	}
}

func readCloser(b []byte) *readCloserT { return &readCloserT{bytes.NewReader(b)} }

type readCloserT struct{ *bytes.Reader }

func (readCloserT) Close() error { return nil }

// TestHTTPMalformed: signed but broken payloads are refused without effects.
func TestHTTPMalformed(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	for _, tc := range []struct{ path, body string }{
		{"/slack/events", "{not json"},
		{"/slack/events", ""},
		{"/slack/interactivity", ""},
		{"/slack/interactivity", "payload="},
		{"/slack/interactivity", "payload=%7Bnot+json"},
		{"/slack/interactivity", "%zz"},
		{"/slack/commands", ""},
		{"/slack/commands", "text=hello"},
	} {
		w := h.post(tc.path, []byte(tc.body))
		if w.Code != http.StatusBadRequest {
			t.Errorf("%s %q: status %d, want 400", tc.path, tc.body, w.Code)
		}
	}
	// Events we do not handle are acknowledged (so Slack stops sending
	// them) and ignored.
	for _, body := range []string{`{"type":"event_callback","event_id":"Ev1","event":{"type":"reaction_added"}}`, `{"type":"event_callback"}`, `{"type":"app_rate_limited"}`, `null`} {
		if w := h.post("/slack/events", []byte(body)); w.Code != http.StatusOK && w.Code != http.StatusBadRequest {
			t.Errorf("%s: status %d", body, w.Code)
		}
	}
	if got := len(h.engine.Inbounds()); got != 0 {
		t.Errorf("the engine saw %d inputs", got)
	}
}

// TestMessageIM: a DM reaches the engine with the handle, a sealed address
// and the text as typed, and the reply comes back to the DM as Block Kit.
func TestMessageIM(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	w := h.post("/slack/events", readFixture(t, "event_message_im.json"))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	in := h.engine.Inbounds()
	if len(in) != 1 {
		t.Fatalf("engine calls: %d", len(in))
	}
	got := in[0]
	if got.Handle != h.keys.Handle("slack", testTeam+":"+testAsker) || got.Platform != "slack" {
		t.Errorf("inbound %+v", got)
	}
	if got.Text != "Is it normal that I think about this & worry <a lot>?" {
		t.Errorf("text %q", got.Text)
	}
	addr, err := h.keys.Open(got.Address, time.Now())
	if err != nil || addr.Platform != "slack" || addr.To != testDM {
		t.Errorf("address %+v %v", addr, err)
	}
	posts := h.slack.Calls("chat.postMessage")
	if len(posts) != 1 {
		t.Fatalf("posts: %d", len(posts))
	}
	p := posts[0]
	if p.Form.Get("channel") != testDM {
		t.Errorf("posted to %q", p.Form.Get("channel"))
	}
	if p.Form.Get("text") != "You have a new reply." {
		t.Errorf("notification text %q: the answer must not show on a lock screen", p.Form.Get("text"))
	}
	var blocks []map[string]any
	if err := json.Unmarshal([]byte(p.Form.Get("blocks")), &blocks); err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 2 || blocks[0]["type"] != "section" || blocks[1]["type"] != "actions" {
		t.Fatalf("blocks %s", p.Form.Get("blocks"))
	}
	if text := blocks[0]["text"].(map[string]any)["text"]; text != "*Yes.* It is common.\n\n• one\n• two" {
		t.Errorf("section text %q", text)
	}
	els := blocks[1]["elements"].([]any)
	val := els[1].(map[string]any)["value"].(string)
	if act, ok := h.app.sig.verify(purposeAskerBtn, val, got.Handle); !ok || act != "ask_therapist" {
		t.Errorf("button value %q does not verify", val)
	}
}

// TestEventsOnce: a retried event (same event_id) is processed once.
func TestEventsOnce(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	body := readFixture(t, "event_message_im.json")
	for i := range 3 {
		r := httptest.NewRequest(http.MethodPost, "/slack/events", bytes.NewReader(body))
		SignRequest(r, testSecret, body, time.Now())
		if i > 0 {
			r.Header.Set("X-Slack-Retry-Num", "1")
			r.Header.Set("X-Slack-Retry-Reason", "http_timeout")
		}
		w := httptest.NewRecorder()
		h.mux.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Fatalf("try %d: status %d", i, w.Code)
		}
	}
	if n := len(h.engine.Inbounds()); n != 1 {
		t.Errorf("engine calls: %d, want 1", n)
	}
	if n := len(h.slack.Calls("chat.postMessage")); n != 1 {
		t.Errorf("replies: %d, want 1", n)
	}
	// Another event_id is another message.
	h.post("/slack/events", fixture(t, "event_message_im.json", map[string]any{"event_id": "Ev0MSG00002"}))
	if n := len(h.engine.Inbounds()); n != 2 {
		t.Errorf("engine calls: %d, want 2", n)
	}
}

// failingOnce is a Store whose Once fails while fail is set.
type failingOnce struct {
	Store
	fail atomic.Bool
}

func (f *failingOnce) Once(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if f.fail.Load() {
		return false, errors.New("disk full")
	}
	return f.Store.Once(ctx, key, ttl)
}

// TestEventsAckAfterStored: when the event_id cannot be recorded the event
// is not acknowledged (Slack retries) and not processed; the retry is.
func TestEventsAckAfterStored(t *testing.T) {
	var fo *failingOnce
	h := newHarness(t, harnessOptions{wrapStore: func(s Store) Store { fo = &failingOnce{Store: s}; return fo }})
	fo.fail.Store(true)
	body := readFixture(t, "event_message_im.json")
	if w := h.post("/slack/events", body); w.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", w.Code)
	}
	if n := len(h.engine.Inbounds()); n != 0 {
		t.Fatalf("processed without being recorded: %d", n)
	}
	fo.fail.Store(false)
	if w := h.post("/slack/events", body); w.Code != http.StatusOK {
		t.Fatalf("retry: status %d", w.Code)
	}
	if n := len(h.engine.Inbounds()); n != 1 {
		t.Fatalf("retry processed %d times", n)
	}
}

// TestIgnoredMessages: edits, bot messages (ours included), channel
// messages and malformed IDs never reach the engine.
func TestIgnoredMessages(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.run()
	h.slack.waitFor("", 0)
	waitBot(t, h.app)
	tests := map[string]map[string]any{
		"edit":               {"event.subtype": "message_changed"},
		"bot message":        {"event.bot_id": "B0OTHER01"},
		"our own message":    {"event.user": testBotUser},
		"channel message":    {"event.channel_type": "channel", "event.channel": "C0GENERAL1"},
		"no user":            {"event.user": ""},
		"hostile user ID":    {"event.user": "U0<script>"},
		"non-DM channel ID":  {"event.channel": "C0GENERAL1"},
		"file share subtype": {"event.subtype": "file_share"},
	}
	i := 0
	for name, edits := range tests {
		i++
		edits["event_id"] = "Ev0IGNORED" + string(rune('A'+i))
		if w := h.post("/slack/events", fixture(t, "event_message_im.json", edits)); w.Code != http.StatusOK {
			t.Errorf("%s: status %d", name, w.Code)
		}
	}
	if n := len(h.engine.Inbounds()); n != 0 {
		t.Errorf("engine saw %d ignored messages: %+v", n, h.engine.Inbounds())
	}
	// A missing event_id cannot be de-duplicated: ignored.
	if w := h.post("/slack/events", fixture(t, "event_message_im.json", map[string]any{"event_id": ""})); w.Code != http.StatusOK || len(h.engine.Inbounds()) != 0 {
		t.Errorf("event without id: %d, %d inputs", w.Code, len(h.engine.Inbounds()))
	}
}

func waitBot(t *testing.T, a *App) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !a.isBot(testBotUser) {
		if time.Now().After(deadline) {
			t.Fatal("Run never learnt the bot user")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestAppMention: a mention in a channel gets a private pointer to the DM;
// the question is not read, and nothing is posted in public.
func TestAppMention(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	if w := h.post("/slack/events", readFixture(t, "event_app_mention.json")); w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	if n := len(h.engine.Inbounds()); n != 0 {
		t.Errorf("the question went to the engine")
	}
	if n := len(h.slack.Calls("chat.postMessage")); n != 0 {
		t.Errorf("posted %d public messages", n)
	}
	eph := h.slack.Calls("chat.postEphemeral")
	if len(eph) != 1 || eph[0].Form.Get("channel") != "C0GENERAL1" || eph[0].Form.Get("user") != testAsker ||
		!strings.Contains(eph[0].Form.Get("text"), "direct message") {
		t.Fatalf("ephemeral %+v", eph)
	}
	// Retried: answered once.
	h.post("/slack/events", readFixture(t, "event_app_mention.json"))
	if n := len(h.slack.Calls("chat.postEphemeral")); n != 1 {
		t.Errorf("ephemerals: %d", n)
	}
}

// TestSlashAsk: /ask answers in the asker's DM; the command's own reply is
// ephemeral; /ask alone explains itself.
func TestSlashAsk(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	w := h.post("/slack/commands", readFixture(t, "slash_ask.txt"))
	var resp map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || w.Code != http.StatusOK {
		t.Fatalf("status %d body %q", w.Code, w.Body)
	}
	if resp["response_type"] != "ephemeral" || !strings.Contains(resp["text"], "private DM") {
		t.Errorf("response %+v", resp)
	}
	in := h.engine.Inbounds()
	if len(in) != 1 || in[0].Text != "is it normal to bleed after sex?" || in[0].Handle != h.keys.Handle("slack", testTeam+":"+testAsker) {
		t.Fatalf("inbound %+v", in)
	}
	if addr, err := h.keys.Open(in[0].Address, time.Now()); err != nil || addr.To != testDM {
		t.Errorf("address %+v %v: must be the DM, not the channel", addr, err)
	}
	posts := h.slack.Calls("chat.postMessage")
	if len(posts) != 1 || posts[0].Form.Get("channel") != testDM {
		t.Fatalf("posts %+v", posts)
	}
	if open := h.slack.Calls("conversations.open"); len(open) != 1 || open[0].Form.Get("users") != testAsker {
		t.Errorf("conversations.open %+v", open)
	}

	// Empty: usage, nothing else.
	body := strings.Replace(string(readFixture(t, "slash_ask.txt")), "text=is+it+normal+to+bleed+after+sex%3F", "text=+++", 1)
	w = h.post("/slack/commands", []byte(body))
	json.Unmarshal(w.Body.Bytes(), &resp)
	if !strings.Contains(resp["text"], "followed by your question") {
		t.Errorf("usage %q", resp["text"])
	}
	if len(h.engine.Inbounds()) != 1 || len(h.slack.Calls("chat.postMessage")) != 1 {
		t.Errorf("empty /ask did something")
	}

	// Hostile or broken identities: refused politely, nothing runs.
	for _, swap := range [][2]string{{"user_id=U0ASKER01", "user_id=U0%3Cscript%3E"}, {"team_id=T0CLINIC1", "team_id="}} {
		body := strings.Replace(string(readFixture(t, "slash_ask.txt")), swap[0], swap[1], 1)
		w := h.post("/slack/commands", []byte(body))
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "could not read") || len(h.engine.Inbounds()) != 1 {
			t.Errorf("%s: %d %s", swap[1], w.Code, w.Body)
		}
	}

	// "/ask forget" is the engine's /forget.
	body = strings.Replace(string(readFixture(t, "slash_ask.txt")), "text=is+it+normal+to+bleed+after+sex%3F", "text=forget", 1)
	h.post("/slack/commands", []byte(body))
	if in := h.engine.Inbounds(); in[len(in)-1].Text != "/forget" {
		t.Errorf("forget → %q", in[len(in)-1].Text)
	}
}

// TestAskerButtons: an asker's button press reaches the engine as the
// signed action; a forged or foreign value does not.
func TestAskerButtons(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	handle := h.keys.Handle("slack", testTeam+":"+testAsker)
	press := func(edits map[string]any) {
		t.Helper()
		if w := h.post("/slack/interactivity", interactionBody(fixture(t, "block_actions_asker.json", edits))); w.Code != http.StatusOK {
			t.Fatalf("status %d", w.Code)
		}
	}
	press(map[string]any{"actions.0.value": h.app.sig.sign(purposeAskerBtn, "ask_therapist", handle)})
	in := h.engine.Inbounds()
	if len(in) != 1 || in[0].Action != "ask_therapist" || in[0].Text != "" || in[0].Handle != handle {
		t.Fatalf("inbound %+v", in)
	}
	otherHandle := h.keys.Handle("slack", testTeam+":U0SOMEONE9")
	for name, edits := range map[string]map[string]any{
		"unsigned":              {"actions.0.value": "forget"},
		"signed for someone":    {"actions.0.value": h.app.sig.sign(purposeAskerBtn, "forget", otherHandle)},
		"moderator signature":   {"actions.0.value": h.app.sig.sign(purposeTicket, "forget")},
		"pressed outside a DM":  {"actions.0.value": h.app.sig.sign(purposeAskerBtn, "forget", handle), "container.channel_id": "C0GENERAL1", "channel.id": "C0GENERAL1"},
		"unknown action prefix": {"actions.0.action_id": "other_0", "actions.0.value": h.app.sig.sign(purposeAskerBtn, "forget", handle)},
	} {
		press(edits)
		if n := len(h.engine.Inbounds()); n != 1 {
			t.Fatalf("%s: reached the engine", name)
		}
	}
}

// TestEngineFailure: if the engine fails, the asker hears so.
func TestEngineFailure(t *testing.T) {
	e := &fakeEngine{reply: func(conversation.Inbound) ([]conversation.Reply, error) { return nil, errors.New("boom") }}
	h := newHarness(t, harnessOptions{engine: e})
	h.post("/slack/events", readFixture(t, "event_message_im.json"))
	posts := h.slack.Calls("chat.postMessage")
	if len(posts) != 1 || !strings.Contains(posts[0].text(), "something went wrong") {
		t.Fatalf("posts %+v", posts)
	}
}

// TestRegisterSocketMode: in Socket Mode no HTTP endpoint exists.
func TestRegisterSocketMode(t *testing.T) {
	h := newHarness(t, harnessOptions{appToken: "xapp-1-test"})
	if h.app.Mode() != ModeSocket {
		t.Fatalf("mode %s", h.app.Mode())
	}
	body := readFixture(t, "event_url_verification.json")
	if w := h.post("/slack/events", body); w.Code != http.StatusNotFound {
		t.Errorf("status %d, want 404", w.Code)
	}
}
