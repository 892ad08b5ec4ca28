package telegram

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/candid-app/candid/internal/conversation"
	"github.com/candid-app/candid/internal/moderation"
	"github.com/candid-app/candid/internal/store/boltstore"
	"github.com/candid-app/candid/internal/telegram/telegramtest"
)

// TestEndToEnd is the acceptance test: an asker on (fake) Telegram asks,
// gets an FAQ answer with buttons, presses "Ask a therapist"; a moderator
// answers through the moderation service (what the console calls); the
// fake Telegram receives exactly one sendMessage with that answer, in the
// right chat; and the bbolt file holds no chat ID, user ID, user name or
// first name in clear. Everything is real but Telegram: the library, the
// engine over the shipped FAQ, the moderation service and bbolt.
func TestEndToEnd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "candid.db")
	st, err := boltstore.Open(path, boltstore.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			st.Close()
		}
	})
	mod, err := moderation.New(moderation.Options{Store: st, ClinicName: "Riverside Clinic"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mod.Close() })
	eng := conversation.NewTestEngine(t, conversation.TestOptions{Memory: st, Tickets: mod, Forgetter: mod})

	h := newHarness(t, func(o *Options) { o.Store, o.Engine = st, eng })
	mod.RegisterSender(Platform, h.bot)
	h.start()
	ctx := context.Background()

	// 1. The asker asks (the private-text fixture: an erection question).
	h.tg.PushUpdate(fixture(t, "private_text", nil))
	sent := h.tg.WaitSent(t, 1)
	answer := sent[len(sent)-1]
	if answer.ChatID() != askerID {
		t.Fatalf("answer went to chat %d", answer.ChatID())
	}
	var askData string
	for _, row := range answer.Keyboard() {
		for _, b := range row {
			if b.Text == conversation.LabelAskTherapist {
				askData = b.CallbackData
			}
		}
	}
	if askData == "" {
		t.Fatalf("the FAQ answer has no %q button; reply %q keyboard %+v", conversation.LabelAskTherapist, answer.VisibleText(), answer.Keyboard())
	}
	if !strings.Contains(strings.ToLower(answer.VisibleText()), "erection") {
		t.Errorf("not the erection answer: %q", answer.VisibleText())
	}

	// 2. The asker presses "Ask a therapist".
	before := len(sent)
	h.tg.PushUpdate(fixture(t, "callback_query", map[string]any{"callback_query.data": askData}))
	sent = h.tg.WaitSent(t, before+1)
	if v := sent[len(sent)-1].VisibleText(); !strings.Contains(v, "Sent") {
		t.Errorf("after Ask a therapist: %q", v)
	}
	cb := h.tg.Calls("answerCallbackQuery")
	if len(cb) != 1 || cb[0].Status != 200 || cb[0].Params.Get("text") != "" {
		t.Errorf("callback answers %s", telegramtest.Summary(cb))
	}

	// 3. A moderator answers through the moderation service.
	queue, _, err := mod.Queue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(queue) != 1 {
		t.Fatalf("%d tickets in the queue, want 1", len(queue))
	}
	tk := queue[0]
	if tk.Platform != Platform || tk.Handle != "" || len(tk.Address) != 0 {
		t.Errorf("the queue shows staff a ticket with handle %q address %d bytes", tk.Handle, len(tk.Address))
	}
	const reply = "Thank you for asking. This is common & treatable: <see a GP> if it keeps happening."
	mo := moderation.Actor{Name: "mo", Role: "moderator"}
	if _, err := mod.Claim(ctx, mo, tk.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := mod.Answer(ctx, mo, tk.ID, moderation.Answer{Text: reply}); err != nil {
		t.Fatal(err)
	}
	before = len(h.tg.Sent())
	n, err := mod.DeliverDue(ctx)
	if err != nil || n != 1 {
		t.Fatalf("DeliverDue = %d, %v", n, err)
	}
	// Delivering again finds nothing (the item is complete).
	if n, err := mod.DeliverDue(ctx); err != nil || n != 0 {
		t.Errorf("second DeliverDue = %d, %v", n, err)
	}
	after := h.tg.Sent()[before:]
	var withAnswer []telegramtest.Call
	for _, c := range after {
		if strings.Contains(c.VisibleText(), reply) {
			withAnswer = append(withAnswer, c)
		}
	}
	if len(after) != 1 || len(withAnswer) != 1 {
		t.Fatalf("after the answer the fake got %s; want exactly one sendMessage with the answer", telegramtest.Summary(after))
	}
	if withAnswer[0].ChatID() != askerID {
		t.Errorf("the answer went to chat %d, want the asker's", withAnswer[0].ChatID())
	}
	done, err := mod.Ticket(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if done.Delivery != "delivered" {
		t.Errorf("ticket delivery %q", done.Delivery)
	}

	// 4. Nothing identifying in the store file, the logs or the ticket.
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	closed = true
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{askerIDString, askerUsername, askerFirst, askerLast} {
		if bytes.Contains(raw, []byte(v)) {
			t.Errorf("the bbolt file contains %q in clear", v)
		}
	}
	if !bytes.Contains(raw, []byte("telegram/update/")) {
		t.Error("the scan found no de-duplication keys: is it reading the right file?")
	}
	assertNoIdentity(t, "logs", h.logs.String())
}
