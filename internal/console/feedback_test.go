package console

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/candid-app/candid/internal/store"
)

// TestFeedbackPage: the counts per entry over a period, the helpful rate,
// and the CSV of the same aggregates; old counts fall out of a short period.
func TestFeedbackPage(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.staffClient("carol", "curator")
	ctx := context.Background()
	today := time.Now().UTC().Format(time.DateOnly)
	old := time.Now().UTC().Add(-60 * 24 * time.Hour).Format(time.DateOnly)
	for _, fc := range []store.FeedbackCount{
		{Day: today, FAQID: "performance-anxiety", Event: "shown", N: 10},
		{Day: today, FAQID: "performance-anxiety", Event: "helpful", N: 3},
		{Day: today, FAQID: "performance-anxiety", Event: "not_helpful", N: 1},
		{Day: today, FAQID: "performance-anxiety", Event: "ask_therapist", N: 2},
		{Day: old, FAQID: "performance-anxiety", Event: "shown", N: 100},
	} {
		if err := e.st.AddFeedback(ctx, fc); err != nil {
			t.Fatal(err)
		}
	}
	r := c.get("/console/feedback?days=30")
	wantStatus(t, r, http.StatusOK, "Why am I nervous before sex?", "<td>10</td>", "<td>3</td>", "75%", "Download as CSV")
	r = c.get("/console/feedback?days=90")
	wantStatus(t, r, http.StatusOK, "<td>110</td>")
	r = c.get("/console/feedback.csv?days=30")
	if r.status != http.StatusOK || !strings.HasPrefix(r.body, "entry,shown,helpful,not_helpful,ask_therapist_after,book_after\n") ||
		!strings.Contains(r.body, "performance-anxiety,10,3,1,2,0") {
		t.Fatalf("csv %d: %q", r.status, r.body)
	}
	wantStatus(t, c.get("/console/feedback?days=<script>"), http.StatusOK, "<td>10</td>") // bad period: 30 days
}
