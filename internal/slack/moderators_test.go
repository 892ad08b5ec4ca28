package slack

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack/slacktest"

	"github.com/candid-app/candid/internal/identity"
	"github.com/candid-app/candid/internal/moderation"
	"github.com/candid-app/candid/internal/store"
)

// TestTicketPosted: a new ticket appears in the moderation channel with the
// question (as plain text), urgency, age, candidates, the draft slot and the
// buttons — and nothing that identifies the asker.
func TestTicketPosted(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.run()
	tk := h.openTicket("Is it <!channel> normal & ok?", func(tk *store.Ticket) {
		tk.Urgent, tk.Category = true, "self_harm"
		tk.Candidates = []store.Candidate{{FAQID: "condom-broke", Score: 0.41}}
	})
	post := h.slack.waitFor("chat.postMessage", 1)[0]
	if post.Form.Get("channel") != testModChan {
		t.Fatalf("posted to %q", post.Form.Get("channel"))
	}
	var blocks []map[string]any
	if err := json.Unmarshal([]byte(post.Form.Get("blocks")), &blocks); err != nil {
		t.Fatal(err)
	}
	all := post.text()
	for _, want := range []string{tk.ID, ":rotating_light: *URGENT*", "self_harm", "<!date^", "{ago}", "condom-broke", "No draft",
		actClaim, actFAQ, actWrite, actBooking, actBlock, "Send FAQ answer…", "Write answer…", "Recommend booking", "Block asker"} {
		if !strings.Contains(all, want) {
			t.Errorf("ticket message lacks %q", want)
		}
	}
	// An urgent ticket is never rejected as spam or off topic.
	if strings.Contains(all, actReject) || strings.Contains(all, "Reject…") {
		t.Error("an urgent ticket offers Reject")
	}
	// An ordinary one does.
	ordinary, _ := h.app.ticketMessage(store.Ticket{ID: "t9", State: store.TicketOpen, Question: "q"}, ticketRef{})
	if b := unescapedJSON(ordinary); !strings.Contains(b, actReject) || !strings.Contains(b, "Reject…") {
		t.Error("an ordinary ticket lacks Reject")
	}
	// The question is plain_text: its "<!channel>" cannot ping anyone.
	var found bool
	for _, b := range blocks {
		if txt, ok := b["text"].(map[string]any); ok && txt["text"] == "Is it <!channel> normal & ok?" {
			found = txt["type"] == "plain_text"
		}
	}
	if !found {
		t.Errorf("question not shown as plain_text: %s", post.Form.Get("blocks"))
	}
	for _, secret := range []string{testAsker, testDM, h.keys.Handle("slack", testTeam+":"+testAsker)} {
		if strings.Contains(all, secret) {
			t.Errorf("ticket message shows %q", secret)
		}
	}
	if fb := post.Form.Get("text"); !strings.Contains(fb, "URGENT question in the queue") || strings.Contains(fb, "normal") {
		t.Errorf("notification text %q", fb)
	}
}

// TestDraftShown: an AI draft is labelled as needing approval, and the
// Write answer… modal starts from it.
func TestDraftShown(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.run()
	tk := h.openTicket("question")
	h.slack.waitFor("chat.postMessage", 1)
	// The ticket message is rendered from the ticket; check the draft slot.
	tk.Draft, tk.DraftModel = "Draft <b>answer</b>", "llama-3"
	blocks, _ := h.app.ticketMessage(tk, ticketRef{})
	b := unescapedJSON(blocks)
	if !strings.Contains(b, "AI draft — not sent.") || !strings.Contains(b, `"type":"plain_text","text":"Draft <b>answer</b>"`) || strings.Contains(b, "No draft") {
		t.Errorf("draft slot: %s", b)
	}
	v := h.app.writeView(tk)
	vb, _ := json.Marshal(v)
	if !strings.Contains(string(vb), `"initial_value":"Draft \u003cb\u003eanswer\u003c/b\u003e"`) {
		t.Errorf("write modal does not start from the draft: %s", vb)
	}
}

// TestClaimAndFailClosed: a moderator's click changes the ticket and the
// message; anyone else's click is refused with an ephemeral note and
// changes nothing.
func TestClaimAndFailClosed(t *testing.T) {
	h := newHarness(t, harnessOptions{moderators: []string{testMod, testGroup}})
	h.slack.setGroup(testGroup, testGroupMod)
	h.run()
	tk := h.openTicket("question")
	h.slack.waitFor("chat.postMessage", 1)

	// Outsider: told no, nothing changes.
	if w := h.press(testOutsider, actClaim, tk.ID); w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	eph := h.slack.waitFor("chat.postEphemeral", 1)
	if eph[0].Form.Get("user") != testOutsider || !strings.Contains(eph[0].Form.Get("text"), "Only the clinic's moderators") {
		t.Errorf("ephemeral %+v", eph[0].Form)
	}
	for _, act := range []string{actWrite, actFAQ, actReject, actBooking, actBlock, actRelease} {
		h.press(testOutsider, act, tk.ID)
	}
	got, _ := h.mod.Ticket(context.Background(), tk.ID)
	if got.State != store.TicketOpen || got.Version != tk.Version {
		t.Fatalf("outsider changed the ticket: %+v", got)
	}
	if n := len(h.slack.Calls("views.open")); n != 0 {
		t.Errorf("outsider opened %d modals", n)
	}
	if blocked, _ := h.st.Blocked(context.Background(), h.keys.Handle("slack", testTeam+":"+testAsker)); blocked {
		t.Errorf("outsider blocked the asker")
	}

	// Moderator: claims; the message updates in place.
	h.press(testMod, actClaim, tk.ID)
	up := h.slack.waitUpdate("claimed by <@"+testMod+">", actRelease)
	if up.Form.Get("channel") != testModChan || up.Form.Get("ts") != "1767230000.000001" {
		t.Errorf("updated %s/%s", up.Form.Get("channel"), up.Form.Get("ts"))
	}
	got, _ = h.mod.Ticket(context.Background(), tk.ID)
	if got.State != store.TicketClaimed || got.ClaimedBy != "slack:"+testMod {
		t.Fatalf("ticket %+v", got)
	}

	// A group member may act; the group's members come from Slack.
	n := len(h.slack.Calls("chat.postEphemeral"))
	h.press(testGroupMod, actClaim, tk.ID)
	eph = h.slack.waitFor("chat.postEphemeral", n+1)
	if !strings.Contains(eph[n].Form.Get("text"), "claimed by another moderator") {
		t.Errorf("group moderator: %q", eph[n].Form.Get("text"))
	}
	if calls := h.slack.Calls("usergroups.users.list"); len(calls) != 1 || calls[0].Form.Get("usergroup") != testGroup {
		t.Errorf("usergroups.users.list %+v", calls)
	}
	h.press(testMod, actRelease, tk.ID)
	h.slack.waitUpdate("open, waiting for a moderator", actClaim)
	h.press(testGroupMod, actClaim, tk.ID)
	h.slack.waitUpdate("claimed by <@" + testGroupMod + ">")
	if n := len(h.slack.Calls("usergroups.users.list")); n != 1 {
		t.Errorf("group listed %d times: the cache did not hold", n)
	}
}

// TestGroupListFailureFailsClosed: if the group cannot be read, its members
// cannot act.
func TestGroupListFailureFailsClosed(t *testing.T) {
	h := newHarness(t, harnessOptions{moderators: []string{testGroup}})
	// No group configured in the fake: usergroups.users.list fails.
	h.run()
	tk := h.openTicket("question")
	h.slack.waitFor("chat.postMessage", 1)
	h.press(testGroupMod, actClaim, tk.ID)
	h.slack.waitFor("chat.postEphemeral", 1)
	if got, _ := h.mod.Ticket(context.Background(), tk.ID); got.State != store.TicketOpen {
		t.Fatalf("state %s", got.State)
	}
}

// TestNoAllowList: with no moderators configured nothing can be approved,
// and New warns loudly.
func TestNoAllowList(t *testing.T) {
	h := newHarness(t, harnessOptions{moderators: []string{}})
	if !strings.Contains(h.logs.String(), "NO MODERATORS CONFIGURED") {
		t.Errorf("no warning: %s", h.logs)
	}
	h.run()
	tk := h.openTicket("question")
	h.slack.waitFor("chat.postMessage", 1)
	h.press(testMod, actClaim, tk.ID)
	h.slack.waitFor("chat.postEphemeral", 1)
	w := h.submit(testMod, "view_submission_confirm.json", map[string]any{"view.private_metadata": h.app.sig.sign("modal/"+cbConfirm, "x")})
	if resp := viewResponse(t, w); resp["response_action"] != "update" || !strings.Contains(w.Body.String(), "Only the clinic") {
		t.Errorf("submission: %s", w.Body)
	}
	if got, _ := h.mod.Ticket(context.Background(), tk.ID); got.State != store.TicketOpen {
		t.Fatalf("state %s", got.State)
	}
}

// TestWriteAnswerFlow: Write answer… opens a modal; submitting it shows a
// preview of exactly what the asker will get; sending it answers the ticket.
func TestWriteAnswerFlow(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.run()
	tk := h.openTicket("question")
	h.slack.waitFor("chat.postMessage", 1)

	h.press(testMod, actWrite, tk.ID)
	open := h.slack.waitFor("views.open", 1)[0]
	view := open.JSON["view"]
	if open.JSON["trigger_id"] != "7834728743.4587209347.5c2f6a1b8e0d4c3f9a7b6e5d4c3b2a19" || !strings.Contains(open.Raw, `"callback_id":"candid_write"`) {
		t.Fatalf("views.open %s", open.Raw)
	}
	meta := metadataOf(t, view)

	// Empty answer: an error on the input, nothing stored.
	w := h.submit(testMod, "view_submission_write.json", map[string]any{"view.private_metadata": meta, "view.state.values.answer.text.value": "   "})
	resp := viewResponse(t, w)
	if resp["response_action"] != "errors" || resp["errors"].(map[string]any)["answer"] == nil {
		t.Fatalf("empty answer: %s", w.Body)
	}

	// Forged metadata: refused.
	w = h.submit(testMod, "view_submission_write.json", map[string]any{"view.private_metadata": tk.ID, "view.state.values.answer.text.value": "hi"})
	if resp := viewResponse(t, w); resp["response_action"] != "update" || !strings.Contains(w.Body.String(), "not valid any more") {
		t.Fatalf("forged metadata: %s", w.Body)
	}

	answer := "**Yes**, that is common & normal. See [this](https://example.org/a)."
	w = h.submit(testMod, "view_submission_write.json", map[string]any{"view.private_metadata": meta, "view.state.values.answer.text.value": answer})
	resp = viewResponse(t, w)
	if resp["response_action"] != "update" {
		t.Fatalf("preview: %s", w.Body)
	}
	preview, _ := h.mod.Preview(moderation.Answer{Text: answer})
	body := w.Body.String()
	for _, chunk := range mrkdwnChunks(preview, sectionLimit) {
		b, _ := json.Marshal(chunk)
		if !strings.Contains(body, string(b[1:len(b)-1])) {
			t.Errorf("preview lacks %s", b)
		}
	}
	confirmMeta := metadataOf(t, resp["view"])
	if got, _ := h.mod.Ticket(context.Background(), tk.ID); got.State != store.TicketOpen {
		t.Fatalf("previewing changed the ticket: %s", got.State)
	}

	// Another moderator cannot send this moderator's preview.
	w = h.submit("U0MOD0002", "view_submission_confirm.json", map[string]any{"view.private_metadata": confirmMeta})
	if !strings.Contains(w.Body.String(), "Only the clinic") {
		t.Errorf("other user: %s", w.Body)
	}

	w = h.submit(testMod, "view_submission_confirm.json", map[string]any{"view.private_metadata": confirmMeta})
	if resp := viewResponse(t, w); resp["response_action"] != "clear" {
		t.Fatalf("send: %s", w.Body)
	}
	got, _ := h.mod.Ticket(context.Background(), tk.ID)
	if got.State != store.TicketAnswered || got.ActedBy != "slack:"+testMod || got.Answer != preview {
		t.Fatalf("ticket %+v", got)
	}
	h.slack.waitUpdate("answered by <@" + testMod + ">")

	// Submitting the same preview again sends nothing more.
	w = h.submit(testMod, "view_submission_confirm.json", map[string]any{"view.private_metadata": confirmMeta})
	if !strings.Contains(w.Body.String(), "already sent") {
		t.Errorf("second send: %s", w.Body)
	}
	if n, err := h.mod.DeliverDue(context.Background()); err != nil || n != 1 {
		t.Fatalf("DeliverDue %d %v", n, err)
	}
	dms := 0
	for _, c := range h.slack.Calls("chat.postMessage") {
		if c.Form.Get("channel") == testDM {
			dms++
		}
	}
	if dms != 1 {
		t.Errorf("asker got %d messages", dms)
	}
}

// TestRejectAndFAQAndBooking covers the other modals and buttons.
func TestRejectAndFAQAndBooking(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.run()
	tk := h.openTicket("question", func(tk *store.Ticket) { tk.Candidates = []store.Candidate{{FAQID: "condom-broke", Score: 0.5}} })
	h.slack.waitFor("chat.postMessage", 1)

	// Recommend booking without a booking URL: explained, nothing opened.
	h.press(testMod, actBooking, tk.ID)
	eph := h.slack.waitFor("chat.postEphemeral", 1)
	if !strings.Contains(eph[0].Form.Get("text"), "booking") {
		t.Errorf("booking: %q", eph[0].Form.Get("text"))
	}

	// Send FAQ answer…: candidates offered; the preview is the FAQ text.
	h.press(testMod, actFAQ, tk.ID)
	open := h.slack.waitFor("views.open", 1)[0]
	if !strings.Contains(open.Raw, `"value":"condom-broke"`) || !strings.Contains(open.Raw, `"callback_id":"candid_faq"`) {
		t.Fatalf("faq modal %s", open.Raw)
	}
	w := h.submit(testMod, "view_submission_write.json", map[string]any{
		"view.callback_id": cbFAQ, "view.private_metadata": metadataOf(t, open.JSON["view"]),
		"view.state.values": map[string]any{"faq": map[string]any{"faq": map[string]any{"type": "static_select", "selected_option": map[string]any{"value": "nope"}}}},
	})
	if resp := viewResponse(t, w); resp["response_action"] != "errors" || !strings.Contains(w.Body.String(), "no FAQ entry") {
		t.Errorf("unknown FAQ: %s", w.Body)
	}
	w = h.submit(testMod, "view_submission_write.json", map[string]any{
		"view.callback_id": cbFAQ, "view.private_metadata": metadataOf(t, open.JSON["view"]),
		"view.state.values": map[string]any{"faq": map[string]any{"faq": map[string]any{"type": "static_select", "selected_option": map[string]any{"value": "condom-broke"}}}},
	})
	if resp := viewResponse(t, w); resp["response_action"] != "update" || !strings.Contains(w.Body.String(), "Take emergency contraception *soon*.") {
		t.Fatalf("faq preview: %s", w.Body)
	}

	// Reject…: reasons offered; an unknown one is refused on the field.
	h.press(testMod, actReject, tk.ID)
	open = h.slack.waitFor("views.open", 2)[1]
	if !strings.Contains(open.Raw, `"value":"spam"`) {
		t.Fatalf("reject modal %s", open.Raw)
	}
	rejectMeta := metadataOf(t, open.JSON["view"])
	reject := func(code string) map[string]any {
		w := h.submit(testMod, "view_submission_write.json", map[string]any{
			"view.callback_id": cbReject, "view.private_metadata": rejectMeta,
			"view.state.values": map[string]any{"reason": map[string]any{"reason": map[string]any{"type": "static_select", "selected_option": map[string]any{"value": code}}}},
		})
		return viewResponse(t, w)
	}
	if resp := reject("bogus"); resp["response_action"] != "errors" {
		t.Errorf("bogus reason: %v", resp)
	}
	if resp := reject("spam"); resp["response_action"] != "clear" {
		t.Fatalf("reject: %v", resp)
	}
	got, _ := h.mod.Ticket(context.Background(), tk.ID)
	if got.State != store.TicketRejected || got.RejectReason != "spam" {
		t.Fatalf("ticket %+v", got)
	}
	if up := h.slack.waitUpdate("rejected by <@" + testMod + "> (spam)"); strings.Contains(up.text(), actClaim) {
		t.Errorf("update %s", up.text())
	}
	// A closed ticket offers no more modals.
	h.press(testMod, actWrite, tk.ID)
	eph = h.slack.waitFor("chat.postEphemeral", 2)
	if !strings.Contains(eph[1].Form.Get("text"), "not possible") {
		t.Errorf("write on a closed ticket: %q", eph[1].Form.Get("text"))
	}
}

// TestBookingAndBlock: Recommend booking previews before sending; Block
// asker blocks without revealing who.
func TestBookingAndBlock(t *testing.T) {
	h := newHarness(t, harnessOptions{bookingURL: "https://clinic.example/book"})
	h.run()
	tk := h.openTicket("question")
	h.slack.waitFor("chat.postMessage", 1)
	h.press(testMod, actBooking, tk.ID)
	open := h.slack.waitFor("views.open", 1)[0]
	if !strings.Contains(open.Raw, "candid_confirm") || !strings.Contains(open.Raw, "https://clinic.example/book") {
		t.Fatalf("booking preview %s", open.Raw)
	}
	w := h.submit(testMod, "view_submission_confirm.json", map[string]any{"view.private_metadata": metadataOf(t, open.JSON["view"])})
	if resp := viewResponse(t, w); resp["response_action"] != "clear" {
		t.Fatalf("send: %s", w.Body)
	}
	if got, _ := h.mod.Ticket(context.Background(), tk.ID); got.State != store.TicketBooked {
		t.Fatalf("state %s", got.State)
	}

	h.press(testMod, actBlock, tk.ID)
	eph := h.slack.waitFor("chat.postEphemeral", 1)
	if !strings.Contains(eph[0].Form.Get("text"), "Blocked") {
		t.Errorf("block: %q", eph[0].Form.Get("text"))
	}
	if blocked, _ := h.st.Blocked(context.Background(), h.keys.Handle("slack", testTeam+":"+testAsker)); !blocked {
		t.Fatal("not blocked")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ups := h.slack.Calls("chat.update")
		if len(ups) > 0 && strings.Contains(ups[len(ups)-1].text(), "asker blocked by <@"+testMod+">") {
			if strings.Contains(ups[len(ups)-1].text(), actBlock) {
				t.Errorf("still offers Block asker")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no update shows the block: %+v", ups)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestConsoleActionsShowInSlack: what staff do in the console (the same
// moderation service) updates the Slack message, and /forget wipes the
// question from it.
func TestConsoleActionsShowInSlack(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.run()
	tk := h.openTicket("a very private question")
	h.slack.waitFor("chat.postMessage", 1)
	console := moderation.Actor{Name: "alice <admin>", Role: moderation.RoleModerator}
	if _, err := h.mod.Claim(context.Background(), console, tk.ID); err != nil {
		t.Fatal(err)
	}
	h.slack.waitUpdate("claimed by *alice &lt;admin&gt;*")
	if _, err := h.mod.Forget(context.Background(), h.keys.Handle("slack", testTeam+":"+testAsker)); err != nil {
		t.Fatal(err)
	}
	last := h.slack.waitUpdate("withdrew this question")
	if strings.Contains(last.text(), "a very private question") || strings.Contains(last.text(), actClaim) {
		t.Errorf("after /forget: %s", last.text())
	}
}

// TestResync: tickets opened while the app was not running are posted when
// it starts, once.
func TestResync(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	tk := h.openTicket("asked while Slack was down")
	h.run()
	post := h.slack.waitFor("chat.postMessage", 1)[0]
	if !strings.Contains(post.text(), tk.ID) {
		t.Fatalf("post %s", post.text())
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ref, ok, err := h.app.loadRef(context.Background(), tk.ID)
		if ok && ref.Channel == testModChan && ref.TS == "1767230000.000001" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ref %+v %v %v", ref, ok, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDeliver: later answers reach the DM once; permanent failures are
// ErrUndeliverable.
func TestDeliver(t *testing.T) {
	h := newHarness(t, harnessOptions{noChannel: true})
	seal := func(addr identity.Address, exp time.Time) []byte {
		b, err := h.keys.Seal(addr, exp)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := seal(identity.Address{Platform: "slack", To: testDM}, time.Now().Add(time.Hour))
	item := store.OutboxItem{ID: "out1", TicketID: "t1", Handle: "h_x", Platform: "slack", Address: good, Kind: "therapist",
		Text: "A therapist at Example Clinic answered your question:\n\n**Yes.**", Buttons: []store.Button{{Label: "Helpful", Action: "helpful:x"}}}
	ctx := context.Background()
	if err := h.app.Deliver(ctx, item); err != nil {
		t.Fatal(err)
	}
	posts := h.slack.Calls("chat.postMessage")
	if len(posts) != 1 || posts[0].Form.Get("channel") != testDM || !strings.Contains(posts[0].text(), "answered your question:\\n\\n*Yes.*") {
		t.Fatalf("posts %+v", posts)
	}
	if err := h.app.Deliver(ctx, item); err != nil || len(h.slack.Calls("chat.postMessage")) != 1 {
		t.Errorf("redelivery sent again (%v)", err)
	}

	for name, it := range map[string]store.OutboxItem{
		"expired address": {ID: "o2", Platform: "slack", Address: seal(identity.Address{Platform: "slack", To: testDM}, time.Now().Add(-time.Second))},
		"foreign address": {ID: "o3", Platform: "slack", Address: seal(identity.Address{Platform: "telegram", To: "12345"}, time.Now().Add(time.Hour))},
		"not a DM":        {ID: "o4", Platform: "slack", Address: seal(identity.Address{Platform: "slack", To: "C0GENERAL1"}, time.Now().Add(time.Hour))},
		"garbage address": {ID: "o5", Platform: "slack", Address: []byte("garbage")},
		"other key": {ID: "o6", Platform: "slack", Address: func() []byte {
			b, _ := identity.RandomKeys().Seal(identity.Address{Platform: "slack", To: testDM}, time.Now().Add(time.Hour))
			return b
		}()},
		"other platform":     {ID: "o7", Platform: "telegram", Address: good},
		"no address at all":  {ID: "o8", Platform: "slack"},
		"Slack says it gone": {ID: "o9", Platform: "slack", Address: good, Text: "x"},
	} {
		if name == "Slack says it gone" {
			h.slack.fail("chat.postMessage", "channel_not_found")
		}
		if err := h.app.Deliver(ctx, it); !errors.Is(err, moderation.ErrUndeliverable) {
			t.Errorf("%s: %v, want ErrUndeliverable", name, err)
		}
	}
	// A transient failure is not permanent.
	h.slack.fail("chat.postMessage", "internal_error")
	if err := h.app.Deliver(ctx, store.OutboxItem{ID: "o10", Platform: "slack", Address: good, Text: "x"}); err == nil || errors.Is(err, moderation.ErrUndeliverable) {
		t.Errorf("transient: %v", err)
	}
}

// TestRateLimit: a 429 with Retry-After is waited out and retried; a wait
// Slack wants too long is given back to the caller.
func TestRateLimit(t *testing.T) {
	h := newHarness(t, harnessOptions{noChannel: true})
	good, _ := h.keys.Seal(identity.Address{Platform: "slack", To: testDM}, time.Now().Add(time.Hour))
	h.slack.rateLimit("chat.postMessage", "7", "3")
	if err := h.app.Deliver(context.Background(), store.OutboxItem{ID: "o1", Platform: "slack", Address: good, Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	if got := h.Sleeps(); len(got) != 2 || got[0] != 7*time.Second || got[1] != 3*time.Second {
		t.Errorf("waited %v, want [7s 3s]", got)
	}
	if n := len(h.slack.Calls("chat.postMessage")); n != 1 {
		t.Errorf("posted %d", n)
	}
	// Retry-After beyond the cap: no wait, an error (the outbox retries later).
	h.slack.rateLimit("chat.postMessage", "600")
	err := h.app.Deliver(context.Background(), store.OutboxItem{ID: "o2", Platform: "slack", Address: good, Text: "hi"})
	if err == nil || errors.Is(err, moderation.ErrUndeliverable) || len(h.Sleeps()) != 2 {
		t.Errorf("long Retry-After: %v, sleeps %v", err, h.Sleeps())
	}
	// A 429 without Retry-After waits a second.
	h.slack.rateLimit("chat.postMessage", "")
	if err := h.app.Deliver(context.Background(), store.OutboxItem{ID: "o3", Platform: "slack", Address: good, Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	if got := h.Sleeps(); len(got) != 3 || got[2] != time.Second {
		t.Errorf("waited %v", got)
	}
	// Too many 429s in a row: the error is returned.
	h.slack.rateLimit("chat.postMessage", "1", "1", "1", "1", "1")
	if err := h.app.Deliver(context.Background(), store.OutboxItem{ID: "o4", Platform: "slack", Address: good, Text: "hi"}); err == nil {
		t.Error("endless 429s: no error")
	}
}

// TestNewValidation: configuration mistakes are caught with a useful message.
func TestNewValidation(t *testing.T) {
	base := func() Options {
		return Options{BotToken: "xoxb-1", AppToken: "xapp-1", Keys: identity.RandomKeys(), Store: &memStore{}, Engine: &fakeEngine{}}
	}
	tests := []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"ok socket", func(o *Options) {}, ""},
		{"ok http", func(o *Options) { o.AppToken, o.SigningSecret = "", "s" }, ""},
		{"no transport", func(o *Options) { o.AppToken = "" }, "CANDID_SLACK_APP_TOKEN"},
		{"no bot token", func(o *Options) { o.BotToken = "" }, "BotToken"},
		{"user token", func(o *Options) { o.BotToken = "xoxp-1" }, "xoxb-"},
		{"bot token as app token", func(o *Options) { o.AppToken = "xoxb-1" }, "xapp-"},
		{"channel name", func(o *Options) { o.ModerationChannel = "#mods"; o.Moderation = &moderation.Service{} }, "channel ID"},
		{"channel without service", func(o *Options) { o.ModerationChannel = testModChan }, "Moderation"},
		{"bad moderator", func(o *Options) { o.Moderators = []string{"jane"} }, "user ID"},
		{"no engine", func(o *Options) { o.Engine = nil }, "Engine"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base()
			tt.edit(&o)
			_, err := New(o)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("err %v, want %q", err, tt.want)
			}
		})
	}
}

// memStore is a Store in memory, for tests that need no bbolt file.
type memStore struct{}

func (*memStore) Once(context.Context, string, time.Duration) (bool, error) { return true, nil }
func (*memStore) PutState(context.Context, string, string, []byte, time.Duration) error {
	return nil
}
func (*memStore) State(context.Context, string, string) ([]byte, error) {
	return nil, store.ErrNotFound
}
func (*memStore) DeleteState(context.Context, string, string) error { return nil }

// TestRunTokenRefused: a refused bot token stops Run with a useful error;
// an unreachable Slack is retried with backoff.
func TestRunTokenRefused(t *testing.T) {
	h := newHarness(t, harnessOptions{slack: func(c slacktest.Customize) {
		c.Handle("/auth.test", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"ok":false,"error":"invalid_auth"}`))
		})
	}})
	err := h.app.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "CANDID_SLACK_BOT_TOKEN") {
		t.Fatalf("Run: %v", err)
	}

	var calls atomic.Int32
	h = newHarness(t, harnessOptions{slack: func(c slacktest.Customize) {
		c.Handle("/auth.test", func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) <= 2 {
				http.Error(w, "down", http.StatusBadGateway)
				return
			}
			w.Write([]byte(`{"ok":true,"user_id":"` + testBotUser + `","team_id":"` + testTeam + `"}`))
		})
	}})
	h.run()
	waitBot(t, h.app)
	if got := h.Sleeps(); len(got) != 2 || got[0] != time.Second || got[1] != 2*time.Second {
		t.Errorf("backoff %v", got)
	}
}

// TestPendingCollapse: news about one ticket collapses into one update, in
// order of first arrival, and a ticket closed before it was ever posted is
// still posted (showing how it was closed).
func TestPendingCollapse(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	a := h.app
	a.enqueue("t1", pendingTicket{kind: "opened"})
	a.enqueue("t2", pendingTicket{kind: "opened"})
	a.enqueue("t1", pendingTicket{kind: "answered", actor: "slack:" + testMod})
	a.enqueue("t2", pendingTicket{kind: "blocked", actor: "slack:" + testMod})
	a.enqueue("t2", pendingTicket{kind: "delivered"})
	a.enqueue("t1", pendingTicket{kind: "opened"}) // a resync adds nothing
	id, p, ok := a.next()
	if !ok || id != "t1" || p.kind != "answered" || !p.opened {
		t.Errorf("first: %s %+v", id, p)
	}
	id, p, ok = a.next()
	if !ok || id != "t2" || p.kind != "blocked" || p.actor != "slack:"+testMod || !p.opened {
		t.Errorf("second: %s %+v", id, p)
	}
	if _, _, ok := a.next(); ok {
		t.Error("more news than given")
	}

	// Closed before it was posted: still posted, once, with its outcome.
	tk := h.openTicket("question")
	if _, err := h.mod.Reject(context.Background(), moderation.Actor{Name: "alice", Role: moderation.RoleModerator}, tk.ID, "spam"); err != nil {
		t.Fatal(err)
	}
	h.run()
	// Run's resync skips closed tickets; the events came before Run
	// subscribed, so hand them over as the subscription would have.
	a.enqueue(tk.ID, pendingTicket{kind: "opened"})
	a.enqueue(tk.ID, pendingTicket{kind: "rejected", actor: "alice"})
	post := h.slack.waitFor("chat.postMessage", 1)[0]
	if !strings.Contains(post.text(), "rejected by *alice* (spam)") {
		t.Errorf("post %s", post.text())
	}
}

// TestTierShown: moderators see the tier, the kind and what set the tier
// (a rule id or the model's score) on urgent and concern tickets, and
// nothing of the kind on an ordinary one.
func TestTierShown(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	for _, tc := range []struct {
		name     string
		tk       store.Ticket
		want     []string
		wantNot  []string
		fallback string
	}{
		{"urgent rule", store.Ticket{ID: "t1", State: store.TicketOpen, Question: "q", Urgent: true, Tier: "urgent", Category: "suicide", Why: "suicide-plan"},
			[]string{"Urgent question t1", "*URGENT*", "suicide", "_rule suicide-plan_"}, []string{"CONCERN"}, "URGENT question"},
		{"concern model", store.Ticket{ID: "t2", State: store.TicketOpen, Question: "q", Tier: "concern", Category: "sextortion", Why: "model 0.58"},
			[]string{"Concern: question t2", "*CONCERN*", "sextortion", "_model 0.58_"}, []string{"*URGENT*"}, "Concern question"},
		{"ordinary", store.Ticket{ID: "t3", State: store.TicketOpen, Question: "q"},
			[]string{"Question t3"}, []string{"URGENT", "CONCERN", "rule ", "model"}, "New question"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			blocks, fb := h.app.ticketMessage(tc.tk, ticketRef{})
			b := unescapedJSON(blocks)
			for _, w := range tc.want {
				if !strings.Contains(b, w) {
					t.Errorf("missing %q in %s", w, b)
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(b, w) {
					t.Errorf("unexpected %q in %s", w, b)
				}
			}
			if !strings.Contains(fb, tc.fallback) {
				t.Errorf("fallback %q, want %q", fb, tc.fallback)
			}
		})
	}
}
