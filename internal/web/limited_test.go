package web

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/candid-app/candid/internal/conversation"
	"github.com/candid-app/candid/internal/faq"
	"github.com/candid-app/candid/internal/identity"
	"github.com/candid-app/candid/internal/logtest"
	"github.com/candid-app/candid/internal/store"
	"github.com/candid-app/candid/internal/store/boltstore"
)

const (
	emergency = "I want to kill myself tonight"
	ordinary  = "how do I put on a condom"
)

// limitFixture is the chat over the real engine (shipped content) and a
// bbolt store, with a clock that never moves, so that a spent budget stays
// spent and no test depends on how fast it runs.
type limitFixture struct {
	srv  *httptest.Server
	st   *boltstore.Store
	keys *identity.Keys
	logs *logtest.Buffer
}

func newLimitFixture(t *testing.T, perMinute float64, burst int) *limitFixture {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "candid.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &limitFixture{st: st, keys: identity.RandomKeys(), logs: &logtest.Buffer{}}
	frozen := time.Now()
	chat, err := New(Options{
		Engine:    conversation.NewTestEngine(t, conversation.TestOptions{Memory: st, Vars: faq.ExampleVars, Region: "UK"}),
		Keys:      f.keys,
		Logger:    slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		PerMinute: perMinute, Burst: burst,
		Now: func() time.Time { return frozen },
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	chat.Register(mux)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// asker is one browser: its own cookie jar.
func (f *limitFixture) asker() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (f *limitFixture) handleOf(t *testing.T, c *http.Client) string {
	t.Helper()
	u, _ := url.Parse(f.srv.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == CookieName {
			return f.keys.Handle("web", strings.SplitN(ck.Value, ".", 2)[0])
		}
	}
	t.Fatal("no session cookie")
	return ""
}

func (f *limitFixture) api(t *testing.T, c *http.Client, path, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", f.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return resp, out
}

func (f *limitFixture) form(t *testing.T, c *http.Client, text string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", f.srv.URL+"/chat", strings.NewReader(url.Values{"text": {text}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", f.srv.URL)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func (f *limitFixture) page(t *testing.T, c *http.Client) string {
	t.Helper()
	resp, err := c.Get(f.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// urgentTickets are the urgent tickets stored for handle.
func (f *limitFixture) urgentTickets(t *testing.T, handle string) []store.Ticket {
	t.Helper()
	all, err := f.st.Tickets(context.Background(), store.TicketFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var out []store.Ticket
	for _, tk := range all {
		if tk.Handle == handle && tk.Urgent {
			out = append(out, tk)
		}
	}
	return out
}

func jsonMessage(t *testing.T, body map[string]any) (code, msg string) {
	t.Helper()
	e, _ := body["error"].(map[string]any)
	if e == nil {
		t.Fatalf("no error object in %v", body)
	}
	code, _ = e["code"].(string)
	msg, _ = e["message"].(string)
	return code, msg
}

// TestLimitedAskerInDangerGetsHelp: with the asker's budget (or the shared
// client budget, as behind a reverse proxy) spent, a message that needs help
// is answered with the resources and an urgent ticket, on the JSON API and
// on the page that works without JavaScript; anything else still gets the
// limit response, in the same shape as before.
func TestLimitedAskerInDangerGetsHelp(t *testing.T) {
	tests := []struct {
		name string
		// spend uses up the budget; the asker returned is the one then tested.
		spend  func(t *testing.T, f *limitFixture) *http.Client
		path   string // "/api/v1/chat/messages", "/api/v1/chat/actions" or "/chat" (the form)
		body   string
		helped bool
	}{
		{"asker limit, emergency", spendAsker, "/api/v1/chat/messages", emergency, true},
		{"asker limit, ordinary", spendAsker, "/api/v1/chat/messages", ordinary, false},
		{"asker limit, button", spendAsker, "/api/v1/chat/actions", conversation.ActionAskTherapist, false},
		{"asker limit, command", spendAsker, "/api/v1/chat/messages", "/help", false},
		{"shared client limit, emergency", spendClient, "/api/v1/chat/messages", emergency, true},
		{"shared client limit, ordinary", spendClient, "/api/v1/chat/messages", ordinary, false},
		{"form, asker limit, emergency", spendAsker, "/chat", emergency, true},
		{"form, asker limit, ordinary", spendAsker, "/chat", ordinary, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newLimitFixture(t, 6, 2)
			c := tt.spend(t, f)
			handle := f.handleOf(t, c)
			if tt.path == "/chat" {
				resp := f.form(t, c, tt.body)
				loc := resp.Header.Get("Location")
				page := f.page(t, c)
				if tt.helped {
					if resp.StatusCode != http.StatusSeeOther || loc != "/#latest" {
						t.Fatalf("form: %d to %q, want 303 to the latest message", resp.StatusCode, loc)
					}
					if !strings.Contains(page, "Samaritans") || !strings.Contains(page, "116 123") {
						t.Error("the page does not show the crisis resources after the redirect")
					}
				} else {
					if resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "notice=") || !strings.Contains(loc, "notice=limited") {
						t.Fatalf("form: %d to %q, want the limit notice", resp.StatusCode, loc)
					}
					if strings.Contains(page, tt.body) {
						t.Error("a refused message was kept in the history")
					}
				}
			} else {
				field := `{"text":`
				if strings.HasSuffix(tt.path, "actions") {
					field = `{"action":`
				}
				resp, body := f.api(t, c, tt.path, field+`"`+tt.body+`"}`)
				if tt.helped {
					if resp.StatusCode != http.StatusOK {
						t.Fatalf("status %d %v, want 200 with the help", resp.StatusCode, body)
					}
					replies, _ := body["replies"].([]any)
					if len(replies) == 0 {
						t.Fatalf("no replies: %v", body)
					}
					r := replies[0].(map[string]any)
					if r["kind"] != string(conversation.KindCrisis) || !strings.Contains(r["text"].(string), "116 123") {
						t.Fatalf("first reply %v, want the crisis resources", r)
					}
				} else {
					if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
						t.Fatalf("status %d (Retry-After %q), want 429", resp.StatusCode, resp.Header.Get("Retry-After"))
					}
					if code, msg := jsonMessage(t, body); code != "rate_limited" || msg != limitedAPIText || len(body) != 1 {
						t.Fatalf("error body %v, want the unchanged rate_limited shape", body)
					}
				}
			}
			tickets := f.urgentTickets(t, handle)
			if tt.helped && len(tickets) != 1 {
				t.Errorf("%d urgent tickets for the asker, want 1", len(tickets))
			}
			if !tt.helped && len(tickets) != 0 {
				t.Errorf("%d urgent tickets for a refused ordinary input", len(tickets))
			}
			for _, s := range []string{emergency, ordinary, handle} {
				if strings.Contains(f.logs.String(), s) {
					t.Errorf("the log holds %q", s)
				}
			}
		})
	}
}

// spendAsker uses up one asker's own budget (the burst) and returns them.
// It spends it on /help: a command is never an emergency, whatever the
// safety check learns.
func spendAsker(t *testing.T, f *limitFixture) *http.Client {
	t.Helper()
	c := f.asker()
	for i := 0; ; i++ {
		resp, _ := f.api(t, c, "/api/v1/chat/messages", `{"text":"/help"}`)
		if resp.StatusCode == http.StatusTooManyRequests {
			return c
		}
		if resp.StatusCode != http.StatusOK || i > 10 {
			t.Fatalf("spending the budget: status %d after %d messages", resp.StatusCode, i)
		}
	}
}

// spendClient has many askers share one client address until its budget is
// spent (every asker behind a reverse proxy shares it), and returns a fresh
// asker who has sent nothing yet.
func spendClient(t *testing.T, f *limitFixture) *http.Client {
	t.Helper()
	for i := 0; ; i++ {
		resp, _ := f.api(t, f.asker(), "/api/v1/chat/messages", `{"text":"/help"}`)
		if resp.StatusCode == http.StatusTooManyRequests {
			break
		}
		if resp.StatusCode != http.StatusOK || i > 50 {
			t.Fatalf("spending the client budget: status %d after %d askers", resp.StatusCode, i)
		}
	}
	c := f.asker()
	// The fresh asker needs a cookie before the test reads their handle.
	if resp, err := c.Get(f.srv.URL + "/"); err == nil {
		resp.Body.Close()
	}
	return c
}

// TestBlockedWebAskerInDangerGetsTicket: a blocked asker is told the service
// is not available, but one who writes an emergency gets the resources and
// an urgent ticket.
func TestBlockedWebAskerInDangerGetsTicket(t *testing.T) {
	f := newLimitFixture(t, 60, 10)
	c := f.asker()
	if resp, _ := f.api(t, c, "/api/v1/chat/messages", `{"text":"`+ordinary+`"}`); resp.StatusCode != http.StatusOK {
		t.Fatalf("first message: %d", resp.StatusCode)
	}
	handle := f.handleOf(t, c)
	if err := f.st.Block(context.Background(), handle, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	_, body := f.api(t, c, "/api/v1/chat/messages", `{"text":"`+ordinary+`"}`)
	if r := body["replies"].([]any)[0].(map[string]any); !strings.Contains(r["text"].(string), "not available") {
		t.Fatalf("blocked, ordinary: %v", r)
	}
	resp, body := f.api(t, c, "/api/v1/chat/messages", `{"text":"`+emergency+`"}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("blocked, emergency: %d", resp.StatusCode)
	}
	if r := body["replies"].([]any)[0].(map[string]any); r["kind"] != string(conversation.KindCrisis) {
		t.Fatalf("blocked, emergency: %v", r)
	}
	if n := len(f.urgentTickets(t, handle)); n != 1 {
		t.Fatalf("%d urgent tickets, want 1", n)
	}
}
