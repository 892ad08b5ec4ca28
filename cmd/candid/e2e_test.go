package main

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/candid-app/candid/internal/browsertest"
	"github.com/candid-app/candid/internal/config"
)

// newApp wires the whole service as serve does, on a temporary data folder.
func newApp(t *testing.T, env map[string]string) (*app, *httptest.Server) {
	return newAppWithLog(t, env, slog.New(slog.DiscardHandler))
}

func newAppWithLog(t *testing.T, env map[string]string, log *slog.Logger) (*app, *httptest.Server) {
	t.Helper()
	a, srv, _ := startApp(t, env, log)
	return a, srv
}

// startApp is newAppWithLog with a stop function, for tests that restart the
// service on the same data folder (stop is also run at cleanup; twice is
// fine).
func startApp(t testing.TB, env map[string]string, log *slog.Logger) (*app, *httptest.Server, func()) {
	t.Helper()
	dir := env["CANDID_DATA"] // a replica's folder, keys already in place
	if dir == "" {
		dir = t.TempDir()
	}
	getenv := func(k string) string {
		if k == "CANDID_DATA" {
			return dir
		}
		return env[k]
	}
	cfg, _, err := config.Load("serve", nil, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg.FAQDir = "../../faq"
	ctx, cancel := context.WithCancel(context.Background())
	a, err := build(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{}, len(a.runners))
	for _, r := range a.runners {
		go func() { r(ctx); done <- struct{}{} }()
	}
	srv := httptest.NewServer(a.handler)
	var once sync.Once
	stop := func() {
		once.Do(func() {
			srv.Close()
			a.console.Close()
			cancel()
			for range a.runners {
				<-done
			}
			a.mod.Close()
			a.store.Close()
		})
	}
	t.Cleanup(stop)
	return a, srv, stop
}

// TestBrowserAskerToModeratorAndBack drives the real web chat and the real
// console in one Chromium: an asker asks something the FAQ does not cover and
// presses Ask a therapist; a moderator logs in, claims and answers; the
// asker's open chat page shows the answer without a reload.
func TestBrowserAskerToModeratorAndBack(t *testing.T) {
	a, srv := newApp(t, map[string]string{"CANDID_CLINIC_NAME": "Riverside Clinic", "CANDID_BOOKING_URL": "https://riverside.example/book"})
	pw, err := a.staff.Add(context.Background(), "alice", "moderator")
	if err != nil {
		t.Fatal(err)
	}
	browser := browsertest.New(t)
	chat, cancelChat := context.WithTimeout(browser, 90*time.Second)
	defer cancelChat()
	do := func(ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	question := "My partner and I want to try tantric breathing together, any tips?"
	do(chat, "ask in the web chat",
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#question")),
		chromedp.SendKeys(chromedp.CSS("#question"), question),
		chromedp.Click(chromedp.CSS("button.send")),
		chromedp.WaitVisible(chromedp.CSS(".log li.from-candid + li, .log li.from-candid:nth-child(2)")),
	)
	// Whatever the matcher decided, every reply to a question offers Ask a therapist.
	if _, err := chromedp.Run(chat, chromedp.Evaluate[bool](`(() => {
		const bs = [...document.querySelectorAll("#log button")].filter(b => b.textContent.trim() === "Ask a therapist");
		bs[bs.length - 1].click();
		return true;
	})()`)); err != nil {
		t.Fatalf("press Ask a therapist: %v", err)
	}
	do(chat, "see it queued", chromedp.WaitVisible(chromedp.CSS(".kind-queued")))
	browsertest.Screenshot(t, chat, "chat-queued")

	// The moderator works in another tab of the same browser.
	tab, cancelTab := chromedp.NewContext(chat)
	defer cancelTab()
	do(tab, "log in to the console",
		chromedp.Navigate(srv.URL+"/console/"),
		chromedp.WaitVisible(chromedp.CSS("#login-name")),
		chromedp.SendKeys(chromedp.CSS("#login-name"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#login-password"), pw),
		chromedp.Click(chromedp.CSS(`form[action="/console/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.queue a[href^="/console/tickets/"]`)),
		chromedp.Click(chromedp.CSS(`.queue a[href^="/console/tickets/"]`)),
		chromedp.WaitVisible(chromedp.CSS("#claim")),
	)
	shown, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS("#question")))
	if err != nil || shown != question {
		t.Fatalf("console shows %q (%v)", shown, err)
	}
	answer := "Slow, shared breathing can be a lovely way to connect. Start with five minutes."
	do(tab, "claim and answer",
		chromedp.Click(chromedp.CSS("#claim")),
		chromedp.WaitVisible(chromedp.CSS("#release")),
		chromedp.SendKeys(chromedp.CSS("#answer-text"), answer),
		chromedp.Click(chromedp.CSS("#send-answer")),
		chromedp.WaitVisible(chromedp.CSS("#sent-answer")),
	)

	// Back in the asker's tab: the chat polls and shows the therapist's answer.
	do(chat, "wait for the answer", chromedp.WaitVisible(chromedp.CSS(".from-therapist")))
	got, err := chromedp.Run(chat, chromedp.Text(chromedp.CSS(".from-therapist .body")))
	if err != nil {
		t.Fatalf("the answer did not appear in the chat: %v", err)
	}
	if !strings.Contains(got, answer) || !strings.Contains(got, "Riverside Clinic") {
		t.Fatalf("chat shows %q", got)
	}
	browsertest.Screenshot(t, chat, "chat-answered")
	// Exactly one therapist message, even after more delivery passes.
	a.mod.DeliverDue(context.Background())
	do(chat, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(".from-therapist")))
	n, err := chromedp.Run(chat, chromedp.Evaluate[int](`document.querySelectorAll(".from-therapist").length`))
	if err != nil || n != 1 {
		t.Fatalf("therapist messages after reload: %d (%v)", n, err)
	}
}
