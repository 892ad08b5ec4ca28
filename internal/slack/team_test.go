package slack

import (
	"net/http"
	"strings"
	"testing"
)

// TestOtherWorkspaceRefused: every kind of payload from a workspace other
// than the bot token's is refused, even correctly signed: a DM, /ask, a
// moderator's button, and a modal submission. Nothing reaches the engine and
// no ticket changes.
func TestOtherWorkspaceRefused(t *testing.T) {
	const other = "T0ELSEWHERE"
	h := newHarness(t, harnessOptions{})
	tk := h.openTicket("is it normal to bleed after sex?")

	if w := h.post("/slack/events", fixture(t, "event_message_im.json", map[string]any{"team_id": other, "event_id": "Ev0OTHER1"})); w.Code != http.StatusOK {
		t.Errorf("event from another team: status %d, want 200 (acknowledged and dropped)", w.Code)
	}
	slash := strings.ReplaceAll(string(readFixture(t, "slash_ask.txt")), "team_id=T0CLINIC1", "team_id="+other)
	if w := h.post("/slack/commands", []byte(strings.TrimSpace(slash))); !strings.Contains(w.Body.String(), "does not serve this workspace") {
		t.Errorf("/ask from another team answered %q", w.Body)
	}
	press := fixture(t, "block_actions_moderator.json", map[string]any{
		"user.id": testMod, "team.id": other, "user.team_id": other,
		"actions.0.action_id": actClaim, "actions.0.value": h.app.sig.sign(purposeTicket, tk.ID),
	})
	h.post("/slack/interactivity", interactionBody(press))
	if w := h.post("/slack/interactivity", interactionBody(fixture(t, "view_submission_write.json", map[string]any{"user.id": testMod, "team.id": other, "user.team_id": other}))); !strings.Contains(w.Body.String(), "does not serve this workspace") {
		t.Errorf("modal from another team answered %q", w.Body)
	}
	if n := len(h.engine.Inbounds()); n != 0 {
		t.Errorf("the engine saw %d inputs from another workspace", n)
	}
	got, err := h.mod.Ticket(t.Context(), tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != tk.State || got.ClaimedBy != "" {
		t.Errorf("a button from another workspace changed the ticket: %+v", got)
	}
}

// TestEventBeforeAuthTestRetried: until auth.test has told the app its
// workspace, an event is not acknowledged, so Slack delivers it again
// rather than it being lost.
func TestEventBeforeAuthTestRetried(t *testing.T) {
	h := newHarness(t, harnessOptions{teamUnknown: true})
	if w := h.post("/slack/events", fixture(t, "event_message_im.json", map[string]any{"event_id": "Ev0EARLY1"})); w.Code == http.StatusOK {
		t.Errorf("status %d: an event the app could not check was acknowledged", w.Code)
	}
	if n := len(h.engine.Inbounds()); n != 0 {
		t.Errorf("the engine saw %d inputs", n)
	}
}
