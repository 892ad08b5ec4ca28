package console

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/candid-app/candid/internal/store"
)

func decode[T any](t *testing.T, r apiResp) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("status %d, body is not JSON: %v\n%s", r.status, err, r.body)
	}
	return v
}

type errResp struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// wantErr checks status, JSON error shape and code.
func wantErr(t *testing.T, r apiResp, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d\n%s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error Content-Type %q, want JSON", ct)
	}
	e := decode[errResp](t, r)
	if e.Error.Code != code || e.Error.Message == "" {
		t.Fatalf("error %+v, want code %q and a message", e.Error, code)
	}
}

func TestAPITicketFlow(t *testing.T) {
	e := newEnv(t, envOpts{})
	mod := e.token("alice", "moderator")
	calm, handle := e.open(false, "Is it normal to lose interest in sex after a baby?")
	urgent, urgentHandle := e.open(true, "")

	r := e.api("GET", "/api/v1/tickets", mod, nil)
	if r.status != 200 {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	for _, h := range []string{handle, urgentHandle, `"handle"`, `"address"`} {
		if strings.Contains(r.body, h) {
			t.Fatalf("ticket list leaks %q:\n%s", h, r.body)
		}
	}
	list := decode[struct {
		Tickets []map[string]any `json:"tickets"`
		Stats   statsJSON        `json:"stats"`
	}](t, r)
	if len(list.Tickets) != 2 || list.Tickets[0]["id"] != urgent.ID || list.Tickets[1]["id"] != calm.ID {
		t.Fatalf("queue order: %v", list.Tickets)
	}
	for _, k := range []string{"id", "state", "urgent", "question", "created_at", "candidates", "claimed_by", "delivery"} {
		if _, ok := list.Tickets[1][k]; !ok {
			t.Errorf("ticket JSON lacks %q: %v", k, list.Tickets[1])
		}
	}
	if list.Stats.Open != 2 || list.Stats.Urgent != 1 {
		t.Fatalf("stats %+v", list.Stats)
	}

	r = e.api("POST", "/api/v1/tickets/"+calm.ID+"/claim", mod, nil)
	if r.status != 200 || !strings.Contains(r.body, `"state": "claimed"`) || !strings.Contains(r.body, `"claimed_by": "alice"`) {
		t.Fatalf("claim: %d %s", r.status, r.body)
	}
	r = e.api("POST", "/api/v1/tickets/"+calm.ID+"/answer", mod, `{"text":"Yes, that is very common. It usually comes back."}`)
	if r.status != 200 || !strings.Contains(r.body, `"state": "answered"`) || !strings.Contains(r.body, `"delivery": "pending"`) {
		t.Fatalf("answer: %d %s", r.status, r.body)
	}
	if _, err := e.mod.DeliverDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	msgs, err := e.st.Messages(context.Background(), handle, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || !strings.Contains(msgs[0].Text, "It usually comes back.") {
		t.Fatalf("the asker's messages: %+v", msgs)
	}

	r = e.api("GET", "/api/v1/tickets/"+calm.ID, mod, nil)
	got := decode[struct {
		Ticket        ticketJSON         `json:"ticket"`
		Audit         []store.AuditEntry `json:"audit"`
		RejectReasons []map[string]any   `json:"reject_reasons"`
	}](t, r)
	if got.Ticket.Delivery != "delivered" || got.Ticket.ActedBy != "alice" {
		t.Fatalf("ticket after delivery: %+v", got.Ticket)
	}
	var actors []string
	for _, a := range got.Audit {
		actors = append(actors, a.Actor+":"+a.Action)
	}
	if joined := strings.Join(actors, " "); !strings.Contains(joined, "alice:claimed") || !strings.Contains(joined, "alice:answered") {
		t.Fatalf("audit: %s", joined)
	}
	if strings.Contains(r.body, handle) || len(got.RejectReasons) == 0 {
		t.Fatalf("ticket JSON leaks the handle or lacks reject reasons:\n%s", r.body)
	}
}

func TestAPIAnswerKinds(t *testing.T) {
	e := newEnv(t, envOpts{})
	mod := e.token("alice", "moderator")
	for _, tc := range []struct {
		name, body, state, text string
	}{
		{"faq", `{"faq_id":"performance-anxiety"}`, "answered", "You are not alone."},
		{"booking only", `{"booking":true}`, "booked", "clinic.example/book"},
		{"text and booking", `{"text":"Talk to us.","booking":true}`, "booked", "Talk to us."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tk, _ := e.open(false, "")
			r := e.api("POST", "/api/v1/tickets/"+tk.ID+"/answer", mod, tc.body)
			if r.status != 200 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			got := decode[struct {
				Ticket ticketJSON `json:"ticket"`
			}](t, r)
			if string(got.Ticket.State) != tc.state || !strings.Contains(got.Ticket.Answer, tc.text) {
				t.Fatalf("got %s %q", got.Ticket.State, got.Ticket.Answer)
			}
		})
	}
}

func TestAPIRejectAndBlock(t *testing.T) {
	e := newEnv(t, envOpts{})
	mod := e.token("alice", "moderator")
	tk, handle := e.open(false, "")
	if r := e.api("POST", "/api/v1/tickets/"+tk.ID+"/block", mod, `{"days":7}`); r.status != 200 {
		t.Fatalf("block: %d %s", r.status, r.body)
	}
	blocked, err := e.st.Blocked(context.Background(), handle)
	if err != nil || !blocked {
		t.Fatalf("asker not blocked: %v %v", blocked, err)
	}
	tk2, _ := e.open(false, "")
	if r := e.api("POST", "/api/v1/tickets/"+tk2.ID+"/block", mod, nil); r.status != 200 {
		t.Fatalf("block with the default duration: %d %s", r.status, r.body)
	}
	r := e.api("POST", "/api/v1/tickets/"+tk.ID+"/reject", mod, `{"reason":"spam"}`)
	if r.status != 200 || !strings.Contains(r.body, `"state": "rejected"`) {
		t.Fatalf("reject: %d %s", r.status, r.body)
	}
	// Release of a ticket that is not claimed is illegal.
	wantErr(t, e.api("POST", "/api/v1/tickets/"+tk2.ID+"/release", mod, nil), 409, "illegal")
}

func TestAPIErrors(t *testing.T) {
	e := newEnv(t, envOpts{})
	mod := e.token("alice", "moderator")
	tk, _ := e.open(false, "")
	done, _ := e.open(false, "")
	if r := e.api("POST", "/api/v1/tickets/"+done.ID+"/answer", mod, `{"text":"Done."}`); r.status != 200 {
		t.Fatal(r.body)
	}
	answer := "/api/v1/tickets/" + tk.ID + "/answer"
	big := `{"text":"` + strings.Repeat("a", maxBody) + `"}`
	for _, tc := range []struct {
		name, method, path string
		body               any
		ct                 string
		status             int
		code               string
	}{
		{"malformed JSON", "POST", answer, `{"text":`, "", 400, "malformed"},
		{"not an object", "POST", answer, `["text"]`, "", 400, "malformed"},
		{"unknown field", "POST", answer, `{"text":"hi","sneaky":1}`, "", 400, "malformed"},
		{"trailing data", "POST", answer, `{"text":"hi"}{"text":"again"}`, "", 400, "malformed"},
		{"empty body", "POST", answer, ``, "", 400, "malformed"},
		{"invalid UTF-8", "POST", answer, []byte("{\"text\":\"caf\xe9\"}"), "", 400, "malformed"},
		{"oversized", "POST", answer, big, "", 413, "too_large"},
		{"wrong content type", "POST", answer, `{"text":"hi"}`, "text/plain", 415, "unsupported_media_type"},
		{"empty text", "POST", answer, `{"text":""}`, "", 422, "invalid"},
		{"blank text", "POST", answer, `{"text":"  \n\t "}`, "", 422, "invalid"},
		{"null", "POST", answer, `null`, "", 422, "invalid"},
		{"text and faq", "POST", answer, `{"text":"hi","faq_id":"performance-anxiety"}`, "", 422, "invalid"},
		{"unknown faq", "POST", answer, `{"faq_id":"no-such-entry"}`, "", 422, "invalid"},
		{"too long", "POST", answer, `{"text":"` + strings.Repeat("é", 4001) + `"}`, "", 422, "invalid"},
		{"missing reason", "POST", "/api/v1/tickets/" + tk.ID + "/reject", `{}`, "", 422, "invalid"},
		{"unknown reason", "POST", "/api/v1/tickets/" + tk.ID + "/reject", `{"reason":"boring"}`, "", 422, "invalid"},
		{"block days", "POST", "/api/v1/tickets/" + tk.ID + "/block", `{"days":0}`, "", 422, "invalid"},
		{"block days type", "POST", "/api/v1/tickets/" + tk.ID + "/block", `{"days":"7"}`, "", 400, "malformed"},
		{"unknown ticket", "POST", "/api/v1/tickets/AAAAAAAAAAAAAAAAAAAAAA/claim", nil, "", 404, "not_found"},
		{"hostile ticket id", "GET", "/api/v1/tickets/..%2f..%2fetc", nil, "", 404, "not_found"},
		{"answered ticket", "POST", "/api/v1/tickets/" + done.ID + "/answer", `{"text":"Again."}`, "", 409, "illegal"},
		{"claim answered", "POST", "/api/v1/tickets/" + done.ID + "/claim", nil, "", 409, "illegal"},
		{"unknown endpoint", "POST", "/api/v1/tickets/" + tk.ID + "/explode", nil, "", 404, "not_found"},
		{"wrong method", "DELETE", "/api/v1/tickets/" + tk.ID, nil, "", 404, "not_found"},
		{"body on claim", "POST", "/api/v1/tickets/" + tk.ID + "/claim", `{"force":true}`, "", 400, "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rd io.Reader
			switch b := tc.body.(type) {
			case string:
				rd = strings.NewReader(b)
			case []byte:
				rd = strings.NewReader(string(b))
			}
			req, _ := http.NewRequest(tc.method, e.srv.URL+tc.path, rd)
			req.Header.Set("Authorization", "Bearer "+mod)
			if tc.body != nil {
				ct := tc.ct
				if ct == "" {
					ct = "application/json; charset=utf-8"
				}
				req.Header.Set("Content-Type", ct)
			}
			wantErr(t, e.do(req), tc.status, tc.code)
		})
	}
	t.Run("oversized without length", func(t *testing.T) {
		pr, pw := io.Pipe()
		go func() {
			pw.Write([]byte(big))
			pw.Close()
		}()
		req, _ := http.NewRequest("POST", e.srv.URL+answer, pr) // chunked: no Content-Length
		req.Header.Set("Authorization", "Bearer "+mod)
		req.Header.Set("Content-Type", "application/json")
		wantErr(t, e.do(req), 413, "too_large")
	})
	// Nothing above changed the ticket.
	if got, _ := e.mod.Ticket(context.Background(), tk.ID); got.State != store.TicketOpen {
		t.Fatalf("ticket state %s after rejected requests", got.State)
	}
}

func TestAPIAuth(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.token("alice", "moderator")
	for _, tc := range []struct {
		name, header string
	}{
		{"no credentials", ""},
		{"wrong token", "Bearer cnd_not-a-real-token"},
		{"not a token", "Bearer hello"},
		{"basic auth", "Basic YWxpY2U6cGFzc3dvcmQ="},
		{"empty bearer", "Bearer "},
		{"huge token", "Bearer cnd_" + strings.Repeat("x", 5000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/tickets", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			r := e.do(req)
			wantErr(t, r, 401, "unauthorized")
			if r.header.Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		})
	}
	// A removed account's token stops working at once.
	tok := e.token("bob", "moderator")
	if r := e.api("GET", "/api/v1/staff/me", tok, nil); r.status != 200 || !strings.Contains(r.body, `"bob"`) {
		t.Fatalf("me: %d %s", r.status, r.body)
	}
	if err := e.acc.Remove(context.Background(), "bob"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, e.api("GET", "/api/v1/tickets", tok, nil), 401, "unauthorized")
}

func TestAPIRoles(t *testing.T) {
	e := newEnv(t, envOpts{})
	mod := e.token("alice", "moderator")
	cur := e.token("carol", "curator")
	adm := e.token("root", "admin")
	tk, _ := e.open(false, "")
	for _, tc := range []struct {
		name, method, path, tok string
		body                    any
		status                  int
	}{
		{"curator lists", "GET", "/api/v1/tickets", cur, nil, 200},
		{"curator reads", "GET", "/api/v1/tickets/" + tk.ID, cur, nil, 200},
		{"curator claims", "POST", "/api/v1/tickets/" + tk.ID + "/claim", cur, nil, 403},
		{"curator answers", "POST", "/api/v1/tickets/" + tk.ID + "/answer", cur, `{"text":"hi"}`, 403},
		{"curator rejects", "POST", "/api/v1/tickets/" + tk.ID + "/reject", cur, `{"reason":"spam"}`, 403},
		{"curator blocks", "POST", "/api/v1/tickets/" + tk.ID + "/block", cur, nil, 403},
		{"curator previews", "POST", "/api/v1/preview", cur, `{"text":"hi"}`, 200},
		{"moderator lists staff", "GET", "/api/v1/staff", mod, nil, 403},
		{"moderator adds staff", "POST", "/api/v1/staff", mod, `{"name":"eve","role":"admin"}`, 403},
		{"moderator removes staff", "DELETE", "/api/v1/staff/carol", mod, nil, 403},
		{"moderator resets a password", "POST", "/api/v1/staff/carol/password", mod, nil, 403},
		{"moderator token for another", "POST", "/api/v1/staff/carol/token", mod, nil, 403},
		{"moderator token for self", "POST", "/api/v1/staff/alice/token", mod, nil, 200},
		{"admin lists staff", "GET", "/api/v1/staff", adm, nil, 200},
		{"admin claims", "POST", "/api/v1/tickets/" + tk.ID + "/claim", adm, nil, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.api(tc.method, tc.path, tc.tok, tc.body)
			if tc.status == 403 {
				wantErr(t, r, 403, "forbidden")
				return
			}
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
		})
	}
}

func TestAPIClaimRace(t *testing.T) {
	e := newEnv(t, envOpts{})
	alice := e.token("alice", "moderator")
	bob := e.token("bob", "moderator")
	for range 8 {
		tk, _ := e.open(false, "")
		statuses := make([]int, 2)
		bodies := make([]string, 2)
		errs := make([]error, 2)
		claim := func(i int, tok string) func() {
			return func() {
				req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/tickets/"+tk.ID+"/claim", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				res, err := e.srv.Client().Do(req)
				if err != nil {
					errs[i] = err
					return
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				statuses[i], bodies[i] = res.StatusCode, string(b)
			}
		}
		concurrently(claim(0, alice), claim(1, bob))
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		ok, conflict := 0, 0
		for i, s := range statuses {
			switch s {
			case 200:
				ok++
			case 409:
				conflict++
				if !strings.Contains(bodies[i], `"code": "conflict"`) {
					t.Fatalf("409 body: %s", bodies[i])
				}
			}
		}
		if ok != 1 || conflict != 1 {
			t.Fatalf("claim race: statuses %v, want one 200 and one 409\n%v", statuses, bodies)
		}
	}
}

func TestAPIStaff(t *testing.T) {
	e := newEnv(t, envOpts{})
	adm := e.token("root", "admin")
	r := e.api("POST", "/api/v1/staff", adm, `{"name":"dana","role":"moderator"}`)
	if r.status != 201 {
		t.Fatalf("add: %d %s", r.status, r.body)
	}
	added := decode[struct{ Name, Role, Password string }](t, r)
	if added.Password == "" {
		t.Fatal("no password in the response")
	}
	e.newClient().login("dana", added.Password) // the password works
	wantErr(t, e.api("POST", "/api/v1/staff", adm, `{"name":"dana","role":"moderator"}`), 409, "conflict")
	wantErr(t, e.api("POST", "/api/v1/staff", adm, `{"name":"Dana Scully","role":"moderator"}`), 422, "invalid")
	wantErr(t, e.api("POST", "/api/v1/staff", adm, `{"name":"fox","role":"boss"}`), 422, "invalid")
	wantErr(t, e.api("POST", "/api/v1/staff", adm, `{"name":"fox"}`), 422, "invalid")

	r = e.api("GET", "/api/v1/staff", adm, nil)
	if r.status != 200 || !strings.Contains(r.body, `"dana"`) || strings.Contains(r.body, "password") || strings.Contains(r.body, "argon") {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	r = e.api("POST", "/api/v1/staff/dana/token", adm, nil)
	tok := decode[struct{ Token string }](t, r).Token
	if r.status != 200 || tok == "" {
		t.Fatalf("token: %d %s", r.status, r.body)
	}
	if r := e.api("GET", "/api/v1/staff/me", tok, nil); !strings.Contains(r.body, `"dana"`) {
		t.Fatalf("the new token does not work: %s", r.body)
	}
	r = e.api("POST", "/api/v1/staff/dana/password", adm, nil)
	if r.status != 200 || decode[struct{ Password string }](t, r).Password == "" {
		t.Fatalf("password: %d %s", r.status, r.body)
	}
	wantErr(t, e.api("DELETE", "/api/v1/staff/root", adm, nil), 409, "conflict")
	wantErr(t, e.api("DELETE", "/api/v1/staff/nobody", adm, nil), 404, "not_found")
	wantErr(t, e.api("DELETE", "/api/v1/staff/%00bad", adm, nil), 404, "not_found")
	if r := e.api("DELETE", "/api/v1/staff/dana", adm, nil); r.status != 204 {
		t.Fatalf("remove: %d %s", r.status, r.body)
	}
}

func TestAPIPreview(t *testing.T) {
	e := newEnv(t, envOpts{})
	mod := e.token("alice", "moderator")
	r := e.api("POST", "/api/v1/preview", mod, `{"text":"**Yes**, <b>really</b>.","booking":true}`)
	got := decode[struct{ Text, HTML string }](t, r)
	if r.status != 200 || !strings.Contains(got.Text, "**Yes**") || !strings.Contains(got.Text, "https://clinic.example/book") {
		t.Fatalf("preview: %d %s", r.status, r.body)
	}
	if !strings.Contains(got.HTML, "<strong>Yes</strong>") || strings.Contains(got.HTML, "<b>") {
		t.Fatalf("preview HTML is not the safe rendering: %s", got.HTML)
	}
	wantErr(t, e.api("POST", "/api/v1/preview", mod, `{}`), 422, "invalid")
}

func TestAPISessionAuth(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.staffClient("alice", "moderator")
	tk, _ := e.open(false, "")
	if r := c.api("GET", "/api/v1/tickets", "", ""); r.status != 200 {
		t.Fatalf("GET with the session cookie: %d %s", r.status, r.body)
	}
	claim := "/api/v1/tickets/" + tk.ID + "/claim"
	wantErr(t, c.api("POST", claim, "", ""), 403, "csrf")
	wantErr(t, c.api("POST", claim, "wrong-token", ""), 403, "csrf")
	wantErr(t, c.api("POST", claim, c.csrf+"x", ""), 403, "csrf")
	if r := c.api("POST", claim, c.csrf, ""); r.status != 200 {
		t.Fatalf("POST with the CSRF header: %d %s", r.status, r.body)
	}
	if r := c.api("POST", "/api/v1/preview", c.csrf, `{"text":"hi"}`); r.status != 200 {
		t.Fatalf("preview with the session: %d %s", r.status, r.body)
	}
}

func TestRegisterLeavesChatAlone(t *testing.T) {
	e := newEnv(t, envOpts{})
	mux := http.NewServeMux()
	e.con.Register(mux)
	called := false
	// The web chat registers its own routes on the same mux: no conflict.
	mux.HandleFunc("POST /api/v1/chat/messages", func(w http.ResponseWriter, r *http.Request) { called = true })
	mux.HandleFunc("/api/v1/chat/", func(w http.ResponseWriter, r *http.Request) { called = true })
	mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/api/v1/chat/messages", nil))
	if !called {
		t.Fatal("the chat route did not get its request")
	}
}
