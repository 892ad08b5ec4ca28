package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack/slacktest"

	"github.com/candid-app/candid/internal/conversation"
	"github.com/candid-app/candid/internal/identity"
	"github.com/candid-app/candid/internal/logtest"
	"github.com/candid-app/candid/internal/moderation"
	"github.com/candid-app/candid/internal/store"
	"github.com/candid-app/candid/internal/store/boltstore"
)

// IDs used by the fixtures in testdata/.
const (
	testSecret   = "8f742231b10e8888abcd99yyyzzz85a5"
	testTeam     = "T0CLINIC1"
	testAsker    = "U0ASKER01"
	testDM       = "D0ASKERDM1"
	testModChan  = "C0MODS0001"
	testMod      = "U0MOD0001"
	testOutsider = "U0NOTMOD01"
	testGroup    = "S0MODGROUP"
	testGroupMod = "U0GROUPMOD"
	// slacktest's auth.test answers with this user ID: it is our bot.
	testBotUser = "W012A3CDE"
)

// apiCall is one Web API request the fake Slack received.
type apiCall struct {
	Method string
	Form   url.Values     // form-encoded calls
	JSON   map[string]any // JSON calls (views.open)
	Raw    string
}

// text returns everything the call would show: the text and the blocks
// (as JSON, without Go's HTML escaping so that "<@U…>" reads as sent).
func (c apiCall) text() string {
	if c.JSON != nil {
		return unescapedJSON(c.JSON)
	}
	var blocks any
	json.Unmarshal([]byte(c.Form.Get("blocks")), &blocks)
	return c.Form.Get("text") + "\n" + unescapedJSON(blocks)
}

func unescapedJSON(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	return b.String()
}

// fakeSlack is slacktest's server with our own handlers for the calls it
// does not cover (chat.update, views.open, conversations.open,
// usergroups.users.list, chat.postEphemeral) and for chat.postMessage, whose
// stock handler answers every post with the same second-resolution ts and
// keeps no record we can read. auth.test, apps.connections.open and the
// Socket Mode /ws come from slacktest itself.
type fakeSlack struct {
	t   testing.TB
	srv *slacktest.Server

	mu      sync.Mutex
	calls   []apiCall
	seq     int
	limited map[string][]string // method → Retry-After values of 429s still to send
	errs    map[string][]string // method → Slack error codes still to send
	groups  map[string][]string
	changed chan struct{}
}

var fakeMethods = []string{"chat.postMessage", "chat.update", "chat.postEphemeral", "views.open", "conversations.open", "usergroups.users.list"}

func newFakeSlack(t testing.TB, custom ...slacktest.Binder) *fakeSlack {
	f := &fakeSlack{t: t, limited: map[string][]string{}, errs: map[string][]string{}, groups: map[string][]string{}, changed: make(chan struct{}, 1)}
	// The first handler registered for a path wins, so custom ones go first.
	f.srv = slacktest.NewTestServer(append(custom, func(c slacktest.Customize) {
		for _, m := range fakeMethods {
			c.Handle("/"+m, f.handler(m))
		}
		// The bot and its workspace, as auth.test reports them: payloads
		// from any other team are refused.
		c.Handle("/auth.test", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"ok":true,"url":"https://clinic.slack.com/","team":"Clinic","user":"candid","team_id":"` + testTeam + `","user_id":"` + testBotUser + `","bot_id":"B0CANDID01"}`))
		})
	})...)
	f.srv.Start()
	t.Cleanup(f.srv.Stop)
	return f
}

func (f *fakeSlack) URL() string { return f.srv.GetAPIURL() }

// rateLimit makes the next len(retryAfter) calls of method answer 429.
func (f *fakeSlack) rateLimit(method string, retryAfter ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limited[method] = append(f.limited[method], retryAfter...)
}

// fail makes the next calls of method answer {"ok":false,"error":code}.
func (f *fakeSlack) fail(method string, codes ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs[method] = append(f.errs[method], codes...)
}

func (f *fakeSlack) setGroup(group string, members ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.groups[group] = members
}

func (f *fakeSlack) handler(method string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		c := apiCall{Method: method, Raw: string(body)}
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			if err := json.Unmarshal(body, &c.JSON); err != nil {
				f.t.Errorf("fake slack: %s: bad JSON: %v", method, err)
			}
		} else {
			c.Form, _ = url.ParseQuery(string(body))
		}
		f.mu.Lock()
		if ra := f.limited[method]; len(ra) > 0 {
			f.limited[method] = ra[1:]
			f.mu.Unlock()
			if ra[0] != "" {
				w.Header().Set("Retry-After", ra[0])
			}
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		if codes := f.errs[method]; len(codes) > 0 {
			f.errs[method] = codes[1:]
			f.calls = append(f.calls, c)
			f.mu.Unlock()
			f.signal()
			fmt.Fprintf(w, `{"ok":false,"error":%q}`, codes[0])
			return
		}
		f.seq++
		ts := fmt.Sprintf("1767230000.%06d", f.seq)
		f.calls = append(f.calls, c)
		groups := f.groups
		f.mu.Unlock()
		f.signal()

		w.Header().Set("Content-Type", "application/json")
		var resp any
		switch method {
		case "chat.postMessage":
			resp = map[string]any{"ok": true, "channel": c.Form.Get("channel"), "ts": ts, "message": map[string]any{"ts": ts}}
		case "chat.update":
			resp = map[string]any{"ok": true, "channel": c.Form.Get("channel"), "ts": c.Form.Get("ts"), "text": ""}
		case "chat.postEphemeral":
			resp = map[string]any{"ok": true, "message_ts": ts}
		case "views.open":
			resp = map[string]any{"ok": true, "view": map[string]any{"id": "V0OPENED" + strconv.Itoa(f.seq)}}
		case "conversations.open":
			user := c.Form.Get("users")
			dm := "D" + strings.TrimPrefix(user, "U") + "DM"
			if user == testAsker {
				dm = testDM
			}
			resp = map[string]any{"ok": true, "channel": map[string]any{"id": dm}}
		case "usergroups.users.list":
			members, ok := groups[c.Form.Get("usergroup")]
			if !ok {
				resp = map[string]any{"ok": false, "error": "no_such_subteam"}
				break
			}
			resp = map[string]any{"ok": true, "users": members}
		}
		json.NewEncoder(w).Encode(resp)
	}
}

func (f *fakeSlack) signal() {
	select {
	case f.changed <- struct{}{}:
	default:
	}
}

// Calls returns the calls of method so far (all calls when method is "").
func (f *fakeSlack) Calls(method string) []apiCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []apiCall
	for _, c := range f.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// waitFor waits until method has been called at least n times and returns
// those calls. The deadline only keeps a broken test from hanging.
func (f *fakeSlack) waitFor(method string, n int) []apiCall {
	f.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if cs := f.Calls(method); len(cs) >= n {
			return cs
		}
		select {
		case <-f.changed:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			f.t.Fatalf("fake slack: %s called %d times, want %d", method, len(f.Calls(method)), n)
		}
	}
}

// waitUpdate waits for a chat.update whose content holds all of want.
func (f *fakeSlack) waitUpdate(want ...string) apiCall {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, c := range f.Calls("chat.update") {
			ok := true
			for _, w := range want {
				ok = ok && strings.Contains(c.text(), w)
			}
			if ok {
				return c
			}
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("no chat.update with %q among %d", want, len(f.Calls("chat.update")))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// readFixture returns testdata/name.
func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixture returns a JSON fixture with edits applied: keys are dotted paths
// ("event.text", "actions.0.value").
func fixture(t testing.TB, name string, edits map[string]any) []byte {
	t.Helper()
	var doc any
	if err := json.Unmarshal(readFixture(t, name), &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for path, v := range edits {
		setPath(t, doc, strings.Split(path, "."), v)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func setPath(t testing.TB, doc any, path []string, v any) {
	t.Helper()
	for i, key := range path {
		last := i == len(path)-1
		switch d := doc.(type) {
		case map[string]any:
			if last {
				d[key] = v
				return
			}
			doc = d[key]
		case []any:
			n, err := strconv.Atoi(key)
			if err != nil || n >= len(d) {
				t.Fatalf("fixture path %v: bad index %q", path, key)
			}
			if last {
				d[n] = v
				return
			}
			doc = d[n]
		default:
			t.Fatalf("fixture path %v: cannot descend at %q", path, key)
		}
	}
}

// interactionBody form-encodes an interactivity payload as Slack does.
func interactionBody(payload []byte) []byte {
	return []byte("payload=" + url.QueryEscape(string(payload)))
}

// fakeEngine records what it was asked and answers with reply.
type fakeEngine struct {
	mu         sync.Mutex
	got        []conversation.Inbound
	reply      func(in conversation.Inbound) ([]conversation.Reply, error)
	refusedIns []conversation.Inbound
	refuse     func(in conversation.Inbound, refusal string) ([]conversation.Reply, error)
}

func (e *fakeEngine) Handle(ctx context.Context, in conversation.Inbound) ([]conversation.Reply, error) {
	e.mu.Lock()
	e.got = append(e.got, in)
	e.mu.Unlock()
	if e.reply != nil {
		return e.reply(in)
	}
	return []conversation.Reply{{Kind: conversation.KindAnswer, Text: "**Yes.** It is common.\n\n- one\n- two",
		Buttons: []store.Button{{Label: "Helpful", Action: "helpful:x"}, {Label: "Ask a therapist", Action: "ask_therapist"}}}}, nil
}

// Refused records apart from Handle and answers with the refusal unless
// refuse says otherwise.
func (e *fakeEngine) Refused(ctx context.Context, in conversation.Inbound, refusal string) ([]conversation.Reply, error) {
	e.mu.Lock()
	e.refusedIns = append(e.refusedIns, in)
	f := e.refuse
	e.mu.Unlock()
	if f != nil {
		return f(in, refusal)
	}
	return []conversation.Reply{{Kind: conversation.KindInfo, Text: refusal}}, nil
}

func (e *fakeEngine) Refusals() []conversation.Inbound {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]conversation.Inbound(nil), e.refusedIns...)
}

func (e *fakeEngine) Inbounds() []conversation.Inbound {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]conversation.Inbound(nil), e.got...)
}

// harness is an App in HTTP mode over a fake Slack, the real moderation
// service and a bbolt store in a temporary folder.
type harness struct {
	t      *testing.T
	slack  *fakeSlack
	app    *App
	mod    *moderation.Service
	st     *boltstore.Store
	dbPath string
	keys   *identity.Keys
	engine *fakeEngine
	mux    *http.ServeMux
	logs   *logtest.Buffer
	sleeps []time.Duration
	sleepM sync.Mutex
}

type harnessOptions struct {
	engine     Engine // default: a fakeEngine
	realEngine bool   // the real engine over the shipped FAQ and this store
	moderators []string
	noChannel  bool
	bookingURL string
	appToken   string // Socket Mode when set
	// wrapStore wraps the store the app sees (to inject failures).
	wrapStore func(Store) Store
	// slack adds handlers to the fake Slack (they win over the stock ones).
	slack slacktest.Binder
	// teamUnknown: the app has not learnt its workspace (auth.test has not
	// answered yet).
	teamUnknown bool
}

func newHarness(t *testing.T, o harnessOptions) *harness {
	t.Helper()
	var custom []slacktest.Binder
	if o.slack != nil {
		custom = append(custom, o.slack)
	}
	h := &harness{t: t, slack: newFakeSlack(t, custom...), keys: identity.RandomKeys(), logs: &logtest.Buffer{}}
	h.dbPath = filepath.Join(t.TempDir(), "candid.db")
	st, err := boltstore.Open(h.dbPath, boltstore.Options{Timeout: time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	h.st = st
	t.Cleanup(func() { st.Close() })
	logger := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.mod, err = moderation.New(moderation.Options{Store: st, Logger: logger, ClinicName: "Example Clinic",
		BookingURL: o.bookingURL, FAQ: moderation.MapFAQ{"condom-broke": "Take emergency contraception **soon**."}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.mod.Close() })
	engine := o.engine
	if o.realEngine {
		engine = conversation.NewTestEngine(t, conversation.TestOptions{Memory: st, Tickets: h.mod, Forgetter: h.mod})
	}
	if engine == nil {
		h.engine = &fakeEngine{}
		engine = h.engine
	}
	mods := o.moderators
	if mods == nil {
		mods = []string{testMod}
	}
	var appStore Store = st
	if o.wrapStore != nil {
		appStore = o.wrapStore(st)
	}
	opts := Options{
		BotToken: "xoxb-test-token", SigningSecret: testSecret, AppToken: o.appToken,
		ModerationChannel: testModChan, Moderators: mods, APIURL: h.slack.URL(),
		Engine: engine, Moderation: h.mod, Keys: h.keys, Store: appStore, Logger: logger,
		Sleep: func(ctx context.Context, d time.Duration) error {
			h.sleepM.Lock()
			h.sleeps = append(h.sleeps, d)
			h.sleepM.Unlock()
			return nil
		},
	}
	if o.noChannel {
		opts.ModerationChannel = ""
	}
	h.app, err = New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if !o.teamUnknown {
		// As auth.test would have told it; run() asks again.
		h.app.botMu.Lock()
		h.app.teamID = testTeam
		h.app.botMu.Unlock()
	}
	h.mod.RegisterSender("slack", h.app)
	h.mux = http.NewServeMux()
	h.app.Register(h.mux)
	return h
}

// run starts App.Run until the test ends.
func (h *harness) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.app.Run(ctx) }()
	h.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			h.t.Errorf("Run: %v", err)
		}
	})
}

// post sends a signed HTTP-mode request and returns the response.
func (h *harness) post(path string, body []byte) *httptest.ResponseRecorder {
	h.t.Helper()
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	if path == "/slack/events" {
		r.Header.Set("Content-Type", "application/json")
	} else {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	SignRequest(r, testSecret, body, time.Now())
	w := httptest.NewRecorder()
	h.mux.ServeHTTP(w, r)
	return w
}

// openTicket opens a ticket for the test asker, as the engine would.
func (h *harness) openTicket(q string, mutate ...func(*store.Ticket)) store.Ticket {
	h.t.Helper()
	addr, err := h.keys.Seal(identity.Address{Platform: "slack", To: testDM}, time.Now().Add(time.Hour))
	if err != nil {
		h.t.Fatal(err)
	}
	tk := store.Ticket{Handle: h.keys.Handle("slack", testTeam+":"+testAsker), Platform: "slack", Address: addr, Question: q}
	for _, m := range mutate {
		m(&tk)
	}
	out, err := h.mod.OpenTicket(context.Background(), tk)
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

// press sends a moderator (or anyone's) button press on a ticket message.
func (h *harness) press(user, action, ticketID string) *httptest.ResponseRecorder {
	h.t.Helper()
	body := fixture(h.t, "block_actions_moderator.json", map[string]any{
		"user.id":             user,
		"actions.0.action_id": action,
		"actions.0.value":     h.app.sig.sign(purposeTicket, ticketID),
	})
	return h.post("/slack/interactivity", interactionBody(body))
}

// submit sends a view_submission from user.
func (h *harness) submit(user, fixtureName string, edits map[string]any) *httptest.ResponseRecorder {
	h.t.Helper()
	if edits == nil {
		edits = map[string]any{}
	}
	edits["user.id"] = user
	return h.post("/slack/interactivity", interactionBody(fixture(h.t, fixtureName, edits)))
}

// viewResponse decodes a view_submission response body.
func viewResponse(t testing.TB, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if w.Body.Len() == 0 {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("response %q: %v", w.Body, err)
	}
	return m
}

// metadataOf returns the private_metadata of a view in a response or call.
func metadataOf(t testing.TB, view any) string {
	t.Helper()
	m, ok := view.(map[string]any)
	if !ok {
		t.Fatalf("not a view: %v", view)
	}
	s, _ := m["private_metadata"].(string)
	return s
}

func (h *harness) Sleeps() []time.Duration {
	h.sleepM.Lock()
	defer h.sleepM.Unlock()
	return append([]time.Duration(nil), h.sleeps...)
}
