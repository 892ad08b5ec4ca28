package console

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/candid-app/candid/internal/faq"
	"github.com/candid-app/candid/internal/moderation"
	"github.com/candid-app/candid/internal/store"
)

func wantStatus(t *testing.T, r apiResp, status int, contains ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d\n%s", r.status, status, r.body)
	}
	for _, s := range contains {
		if !strings.Contains(r.body, s) {
			t.Fatalf("response lacks %q:\n%s", s, r.body)
		}
	}
}

func TestLoginRequired(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.newClient()
	for _, path := range []string{"/console/", "/console/tickets/abc", "/console/staff"} {
		r := c.get(path)
		if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/console/login") {
			t.Fatalf("GET %s without a session: %d %s", path, r.status, r.header.Get("Location"))
		}
	}
	if r := c.post("/console/tickets/abc/claim", url.Values{"csrf": {"x"}}); r.status != http.StatusSeeOther {
		t.Fatalf("POST without a session: %d", r.status)
	}
	if r := c.get("/console"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/console/" {
		t.Fatalf("/console: %d %s", r.status, r.header.Get("Location"))
	}
}

func TestLoginCookies(t *testing.T) {
	for _, secure := range []bool{false, true} {
		e := newEnv(t, envOpts{secure: secure})
		pw := e.addStaff("alice", "moderator")
		c := e.newClient()
		res := c.loginAttempt("alice", pw)
		if res.status != http.StatusSeeOther || res.header.Get("Location") != "/console/" {
			t.Fatalf("login: %d %s", res.status, res.header.Get("Location"))
		}
		paths := map[string]bool{}
		for _, line := range res.header.Values("Set-Cookie") {
			ck, err := http.ParseSetCookie(line)
			if err != nil || ck.Name != sessionCookie {
				continue
			}
			paths[ck.Path] = true
			if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Secure != secure {
				t.Fatalf("session cookie %q: want HttpOnly, SameSite=Strict, Secure=%v", line, secure)
			}
		}
		if !paths["/console"] || !paths["/api/v1"] || len(paths) != 2 {
			t.Fatalf("session cookie paths %v, want /console and /api/v1", paths)
		}
	}
}

func TestLoginFailures(t *testing.T) {
	e := newEnv(t, envOpts{})
	pw := e.addStaff("alice", "moderator")
	c := e.newClient()
	wantStatus(t, c.loginAttempt("alice", "wrong"), http.StatusUnauthorized, "wrong name or password")
	wantStatus(t, c.loginAttempt("nobody", "wrong"), http.StatusUnauthorized, "wrong name or password")
	wantStatus(t, c.loginAttempt("", ""), http.StatusBadRequest, "enter your name and password")
	wantStatus(t, c.loginAttempt("alice", "caf\xe9"), http.StatusBadRequest)
	// Login CSRF: a form without the token from the login cookie.
	wantStatus(t, c.post("/console/login", url.Values{"csrf": {"forged"}, "name": {"alice"}, "password": {pw}}),
		http.StatusForbidden, "expired")
	fresh := e.newClient() // never saw the form, so has no login cookie
	wantStatus(t, fresh.post("/console/login", url.Values{"csrf": {"x"}, "name": {"alice"}, "password": {pw}}),
		http.StatusForbidden)
	// Oversized form.
	big := url.Values{"name": {"alice"}, "password": {strings.Repeat("p", maxBody)}}
	wantStatus(t, c.post("/console/login", big), http.StatusRequestEntityTooLarge)
	// Open redirect attempts end up in the console.
	for _, next := range []string{"https://evil.example/", "//evil.example/", "/console/\\evil", "/elsewhere", "/console/login"} {
		if got := safeNext(next); got != "/console/" {
			t.Errorf("safeNext(%q) = %q", next, got)
		}
	}
	if got := safeNext("/console/tickets/abc"); got != "/console/tickets/abc" {
		t.Errorf("safeNext kept %q", got)
	}
}

func TestLoginRateLimit(t *testing.T) {
	e := newEnv(t, envOpts{})
	pw := e.addStaff("alice", "moderator")
	c := e.newClient()
	for i := range 5 {
		if r := c.loginAttempt("alice", "guess"); r.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i+1, r.status)
		}
	}
	r := c.loginAttempt("alice", pw) // even the right password is refused now
	wantStatus(t, r, http.StatusTooManyRequests, "too many login attempts")
	if r.header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	if c.cookie(sessionCookie, "/console/") != nil {
		t.Fatal("a rate-limited login set a session cookie")
	}
}

func TestSessionFixation(t *testing.T) {
	e := newEnv(t, envOpts{})
	pw := e.addStaff("alice", "moderator")
	mpw := e.addStaff("mallory", "moderator")

	// A cookie value chosen by an attacker is never adopted.
	c := e.newClient()
	u, _ := url.Parse(e.srv.URL + "/console/")
	c.hc.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: "attacker-chosen-value", Path: "/console"}})
	c.login("alice", pw)
	got := c.cookie(sessionCookie, "/console/")
	if got == nil || got.Value == "attacker-chosen-value" {
		t.Fatalf("session cookie after login: %+v", got)
	}

	// An attacker's own valid session planted in the victim's browser is
	// replaced by a new one, and ended.
	m := e.newClient().login("mallory", mpw)
	planted := m.cookie(sessionCookie, "/console/").Value
	v := e.newClient()
	v.hc.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: planted, Path: "/console"}})
	v.login("alice", pw)
	if now := v.cookie(sessionCookie, "/console/").Value; now == planted {
		t.Fatal("the planted session ID was kept")
	}
	if _, _, err := e.acc.Session(context.Background(), planted); err == nil {
		t.Fatal("the planted session still works after the victim's login")
	}
	if r := v.get("/console/"); !strings.Contains(r.body, "Signed in as <strong>alice</strong>") {
		t.Fatalf("victim is not signed in as themselves:\n%s", r.body)
	}
}

func TestLogout(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.staffClient("alice", "moderator")
	id := c.cookie(sessionCookie, "/console/").Value
	wantStatus(t, c.post("/console/logout", url.Values{"csrf": {"wrong"}}), http.StatusForbidden)
	r := c.post("/console/logout", nil)
	if r.status != http.StatusSeeOther {
		t.Fatalf("logout: %d", r.status)
	}
	if _, _, err := e.acc.Session(context.Background(), id); err == nil {
		t.Fatal("the session survived logout")
	}
	if r := c.get("/console/"); r.status != http.StatusSeeOther {
		t.Fatalf("queue after logout: %d", r.status)
	}
}

func TestConsoleCSRF(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.staffClient("alice", "moderator")
	tk, _ := e.open(false, "")
	path := "/console/tickets/" + tk.ID + "/claim"
	wantStatus(t, c.post(path, url.Values{"csrf": {""}}), http.StatusForbidden, "CSRF")
	wantStatus(t, c.post(path, url.Values{"csrf": {"wrong"}}), http.StatusForbidden, "CSRF")
	wantStatus(t, c.post(path, url.Values{"csrf": {c.csrf[:len(c.csrf)-1]}}), http.StatusForbidden)
	// The token must come in the body, not the query string.
	req, _ := http.NewRequest("POST", e.srv.URL+path+"?csrf="+url.QueryEscape(c.csrf), nil)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	wantStatus(t, c.send(req), http.StatusForbidden)
	// A request the browser marks as cross-site is refused even with a token.
	req, _ = http.NewRequest("POST", e.srv.URL+path, strings.NewReader(url.Values{"csrf": {c.csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	wantStatus(t, c.send(req), http.StatusForbidden)
	if got, _ := e.mod.Ticket(context.Background(), tk.ID); got.State != store.TicketOpen {
		t.Fatalf("a refused request changed the ticket: %s", got.State)
	}
	r := c.post(path, nil)
	if r.status != http.StatusSeeOther {
		t.Fatalf("claim with the token: %d\n%s", r.status, r.body)
	}
	// A session's token does not work for another session.
	other := e.staffClient("bob", "moderator")
	tk2, _ := e.open(false, "")
	wantStatus(t, other.post("/console/tickets/"+tk2.ID+"/claim", url.Values{"csrf": {c.csrf}}), http.StatusForbidden)
}

func TestConsoleRoles(t *testing.T) {
	e := newEnv(t, envOpts{})
	mod := e.staffClient("alice", "moderator")
	cur := e.staffClient("carol", "curator")
	adm := e.staffClient("root", "admin")
	tk, _ := e.open(false, "")

	wantStatus(t, cur.get("/console/tickets/"+tk.ID), http.StatusOK, tk.Question)
	if r := cur.get("/console/tickets/" + tk.ID); strings.Contains(r.body, "/claim") || strings.Contains(r.body, "Send this answer") {
		t.Fatal("a curator is offered moderator actions")
	}
	for _, a := range []string{"claim", "release", "answer", "preview", "reject", "block"} {
		wantStatus(t, cur.post("/console/tickets/"+tk.ID+"/"+a, url.Values{"text": {"hi"}}), http.StatusForbidden, "curator")
	}
	wantStatus(t, mod.post("/console/tickets/"+tk.ID+"/faq-draft", nil), http.StatusForbidden)
	wantStatus(t, mod.get("/console/staff"), http.StatusForbidden)
	wantStatus(t, mod.post("/console/staff", url.Values{"name": {"eve"}, "role": {"admin"}}), http.StatusForbidden)
	wantStatus(t, cur.post("/console/staff/alice/remove", nil), http.StatusForbidden)
	wantStatus(t, adm.get("/console/staff"), http.StatusOK, "alice", "carol")
	if r := mod.get("/console/"); strings.Contains(r.body, `href="/console/staff"`) {
		t.Fatal("a moderator sees the Staff link")
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.staffClient("alice", "moderator")
	tok := e.token("bob", "moderator")
	tk, _ := e.open(false, "")
	for name, r := range map[string]apiResp{
		"login":       e.newClient().get("/console/login"),
		"queue":       c.get("/console/"),
		"ticket":      c.get("/console/tickets/" + tk.ID),
		"static":      c.get("/console/static/console.js"),
		"not found":   c.get("/console/nothing-here"),
		"api":         e.api("GET", "/api/v1/tickets", tok, nil),
		"api error":   e.api("GET", "/api/v1/tickets", "", nil),
		"api unknown": e.api("GET", "/api/v1/tickets/x/y/z", tok, nil),
	} {
		h := r.header
		csp := h.Get("Content-Security-Policy")
		if csp == "" || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") ||
			!strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q", name, csp)
		}
		if h.Get("X-Frame-Options") != "DENY" || h.Get("Referrer-Policy") != "no-referrer" ||
			h.Get("Cache-Control") != "no-store" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", name, h)
		}
	}
	// No inline script or style anywhere, so the CSP can forbid them.
	for _, path := range []string{"/console/", "/console/tickets/" + tk.ID} {
		body := c.get(path).body
		for _, bad := range []string{"<script>", "style=", " onclick=", " onsubmit=", "javascript:", "http://", "https://"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s contains %q", path, bad)
			}
		}
	}
	wantStatus(t, c.get("/console/static/nothing.js"), http.StatusNotFound)
	if r := c.get("/console/static/console.css"); !strings.HasPrefix(r.header.Get("Content-Type"), "text/css") {
		t.Errorf("console.css Content-Type %q", r.header.Get("Content-Type"))
	}
}

func TestQueuePage(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.staffClient("alice", "moderator")
	old, h1 := e.open(false, "first: the oldest calm question")
	urgent, h2 := e.open(true, "second: an urgent question")
	newer, h3 := e.open(false, "third: a newer calm question")
	// A concern ticket opened last is shown after the urgent one and before
	// the calm ones, with its kind and what flagged it.
	concern, err := e.mod.OpenTicket(context.Background(), store.Ticket{Handle: "hCONCERNsecret", Platform: "web",
		Question: "fourth: worried about my friend", Tier: "concern", Category: "suicide", Why: "model 0.64"})
	if err != nil {
		t.Fatal(err)
	}
	r := c.get("/console/")
	wantStatus(t, r, http.StatusOK, "URGENT", "CONCERN · suicide", "· model 0.64", "then concern", "Oldest waiting", `lang="en"`, `<main id="main"`)
	iu, ic, io, in := strings.Index(r.body, urgent.ID), strings.Index(r.body, concern.ID), strings.Index(r.body, old.ID), strings.Index(r.body, newer.ID)
	if !(iu >= 0 && iu < ic && ic < io && io < in) {
		t.Fatalf("queue order: urgent %d, concern %d, old %d, newer %d", iu, ic, io, in)
	}
	for _, h := range []string{h1, h2, h3, "hCONCERNsecret"} {
		if strings.Contains(r.body, h) {
			t.Fatal("the queue page shows an asker's handle")
		}
	}
	if !strings.Contains(r.body, `data-live="open">4<`) || !strings.Contains(r.body, `data-live="urgent">1<`) || !strings.Contains(r.body, `data-live="concern">1<`) {
		t.Fatalf("counts missing:\n%s", r.body)
	}
	// The ticket page says what flagged it; the JSON API carries tier and why.
	wantStatus(t, c.get("/console/tickets/"+concern.ID), http.StatusOK, "CONCERN · suicide", `<dd id="why">model 0.64</dd>`)
}

func TestTicketPageAndAnswerFlow(t *testing.T) {
	e := newEnv(t, envOpts{drafter: &moderation.StubDrafter{Text: "A draft from the model.", Model: "test-model"}})
	c := e.staffClient("alice", "moderator")
	tk, handle := e.open(false, "Is it <b>normal</b> to feel nervous?")
	// The drafter runs in the background: wait until the draft is stored.
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, _ := e.mod.Ticket(context.Background(), tk.ID)
		if got.Draft != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the draft never arrived")
		}
		time.Sleep(10 * time.Millisecond)
	}
	page := "/console/tickets/" + tk.ID
	r := c.get(page)
	wantStatus(t, r, http.StatusOK,
		"Is it &lt;b&gt;normal&lt;/b&gt; to feel nervous?", // escaped, never markup
		"AI draft — edit and approve; never sent automatically", "A draft from the model.",
		"Why am I nervous before sex?", "Send this answer", "You are not alone.",
		`id="claim"`, "Reject reason", "Block asker", "Recommend booking", "system")
	if strings.Contains(r.body, handle) {
		t.Fatal("the ticket page shows the handle")
	}

	// Preview without JavaScript shows exactly what the asker will see.
	r = c.post(page+"/preview", url.Values{"text": {"It is **very** common."}, "booking": {"1"}})
	wantStatus(t, r, http.StatusOK, "A therapist at Example Clinic answered your question", "<strong>very</strong>",
		"https://clinic.example/book", "It is **very** common.</textarea>")

	r = c.post(page+"/claim", nil)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != page+"?done=claimed" {
		t.Fatalf("claim: %d %s", r.status, r.header.Get("Location"))
	}
	wantStatus(t, c.get(page+"?done=claimed"), http.StatusOK, "You claimed this ticket", `id="release"`)
	wantStatus(t, c.get(page+"?done=<script>"), http.StatusOK)

	r = c.post(page+"/answer", url.Values{"text": {"It is very common, and it passes."}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("answer: %d\n%s", r.status, r.body)
	}
	wantStatus(t, c.get(page+"?done=answered"), http.StatusOK, "Answer sent", "On its way to the asker", "alice")
	if _, err := e.mod.DeliverDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, c.get(page), http.StatusOK, "Delivered to the asker", "It is very common, and it passes.")
	msgs, _ := e.st.Messages(context.Background(), handle, 0)
	if len(msgs) != 1 || !strings.Contains(msgs[0].Text, "It is very common, and it passes.") {
		t.Fatalf("the asker got %+v", msgs)
	}
	// The ticket is closed: acting again is a clear conflict.
	wantStatus(t, c.post(page+"/answer", url.Values{"text": {"Again"}}), http.StatusConflict, "Not done")
}

func TestTicketActionsByForm(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.staffClient("alice", "moderator")
	cases := []struct {
		name, action string
		form         url.Values
		status       int
		done         string
	}{
		{"faq answer", "answer", url.Values{"faq_id": {"performance-anxiety"}}, 303, "answered"},
		{"booking", "answer", url.Values{"booking": {"1"}}, 303, "booked"},
		{"reject", "reject", url.Values{"reason": {"spam"}}, 303, "rejected"},
		{"block", "block", url.Values{"days": {"7"}}, 303, "blocked"},
		{"empty answer", "answer", url.Values{"text": {"   "}}, 422, ""},
		{"invalid UTF-8", "answer", url.Values{"text": {"caf\xe9"}}, 400, ""},
		{"no reason", "reject", url.Values{}, 422, ""},
		{"bad reason", "reject", url.Values{"reason": {"<script>"}}, 422, ""},
		{"bad days", "block", url.Values{"days": {"forever"}}, 422, ""},
		{"release unclaimed", "release", nil, 409, ""},
		{"oversized", "answer", url.Values{"text": {strings.Repeat("a", maxBody)}}, 413, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tk, _ := e.open(false, "")
			r := c.post("/console/tickets/"+tk.ID+"/"+tc.action, tc.form)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d\n%s", r.status, tc.status, r.body)
			}
			if tc.done != "" && r.header.Get("Location") != "/console/tickets/"+tk.ID+"?done="+tc.done {
				t.Fatalf("redirect %q", r.header.Get("Location"))
			}
			if strings.Contains(r.body, "<script>") {
				t.Fatal("hostile input reflected unescaped")
			}
		})
	}
	wantStatus(t, c.get("/console/tickets/AAAAAAAAAAAAAAAAAAAAAA"), http.StatusNotFound)
	wantStatus(t, c.get("/console/tickets/bad%20id"), http.StatusNotFound)
	wantStatus(t, c.post("/console/tickets/AAAAAAAAAAAAAAAAAAAAAA/claim", nil), http.StatusNotFound)
}

func TestConflictKeepsWrittenAnswer(t *testing.T) {
	e := newEnv(t, envOpts{})
	alice := e.staffClient("alice", "moderator")
	bob := e.staffClient("bob", "moderator")
	tk, _ := e.open(false, "")
	page := "/console/tickets/" + tk.ID
	if r := bob.post(page+"/claim", nil); r.status != http.StatusSeeOther {
		t.Fatal(r.body)
	}
	r := alice.post(page+"/answer", url.Values{"text": {"My careful answer."}})
	wantStatus(t, r, http.StatusConflict, "bob", "My careful answer.</textarea>")
	if r := alice.get(page); !strings.Contains(r.body, "bob is answering this ticket") {
		t.Fatalf("no claimed-by notice:\n%s", r.body)
	}
}

func TestFAQDraft(t *testing.T) {
	e := newEnv(t, envOpts{})
	mod := e.staffClient("alice", "moderator")
	cur := e.staffClient("carol", "curator")
	tk, _ := e.open(false, "How do I talk to my partner about what I like?")
	page := "/console/tickets/" + tk.ID
	wantStatus(t, cur.post(page+"/faq-draft", nil), http.StatusConflict, "Once this question is answered")
	answer := "Pick a calm moment.\n\n- Start with what you enjoy\n- Ask what they enjoy"
	if r := mod.post(page+"/answer", url.Values{"text": {answer}}); r.status != http.StatusSeeOther {
		t.Fatal(r.body)
	}
	wantStatus(t, cur.get(page), http.StatusOK, "Turn into FAQ draft")
	r := cur.post(page+"/faq-draft", nil)
	wantStatus(t, r, http.StatusOK, "FAQ draft written to")
	files, _ := filepath.Glob(filepath.Join(e.drafts, "en", "*.yaml"))
	if len(files) != 1 || !strings.HasPrefix(filepath.Base(files[0]), "how-do-i-talk-to-my-") {
		t.Fatalf("draft files %v", files)
	}
	data, _ := os.ReadFile(files[0])
	fsys := fstest.MapFS{"en/" + filepath.Base(files[0]): {Data: data}}
	entry, problems := faq.ParseFile(fsys, "en/"+filepath.Base(files[0]))
	if entry == nil {
		t.Fatalf("the draft does not parse: %v\n%s", problems, data)
	}
	for _, p := range problems.Errors() {
		if !strings.Contains(p.Message, "sources") {
			t.Errorf("unexpected problem: %s", p)
		}
	}
	if !entry.IsDraft() || entry.Question != tk.Question || !strings.Contains(entry.Answer, "- Ask what they enjoy") ||
		entry.Locale != "en" || entry.Escalate != faq.EscalateNone {
		t.Fatalf("draft entry %+v\n%s", entry, data)
	}
	// Never overwritten: a curator may be editing it.
	wantStatus(t, cur.post(page+"/faq-draft", nil), http.StatusConflict, "already exists")

	// Without a drafts folder the draft is a download.
	e2 := newEnv(t, envOpts{noDrafts: true})
	mod2 := e2.staffClient("alice", "moderator")
	adm2 := e2.staffClient("root", "admin")
	tk2, _ := e2.open(false, "What is a normal libido?")
	mod2.post("/console/tickets/"+tk2.ID+"/answer", url.Values{"text": {"There is no normal."}, "booking": {"1"}})
	r = adm2.post("/console/tickets/"+tk2.ID+"/faq-draft", nil)
	if r.status != 200 || !strings.Contains(r.header.Get("Content-Disposition"), `attachment; filename="what-is-a-normal-libido-`) ||
		!strings.Contains(r.body, "status: draft") || !strings.Contains(r.body, "escalate: booking") {
		t.Fatalf("download: %d %v\n%s", r.status, r.header, r.body)
	}
}

func TestDraftID(t *testing.T) {
	for _, tc := range []struct{ q, id, want string }{
		{"How do I talk to my partner about sex?", "AbC-d_e123", "how-do-i-talk-to-my-abcde1"},
		{"¿Qué? ❤️", "xyz", "qu-xyz"},
		{"!!!", "", "draft"},
		{strings.Repeat("verylongword", 10), "id", strings.Repeat("verylongword", 4) + "-id"},
	} {
		got := draftID(tc.q, tc.id)
		if got != tc.want {
			t.Errorf("draftID(%q, %q) = %q, want %q", tc.q, tc.id, got, tc.want)
		}
	}
}

func TestStaffPage(t *testing.T) {
	e := newEnv(t, envOpts{})
	adm := e.staffClient("root", "admin")
	r := adm.post("/console/staff", url.Values{"name": {"dana"}, "role": {"moderator"}})
	wantStatus(t, r, http.StatusOK, "shown only once", "New password for dana")
	pw := valueOf(t, r.body, `id="secret-value"`)
	e.newClient().login("dana", pw)
	wantStatus(t, adm.get("/console/staff"), http.StatusOK, "dana")
	if r := adm.get("/console/staff"); strings.Contains(r.body, pw) {
		t.Fatal("the password is shown again")
	}
	wantStatus(t, adm.post("/console/staff", url.Values{"name": {"dana"}, "role": {"moderator"}}), http.StatusConflict)
	wantStatus(t, adm.post("/console/staff", url.Values{"name": {"<b>x</b>"}, "role": {"moderator"}}), http.StatusUnprocessableEntity, "&lt;b&gt;x&lt;/b&gt;")
	r = adm.post("/console/staff/dana/token", nil)
	wantStatus(t, r, http.StatusOK, "New API token for dana")
	tok := valueOf(t, r.body, `id="secret-value"`)
	if r := e.api("GET", "/api/v1/staff/me", tok, nil); r.status != 200 {
		t.Fatalf("the token from the console does not work: %d", r.status)
	}
	wantStatus(t, adm.post("/console/staff/dana/password", nil), http.StatusOK, "New password for dana")
	wantStatus(t, adm.post("/console/staff/root/remove", nil), http.StatusConflict, "your own account")
	wantStatus(t, adm.post("/console/staff/nobody/remove", nil), http.StatusNotFound)
	wantStatus(t, adm.post("/console/staff/dana/remove", nil), http.StatusOK, "Removed dana")
}

func valueOf(t *testing.T, body, marker string) string {
	t.Helper()
	i := strings.Index(body, marker)
	if i < 0 {
		t.Fatalf("no %s in:\n%s", marker, body)
	}
	rest := body[i:]
	j := strings.Index(rest, `value="`)
	rest = rest[j+len(`value="`):]
	return rest[:strings.Index(rest, `"`)]
}

func TestLiveCountEvents(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.staffClient("alice", "moderator")
	e.open(false, "")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/console/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	res, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(res.Body)
	next := func() string {
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				return data
			}
		}
		t.Fatalf("stream ended: %v", sc.Err())
		return ""
	}
	if first := next(); !strings.Contains(first, `"open":1`) {
		t.Fatalf("first event %s", first)
	}
	e.open(true, "")
	if second := next(); !strings.Contains(second, `"open":2`) || !strings.Contains(second, `"urgent":1`) {
		t.Fatalf("second event %s", second)
	}
	// Without a session the stream is refused.
	req, _ = http.NewRequest("GET", e.srv.URL+"/console/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	if r := e.do(req); r.status != http.StatusUnauthorized {
		t.Fatalf("events without a session: %d", r.status)
	}
}

func TestCloseEndsEventStreams(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.staffClient("alice", "moderator")
	req, _ := http.NewRequest("GET", e.srv.URL+"/console/events", nil)
	res, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), "data: ") {
	}
	e.con.Close()
	for sc.Scan() {
	}
	// Reaching here means the server ended the stream.
}

func TestNewNeedsServices(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Fatal("New without services succeeded")
	}
}
