package console

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/candid-app/candid/internal/browsertest"
	"github.com/candid-app/candid/internal/store"
)

// TestBrowserAnswerWithKeyboard: after opening a ticket a moderator answers
// with the keyboard alone: Enter on Claim, the answer box then has the
// focus, type, and Ctrl+Enter sends: two key presses besides the typing
// (and the Tab that reaches Claim).
func TestBrowserAnswerWithKeyboard(t *testing.T) {
	e := newEnv(t, envOpts{})
	pw := e.addStaff("alice", "moderator")
	tk, _ := e.open(false, "Is it normal to feel nervous before sex?")
	bctx := browsertest.New(t)
	ctx, cancel := context.WithTimeout(bctx, 60*time.Second)
	defer cancel()
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	run("log in",
		chromedp.Navigate(e.srv.URL+"/console/login?next=/console/tickets/"+tk.ID),
		chromedp.WaitVisible(chromedp.CSS("#login-name")),
		chromedp.SendKeys(chromedp.CSS("#login-name"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#login-password"), pw),
		chromedp.Click(chromedp.CSS(`form[action="/console/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#claim")),
	)
	run("claim with Enter", chromedp.Focus(chromedp.CSS("#claim")), chromedp.KeyEvent("\r"), chromedp.WaitVisible(chromedp.CSS("#release")))
	focused, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement && document.activeElement.id`))
	if err != nil || focused != "answer-text" {
		t.Fatalf("after Claim the focus is on %q (%v), want the answer box", focused, err)
	}
	run("type and send with Ctrl+Enter",
		chromedp.KeyEvent("It is very common."),
		chromedp.KeyEvent("\r", chromedp.KeyModifiers(chromedp.ModifierCtrl)),
		chromedp.WaitVisible(chromedp.CSS("#sent-answer")),
	)
	got, err := e.mod.Ticket(context.Background(), tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != store.TicketAnswered || !strings.Contains(got.Answer, "It is very common.") {
		t.Fatalf("after Ctrl+Enter: %s %q", got.State, got.Answer)
	}
}
