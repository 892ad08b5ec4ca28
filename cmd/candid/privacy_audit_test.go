package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack/slacktest"

	"github.com/candid-app/candid/internal/llm"
	"github.com/candid-app/candid/internal/logtest"
	"github.com/candid-app/candid/internal/moderation"
	"github.com/candid-app/candid/internal/slack"
	"github.com/candid-app/candid/internal/store"
	"github.com/candid-app/candid/internal/store/redisstore/redistest"
	"github.com/candid-app/candid/internal/telegram/telegramtest"
)

// The privacy audit (issue 18): every channel, on both backends, with
// recognisable raw values typed and carried by the platforms (IDs, user
// names, display names, e-mail, phone numbers in every shape the scrubber
// must know, the session cookie, what follows a command), through
// questions, commands, button actions, an AI draft, a moderator's answer
// and its delivery. Then every place the service writes to is searched for
// them: the store (its logical content and, on bbolt, the raw file), the
// logs at debug level, /metrics, the LLM's requests, the alert webhook and
// every Slack and Telegram call (apart from the routing fields that must
// name the asker to reach them). Zero hits, before and after each asker's
// /forget; after it, no key or value holds the asker's handle either.
//
// Run it alone with: go test -run TestPrivacyAudit -v ./cmd/candid

// Raw values, each unlikely to occur by chance.
const (
	auditTGUser   = "6029384756"
	auditTGName   = "canary_tg_user"
	auditTGFirst  = "Ysolde"
	auditTGLast   = "Brackenridge"
	auditSlackU   = "U0CANARY7Z"
	auditSlackDM  = "D0CANARYDM"
	auditSlackNm  = "canary_slack_name"
	auditSlackTm  = "T0CLINIC1"
	auditSecret   = "8f742231b10e8888abcd99yyyzzz85a5"
	auditModChan  = "C0MODS0001"
	auditMod      = "U0MOD0001"
	auditBotUser  = "W012A3CDE"
	auditStartRef = "ref_ZQ7741"
)

// What askers type that must never leave the engine unscrubbed.
var auditTyped = []string{
	"zelda.quill@example.net", "07700/900/461", "0770_090_0462", "0770,090,0463",
	"0770·090·0464", "07700  900  465", "ysolde.b@example.com", "+1 (415) 555-0199",
	"q.canary@example.org", "415.555.0142", "555-867-5309", auditStartRef,
}

func TestPrivacyAudit(t *testing.T) {
	t.Run("bolt", func(t *testing.T) { runPrivacyAudit(t, nil) })
	t.Run("redis", func(t *testing.T) {
		srv := redistest.Start(t)
		runPrivacyAudit(t, map[string]string{"CANDID_STORE": "redis", "CANDID_REDIS_URL": srv.URL})
	})
}

func runPrivacyAudit(t *testing.T, env map[string]string) {
	ctx := context.Background()
	tg := telegramtest.NewServer(t)
	sl := newAuditSlack(t)
	llmSrv := &llm.FakeServer{Reply: "A draft: many people feel this way; a clinic can help."}
	llmHTTP := httptest.NewServer(llmSrv)
	t.Cleanup(llmHTTP.Close)
	var hookMu sync.Mutex
	var hooks []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hookMu.Lock()
		hooks = append(hooks, string(b))
		hookMu.Unlock()
	}))
	t.Cleanup(hook.Close)

	full := map[string]string{
		"CANDID_TELEGRAM_TOKEN": telegramtest.Token, "CANDID_TELEGRAM_API_ENDPOINT": tg.Endpoint(),
		"CANDID_SLACK_BOT_TOKEN": "xoxb-audit", "CANDID_SLACK_SIGNING_SECRET": auditSecret,
		"CANDID_SLACK_MODERATION_CHANNEL": auditModChan, "CANDID_SLACK_MODERATORS": auditMod,
		"CANDID_SLACK_API_URL": sl.srv.GetAPIURL(),
		"CANDID_LLM_BASE_URL":  llmHTTP.URL + "/v1", "CANDID_LLM_MODEL": "gpt-4o-mini", "CANDID_LLM_API_KEY": "sk-audit",
		"CANDID_METRICS_TOKEN": "audit-metrics-token", "CANDID_ALERT_WEBHOOK": hook.URL,
		"CANDID_BOOKING_URL": "https://clinic.example/book",
	}
	for k, v := range env {
		full[k] = v
	}
	var logs logtest.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, srv := newAppWithLog(t, full, log)

	// --- web ---
	jar, _ := cookiejar.New(nil)
	web := &http.Client{Jar: jar}
	webPost := func(path, body string) map[string]any {
		t.Helper()
		resp, err := web.Post(srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode != 200 {
			t.Fatalf("web %s %s: %d %v", path, body, resp.StatusCode, out)
		}
		return out
	}
	webMsg := func(text string) map[string]any {
		b, _ := json.Marshal(map[string]string{"text": text})
		return webPost("/api/v1/chat/messages", string(b))
	}
	first := webMsg("my boyfriend wont wear condoms, email me zelda.quill@example.net or 07700/900/461")
	webPost("/api/v1/chat/actions", `{"action":"ask_therapist"}`)
	for _, act := range actionsIn(first) {
		if strings.HasPrefix(act, "helpful:") {
			b, _ := json.Marshal(map[string]string{"action": act})
			webPost("/api/v1/chat/actions", string(b))
		}
	}
	webMsg("/start " + auditStartRef)
	webMsg("/unknowncmd 0770_090_0462 call me about painful sex")
	webMsg("/help 0770,090,0463")
	webMsg("I want to kill myself tonight, my number is 0770,090,0463")
	u, _ := url.Parse(srv.URL)
	var cookie string
	for _, c := range jar.Cookies(u) {
		cookie = c.Value
	}
	if cookie == "" {
		t.Fatal("no session cookie: the web chat did not start a session")
	}
	cookieID, _, _ := strings.Cut(cookie, ".")

	// --- Telegram ---
	tgUpdate := func(text string) {
		tg.PushUpdate(tgMessage(text))
	}
	tgUpdate("is it normal to bleed after sex? text me on 0770·090·0464 or ysolde.b@example.com")
	sent := tg.WaitFor(t, 10*time.Second, "the answer with its buttons", func(calls []telegramtest.Call) bool {
		return len(tgButtons(calls)) > 0
	})
	for _, b := range tgButtons(sent) {
		if b.Text == "Ask a therapist" {
			tg.PushUpdate(tgCallback(b.CallbackData))
		}
	}
	tgUpdate("/help 07700  900  465")
	tgUpdate("/start " + auditStartRef)
	tgUpdate("he is choking me right now and took my phone, 555-867-5309")

	// --- Slack ---
	sl.waitFor(t, "auth.test", 1) // the app learns its workspace before it accepts events
	slackPost := func(path string, body []byte, ctype string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			r, _ := http.NewRequest(http.MethodPost, srv.URL+path, bytes.NewReader(body))
			r.Header.Set("Content-Type", ctype)
			slack.SignRequest(r, auditSecret, body, time.Now())
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("slack %s: %d", path, resp.StatusCode)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	slackDM := func(n int, text string) {
		slackPost("/slack/events", slackEvent(n, text), "application/json")
	}
	slackDM(1, "how do I talk about PrEP with my doctor, I'm at q.canary@example.org +1 (415) 555-0199")
	posts := sl.waitFor(t, "chat.postMessage", 1)
	for _, p := range posts {
		if p.Form.Get("channel") != auditSlackDM {
			continue
		}
		for _, v := range slackButtonValues(p.Form.Get("blocks"), "candid_ask") {
			slackPost("/slack/interactivity", slackAction(v), "application/x-www-form-urlencoded")
		}
	}
	form := url.Values{"team_id": {auditSlackTm}, "channel_id": {"C0GENERAL1"}, "user_id": {auditSlackU},
		"user_name": {auditSlackNm}, "command": {"/ask"}, "text": {"is it normal to lose desire, reach 415.555.0142"},
		"response_url": {"https://hooks.slack.com/commands/T0CLINIC1/1/x"}, "trigger_id": {"1.2.3"}}
	slackPost("/slack/commands", []byte(form.Encode()), "application/x-www-form-urlencoded")

	// --- the queue: every ticket gets its AI draft, a moderator answers it
	// and the answer is delivered on the asker's channel.
	var tickets []store.Ticket
	waitUntil(t, "a ticket from every channel, with drafts", func() bool {
		var err error
		tickets, _, err = a.mod.Queue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		platforms := map[string]bool{}
		drafted := 0
		for _, tk := range tickets {
			platforms[tk.Platform] = true
			if tk.Draft != "" {
				drafted++
			}
		}
		return platforms["web"] && platforms["telegram"] && platforms["slack"] && drafted > 0
	})
	mod := moderation.Actor{Name: "audit-moderator", Role: "moderator"}
	for _, tk := range tickets {
		if _, err := a.mod.Claim(ctx, mod, tk.ID); err != nil {
			t.Fatalf("claim %s: %v", tk.ID, err)
		}
		if _, err := a.mod.Answer(ctx, mod, tk.ID, moderation.Answer{Text: "Thank you for asking. A clinician can talk this through with you.", Booking: true}); err != nil {
			t.Fatalf("answer %s: %v", tk.ID, err)
		}
	}
	waitUntil(t, "every answer delivered", func() bool {
		for _, tk := range tickets {
			got, err := a.mod.Ticket(ctx, tk.ID)
			if err != nil || got.Delivery != "delivered" {
				return false
			}
		}
		return true
	})
	if len(llmSrv.Requests()) == 0 {
		t.Fatal("no request reached the LLM: the audit of its requests would prove nothing")
	}

	handles := map[string]string{
		"web":      a.keys.Handle("web", cookieID),
		"telegram": a.keys.Handle("telegram", auditTGUser),
		"slack":    a.keys.Handle("slack", auditSlackTm+":"+auditSlackU),
	}
	raw := append([]string{auditTGUser, auditTGName, auditTGFirst, auditTGLast, auditSlackU, auditSlackDM, auditSlackNm, cookie, cookieID}, auditTyped...)
	audit := func(when string, forbidden []string) {
		t.Helper()
		places := map[string]string{
			"store":    dumpStore(t, a),
			"logs":     logs.String(),
			"metrics":  readMetrics(t, srv.URL, "audit-metrics-token"),
			"llm":      llmBodies(llmSrv),
			"slack":    sl.audited(),
			"telegram": tgAudited(tg),
		}
		hookMu.Lock()
		places["webhook"] = strings.Join(hooks, "\n")
		hookMu.Unlock()
		if a.cfg.Store != "redis" {
			db, err := os.ReadFile(filepath.Join(a.cfg.Data, "candid.db"))
			if err != nil {
				t.Fatal(err)
			}
			places["store file"] = string(db)
		}
		for place, content := range places {
			if content == "" && place != "webhook" {
				t.Errorf("%s: nothing to search in %s: the audit would prove nothing", when, place)
			}
			for _, s := range forbidden {
				if hit(content, s) {
					t.Errorf("%s: %s holds %q", when, place, s)
				}
			}
		}
	}
	// Controls: each place holds what it should, so that a search finding
	// nothing means something.
	for place, want := range map[string]string{
		"store":    "wear condoms",        // the scrubbed question of the web ticket
		"llm":      "wear condoms",        // the web asker's question, scrubbed, in a draft request
		"slack":    "bleed after sex",     // the Telegram ticket shown in the moderation channel
		"telegram": "clinician can talk",  // the moderator's answer delivered
		"logs":     "telegram adapter on", // debug logs were written
		"metrics":  "candid_",             // the counters
		"webhook":  "",                    // (may be empty)
	} {
		if want == "" {
			continue
		}
		// Posts to Slack and deliveries run in the background: wait for them.
		waitUntil(t, fmt.Sprintf("control: %s holding %q (else the audit reads the wrong thing)", place, want), func() bool {
			content := map[string]string{"store": dumpStore(t, a), "llm": llmBodies(llmSrv), "slack": sl.audited(),
				"telegram": tgAudited(tg), "logs": logs.String(), "metrics": readMetrics(t, srv.URL, "audit-metrics-token")}[place]
			return strings.Contains(content, want)
		})
	}
	if calls := tg.Calls("sendMessage"); len(calls) == 0 || calls[0].ChatID() != 6029384756 {
		t.Errorf("control: Telegram replies did not reach the asker's chat")
	}
	audit("after the conversations", raw)

	// --- /forget on every channel, then the handles are gone too.
	webMsg("/forget")
	tgUpdate("/forget")
	slackDM(2, "forget me")
	waitUntil(t, "every asker forgotten", func() bool {
		d := dumpStore(t, a)
		for _, h := range handles {
			if strings.Contains(d, h) {
				return false
			}
		}
		return true
	})
	audit("after /forget", append(raw, handles["web"], handles["telegram"], handles["slack"]))
}

var nonDigits = regexp.MustCompile(`\D`)

// hit reports whether s occurs in content, also as its digits alone (a
// phone number stored without its separators is still the number).
func hit(content, s string) bool {
	if strings.Contains(content, s) {
		return true
	}
	digits := nonDigits.ReplaceAllString(s, "")
	return len(digits) >= 9 && strings.Contains(content, digits)
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second) // only keeps a broken test from hanging (a loaded CI machine is slow)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type dumper interface {
	Dump(ctx context.Context, w io.Writer) error
}

func dumpStore(t *testing.T, a *app) string {
	t.Helper()
	d, ok := a.store.(dumper)
	if !ok {
		t.Fatalf("store %T has no Dump: the audit cannot read it", a.store)
	}
	var b bytes.Buffer
	if err := d.Dump(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	// Dump quotes values as Go strings: unquote the shapes that matter
	// (the middle dot of a phone number) by also searching the raw form.
	return b.String() + "\n" + strings.ReplaceAll(b.String(), `\u00b7`, "·")
}

func readMetrics(t *testing.T, base, token string) string {
	t.Helper()
	r, _ := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("metrics: %d %s", resp.StatusCode, b)
	}
	return string(b)
}

func llmBodies(f *llm.FakeServer) string {
	var b strings.Builder
	for _, r := range f.Requests() {
		b.Write(r.Body)
		b.WriteByte('\n')
	}
	return b.String()
}

// tgAudited is every Bot API call's parameters but chat_id, which must name
// the asker's chat for the reply to reach them.
func tgAudited(s *telegramtest.Server) string {
	var b strings.Builder
	for _, c := range s.Calls("") {
		for k, vs := range c.Params {
			if k != "chat_id" {
				fmt.Fprintf(&b, "%s %s=%s\n", c.Method, k, strings.Join(vs, ","))
			}
		}
	}
	return b.String()
}

func tgButtons(calls []telegramtest.Call) []telegramtest.Button {
	var out []telegramtest.Button
	for _, c := range calls {
		for _, row := range c.Keyboard() {
			out = append(out, row...)
		}
	}
	return out
}

func tgFrom() map[string]any {
	return map[string]any{"id": 6029384756, "is_bot": false, "first_name": auditTGFirst, "last_name": auditTGLast, "username": auditTGName, "language_code": "en"}
}

func tgChat() map[string]any {
	return map[string]any{"id": 6029384756, "first_name": auditTGFirst, "last_name": auditTGLast, "username": auditTGName, "type": "private"}
}

// Update and message IDs grow across fake servers, as Telegram's do across
// a restart (the bot keeps the last update it handled).
var tgMsgID = 500000

func tgMessage(text string) []byte {
	tgMsgID++
	b, _ := json.Marshal(map[string]any{"update_id": tgMsgID, "message": map[string]any{"message_id": tgMsgID, "from": tgFrom(), "chat": tgChat(), "date": time.Now().Unix(), "text": text}})
	return b
}

func tgCallback(data string) []byte {
	tgMsgID++
	b, _ := json.Marshal(map[string]any{"update_id": tgMsgID, "callback_query": map[string]any{
		"id": fmt.Sprint(3136470523417893000 + tgMsgID), "from": tgFrom(), "chat_instance": "-645398547211304992", "data": data,
		"message": map[string]any{"message_id": tgMsgID, "chat": tgChat(), "date": time.Now().Unix(), "text": "…",
			"from": map[string]any{"id": 123456789, "is_bot": true, "first_name": "Candid", "username": "candid_test_bot"}}}})
	return b
}

func actionsIn(reply map[string]any) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if a, ok := v["action"].(string); ok {
				out = append(out, a)
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(reply)
	return out
}

func slackEvent(n int, text string) []byte {
	b, _ := json.Marshal(map[string]any{
		"token": "ZZZZZZWSxiZZZ2yIvs3peJ", "team_id": auditSlackTm, "api_app_id": "A0CANDID1", "type": "event_callback",
		"event_id": fmt.Sprintf("Ev0AUDIT%04d", n), "event_time": time.Now().Unix(),
		"event": map[string]any{"type": "message", "channel_type": "im", "user": auditSlackU, "channel": auditSlackDM,
			"text": text, "team": auditSlackTm, "ts": fmt.Sprintf("1767225600.%06d", n), "event_ts": fmt.Sprintf("1767225600.%06d", n),
			"user_profile": map[string]any{"name": auditSlackNm, "real_name": auditTGFirst + " Slack"}},
	})
	return b
}

func slackAction(value string) []byte {
	b, _ := json.Marshal(map[string]any{
		"type": "block_actions", "user": map[string]any{"id": auditSlackU, "username": auditSlackNm, "name": auditSlackNm, "team_id": auditSlackTm},
		"api_app_id": "A0CANDID1", "team": map[string]any{"id": auditSlackTm, "domain": "clinic"},
		"container":  map[string]any{"type": "message", "message_ts": "1767225601.000200", "channel_id": auditSlackDM},
		"channel":    map[string]any{"id": auditSlackDM, "name": "directmessage"},
		"trigger_id": "7834728744.4587209347.0a1b", "response_url": "https://hooks.slack.com/actions/T0CLINIC1/1/x",
		"actions": []any{map[string]any{"action_id": "candid_ask_0", "block_id": "candid_ask", "value": value, "type": "button", "action_ts": "1767225605.654321"}},
	})
	return []byte("payload=" + url.QueryEscape(string(b)))
}

// slackButtonValues returns the values of the buttons in blocks whose
// block_id starts with prefix.
func slackButtonValues(blocks, prefix string) []string {
	var bs []struct {
		BlockID  string `json:"block_id"`
		Elements []struct {
			Value string `json:"value"`
		} `json:"elements"`
	}
	json.Unmarshal([]byte(blocks), &bs)
	var out []string
	for _, b := range bs {
		if strings.HasPrefix(b.BlockID, prefix) {
			for _, e := range b.Elements {
				if e.Value != "" {
					out = append(out, e.Value)
				}
			}
		}
	}
	return out
}

// auditSlack is slacktest's server with handlers that record every Web API
// call the app makes (slacktest's own keep no record we can read).
type auditSlack struct {
	srv   *slacktest.Server
	mu    sync.Mutex
	calls []auditSlackCall
	seq   int
}

type auditSlackCall struct {
	Method string
	Form   url.Values
	Raw    string
}

func newAuditSlack(t *testing.T) *auditSlack {
	f := &auditSlack{}
	f.srv = slacktest.NewTestServer(func(c slacktest.Customize) {
		for _, m := range []string{"auth.test", "chat.postMessage", "chat.update", "chat.postEphemeral", "views.open", "conversations.open", "usergroups.users.list"} {
			c.Handle("/"+m, f.handler(m))
		}
	})
	f.srv.Start()
	t.Cleanup(f.srv.Stop)
	return f
}

func (f *auditSlack) handler(method string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		f.mu.Lock()
		f.seq++
		ts := fmt.Sprintf("1767230000.%06d", f.seq)
		f.calls = append(f.calls, auditSlackCall{Method: method, Form: form, Raw: string(body)})
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		var resp any
		switch method {
		case "auth.test":
			resp = map[string]any{"ok": true, "url": "https://clinic.slack.com/", "team": "Clinic", "user": "candid", "team_id": auditSlackTm, "user_id": auditBotUser, "bot_id": "B0CANDID01"}
		case "chat.postMessage":
			resp = map[string]any{"ok": true, "channel": form.Get("channel"), "ts": ts, "message": map[string]any{"ts": ts}}
		case "chat.update":
			resp = map[string]any{"ok": true, "channel": form.Get("channel"), "ts": form.Get("ts"), "text": ""}
		case "chat.postEphemeral":
			resp = map[string]any{"ok": true, "message_ts": ts}
		case "views.open":
			resp = map[string]any{"ok": true, "view": map[string]any{"id": "V0AUDIT"}}
		case "conversations.open":
			resp = map[string]any{"ok": true, "channel": map[string]any{"id": auditSlackDM}}
		case "usergroups.users.list":
			resp = map[string]any{"ok": true, "users": []string{auditMod}}
		}
		json.NewEncoder(w).Encode(resp)
	}
}

func (f *auditSlack) waitFor(t *testing.T, method string, n int) []auditSlackCall {
	t.Helper()
	var got []auditSlackCall
	waitUntil(t, fmt.Sprintf("%d Slack %s calls", n, method), func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		got = got[:0]
		for _, c := range f.calls {
			if c.Method == method {
				got = append(got, c)
			}
		}
		return len(got) >= n
	})
	return got
}

// audited is every Web API call's fields but the routing ones that must name
// the asker's DM (channel, users, user), as the app sent them.
func (f *auditSlack) audited() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var b strings.Builder
	for _, c := range f.calls {
		for k, vs := range c.Form {
			switch k {
			case "channel", "users", "user":
				if len(vs) == 1 && (vs[0] == auditSlackDM || vs[0] == auditSlackU) {
					continue
				}
			}
			fmt.Fprintf(&b, "%s %s=%s\n", c.Method, k, strings.Join(vs, ","))
		}
	}
	return b.String()
}
