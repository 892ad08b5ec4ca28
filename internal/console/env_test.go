package console

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/candid-app/candid/internal/moderation"
	"github.com/candid-app/candid/internal/staff"
	"github.com/candid-app/candid/internal/store"
	"github.com/candid-app/candid/internal/store/boltstore"
)

// env is a console served over httptest with the real moderation and staff
// services on a bbolt store in a temporary folder.
type env struct {
	t      *testing.T
	st     *boltstore.Store
	mod    *moderation.Service
	acc    *staff.Service
	con    *Console
	srv    *httptest.Server
	drafts string
	n      int
}

const faqAnswer = "Nerves before sex are very common. **You are not alone.**"

type envOpts struct {
	secure    bool
	noDrafts  bool
	drafter   moderation.Drafter
	noBooking bool
	crisis    CrisisGuide
	onCallURL string
	now       func() time.Time
}

func newEnv(t *testing.T, eo envOpts) *env {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "candid.db"), boltstore.Options{Timeout: time.Second, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	mo := moderation.Options{
		Store:      st,
		Logger:     log,
		ClinicName: "Example Clinic",
		BookingURL: "https://clinic.example/book",
		FAQ:        moderation.MapFAQ{"performance-anxiety": faqAnswer},
		Drafter:    eo.drafter,
		OnCallURL:  eo.onCallURL,
	}
	if eo.noBooking {
		mo.BookingURL = ""
	}
	mod, err := moderation.New(mo)
	if err != nil {
		t.Fatal(err)
	}
	acc, err := staff.New(staff.Options{Store: st, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, mod: mod, acc: acc}
	if !eo.noDrafts {
		e.drafts = filepath.Join(t.TempDir(), "drafts")
	}
	con, err := New(Options{
		Moderation: mod, Accounts: acc, Logger: log, SecureCookies: eo.secure, DraftsDir: e.drafts,
		FAQ:    FAQList{{ID: "performance-anxiety", Question: "Why am I nervous before sex?", Answer: faqAnswer}},
		Crisis: eo.crisis, Now: eo.now, Feedback: st,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.con = con
	mux := http.NewServeMux()
	con.Register(mux)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		con.Close()
		e.srv.Close()
		mod.Close()
		st.Close()
	})
	return e
}

// addStaff creates an account and returns its password.
func (e *env) addStaff(name, role string) string {
	e.t.Helper()
	pw, err := e.acc.Add(context.Background(), name, role)
	if err != nil {
		e.t.Fatal(err)
	}
	return pw
}

// token creates an account with an API token.
func (e *env) token(name, role string) string {
	e.t.Helper()
	e.addStaff(name, role)
	tok, err := e.acc.NewToken(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// open opens a web ticket for a new asker; it returns the ticket and the
// asker's handle (which must never appear in anything staff see).
func (e *env) open(urgent bool, question string) (store.Ticket, string) {
	e.t.Helper()
	e.n++
	handle := fmt.Sprintf("hANDLE%dsecret", e.n)
	if question == "" {
		question = fmt.Sprintf("question number %d: is it normal to feel nervous?", e.n)
	}
	tk := store.Ticket{Handle: handle, Platform: "web", Question: question, Urgent: urgent, Locale: "en",
		Candidates: []store.Candidate{{FAQID: "performance-anxiety", Score: 0.61}}}
	if urgent {
		tk.Category = "self_harm"
	}
	got, err := e.mod.OpenTicket(context.Background(), tk)
	if err != nil {
		e.t.Fatal(err)
	}
	return got, handle
}

// ---- API client -------------------------------------------------------------

type apiResp struct {
	status int
	header http.Header
	body   string
}

// api sends a request with a bearer token (if tok is not empty) and a JSON
// body (if body is not nil).
func (e *env) api(method, path, tok string, body any) apiResp {
	e.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ct = strings.NewReader(b), "application/json"
	case []byte:
		rd, ct = bytes.NewReader(b), "application/json"
	default:
		e.t.Fatalf("api body type %T", body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return e.do(req)
}

func (e *env) do(req *http.Request) apiResp {
	e.t.Helper()
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return apiResp{status: res.StatusCode, header: res.Header, body: string(b)}
}

// ---- browser-like client ----------------------------------------------------

// client is a staff member's browser: a cookie jar, no automatic redirects.
type client struct {
	e    *env
	hc   *http.Client
	csrf string
}

func (e *env) newClient() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

var metaCSRF = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)
var formCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (c *client) get(path string) apiResp {
	c.e.t.Helper()
	req, _ := http.NewRequest("GET", c.e.srv.URL+path, nil)
	return c.send(req)
}

func (c *client) send(req *http.Request) apiResp {
	c.e.t.Helper()
	res, err := c.hc.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if m := metaCSRF.FindStringSubmatch(string(b)); m != nil {
		c.csrf = m[1]
	}
	return apiResp{status: res.StatusCode, header: res.Header, body: string(b)}
}

// post submits a form; the session's CSRF token is added unless the values
// already hold a "csrf" entry.
func (c *client) post(path string, v url.Values) apiResp {
	c.e.t.Helper()
	if v == nil {
		v = url.Values{}
	}
	if _, ok := v["csrf"]; !ok {
		v.Set("csrf", c.csrf)
	}
	req, _ := http.NewRequest("POST", c.e.srv.URL+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.send(req)
}

// loginAttempt fetches the login form and submits it.
func (c *client) loginAttempt(name, password string) apiResp {
	c.e.t.Helper()
	form := c.get("/console/login")
	m := formCSRF.FindStringSubmatch(form.body)
	if m == nil {
		c.e.t.Fatalf("login form has no csrf field:\n%s", form.body)
	}
	return c.post("/console/login", url.Values{"csrf": {m[1]}, "name": {name}, "password": {password}})
}

// login signs in and loads the queue (which carries the session's CSRF
// token).
func (c *client) login(name, password string) *client {
	c.e.t.Helper()
	res := c.loginAttempt(name, password)
	if res.status != http.StatusSeeOther {
		c.e.t.Fatalf("login %s: status %d\n%s", name, res.status, res.body)
	}
	q := c.get("/console/")
	if q.status != http.StatusOK || c.csrf == "" {
		c.e.t.Fatalf("queue after login: status %d, csrf %q", q.status, c.csrf)
	}
	return c
}

// staffClient creates an account and signs in as it.
func (e *env) staffClient(name, role string) *client {
	e.t.Helper()
	pw := e.addStaff(name, role)
	return e.newClient().login(name, pw)
}

func (c *client) cookie(name, path string) *http.Cookie {
	u, _ := url.Parse(c.e.srv.URL + path)
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

// apiSession calls the API with the session cookie, and the CSRF header when
// csrf is not empty.
func (c *client) api(method, path, csrf string, body string) apiResp {
	c.e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, c.e.srv.URL+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if csrf != "" {
		req.Header.Set(csrfHeader, csrf)
	}
	return c.send(req)
}

// concurrently runs fs at once and waits.
func concurrently(fs ...func()) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, f := range fs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			f()
		}()
	}
	close(start)
	wg.Wait()
}
