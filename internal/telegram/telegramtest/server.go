// Package telegramtest owns a fake Telegram Bot API server for tests. It
// speaks the documented protocol on loopback (form, query or JSON
// parameters in; {"ok":true,"result":…} or {"ok":false,"error_code":…,
// "description":…,"parameters":{"retry_after":…}} out), checks what it is
// sent the way Telegram does (token, HTML entities, the 4096-character
// limit, 64-byte callback data, one answer per callback query), serves
// queued updates through long-polling getUpdates with offset confirmation,
// and records every call. Failures (429, 403 …) can be injected per method
// or per chat.
//
// Methods: getMe, getUpdates, sendMessage, answerCallbackQuery,
// setMyCommands, setWebhook, deleteWebhook, getWebhookInfo. Anything else
// is 404, as on Telegram.
package telegramtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"
)

// Token is the token the fake accepts unless NewServer is given another.
const Token = "123456789:AAFakeTokenForTestsOnly_abcdefghijk"

// Bot is the account getMe returns.
var Bot = struct {
	ID       int64
	UserName string
}{ID: 123456789, UserName: "candid_test_bot"}

// Call is one request the fake received.
type Call struct {
	Method string
	Params url.Values
	// Status is the HTTP status the fake answered with (200 on success).
	Status int
	At     time.Time
}

// ChatID returns the chat_id parameter (0 if absent or not a number).
func (c Call) ChatID() int64 {
	n, _ := strconv.ParseInt(c.Params.Get("chat_id"), 10, 64)
	return n
}

// Text returns the text parameter as sent.
func (c Call) Text() string { return c.Params.Get("text") }

// VisibleText returns the text as the asker sees it: for parse_mode HTML,
// without tags and with entities decoded.
func (c Call) VisibleText() string {
	if !strings.EqualFold(c.Params.Get("parse_mode"), "HTML") {
		return c.Text()
	}
	v, err := ParseHTML(c.Text())
	if err != nil {
		return c.Text()
	}
	return v
}

// Button is one inline keyboard button as sent.
type Button struct {
	Text         string `json:"text"`
	CallbackData string `json:"callback_data,omitempty"`
	URL          string `json:"url,omitempty"`
}

// Keyboard returns the inline keyboard of a sendMessage call, if any.
func (c Call) Keyboard() [][]Button {
	var m struct {
		InlineKeyboard [][]Button `json:"inline_keyboard"`
	}
	_ = json.Unmarshal([]byte(c.Params.Get("reply_markup")), &m)
	return m.InlineKeyboard
}

// Failure is an error the fake returns instead of handling a call.
type Failure struct {
	Code        int
	Description string
	RetryAfter  int // seconds; sent as parameters.retry_after
}

// Pass in a FailNext sequence lets that call through.
var Pass = Failure{}

// TooManyRequests is Telegram's flood-control answer.
func TooManyRequests(retryAfter int) Failure {
	return Failure{Code: 429, Description: fmt.Sprintf("Too Many Requests: retry after %d", retryAfter), RetryAfter: retryAfter}
}

// Blocked is what Telegram answers when the user blocked the bot.
var Blocked = Failure{Code: 403, Description: "Forbidden: bot was blocked by the user"}

// ChatNotFound is what Telegram answers for an unknown chat.
var ChatNotFound = Failure{Code: 400, Description: "Bad Request: chat not found"}

// Server is the fake. Create it with NewServer; it closes itself when the
// test ends.
type Server struct {
	URL   string // base URL, e.g. http://127.0.0.1:1234
	Token string

	srv     *httptest.Server
	closing chan struct{}
	once    sync.Once

	mu        sync.Mutex
	wake      chan struct{} // closed and replaced when something changes
	calls     []Call
	updates   []queued // not yet confirmed
	nextID    int
	nextMsg   int
	failNext  map[string][]Failure
	chatFail  map[int64]Failure
	answered  map[string]bool
	webhook   string
	secret    string
	commands  string
	getMeFail []Failure
}

type queued struct {
	id  int
	raw json.RawMessage
}

// NewServer starts a fake Bot API on loopback.
func NewServer(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{
		Token:    Token,
		closing:  make(chan struct{}),
		wake:     make(chan struct{}),
		nextID:   100000,
		nextMsg:  1,
		failNext: make(map[string][]Failure),
		chatFail: make(map[int64]Failure),
		answered: make(map[string]bool),
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	tb.Cleanup(s.Close)
	return s
}

// Endpoint is the API endpoint format for the library and for
// CANDID_TELEGRAM_API_ENDPOINT.
func (s *Server) Endpoint() string { return s.URL + "/bot%s/%s" }

// Client returns an HTTP client for the fake (with a timeout).
func (s *Server) Client() *http.Client {
	c := s.srv.Client()
	c.Timeout = 30 * time.Second
	return c
}

// Close stops the server, waking any long poll first.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closing)
		s.srv.CloseClientConnections()
		s.srv.Close()
	})
}

// PushUpdate queues one update (JSON) for getUpdates. A missing or zero
// update_id is assigned; the ID is returned.
func (s *Server) PushUpdate(raw []byte) int {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		panic(fmt.Sprintf("telegramtest: PushUpdate needs a JSON object: %v", err))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, _ := m["update_id"].(float64)
	if id <= 0 {
		s.nextID++
		id = float64(s.nextID)
		m["update_id"] = s.nextID
		raw, _ = json.Marshal(m)
	} else if int(id) > s.nextID {
		s.nextID = int(id)
	}
	s.updates = append(s.updates, queued{id: int(id), raw: raw})
	s.changed()
	return int(id)
}

// Pending is the number of updates not yet confirmed by an offset.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.updates)
}

// FailNext makes the next calls to method fail with f, in order (Pass lets
// one through).
func (s *Server) FailNext(method string, f ...Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if method == "getMe" {
		s.getMeFail = append(s.getMeFail, f...)
		return
	}
	s.failNext[method] = append(s.failNext[method], f...)
}

// FailChat makes every sendMessage to chat fail with f (Blocked,
// ChatNotFound …) until cleared with a zero Failure.
func (s *Server) FailChat(chat int64, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Code == 0 {
		delete(s.chatFail, chat)
		return
	}
	s.chatFail[chat] = f
}

// Webhook returns the URL and secret_token set with setWebhook.
func (s *Server) Webhook() (url, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.webhook, s.secret
}

// Commands returns the JSON commands of the last setMyCommands.
func (s *Server) Commands() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commands
}

// Calls returns the recorded calls to method ("" for all), in order.
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// Sent returns the sendMessage calls that succeeded.
func (s *Server) Sent() []Call {
	var out []Call
	for _, c := range s.Calls("sendMessage") {
		if c.Status == http.StatusOK {
			out = append(out, c)
		}
	}
	return out
}

// WaitFor waits until cond holds over the recorded calls, or fails the test
// after timeout (a safety net for a hung test, not a measurement).
func (s *Server) WaitFor(tb testing.TB, timeout time.Duration, what string, cond func(calls []Call) bool) []Call {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		calls := append([]Call(nil), s.calls...)
		wake := s.wake
		s.mu.Unlock()
		if cond(calls) {
			return calls
		}
		select {
		case <-wake:
		case <-deadline.C:
			tb.Fatalf("telegramtest: timed out waiting for %s; calls so far: %s", what, Summary(calls))
			return nil
		}
	}
}

// WaitSent waits until at least n sendMessage calls have succeeded.
func (s *Server) WaitSent(tb testing.TB, n int) []Call {
	tb.Helper()
	s.WaitFor(tb, 10*time.Second, fmt.Sprintf("%d sent messages", n), func(calls []Call) bool {
		k := 0
		for _, c := range calls {
			if c.Method == "sendMessage" && c.Status == http.StatusOK {
				k++
			}
		}
		return k >= n
	})
	return s.Sent()
}

// Summary lists calls compactly for failure messages.
func Summary(calls []Call) string {
	var b strings.Builder
	for _, c := range calls {
		fmt.Fprintf(&b, "\n  %s %d", c.Method, c.Status)
		if t := c.Params.Get("text"); t != "" {
			if len(t) > 80 {
				t = t[:80] + "…"
			}
			fmt.Fprintf(&b, " %q", t)
		}
	}
	return b.String()
}

// changed wakes waiters; s.mu must be held.
func (s *Server) changed() {
	close(s.wake)
	s.wake = make(chan struct{})
}

type response struct {
	OK          bool            `json:"ok"`
	Result      any             `json:"result,omitempty"`
	ErrorCode   int             `json:"error_code,omitempty"`
	Description string          `json:"description,omitempty"`
	Parameters  *responseParams `json:"parameters,omitempty"`
}

type responseParams struct {
	RetryAfter int `json:"retry_after,omitempty"`
}

var pathRE = regexp.MustCompile(`^/bot([^/]+)/([A-Za-z]+)$`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	m := pathRE.FindStringSubmatch(r.URL.Path)
	if m == nil {
		write(w, http.StatusNotFound, response{ErrorCode: 404, Description: "Not Found"})
		return
	}
	token, method := m[1], m[2]
	params, err := readParams(r)
	call := Call{Method: method, Params: params, At: time.Now()}
	status, resp := http.StatusOK, response{}
	switch {
	case token != s.Token:
		status, resp = 401, response{ErrorCode: 401, Description: "Unauthorized"}
	case err != nil:
		status, resp = 400, response{ErrorCode: 400, Description: "Bad Request: " + err.Error()}
	case r.Method != http.MethodPost && r.Method != http.MethodGet:
		status, resp = 405, response{ErrorCode: 405, Description: "Method Not Allowed"}
	default:
		status, resp = s.dispatch(r, method, params)
	}
	call.Status = status
	s.mu.Lock()
	s.calls = append(s.calls, call)
	s.changed()
	s.mu.Unlock()
	write(w, status, resp)
}

func write(w http.ResponseWriter, status int, resp response) {
	resp.OK = status == http.StatusOK
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(resp)
}

// readParams accepts what Telegram accepts: query string, form or multipart
// body, or a JSON object (non-string values kept as JSON).
func readParams(r *http.Request) (url.Values, error) {
	ct := r.Header.Get("Content-Type")
	switch {
	case strings.HasPrefix(ct, "application/json"):
		var m map[string]json.RawMessage
		if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20)).Decode(&m); err != nil {
			return nil, fmt.Errorf("invalid JSON: %v", err)
		}
		v := r.URL.Query()
		for k, raw := range m {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				v.Set(k, s)
			} else {
				v.Set(k, string(raw))
			}
		}
		return v, nil
	case strings.HasPrefix(ct, "multipart/form-data"):
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			return nil, err
		}
		return r.Form, nil
	default:
		r.Body = http.MaxBytesReader(nil, r.Body, 1<<20)
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		return r.Form, nil
	}
}

func (s *Server) dispatch(r *http.Request, method string, p url.Values) (int, response) {
	if method == "getMe" {
		s.mu.Lock()
		var f *Failure
		if len(s.getMeFail) > 0 {
			f = &s.getMeFail[0]
			s.getMeFail = s.getMeFail[1:]
		}
		s.mu.Unlock()
		if f != nil && f.Code != 0 {
			return failure(*f)
		}
		return ok(map[string]any{"id": Bot.ID, "is_bot": true, "first_name": "Candid", "username": Bot.UserName,
			"can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false})
	}
	s.mu.Lock()
	if q := s.failNext[method]; len(q) > 0 {
		f := q[0]
		s.failNext[method] = q[1:]
		if f.Code != 0 {
			s.mu.Unlock()
			return failure(f)
		}
	}
	s.mu.Unlock()
	switch method {
	case "getUpdates":
		return s.getUpdates(r, p)
	case "sendMessage":
		return s.sendMessage(p)
	case "answerCallbackQuery":
		return s.answerCallbackQuery(p)
	case "setMyCommands":
		return s.setMyCommands(p)
	case "setWebhook":
		return s.setWebhook(p)
	case "deleteWebhook":
		s.mu.Lock()
		s.webhook, s.secret = "", ""
		if p.Get("drop_pending_updates") == "true" {
			s.updates = nil
		}
		s.mu.Unlock()
		return ok(true)
	case "getWebhookInfo":
		s.mu.Lock()
		defer s.mu.Unlock()
		return ok(map[string]any{"url": s.webhook, "has_custom_certificate": false, "pending_update_count": len(s.updates)})
	}
	return http.StatusNotFound, response{ErrorCode: 404, Description: "Not Found"}
}

func ok(result any) (int, response) { return http.StatusOK, response{Result: result} }

func failure(f Failure) (int, response) {
	resp := response{ErrorCode: f.Code, Description: f.Description}
	if f.RetryAfter > 0 {
		resp.Parameters = &responseParams{RetryAfter: f.RetryAfter}
	}
	return f.Code, resp
}

func badRequest(desc string) (int, response) {
	return failure(Failure{Code: 400, Description: "Bad Request: " + desc})
}

func (s *Server) getUpdates(r *http.Request, p url.Values) (int, response) {
	offset, _ := strconv.Atoi(p.Get("offset"))
	limit, _ := strconv.Atoi(p.Get("limit"))
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	timeout, _ := strconv.Atoi(p.Get("timeout"))
	if timeout < 0 {
		timeout = 0
	}
	if a := p.Get("allowed_updates"); a != "" {
		var list []string
		if json.Unmarshal([]byte(a), &list) != nil {
			return badRequest("can't parse allowed_updates JSON array")
		}
	}
	deadline := time.NewTimer(time.Duration(timeout) * time.Second)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		if s.webhook != "" {
			s.mu.Unlock()
			return failure(Failure{Code: 409, Description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"})
		}
		if offset > 0 {
			// Confirm: everything below offset is forgotten.
			kept := s.updates[:0]
			for _, u := range s.updates {
				if u.id >= offset {
					kept = append(kept, u)
				}
			}
			s.updates = kept
		}
		var out []json.RawMessage
		for _, u := range s.updates {
			if len(out) == limit {
				break
			}
			out = append(out, u.raw)
		}
		wake := s.wake
		s.mu.Unlock()
		if len(out) > 0 || timeout == 0 {
			if out == nil {
				out = []json.RawMessage{}
			}
			return ok(out)
		}
		select {
		case <-wake:
		case <-deadline.C:
			timeout = 0
		case <-r.Context().Done():
			return ok([]json.RawMessage{})
		case <-s.closing:
			return ok([]json.RawMessage{})
		}
	}
}

func (s *Server) sendMessage(p url.Values) (int, response) {
	chat, err := strconv.ParseInt(p.Get("chat_id"), 10, 64)
	if err != nil || chat == 0 {
		return failure(ChatNotFound)
	}
	s.mu.Lock()
	f, failing := s.chatFail[chat]
	s.mu.Unlock()
	if failing {
		return failure(f)
	}
	text := p.Get("text")
	visible := text
	switch mode := p.Get("parse_mode"); strings.ToLower(mode) {
	case "":
	case "html":
		v, err := ParseHTML(text)
		if err != nil {
			return badRequest("can't parse entities: " + err.Error())
		}
		visible = v
	default:
		return badRequest("unsupported parse_mode " + mode + " in this fake")
	}
	if strings.TrimSpace(visible) == "" {
		return badRequest("message text is empty")
	}
	if n := len(utf16.Encode([]rune(visible))); n > 4096 {
		return badRequest("message is too long")
	}
	if rm := p.Get("reply_markup"); rm != "" {
		var m struct {
			InlineKeyboard [][]Button `json:"inline_keyboard"`
		}
		if err := json.Unmarshal([]byte(rm), &m); err != nil {
			return badRequest("can't parse reply keyboard markup JSON object")
		}
		for _, row := range m.InlineKeyboard {
			for _, b := range row {
				if b.Text == "" {
					return badRequest("text buttons are unallowed in the inline keyboard")
				}
				if b.URL == "" && (len(b.CallbackData) < 1 || len(b.CallbackData) > 64) {
					return badRequest("BUTTON_DATA_INVALID")
				}
			}
		}
	}
	s.mu.Lock()
	s.nextMsg++
	id := s.nextMsg
	s.mu.Unlock()
	return ok(map[string]any{
		"message_id": id,
		"from":       map[string]any{"id": Bot.ID, "is_bot": true, "first_name": "Candid", "username": Bot.UserName},
		"chat":       map[string]any{"id": chat, "type": "private"},
		"date":       time.Now().Unix(),
		"text":       visible,
	})
}

func (s *Server) answerCallbackQuery(p url.Values) (int, response) {
	id := p.Get("callback_query_id")
	if id == "" {
		return badRequest("query is too old and response timeout expired or query ID is invalid")
	}
	if len([]rune(p.Get("text"))) > 200 {
		return badRequest("MESSAGE_TOO_LONG")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.answered[id] {
		return badRequest("query is too old and response timeout expired or query ID is invalid")
	}
	s.answered[id] = true
	return ok(true)
}

var commandRE = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)

func (s *Server) setMyCommands(p url.Values) (int, response) {
	var cmds []struct {
		Command     string `json:"command"`
		Description string `json:"description"`
	}
	if err := json.Unmarshal([]byte(p.Get("commands")), &cmds); err != nil {
		return badRequest("can't parse commands JSON array")
	}
	for _, c := range cmds {
		if !commandRE.MatchString(c.Command) || c.Description == "" || len([]rune(c.Description)) > 256 {
			return badRequest("BOT_COMMAND_INVALID")
		}
	}
	if sc := p.Get("scope"); sc != "" {
		var scope struct {
			Type string `json:"type"`
		}
		if json.Unmarshal([]byte(sc), &scope) != nil || scope.Type == "" {
			return badRequest("can't parse BotCommandScope")
		}
	}
	s.mu.Lock()
	s.commands = p.Get("commands")
	s.mu.Unlock()
	return ok(true)
}

var secretRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

func (s *Server) setWebhook(p url.Values) (int, response) {
	u := p.Get("url")
	if u != "" {
		pu, err := url.Parse(u)
		if err != nil || pu.Scheme != "https" || pu.Host == "" {
			return badRequest("bad webhook: An HTTPS URL must be provided for webhook")
		}
	}
	sec := p.Get("secret_token")
	if sec != "" && !secretRE.MatchString(sec) {
		return badRequest("secret token contains unallowed characters")
	}
	s.mu.Lock()
	s.webhook, s.secret = u, sec
	s.mu.Unlock()
	return ok(true)
}
