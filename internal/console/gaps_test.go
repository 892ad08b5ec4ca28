package console

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/candid-app/candid/internal/store"
)

// TestGapsPage: tickets are grouped by the nearest entry (weak candidates
// count as no entry near), biggest group first, with examples; urgent
// tickets are left out.
func TestGapsPage(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.staffClient("carol", "curator")
	ctx := context.Background()
	open := func(q string, cands []store.Candidate, urgent bool) {
		t.Helper()
		if _, err := e.mod.OpenTicket(ctx, store.Ticket{Handle: "hGAP" + q[:5] + "secret", Platform: "web", Question: q, Locale: "en", Candidates: cands, Urgent: urgent}); err != nil {
			t.Fatal(err)
		}
	}
	near := []store.Candidate{{FAQID: "performance-anxiety", Score: 0.4}}
	weak := []store.Candidate{{FAQID: "performance-anxiety", Score: 0.01}}
	open("nearA nerves before a date", near, false)
	open("nearB anxious in bed", near, false)
	open("nearC cannot relax", near, false)
	open("farAA what about tantra", weak, false)
	open("farBB no candidate at all", nil, false)
	open("urgnt I am not safe", near, true)
	r := c.get("/console/gaps")
	wantStatus(t, r, http.StatusOK, "Why am I nervous before sex?", "No FAQ entry is near", "nearA", "farAA", "farBB")
	if strings.Contains(r.body, "urgnt") {
		t.Error("an urgent ticket is listed as a gap")
	}
	if strings.Index(r.body, "Why am I nervous before sex?") > strings.Index(r.body, "No FAQ entry is near") {
		t.Error("the bigger group (3) is not first")
	}
	if !strings.Contains(r.body, "<td>3</td>") || !strings.Contains(r.body, "<td>2</td>") {
		t.Error("group sizes missing")
	}
}
