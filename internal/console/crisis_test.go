package console

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/candid-app/candid/internal/store"
)

// fixedGuide is a CrisisGuide with fixed words.
type fixedGuide struct{ shown, check string }

func (g fixedGuide) Shown(store.Ticket) string       { return g.shown }
func (g fixedGuide) SafetyCheck(store.Ticket) string { return g.check }

func TestCrisisPanel(t *testing.T) {
	var mu sync.Mutex
	var alerts []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		alerts = append(alerts, string(b))
		mu.Unlock()
	}))
	defer hook.Close()
	clock := time.Now()
	now := func() time.Time { return clock }
	guide := fixedGuide{shown: "If you are in danger now, call **999**.\n\n- **Samaritans**: 116 123.", check: "Are you safe right now? If you are in danger, call 999."}
	e := newEnv(t, envOpts{crisis: guide, onCallURL: hook.URL, now: now})
	c := e.staffClient("alice", "moderator")

	tk, handle := e.open(true, "I took all my pills SECRET-Q")
	page := "/console/tickets/" + tk.ID
	r := c.get(page)
	wantStatus(t, r, http.StatusOK, `id="crisis-panel"`, "Crisis protocol: URGENT", "What the asker was shown", "Samaritans", "116 123",
		"Send this safety check", "Are you safe right now?", "Alert the on-call clinician", "respond within")
	if strings.Contains(r.body, `id="reject"`) || strings.Contains(r.body, "/reject") {
		t.Error("an urgent ticket offers Reject")
	}
	// Past the promised time, the clock says overdue.
	clock = clock.Add(20*time.Minute + 30*time.Second)
	wantStatus(t, c.get(page), http.StatusOK, "overdue by 5 min")

	// Escalate: the webhook gets tier and link, never the question; the
	// history records it.
	wantStatus(t, c.post(page+"/escalate", nil), http.StatusSeeOther)
	wantStatus(t, c.get(page+"?done=escalated"), http.StatusOK, "on-call clinician was alerted", "On-call clinician alerted by alice")
	if len(alerts) != 1 || strings.Contains(alerts[0], "SECRET") || strings.Contains(alerts[0], "pills") || strings.Contains(alerts[0], handle) {
		t.Fatalf("on-call alerts %v", alerts)
	}

	// The safety check: one step, the reviewed words (the form carries no
	// text; any text sent with it is ignored).
	wantStatus(t, c.post(page+"/safety-check", url.Values{"text": {"something else entirely"}}), http.StatusSeeOther)
	got, err := e.mod.Ticket(context.Background(), tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got.Answer, guide.check) || strings.Contains(got.Answer, "something else") || got.ActedBy != "alice" {
		t.Fatalf("answer %q by %q, want the safety check by alice", got.Answer, got.ActedBy)
	}
	r = c.get(page)
	wantStatus(t, r, http.StatusOK, "Crisis protocol: URGENT", "answered")
	if strings.Contains(r.body, "Send this safety check") || strings.Contains(r.body, "overdue") {
		t.Error("an answered ticket still offers the safety check or shows a clock")
	}

	// An ordinary ticket has no panel and no safety check.
	plain, _ := e.open(false, "")
	if r := c.get("/console/tickets/" + plain.ID); strings.Contains(r.body, "crisis-panel") {
		t.Error("an ordinary ticket shows the crisis panel")
	}
	wantStatus(t, c.post("/console/tickets/"+plain.ID+"/safety-check", nil), http.StatusUnprocessableEntity)
	wantStatus(t, c.post("/console/tickets/"+plain.ID+"/escalate", nil), http.StatusConflict)

	// A curator may not act.
	cur := e.staffClient("carol", "curator")
	other, _ := e.open(true, "")
	wantStatus(t, cur.post("/console/tickets/"+other.ID+"/escalate", nil), http.StatusForbidden)
	wantStatus(t, cur.post("/console/tickets/"+other.ID+"/safety-check", nil), http.StatusForbidden)
}

// TestCrisisPanelWithoutOnCall: with no on-call webhook the panel says to
// call the clinician, and escalating is refused with that advice.
func TestCrisisPanelWithoutOnCall(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.staffClient("alice", "moderator")
	tk, _ := e.open(true, "")
	page := "/console/tickets/" + tk.ID
	r := c.get(page)
	wantStatus(t, r, http.StatusOK, "Crisis protocol: URGENT", "call the on-call clinician directly")
	if strings.Contains(r.body, "Alert the on-call clinician") || strings.Contains(r.body, "Send this safety check") {
		t.Error("offers an escalation or a safety check that is not configured")
	}
	wantStatus(t, c.post(page+"/escalate", nil), http.StatusConflict, "call the on-call clinician directly")
	wantStatus(t, c.post(page+"/safety-check", nil), http.StatusUnprocessableEntity, "no safety-check reply")
}

// TestBlockAndClose: blocking with "also close" rejects the ordinary
// ticket as abusive in the same action; an urgent ticket stays open.
func TestBlockAndClose(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.staffClient("alice", "moderator")
	tk, _ := e.open(false, "")
	wantStatus(t, c.post("/console/tickets/"+tk.ID+"/block", url.Values{"days": {"30"}, "close": {"1"}}), http.StatusSeeOther)
	got, _ := e.mod.Ticket(context.Background(), tk.ID)
	if got.State != store.TicketRejected || got.RejectReason != "abuse" {
		t.Errorf("after block and close: %s %q", got.State, got.RejectReason)
	}
	wantStatus(t, c.get("/console/tickets/"+tk.ID+"?done=blocked-closed"), http.StatusOK, "closed as abusive", "for 30 days", "Opened")
	urgent, _ := e.open(true, "")
	wantStatus(t, c.post("/console/tickets/"+urgent.ID+"/block", url.Values{"days": {"7"}, "close": {"1"}}), http.StatusSeeOther)
	if got, _ := e.mod.Ticket(context.Background(), urgent.ID); got.State.Terminal() {
		t.Errorf("an urgent ticket was closed by a block: %s", got.State)
	}
}

// TestWeakCandidatesFolded: candidates under the suggest threshold are
// folded away, and every one-click FAQ send asks for confirmation.
func TestWeakCandidatesFolded(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.staffClient("alice", "moderator")
	tk, err := e.mod.OpenTicket(context.Background(), store.Ticket{Handle: "hWEAKsecret", Platform: "web", Question: "q", Locale: "en",
		Candidates: []store.Candidate{{FAQID: "performance-anxiety", Score: 0.02}}})
	if err != nil {
		t.Fatal(err)
	}
	r := c.get("/console/tickets/" + tk.ID)
	wantStatus(t, r, http.StatusOK, "No FAQ answer matched well", `class="weak-candidates"`, "1 weak match", `data-confirm="Send the whole answer`)
	strong, _ := e.open(false, "")
	r = c.get("/console/tickets/" + strong.ID)
	if strings.Contains(r.body, "weak-candidates") || !strings.Contains(r.body, `class="primary" aria-label="Send this answer`) {
		t.Error("a strong candidate is folded or not primary")
	}
}

// TestLoginFormTokenOneUse: a login form's token and cookie, replayed, are
// refused the second time (a script must fetch a fresh form per guess).
func TestLoginFormTokenOneUse(t *testing.T) {
	e := newEnv(t, envOpts{})
	pw := e.addStaff("alice", "moderator")
	c := e.newClient()
	form := c.get("/console/login")
	m := formCSRF.FindStringSubmatch(form.body)
	ck := c.cookie(loginCookie, "/console/login")
	if m == nil || ck == nil {
		t.Fatal("no login token")
	}
	post := func(password string) int {
		req, _ := http.NewRequest("POST", e.srv.URL+"/console/login", strings.NewReader(url.Values{"csrf": {m[1]}, "name": {"alice"}, "password": {password}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: loginCookie, Value: ck.Value})
		hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := post("wrong"); got != http.StatusUnauthorized {
		t.Fatalf("first use: %d", got)
	}
	if got := post(pw); got != http.StatusForbidden {
		t.Fatalf("replayed token: %d, want 403", got)
	}
	// A fresh form works.
	c.login("alice", pw)
}

// TestMemOnceBounded: the in-memory set of used login tokens never grows
// past its cap, and a token is still refused the second time below it.
func TestMemOnceBounded(t *testing.T) {
	now := time.Now()
	m := &memOnce{seen: map[string]time.Time{}, now: func() time.Time { return now }}
	ctx := context.Background()
	for i := range memOnceCap + 10 {
		if fresh, _ := m.Once(ctx, "k"+strconv.Itoa(i), time.Hour); !fresh {
			t.Fatalf("token %d refused on first use", i)
		}
		if len(m.seen) > memOnceCap {
			t.Fatalf("set grew to %d, cap %d", len(m.seen), memOnceCap)
		}
	}
	if fresh, _ := m.Once(ctx, "k"+strconv.Itoa(memOnceCap+9), time.Hour); fresh {
		t.Error("a used token was accepted again")
	}
}
