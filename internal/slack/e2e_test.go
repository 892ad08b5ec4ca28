package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/candid-app/candid/internal/store"
)

// button is a Block Kit button as posted.
type button struct {
	ActionID string `json:"action_id"`
	Value    string `json:"value"`
	Text     struct {
		Text string `json:"text"`
	} `json:"text"`
}

// buttonsOf returns the buttons of a posted message.
func buttonsOf(t testing.TB, c apiCall) []button {
	t.Helper()
	var blocks []struct {
		Type     string          `json:"type"`
		Elements json.RawMessage `json:"elements"`
	}
	if err := json.Unmarshal([]byte(c.Form.Get("blocks")), &blocks); err != nil {
		t.Fatal(err)
	}
	var out []button
	for _, b := range blocks {
		if b.Type == "actions" {
			var els []button
			if err := json.Unmarshal(b.Elements, &els); err != nil {
				t.Fatal(err)
			}
			out = append(out, els...)
		}
	}
	return out
}

func postsTo(calls []apiCall, channel string) []apiCall {
	var out []apiCall
	for _, c := range calls {
		if c.Form.Get("channel") == channel {
			out = append(out, c)
		}
	}
	return out
}

// TestAcceptanceEndToEnd is the acceptance test, over HTTP mode
// with the real engine (shipped FAQ) and the real moderation service on a
// bbolt file: a Slack asker DMs a question the FAQ does not cover, asks a
// therapist, the ticket appears in the moderators' channel, a
// non-moderator's click changes nothing, a moderator writes and sends an
// answer through the modal, the asker's DM receives exactly one answer, the
// channel message shows who answered, and the bbolt file holds no Slack
// user or DM channel ID in clear.
func TestAcceptanceEndToEnd(t *testing.T) {
	h := newHarness(t, harnessOptions{realEngine: true})
	h.run()
	ctx := context.Background()
	const question = "What did the ancient Romans think about marriage, and does any of it still apply to couples today?"

	// 1. The asker DMs the app.
	if w := h.post("/slack/events", fixture(t, "event_message_im.json", map[string]any{"event.text": question})); w.Code != http.StatusOK {
		t.Fatalf("event: %d", w.Code)
	}
	dms := postsTo(h.slack.Calls("chat.postMessage"), testDM)
	if len(dms) != 1 {
		t.Fatalf("replies: %d", len(dms))
	}
	var ask *button
	for _, b := range buttonsOf(t, dms[0]) {
		if b.Text.Text == "Helpful" {
			t.Fatalf("the FAQ answered this question; pick one it does not cover: %s", dms[0].text())
		}
		if b.Text.Text == "Ask a therapist" {
			ask = &b
		}
	}
	if ask == nil {
		t.Fatalf("no Ask a therapist button: %s", dms[0].text())
	}

	// 2. The asker presses Ask a therapist (the button exactly as posted).
	body := fixture(t, "block_actions_asker.json", map[string]any{"actions.0.action_id": ask.ActionID, "actions.0.value": ask.Value})
	if w := h.post("/slack/interactivity", interactionBody(body)); w.Code != http.StatusOK {
		t.Fatalf("press: %d", w.Code)
	}
	dms = postsTo(h.slack.Calls("chat.postMessage"), testDM)
	if len(dms) != 2 || !strings.Contains(dms[1].text(), "Sent.") {
		t.Fatalf("after Ask a therapist: %+v", dms)
	}

	// 3. The ticket appears in the moderators' channel.
	var post apiCall
	for deadline := time.Now().Add(10 * time.Second); ; {
		if ps := postsTo(h.slack.Calls("chat.postMessage"), testModChan); len(ps) > 0 {
			post = ps[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no ticket message in the moderators' channel")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(post.text(), question) {
		t.Errorf("ticket message lacks the question: %s", post.text())
	}
	var ticketID string
	for _, b := range buttonsOf(t, post) {
		if b.ActionID == actWrite {
			ticketID, _ = h.app.sig.verify(purposeTicket, b.Value)
		}
	}
	if ticketID == "" {
		t.Fatalf("no Write answer… button: %s", post.text())
	}
	before, err := h.mod.Ticket(ctx, ticketID)
	if err != nil || before.State != store.TicketOpen || before.Platform != "slack" {
		t.Fatalf("ticket %+v %v", before, err)
	}

	// 4. A non-moderator's clicks change nothing.
	for _, act := range []string{actWrite, actClaim, actReject, actBlock} {
		h.press(testOutsider, act, ticketID)
	}
	if after, _ := h.mod.Ticket(ctx, ticketID); after.Version != before.Version || after.State != store.TicketOpen {
		t.Fatalf("a non-moderator changed the ticket: %+v", after)
	}
	if n := len(h.slack.Calls("views.open")); n != 0 {
		t.Fatalf("a non-moderator opened %d modals", n)
	}

	// 5. A moderator clicks Write answer…, previews and sends.
	h.press(testMod, actWrite, ticketID)
	open := h.slack.waitFor("views.open", 1)[0]
	const answer = "A reversal often works, but it can take **several months** for sperm to return. Your urologist can check with a semen analysis."
	w := h.submit(testMod, "view_submission_write.json", map[string]any{
		"view.private_metadata": metadataOf(t, open.JSON["view"]), "view.state.values.answer.text.value": answer})
	preview := viewResponse(t, w)
	if preview["response_action"] != "update" || !strings.Contains(w.Body.String(), "*several months*") {
		t.Fatalf("preview: %s", w.Body)
	}
	w = h.submit(testMod, "view_submission_confirm.json", map[string]any{"view.private_metadata": metadataOf(t, preview["view"])})
	if resp := viewResponse(t, w); resp["response_action"] != "clear" {
		t.Fatalf("send: %s", w.Body)
	}
	if n, err := h.mod.DeliverDue(ctx); err != nil || n != 1 {
		t.Fatalf("DeliverDue: %d %v", n, err)
	}

	// 6. The asker's DM receives exactly one answer.
	dms = postsTo(h.slack.Calls("chat.postMessage"), testDM)
	var answers []apiCall
	for _, c := range dms {
		if strings.Contains(c.text(), "answered your question") {
			answers = append(answers, c)
		}
	}
	if len(answers) != 1 || len(dms) != 3 {
		t.Fatalf("asker got %d answers in %d DMs", len(answers), len(dms))
	}
	if !strings.Contains(answers[0].text(), "*several months*") {
		t.Errorf("answer %s", answers[0].text())
	}
	// Running delivery again sends nothing more.
	if n, _ := h.mod.DeliverDue(ctx); n != 0 || len(postsTo(h.slack.Calls("chat.postMessage"), testDM)) != 3 {
		t.Errorf("second delivery sent again")
	}

	// 7. The channel message shows who answered (and, later, delivery).
	for deadline := time.Now().Add(10 * time.Second); ; {
		ups := h.slack.Calls("chat.update")
		if len(ups) > 0 {
			last := ups[len(ups)-1].text()
			if strings.Contains(last, "answered by <@"+testMod+">") && strings.Contains(last, "delivered") {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no update shows the answer: %+v", ups)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// 8. No asker identity anywhere it must not be.
	for _, c := range h.slack.Calls("") {
		if c.Form.Get("channel") == testModChan || c.Method == "views.open" {
			for _, secret := range []string{testAsker, testDM} {
				if strings.Contains(c.Raw, secret) {
					t.Errorf("%s to moderators shows %s", c.Method, secret)
				}
			}
		}
	}
	logs := h.logs.String()
	for _, secret := range []string{testAsker, testDM, question} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
	db, err := os.ReadFile(h.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(db, []byte("ancient Romans")) {
		t.Fatal("the scrubbed question is not in the file: this check would prove nothing")
	}
	for _, secret := range []string{testAsker, testDM, testTeam + ":" + testAsker} {
		if bytes.Contains(db, []byte(secret)) {
			t.Errorf("the bbolt file holds %q in clear", secret)
		}
	}
}
