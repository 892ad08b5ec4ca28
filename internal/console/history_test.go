package console

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/candid-app/candid/internal/moderation"
)

// TestHistoryPage: closed tickets are listed by outcome with who handled
// them and the time to a person's answer; the state filter narrows them;
// the question of a ticket the asker deleted is never shown.
func TestHistoryPage(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.staffClient("alice", "moderator")
	ctx := context.Background()
	alice := moderation.Actor{Name: "alice", Role: moderation.RoleModerator}
	answered, _ := e.open(false, "answeredQ how do I talk about it")
	rejected, _ := e.open(false, "rejectedQ buy cheap pills now")
	urgent, _ := e.open(true, "urgentQ I am not safe tonight")
	waiting, _ := e.open(false, "waitingQ still in the queue")
	if _, err := e.mod.Answer(ctx, alice, answered.ID, moderation.Answer{Text: "Start small."}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.mod.Reject(ctx, alice, rejected.ID, "spam"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.mod.Answer(ctx, alice, urgent.ID, moderation.Answer{Text: "Are you safe right now?"}); err != nil {
		t.Fatal(err)
	}
	r := c.get("/console/history")
	wantStatus(t, r, http.StatusOK, "answeredQ", "rejectedQ", "urgentQ", `id="h-count">3<`, `id="h-urgent-ok">1 of 1<`, "Median")
	if strings.Contains(r.body, "waitingQ") {
		t.Error("a waiting ticket is in the history")
	}
	r = c.get("/console/history?state=rejected")
	wantStatus(t, r, http.StatusOK, "rejectedQ")
	if strings.Contains(r.body, "answeredQ") || strings.Contains(r.body, "urgentQ") {
		t.Error("the rejected view shows other tickets")
	}
	wantStatus(t, c.get("/console/history?state=%3Cscript%3E"), http.StatusOK, "answeredQ") // unknown: all closed
	_ = waiting
}
