package slack

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/candid-app/candid/internal/conversation"
	"github.com/candid-app/candid/internal/moderation"
	"github.com/candid-app/candid/internal/store"
)

const (
	emergency = "I have been saving up my pills and tonight I want to kill myself"
	ordinary  = "how do I put on a condom"
	slowText  = "/start" // the gated engine holds this one until released
)

// gatedEngine is the real engine, except that Handle of slowText waits for
// the gate: an answer that is slow to come, so that the asker's next inputs
// wait their turn.
type gatedEngine struct {
	*conversation.Engine
	started chan struct{}
	gate    chan struct{}
}

func (g *gatedEngine) Handle(ctx context.Context, in conversation.Inbound) ([]conversation.Reply, error) {
	if in.Text == slowText {
		g.started <- struct{}{}
		<-g.gate
	}
	return g.Engine.Handle(ctx, in)
}

// newRealHarness is the app in HTTP mode over the real engine (shipped
// content) and the real moderation service on bbolt.
func newRealHarness(t *testing.T) (*harness, *gatedEngine) {
	t.Helper()
	g := &gatedEngine{started: make(chan struct{}, 1), gate: make(chan struct{})}
	h := newHarness(t, harnessOptions{engine: g})
	g.Engine = conversation.NewTestEngine(t, conversation.TestOptions{Memory: h.st, Tickets: h.mod, Forgetter: h.mod, Region: "UK"})
	return h, g
}

func urgentTickets(t *testing.T, h *harness) []store.Ticket {
	t.Helper()
	out, err := moderation.UrgentQueued(context.Background(), h.mod)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func isHelp(s string) bool {
	return strings.Contains(s, "Samaritans") && strings.Contains(s, "116 123")
}

var eventSeq struct {
	sync.Mutex
	n int
}

// dm is a DM event from the test asker with text and a fresh event_id.
func dm(t *testing.T, text string, edits map[string]any) []byte {
	t.Helper()
	eventSeq.Lock()
	eventSeq.n++
	id := "Ev0LIMIT" + strconv.Itoa(eventSeq.n)
	eventSeq.Unlock()
	all := map[string]any{"event_id": id, "event.text": text, "event.blocks": []any{}}
	for k, v := range edits {
		all[k] = v
	}
	return fixture(t, "event_message_im.json", all)
}

// waiting is how many of the asker's inputs hold or wait for their turn.
func waiting(h *harness, handle string) int {
	h.app.askers.mu.Lock()
	defer h.app.askers.mu.Unlock()
	if e := h.app.askers.locks[handle]; e != nil {
		return e.refs
	}
	return 0
}

// TestLimitedSlackAskerInDangerGetsHelp: an asker who is blocked, or who
// already has maxWaiting inputs being answered or waiting (the per-asker
// queue is full), or both, and who writes an emergency gets the resources
// and an urgent ticket at once; an ordinary message in the same place gets
// what the limit says (the block's notice; for the full queue, "wait").
func TestLimitedSlackAskerInDangerGetsHelp(t *testing.T) {
	tests := []struct {
		name    string
		blocked bool
		busy    bool
		text    string
		helped  bool
		want    string // for an ordinary message
	}{
		{"blocked, emergency", true, false, emergency, true, ""},
		{"blocked, ordinary", true, false, ordinary, false, "not available"},
		{"busy, emergency", false, true, emergency, true, ""},
		{"busy, ordinary", false, true, ordinary, false, "still answering"},
		{"blocked and busy, emergency", true, true, emergency, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, g := newRealHarness(t)
			handle := h.keys.Handle("slack", testTeam+":"+testAsker)
			if tt.blocked {
				if err := h.st.Block(context.Background(), handle, time.Now().Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			if tt.busy {
				// One slow input, and more behind it until the asker's
				// queue is full.
				first := dm(t, slowText, nil)
				wg.Go(func() { h.post("/slack/events", first) })
				<-g.started
				for i := 1; i < maxWaiting; i++ {
					body := dm(t, "/help", nil)
					wg.Go(func() { h.post("/slack/events", body) })
				}
				deadline := time.Now().Add(10 * time.Second)
				for waiting(h, handle) < maxWaiting {
					if time.Now().After(deadline) {
						t.Fatalf("%d inputs waiting, want %d", waiting(h, handle), maxWaiting)
					}
					time.Sleep(2 * time.Millisecond)
				}
			}
			if w := h.post("/slack/events", dm(t, tt.text, nil)); w.Code != http.StatusOK {
				t.Fatalf("status %d", w.Code)
			}
			// The input past the full queue is answered now, while the
			// others still wait.
			posts := postsTo(h.slack.Calls("chat.postMessage"), testDM)
			if len(posts) != 1 {
				t.Fatalf("%d posts to the DM, want the one reply", len(posts))
			}
			got := posts[0].text()
			if tt.helped {
				if !isHelp(got) || !strings.Contains(got, "urgent") {
					t.Errorf("reply %q, want the resources and the ticket line", got)
				}
			} else if isHelp(got) || !strings.Contains(got, tt.want) {
				t.Errorf("reply %q, want %q", got, tt.want)
			}
			if n := len(urgentTickets(t, h)); n != boolInt(tt.helped) {
				t.Errorf("%d urgent tickets, want %d", n, boolInt(tt.helped))
			}
			if tt.busy {
				close(g.gate)
				wg.Wait()
				if n := len(postsTo(h.slack.Calls("chat.postMessage"), testDM)); n != 1+maxWaiting {
					t.Errorf("%d posts after the queue drained, want %d", n, 1+maxWaiting)
				}
			}
			for _, s := range []string{emergency, ordinary, "pills", testAsker, testDM} {
				if strings.Contains(h.logs.String(), s) {
					t.Errorf("the log holds %q", s)
				}
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestSlackInputsNotReadAsQuestionsStillGetHelp: a DM with a file, an edit,
// a mention in a channel and an /ask whose DM cannot be opened are not read
// as questions, but one that needs help gets the help (privately) and an
// urgent ticket; an ordinary one gets what it got before.
func TestSlackInputsNotReadAsQuestionsStillGetHelp(t *testing.T) {
	edit := func(text string) map[string]any {
		return map[string]any{"event.subtype": "message_changed", "event.user": nil, "event.text": nil,
			"event.message": map[string]any{"type": "message", "user": testAsker, "text": text, "ts": "1767225600.000100"}}
	}
	tests := []struct {
		name   string
		send   func(t *testing.T, h *harness, text string) string // returns what the asker saw
		helped bool
		text   string
		want   string // what an ordinary one gets ("" = nothing)
	}{
		{"file, emergency", sendFile, true, emergency, ""},
		{"file, ordinary", sendFile, false, ordinary, "only read text"},
		{"edit, emergency", func(t *testing.T, h *harness, text string) string { return sendDM(t, h, dm(t, "", edit(text))) }, true, emergency, ""},
		{"edit, ordinary", func(t *testing.T, h *harness, text string) string { return sendDM(t, h, dm(t, "", edit(text))) }, false, ordinary, ""},
		{"mention, emergency", sendMention, true, emergency, ""},
		{"mention, ordinary", sendMention, false, ordinary, "direct message"},
		{"/ask without a DM, emergency", sendAskNoDM, true, emergency, ""},
		{"/ask without a DM, ordinary", sendAskNoDM, false, ordinary, "could not open a private conversation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := newRealHarness(t)
			h.run()
			waitBot(t, h.app)
			got := tt.send(t, h, tt.text)
			if tt.helped {
				if !isHelp(got) {
					t.Errorf("the asker saw %q, want the resources", got)
				}
			} else if isHelp(got) || tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Errorf("the asker saw %q, want %q", got, tt.want)
			}
			if n := len(urgentTickets(t, h)); n != boolInt(tt.helped) {
				t.Errorf("%d urgent tickets, want %d", n, boolInt(tt.helped))
			}
			if n := len(postsTo(h.slack.Calls("chat.postMessage"), "C0GENERAL1")); n != 0 {
				t.Errorf("%d public posts in the channel", n)
			}
			for _, s := range []string{emergency, ordinary, "pills", testAsker, testDM} {
				if strings.Contains(h.logs.String(), s) {
					t.Errorf("the log holds %q", s)
				}
			}
		})
	}
}

// sendDM posts a DM event and returns what the asker's DM got.
func sendDM(t *testing.T, h *harness, body []byte) string {
	t.Helper()
	if w := h.post("/slack/events", body); w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	var out []string
	for _, c := range postsTo(h.slack.Calls("chat.postMessage"), testDM) {
		out = append(out, c.text())
	}
	return strings.Join(out, "\n")
}

func sendFile(t *testing.T, h *harness, text string) string {
	return sendDM(t, h, dm(t, text, map[string]any{"event.subtype": "file_share",
		"event.files": []any{map[string]any{"id": "F0PHOTO001", "name": "photo.jpg", "mimetype": "image/jpeg"}}}))
}

func sendMention(t *testing.T, h *harness, text string) string {
	t.Helper()
	body := fixture(t, "event_app_mention.json", map[string]any{"event.text": "<@U0CANDIDBOT> " + text, "event.blocks": []any{}})
	if w := h.post("/slack/events", body); w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	eph := h.slack.Calls("chat.postEphemeral")
	if len(eph) != 1 || eph[0].Form.Get("user") != testAsker || eph[0].Form.Get("channel") != "C0GENERAL1" {
		t.Fatalf("ephemerals %+v", eph)
	}
	if !strings.Contains(eph[0].Form.Get("text"), "direct message") {
		t.Errorf("the private reply lacks the DM notice: %q", eph[0].Form.Get("text"))
	}
	return eph[0].Form.Get("text")
}

func sendAskNoDM(t *testing.T, h *harness, text string) string {
	t.Helper()
	h.slack.fail("conversations.open", "internal_error")
	body := strings.Replace(string(readFixture(t, "slash_ask.txt")), "text=is+it+normal+to+bleed+after+sex%3F", "text="+strings.ReplaceAll(text, " ", "+"), 1)
	w := h.post("/slack/commands", []byte(body))
	var resp map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || w.Code != http.StatusOK || resp["response_type"] != "ephemeral" {
		t.Fatalf("status %d body %q", w.Code, w.Body)
	}
	if !strings.Contains(resp["text"], "could not open a private conversation") {
		t.Errorf("the reply lacks the apology: %q", resp["text"])
	}
	return resp["text"]
}

// TestKeyLockLimitAndContext: tryLock refuses past its limit and when the
// context ends while it waits, and leaves nothing behind.
func TestKeyLockLimitAndContext(t *testing.T) {
	var k keyLock
	unlock, ok := k.tryLock(context.Background(), "a", 2)
	if !ok {
		t.Fatal("first lock refused")
	}
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan bool)
	go func() {
		_, ok := k.tryLock(ctx, "a", 2) // waits …
		got <- ok
	}()
	for {
		k.mu.Lock()
		n := k.locks["a"].refs
		k.mu.Unlock()
		if n == 2 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if _, ok := k.tryLock(context.Background(), "a", 2); ok {
		t.Error("a third input was let in past the limit of 2")
	}
	cancel() // … until its context ends
	if <-got {
		t.Error("the waiter got the lock after its context ended")
	}
	unlock()
	if len(k.locks) != 0 {
		t.Errorf("entries left: %d", len(k.locks))
	}
}

// TestMentionConcernGetsOneNotice: a concern's help ends with the refusal
// (the DM notice); the private reply holds the notice once.
func TestMentionConcernGetsOneNotice(t *testing.T) {
	e := &fakeEngine{refuse: func(in conversation.Inbound, refusal string) ([]conversation.Reply, error) {
		return []conversation.Reply{{Kind: conversation.KindCheckIn, Text: "Are you safe? These can help."}, {Kind: conversation.KindInfo, Text: refusal}}, nil
	}}
	h := newHarness(t, harnessOptions{engine: e})
	got := sendMention(t, h, "my friend said goodbye to everyone")
	if !strings.HasPrefix(got, "Are you safe?") || strings.Count(got, "direct message") != 1 {
		t.Errorf("private reply %q: want the check-in, then the notice once", got)
	}
	if in := e.Refusals(); len(in) != 1 || in[0].Text != "@someone my friend said goodbye to everyone" {
		t.Errorf("Refused saw %+v", in)
	}
}
