package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/candid-app/candid/internal/browsertest"
)

// TestBrowserCrisisAndSending drives the real web chat in Chromium as a
// person in danger would: the crisis reply is announced as an alert, takes
// the focus, and its numbers are links to call or text; the page passes
// axe-core; Forget me and Quick exit are there; and a message the server
// never got is marked "Not sent" with Retry, its text back in the box.
func TestBrowserCrisisAndSending(t *testing.T) {
	_, srv := newApp(t, map[string]string{"CANDID_CLINIC_NAME": "Riverside Clinic", "CANDID_REGION": "UK"})
	browser := browsertest.New(t)
	ctx, cancel := context.WithTimeout(browser, 90*time.Second)
	defer cancel()
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	do("open the chat", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#question")))
	if p := browsertest.Axe(t, ctx); len(p) > 0 {
		t.Errorf("chat page: %v", p)
	}
	do("write an emergency",
		chromedp.SendKeys(chromedp.CSS("#question"), "I want to kill myself tonight, I have the pills here"),
		chromedp.Click(chromedp.CSS("button.send")),
		chromedp.WaitVisible(chromedp.CSS(".kind-crisis")),
	)
	got, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](`(() => {
		const li = document.querySelector(".kind-crisis");
		const tels = [...li.querySelectorAll('a.phone')].map(a => a.getAttribute("href"));
		return {focused: document.activeElement === li, role: (li.querySelector("[role=alert]") || li).getAttribute("role"), tels: tels.join(" ")};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if got["focused"] != true || got["role"] != "alert" {
		t.Errorf("crisis reply: focused %v, role %v; want the focus and role=alert", got["focused"], got["role"])
	}
	if tels, _ := got["tels"].(string); !strings.Contains(tels, "tel:999") || !strings.Contains(tels, "tel:116123") {
		t.Errorf("crisis reply numbers are not tappable: %q", tels)
	}
	browsertest.Screenshot(t, ctx, "chat-crisis")
	if p := browsertest.Axe(t, ctx); len(p) > 0 {
		t.Errorf("chat page with a crisis reply: %v", p)
	}
	present, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.querySelector("#quick-exit[href^='https://']") && !!document.querySelector('form.forget .hint')`))
	if err != nil || !present {
		t.Errorf("quick exit or the Forget me explanation missing (%v)", err)
	}

	// The server goes away: the message is not lost.
	srv.Close()
	const lost = "does this message survive a dead server"
	do("send to a dead server",
		chromedp.SendKeys(chromedp.CSS("#question"), lost),
		chromedp.Click(chromedp.CSS("button.send")),
		chromedp.WaitVisible(chromedp.CSS(".not-sent .not-sent-note button")),
	)
	box, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#question")))
	if err != nil || box != lost {
		t.Errorf("after a failed send the box holds %q (%v), want the message back", box, err)
	}
}
