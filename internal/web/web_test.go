package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/candid-app/candid/internal/clientip"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/candid-app/candid/internal/conversation"
	"github.com/candid-app/candid/internal/faq"
	"github.com/candid-app/candid/internal/identity"
	"github.com/candid-app/candid/internal/store/boltstore"
)

type fixture struct {
	srv    *httptest.Server
	client *http.Client
	dbPath string
	st     *boltstore.Store
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "candid.db")
	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	vars := faq.ExampleVars
	vars.BookingURL = "https://clinic.example/book"
	opts.Engine = conversation.NewTestEngine(t, conversation.TestOptions{Memory: st, Vars: vars})
	opts.Keys = identity.RandomKeys()
	chat, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	chat.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	return &fixture{srv: srv, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, dbPath: path, st: st}
}

func (f *fixture) post(t *testing.T, path, ctype, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", f.srv.URL+path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}

func TestAskAndAnswer(t *testing.T) {
	f := newFixture(t, Options{})
	resp, body := f.post(t, "/api/v1/chat/messages", "application/json", `{"text":"cant stay hard"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d %v", resp.StatusCode, body)
	}
	replies := body["replies"].([]any)
	r := replies[0].(map[string]any)
	if r["kind"] != "answer" || r["faq_id"] != "erectile-dysfunction" {
		t.Fatalf("reply %v", r)
	}
	var labels []string
	for _, b := range r["buttons"].([]any) {
		labels = append(labels, b.(map[string]any)["label"].(string))
	}
	if strings.Join(labels, "|") != "Read more|Helpful|Not what I asked|Ask a therapist|Book a session" {
		t.Fatalf("buttons %v", labels)
	}
	// The cookie is HttpOnly and SameSite=Strict.
	var ck *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == CookieName {
			ck = c
		}
	}
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" {
		t.Fatalf("cookie %+v", ck)
	}
	// Ask a therapist creates a ticket and says so.
	_, body = f.post(t, "/api/v1/chat/actions", "application/json", `{"action":"ask_therapist"}`)
	if k := body["replies"].([]any)[0].(map[string]any)["kind"]; k != "queued" {
		t.Fatalf("ask: %v", body)
	}
	// The history has both turns.
	resp2, err := f.client.Get(f.srv.URL + "/api/v1/chat/messages")
	if err != nil {
		t.Fatal(err)
	}
	var hist struct {
		Messages []struct{ From, Kind, Text string }
	}
	json.NewDecoder(resp2.Body).Decode(&hist)
	resp2.Body.Close()
	if len(hist.Messages) < 3 || hist.Messages[0].From != "asker" || hist.Messages[0].Text != "cant stay hard" {
		t.Fatalf("history %+v", hist.Messages)
	}
}

func TestCrisisFirst(t *testing.T) {
	f := newFixture(t, Options{})
	_, body := f.post(t, "/api/v1/chat/messages", "application/json", `{"text":"I want to die"}`)
	r := body["replies"].([]any)[0].(map[string]any)
	if r["kind"] != "crisis" {
		t.Fatalf("first reply %v", r)
	}
}

func TestBadInput(t *testing.T) {
	f := newFixture(t, Options{})
	tests := []struct {
		name, path, ctype, body string
		status                  int
		code                    string
	}{
		{"malformed", "/api/v1/chat/messages", "application/json", `{"text":`, 400, "malformed_json"},
		{"not an object", "/api/v1/chat/messages", "application/json", `["x"]`, 400, "malformed_json"},
		{"two objects", "/api/v1/chat/messages", "application/json", `{"text":"a"}{"text":"b"}`, 400, "malformed_json"},
		{"unknown field", "/api/v1/chat/messages", "application/json", `{"text":"hi","user_id":"123"}`, 400, "malformed_json"},
		{"empty text", "/api/v1/chat/messages", "application/json", `{"text":"   "}`, 422, "empty_text"},
		{"missing text", "/api/v1/chat/messages", "application/json", `{}`, 422, "empty_text"},
		{"too long", "/api/v1/chat/messages", "application/json", `{"text":"` + strings.Repeat("a", 2500) + `"}`, 422, "text_too_long"},
		{"oversized", "/api/v1/chat/messages", "application/json", `{"text":"` + strings.Repeat("a", MaxBody) + `"}`, 413, "too_large"},
		{"invalid utf8", "/api/v1/chat/messages", "application/json", "{\"text\":\"\xff\xfe\"}", 400, "invalid_utf8"},
		{"wrong type", "/api/v1/chat/messages", "text/plain", `{"text":"hi"}`, 415, "unsupported_media_type"},
		{"no type", "/api/v1/chat/messages", "", `{"text":"hi"}`, 415, "unsupported_media_type"},
		{"empty action", "/api/v1/chat/actions", "application/json", `{"action":""}`, 422, "invalid_action"},
		{"huge action", "/api/v1/chat/actions", "application/json", `{"action":"` + strings.Repeat("x", 300) + `"}`, 422, "invalid_action"},
		{"text is a number", "/api/v1/chat/messages", "application/json", `{"text":5}`, 400, "malformed_json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := f.post(t, tt.path, tt.ctype, tt.body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d (%v)", resp.StatusCode, tt.status, body)
			}
			e, _ := body["error"].(map[string]any)
			if e == nil || e["code"] != tt.code || e["message"] == "" {
				t.Fatalf("error body %v, want code %s", body, tt.code)
			}
		})
	}
	// A forged action from a hostile client is answered, not obeyed.
	_, body := f.post(t, "/api/v1/chat/actions", "application/json", `{"action":"faq:../../../etc/passwd"}`)
	if r := body["replies"].([]any)[0].(map[string]any); !strings.Contains(r["text"].(string), "expired") {
		t.Fatalf("forged action: %v", r)
	}
}

func TestRateLimit(t *testing.T) {
	f := newFixture(t, Options{PerMinute: 6, Burst: 3})
	var last *http.Response
	for i := 0; i < 4; i++ {
		// An ordinary question: a message that needs help is answered past
		// the limit (limited_test.go).
		last, _ = f.post(t, "/api/v1/chat/messages", "application/json", `{"text":"how do I put on a condom"}`)
	}
	if last.StatusCode != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Fatalf("4th request: %d, Retry-After %q", last.StatusCode, last.Header.Get("Retry-After"))
	}
	// Another asker (a new cookie) is not throttled by the first.
	other := &http.Client{}
	req, _ := http.NewRequest("POST", f.srv.URL+"/api/v1/chat/messages", strings.NewReader(`{"text":"hello"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := other.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("other asker: %d", resp.StatusCode)
	}
}

func TestPageWorksWithoutJavaScript(t *testing.T) {
	f := newFixture(t, Options{ClinicName: "Riverside Clinic", EmergencyLine: "In an emergency call 999."})
	resp, err := f.client.Get(f.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`<html lang="en">`, "Riverside Clinic", `href="/privacy"`, "Not medical advice", "In an emergency call 999.", `<label for="question">`, `action="/chat"`} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("page lacks %q", want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q", csp)
	}
	// A plain form post (no JavaScript) is answered and shown on the page.
	form := url.Values{"text": {"cant stay hard"}}
	req, _ := http.NewRequest("POST", f.srv.URL+"/chat", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", f.srv.URL)
	resp, err = f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("form post: %d", resp.StatusCode)
	}
	resp, _ = f.client.Get(f.srv.URL + "/")
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(page, []byte("cant stay hard")) || !bytes.Contains(page, []byte(`value="ask_therapist"`)) {
		t.Fatal("the answer is not on the page after a form post")
	}
	// A cross-site form post is refused.
	req, _ = http.NewRequest("POST", f.srv.URL+"/chat", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, _ = f.client.Do(req)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site post: %d", resp.StatusCode)
	}
	// The privacy page renders the curated notice.
	resp, _ = f.client.Get(f.srv.URL + "/privacy")
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(page, []byte("/forget")) {
		t.Fatal("privacy page lacks /forget")
	}
}

// TestNoIdentifierInStorage runs a scripted conversation and scans the raw
// database file for the cookie value, the client address and the e-mail
// and phone number the asker typed.
func TestNoIdentifierInStorage(t *testing.T) {
	f := newFixture(t, Options{})
	msgs := []struct{ path, body string }{
		{"/api/v1/chat/messages", `{"text":"cant stay hard, email me at sam.jones@example.com"}`},
		{"/api/v1/chat/actions", `{"action":"ask_therapist"}`},
		{"/api/v1/chat/messages", `{"text":"call me on +1 415 555 0134 please, is my penis normal"}`},
		{"/api/v1/chat/messages", `{"text":"I want to die"}`},
	}
	for _, m := range msgs {
		if resp, body := f.post(t, m.path, "application/json", m.body); resp.StatusCode != 200 {
			t.Fatalf("%s: %d %v", m.path, resp.StatusCode, body)
		}
	}
	u, _ := url.Parse(f.srv.URL)
	var cookie string
	for _, c := range f.client.Jar.Cookies(u) {
		if c.Name == CookieName {
			cookie = c.Value
		}
	}
	if cookie == "" {
		t.Fatal("no session cookie")
	}
	f.st.Close()
	raw, err := os.ReadFile(f.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{cookie, cookie[:22], "sam.jones@example.com", "555 0134", "415 555", "127.0.0.1"} {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("the database file holds %q", s)
		}
	}
	if !bytes.Contains(raw, []byte("[email]")) {
		t.Error("scrubbed text not found: the scan may be looking at the wrong file")
	}
}

func TestForgetViaAPI(t *testing.T) {
	f := newFixture(t, Options{})
	f.post(t, "/api/v1/chat/messages", "application/json", `{"text":"cant stay hard"}`)
	_, body := f.post(t, "/api/v1/chat/actions", "application/json", `{"action":"forget"}`)
	if txt := body["replies"].([]any)[0].(map[string]any)["text"].(string); !strings.Contains(txt, "deleted") {
		t.Fatalf("forget reply %q", txt)
	}
	resp, _ := f.client.Get(f.srv.URL + "/api/v1/chat/messages")
	var hist struct{ Messages []any }
	json.NewDecoder(resp.Body).Decode(&hist)
	resp.Body.Close()
	if len(hist.Messages) != 0 {
		t.Fatalf("history after forget: %v", hist.Messages)
	}
}

// TestClientBudgetBehindProxy: behind a trusted reverse proxy each client
// address (X-Forwarded-For) has its own budget, so one noisy person cannot
// spend it for every asker; when the proxy is not trusted, the header is
// ignored (a client cannot pick a fresh address per request) and all
// share the proxy's.
func TestClientBudgetBehindProxy(t *testing.T) {
	for _, trusted := range []bool{true, false} {
		t.Run(fmt.Sprintf("trusted=%v", trusted), func(t *testing.T) {
			list := ""
			if trusted {
				list = "127.0.0.1, ::1"
			}
			r, err := clientip.Parse(list)
			if err != nil {
				t.Fatal(err)
			}
			f := newFixture(t, Options{PerMinute: 6, Burst: 3, ClientIP: r})
			send := func(xff string) int {
				// A fresh cookie each time: only the client budget applies.
				req, _ := http.NewRequest("POST", f.srv.URL+"/api/v1/chat/messages", strings.NewReader(`{"text":"how do I put on a condom"}`))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Forwarded-For", xff)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			limited := false
			for i := 0; i < 100 && !limited; i++ {
				limited = send("198.51.100.1") == http.StatusTooManyRequests
			}
			if !limited {
				t.Fatal("the client budget was never spent")
			}
			got := send("198.51.100.2")
			if want := map[bool]int{true: http.StatusOK, false: http.StatusTooManyRequests}[trusted]; got != want {
				t.Errorf("another client behind the proxy: %d, want %d", got, want)
			}
		})
	}
}
