package telegram

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/candid-app/candid/internal/conversation"
	"github.com/candid-app/candid/internal/moderation"
	"github.com/candid-app/candid/internal/store"
	"github.com/candid-app/candid/internal/store/boltstore"
	"github.com/candid-app/candid/internal/telegram/telegramtest"
)

const (
	emergency = "I have been saving up my pills and tonight I want to kill myself"
	ordinary  = "how do I put on a condom"
	// slowText is the message the gated engine holds until released, so
	// that the messages after it wait in the chat's queue.
	slowText = "/start"
)

// gatedEngine is the real engine, except that Handle of slowText waits
// for the gate: what a slow reply looks like from the queue.
type gatedEngine struct {
	*conversation.Engine
	started chan struct{}
	gate    chan struct{}

	mu      sync.Mutex
	handled int
}

func (g *gatedEngine) Handle(ctx context.Context, in conversation.Inbound) ([]conversation.Reply, error) {
	if in.Text == slowText {
		g.started <- struct{}{}
		<-g.gate
	}
	g.mu.Lock()
	g.handled++
	g.mu.Unlock()
	return g.Engine.Handle(ctx, in)
}

func (g *gatedEngine) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.handled
}

// realHarness is the bot over the real engine (shipped content), the real
// moderation service and bbolt, talking to the fake Bot API.
type realHarness struct {
	*harness
	st  *boltstore.Store
	mod *moderation.Service
	eng *gatedEngine
}

func newRealHarness(t *testing.T) *realHarness {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "candid.db"), boltstore.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	mod, err := moderation.New(moderation.Options{Store: st, ClinicName: "Riverside Clinic"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mod.Close() })
	eng := &gatedEngine{
		Engine:  conversation.NewTestEngine(t, conversation.TestOptions{Memory: st, Tickets: mod, Forgetter: mod, Region: "UK"}),
		started: make(chan struct{}, 1), gate: make(chan struct{}),
	}
	h := newHarness(t, func(o *Options) { o.Store, o.Engine = st, eng })
	mod.RegisterSender(Platform, h.bot)
	return &realHarness{harness: h, st: st, mod: mod, eng: eng}
}

func (h *realHarness) urgent(t *testing.T) []store.Ticket {
	t.Helper()
	out, err := moderation.UrgentQueued(context.Background(), h.mod)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (h *realHarness) push(text string) {
	h.tg.PushUpdate(fixture(h.t, "private_text", map[string]any{"update_id": 0, "message.text": text}))
}

// marker sends a message from another chat and waits for its answer: the
// polling loop accepts updates in order, so every update pushed before it
// has then been accepted (queued, or handled at once by overflow).
func (h *realHarness) marker(n int) {
	h.tg.PushUpdate(fixture(h.t, "private_text", map[string]any{"update_id": 0, "message.chat.id": 42, "message.from.id": 42, "message.text": "/help"}))
	h.tg.WaitFor(h.t, 10*time.Second, "the marker's answer", func(calls []telegramtest.Call) bool {
		k := 0
		for _, c := range calls {
			if c.Method == "sendMessage" && c.Status == 200 && c.ChatID() == 42 {
				k++
			}
		}
		return k >= n
	})
}

func toAsker(calls []telegramtest.Call) []telegramtest.Call {
	var out []telegramtest.Call
	for _, c := range calls {
		if c.ChatID() == askerID {
			out = append(out, c)
		}
	}
	return out
}

func isHelp(c telegramtest.Call) bool {
	v := c.VisibleText()
	return strings.Contains(v, "Samaritans") && strings.Contains(v, "116 123")
}

// TestLimitedTelegramAskerInDangerGetsHelp: an asker who is blocked, or
// whose chat queue is full (a message behind a burst), or both, and who
// writes an emergency gets the resources and an urgent ticket; an ordinary
// message in the same place gets what it always got (the block's notice;
// for the full queue, nothing: a flood is not answered message by message).
func TestLimitedTelegramAskerInDangerGetsHelp(t *testing.T) {
	tests := []struct {
		name         string
		blocked      bool
		behindABurst bool
		text         string
		helped       bool
	}{
		{"blocked, emergency", true, false, emergency, true},
		{"blocked, ordinary", true, false, ordinary, false},
		{"behind a burst, emergency", false, true, emergency, true},
		{"behind a burst, ordinary", false, true, ordinary, false},
		{"blocked and behind a burst, emergency", true, true, emergency, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newRealHarness(t)
			if tt.blocked {
				if err := h.st.Block(context.Background(), h.keys.Handle(Platform, askerIDString), time.Now().Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
			h.start()
			handledBefore := 0
			if tt.behindABurst {
				h.push(slowText)
				<-h.eng.started // the asker's first message is being answered, slowly
				for i := 0; i < perChatQueue; i++ {
					h.push("/help") // the queue is full after these
				}
				handledBefore = 1 + perChatQueue
			}
			h.push(tt.text)
			h.marker(1)
			if tt.behindABurst {
				// The emergency went past the full queue: its ticket is
				// stored before its reply is sent, so nothing can lose it.
				if n := len(h.urgent(t)); tt.helped && n != 1 {
					t.Errorf("%d urgent tickets while the queue is still full, want 1", n)
				}
				close(h.eng.gate)
			}
			want := handledBefore
			if tt.helped || !tt.behindABurst {
				want++ // the reply to the message itself
			}
			h.tg.WaitFor(t, 10*time.Second, "the asker's replies", func(calls []telegramtest.Call) bool {
				var sent []telegramtest.Call
				for _, c := range calls {
					if c.Method == "sendMessage" && c.Status == 200 {
						sent = append(sent, c)
					}
				}
				return len(toAsker(sent)) >= want
			})
			if err := h.stop(); err != nil {
				t.Fatal(err)
			}
			mine := toAsker(h.tg.Sent())
			if len(mine) != want {
				t.Fatalf("%d replies to the asker, want %d: %s", len(mine), want, telegramtest.Summary(mine))
			}
			var helpAt = -1
			for i, c := range mine {
				if isHelp(c) {
					helpAt = i
				}
			}
			switch {
			case tt.helped && helpAt < 0:
				t.Fatalf("no reply with the resources: %s", telegramtest.Summary(mine))
			case tt.helped && tt.behindABurst && helpAt != 1:
				t.Errorf("the help was reply %d; it should go first, right after the reply being sent", helpAt)
			case !tt.helped && helpAt >= 0:
				t.Errorf("an ordinary message got the resources")
			}
			if tt.blocked && !tt.helped && !strings.Contains(mine[len(mine)-1].VisibleText(), "not available") {
				t.Errorf("the blocked asker's ordinary message got %q", mine[len(mine)-1].VisibleText())
			}
			if tt.helped && !strings.Contains(mine[helpAt].VisibleText(), "urgent") {
				t.Errorf("the help does not say the message went to the team: %q", mine[helpAt].VisibleText())
			}
			urgent := h.urgent(t)
			if tt.helped != (len(urgent) == 1) || len(urgent) > 1 {
				t.Fatalf("%d urgent tickets, want %v", len(urgent), tt.helped)
			}
			// The marker is handled too; an emergency is not (it was answered
			// as it was accepted, through Refused), nor is a message past the
			// full queue.
			if n, want := h.eng.count(), 1+handledBefore+boolInt(!tt.behindABurst && !tt.helped); n != want {
				t.Errorf("the engine handled %d messages normally, want %d", n, want)
			}
			for _, s := range []string{emergency, ordinary, "pills"} {
				if strings.Contains(h.logs.String(), s) {
					t.Errorf("the log holds %q", s)
				}
			}
			assertNoIdentity(t, "logs", h.logs.String())
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestEmergencyStoredBeforeConfirmed: an emergency that arrives while the
// chat's earlier message is still being answered (its queue is not full)
// has its urgent ticket stored before the update is confirmed to Telegram,
// so a crash while it would have waited in the queue cannot lose it; and
// its help is sent before the messages queued ahead of it.
func TestEmergencyStoredBeforeConfirmed(t *testing.T) {
	h := newRealHarness(t)
	h.start()
	h.push(slowText)
	<-h.eng.started // the first message is being answered, slowly
	h.push(ordinary)
	h.push(emergency)
	h.marker(1) // every update above has been accepted and confirmed
	if n := len(h.urgent(t)); n != 1 {
		t.Fatalf("%d urgent tickets while the chat's first message is still being answered, want 1", n)
	}
	close(h.eng.gate)
	h.tg.WaitSent(t, 4) // slow reply, help, ordinary reply, marker
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	mine := toAsker(h.tg.Sent())
	if len(mine) != 3 || !isHelp(mine[1]) || isHelp(mine[2]) {
		t.Fatalf("replies %s; want the slow reply, the help, then the ordinary reply", telegramtest.Summary(mine))
	}
	if n := len(h.urgent(t)); n != 1 {
		t.Errorf("%d urgent tickets after the queue drained, want 1 (answered once)", n)
	}
}

// TestFullQueueHelpLaneIsBounded: a chat that floods with alarming messages
// gets the help, but cannot take every queue slot: past perChatQueue help
// replies waiting for one chat, more are dropped (the help and its tickets
// are already on their way).
func TestFullQueueHelpLaneIsBounded(t *testing.T) {
	h := newRealHarness(t)
	h.start()
	h.push(slowText)
	<-h.eng.started
	for i := 0; i < perChatQueue; i++ {
		h.push("/help")
	}
	for i := 0; i < 3*perChatQueue; i++ {
		h.push(emergency + " " + strconv.Itoa(i))
	}
	h.marker(1)
	if n := len(h.urgent(t)); n != perChatQueue {
		t.Errorf("%d urgent tickets, want %d", n, perChatQueue)
	}
	close(h.eng.gate)
	want := 1 + perChatQueue + perChatQueue
	h.tg.WaitSent(t, want+1) // + the marker's answer
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	mine := toAsker(h.tg.Sent())
	if len(mine) != want {
		t.Fatalf("%d replies, want %d", len(mine), want)
	}
	for i := 1; i <= perChatQueue; i++ {
		if !isHelp(mine[i]) {
			t.Errorf("reply %d is not the help: the help goes before the queued replies", i)
		}
	}
}

// TestGroupEmergencyGetsHelpWithNotice: a message in a group that needs
// help gets the resources and the private-chat notice, in the group, every
// time; the ticket's reply address is the writer's private chat, never the
// group. An ordinary group message still gets only the once-per-group
// notice.
func TestGroupEmergencyGetsHelpWithNotice(t *testing.T) {
	h := newRealHarness(t)
	h.start()
	group := func(text string) {
		h.tg.PushUpdate(fixture(t, "group_text", map[string]any{"update_id": 0, "message.text": text}))
	}
	group(ordinary)  // the once-per-group notice
	group(ordinary)  // nothing
	group(emergency) // help + notice
	group(emergency) // help + notice again
	h.marker(1)
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	var toGroup []telegramtest.Call
	for _, c := range h.tg.Sent() {
		if c.ChatID() == groupChatID {
			toGroup = append(toGroup, c)
		}
	}
	notice := func(c telegramtest.Call) bool {
		return strings.Contains(c.VisibleText(), "private chat") && strings.Contains(c.VisibleText(), "@"+telegramtest.Bot.UserName)
	}
	if len(toGroup) != 5 || !notice(toGroup[0]) ||
		!isHelp(toGroup[1]) || !notice(toGroup[2]) || !isHelp(toGroup[3]) || !notice(toGroup[4]) {
		t.Fatalf("to the group: %s; want notice, then help and notice twice", telegramtest.Summary(toGroup))
	}
	urgent := h.urgent(t)
	if len(urgent) != 2 {
		t.Fatalf("%d urgent tickets, want 2", len(urgent))
	}
	// The queue is redacted; the stored ticket holds the sealed address.
	stored, err := h.st.Ticket(context.Background(), urgent[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := h.keys.Open(stored.Address, h.clock.Now())
	if err != nil || addr.To != groupUserID {
		t.Errorf("the ticket's address opens to %q (%v), want the writer's private chat", addr.To, err)
	}
	if stored.Handle != h.keys.Handle(Platform, groupUserID) {
		t.Error("the ticket is not the writer's")
	}
	assertNoIdentity(t, "logs", h.logs.String())
}

// TestEditsAndCaptionsThatNeedHelp: an edited message and a photo's caption
// are not read as questions, but one that needs help gets it (with a
// ticket); an ordinary one gets the same notice as before.
func TestEditsAndCaptionsThatNeedHelp(t *testing.T) {
	tests := []struct {
		name    string
		fixture string
		edits   map[string]any
		helped  bool
		notice  string
	}{
		{"edited emergency", "edited_message", map[string]any{"edited_message.text": emergency}, true, ""},
		{"edited ordinary", "edited_message", nil, false, "edited"},
		{"photo with an emergency caption", "photo", map[string]any{"message.caption": emergency}, true, ""},
		{"photo with an ordinary caption", "photo", map[string]any{"message.caption": ordinary}, false, "only read text"},
		{"photo without a caption", "photo", map[string]any{"message.caption": nil}, false, "only read text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newRealHarness(t)
			h.start()
			h.tg.PushUpdate(fixture(t, tt.fixture, tt.edits))
			h.tg.WaitSent(t, 1)
			if err := h.stop(); err != nil {
				t.Fatal(err)
			}
			mine := toAsker(h.tg.Sent())
			if len(mine) != 1 {
				t.Fatalf("replies %s", telegramtest.Summary(mine))
			}
			if tt.helped != isHelp(mine[0]) || !tt.helped && !strings.Contains(mine[0].VisibleText(), tt.notice) {
				t.Errorf("reply %q", mine[0].VisibleText())
			}
			if n := len(h.urgent(t)); n != boolInt(tt.helped) {
				t.Errorf("%d urgent tickets", n)
			}
		})
	}
}

// TestGroupConcernGetsOneNotice: a concern's help (a check-in, then the
// refusal, which for a group is the private-chat notice) is sent with the
// notice once, not twice.
func TestGroupConcernGetsOneNotice(t *testing.T) {
	h := newHarness(t, nil)
	h.eng.refuse = func(in conversation.Inbound, refusal string) ([]conversation.Reply, error) {
		return []conversation.Reply{{Kind: conversation.KindCheckIn, Text: "Are you safe? These can help."}, {Kind: conversation.KindInfo, Text: refusal}}, nil
	}
	h.start()
	h.tg.PushUpdate(fixture(t, "group_text", map[string]any{"update_id": 0, "message.text": "my friend said goodbye to everyone"}))
	h.tg.WaitSent(t, 2)
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	sent := h.tg.Sent()
	if len(sent) != 2 || !strings.Contains(sent[0].VisibleText(), "Are you safe") || !strings.Contains(sent[1].VisibleText(), "private chat") {
		t.Fatalf("to the group: %s; want the check-in, then the notice once", telegramtest.Summary(sent))
	}
	if in := h.eng.refusedIns(); len(in) != 1 || in[0].Handle != h.keys.Handle(Platform, groupUserID) {
		t.Errorf("Refused saw %+v, want the writer's handle", in)
	}
}
