package console

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/candid-app/candid/internal/browsertest"
	"github.com/candid-app/candid/internal/moderation"
)

// a11yProblems lists basic accessibility problems of the page in the
// browser: controls without a label, buttons and links without text, a
// missing lang or main landmark.
func a11yProblems(t *testing.T, ctx context.Context) []string {
	t.Helper()
	problems, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => {
		const out = [];
		if (document.documentElement.lang !== "en") out.push("no lang");
		if (!document.querySelector("main")) out.push("no main landmark");
		if (!document.querySelector("h1")) out.push("no h1");
		for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
			if (!el.labels || el.labels.length === 0) out.push("unlabelled " + el.tagName + "#" + el.id);
		}
		for (const el of document.querySelectorAll("button, a[href]")) {
			const name = (el.getAttribute("aria-label") || el.textContent || "").trim();
			if (!name && !el.hidden) out.push("nameless " + el.tagName + " " + el.outerHTML.slice(0, 80));
		}
		return out;
	})()`))
	if err != nil {
		t.Fatalf("accessibility check: %v", err)
	}
	// axe-core: no serious or critical WCAG 2.1 A/AA violation.
	return append(problems, browsertest.Axe(t, ctx)...)
}

// TestBrowserAnswerFlow drives the real console in headless Chromium: a
// moderator logs in, sees the ticket in the queue (and the live count move),
// claims it, previews and sends an answer, and the answer reaches the
// asker's conversation through the outbox.
func TestBrowserAnswerFlow(t *testing.T) {
	e := newEnv(t, envOpts{drafter: nil})
	pw := e.addStaff("alice", "moderator")
	tk, handle := e.open(false, "Is it normal to feel nervous before sex with a new partner?")

	bctx := browsertest.New(t)
	ctx, cancel := context.WithTimeout(bctx, 60*time.Second)
	defer cancel()
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}

	run("log in",
		chromedp.Navigate(e.srv.URL+"/console/"),
		chromedp.WaitVisible(chromedp.CSS("#login-name")),
		chromedp.SendKeys(chromedp.CSS("#login-name"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#login-password"), pw),
		chromedp.Click(chromedp.CSS(`form[action="/console/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/console/tickets/`+tk.ID+`"]`)),
	)
	if q := text(".queue"); !strings.Contains(q, "nervous before sex") {
		t.Fatalf("queue shows %q", q)
	}

	// The live count follows the queue (Server-Sent Events).
	e.open(true, "I am scared and need help now")
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector('dd[data-live="open"]').textContent === "2" &&
		document.querySelector('dd[data-live="urgent"]').textContent === "1" &&
		document.title.startsWith("(1 urgent) ") &&
		document.querySelector('[data-live="urgent-alert"]').textContent.includes("New urgent question")`)); err != nil {
		t.Fatalf("the live count, the tab title or the urgent announcement did not update: %v", err)
	}
	run("reload the queue", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(".urgent-row")))
	browsertest.Screenshot(t, ctx, "console-queue")
	if p := a11yProblems(t, ctx); len(p) > 0 {
		t.Errorf("queue page: %v", p)
	}
	// The filter: urgent only, chosen in the form as a moderator would.
	run("filter urgent only",
		chromedp.SetValue(chromedp.CSS("#f-show"), "urgent"),
		chromedp.Click(chromedp.CSS(`form.filters button[type=submit]`)),
		chromedp.WaitReady(chromedp.CSS(`#f-show option[value="urgent"][selected]`)),
	)
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(".ticket-row").length - document.querySelectorAll(".ticket-row.urgent-row").length`)); err != nil || n != 0 {
		t.Errorf("urgent-only filter shows %d other rows (%v)", n, err)
	}
	run("history page", chromedp.Navigate(e.srv.URL+"/console/history"), chromedp.WaitVisible(chromedp.CSS("#h-count")))
	if p := a11yProblems(t, ctx); len(p) > 0 {
		t.Errorf("history page: %v", p)
	}
	run("feedback page", chromedp.Navigate(e.srv.URL+"/console/feedback"), chromedp.WaitVisible(chromedp.CSS("#fb-days")))
	if p := a11yProblems(t, ctx); len(p) > 0 {
		t.Errorf("feedback page: %v", p)
	}
	run("gaps page", chromedp.Navigate(e.srv.URL+"/console/gaps"), chromedp.WaitVisible(chromedp.CSS("#gaps-table")))
	if p := a11yProblems(t, ctx); len(p) > 0 {
		t.Errorf("gaps page: %v", p)
	}
	run("back to the whole queue", chromedp.Navigate(e.srv.URL+"/console/"), chromedp.WaitVisible(chromedp.CSS(".urgent-row")))

	run("open the ticket",
		chromedp.Click(chromedp.CSS(`a[href="/console/tickets/`+tk.ID+`"]`)),
		chromedp.WaitVisible(chromedp.CSS("#claim")),
	)
	if q := text("#question"); q != tk.Question {
		t.Fatalf("question shown as %q", q)
	}
	browsertest.Screenshot(t, ctx, "console-ticket")
	if p := a11yProblems(t, ctx); len(p) > 0 {
		t.Errorf("ticket page: %v", p)
	}

	run("claim", chromedp.Click(chromedp.CSS("#claim")), chromedp.WaitVisible(chromedp.CSS("#release")))

	answer := "Yes, that is very common. Go slowly and talk about it."
	run("write an answer", chromedp.SendKeys(chromedp.CSS("#answer-text"), answer))
	// The live preview comes from the staff API with the session and CSRF header.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("preview").textContent.includes("A therapist at Example Clinic answered") &&
		document.getElementById("preview").textContent.includes("Go slowly and talk about it.")`)); err != nil {
		t.Fatalf("the live preview did not appear: %v", err)
	}
	browsertest.Screenshot(t, ctx, "console-ticket-preview")
	run("phone layout", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	browsertest.Screenshot(t, ctx, "console-ticket-phone")
	run("desktop layout", chromedp.EmulateViewport(1280, 800))

	run("send the answer",
		chromedp.Click(chromedp.CSS("#send-answer")),
		chromedp.WaitVisible(chromedp.CSS("#sent-answer")),
	)
	if flash := text(".flash.ok"); !strings.Contains(flash, "Answer sent") {
		t.Fatalf("flash %q", flash)
	}
	if sent := text("#sent-answer"); !strings.Contains(sent, answer) {
		t.Fatalf("sent answer shown as %q", sent)
	}

	// The outbox delivers it to the asker's web conversation.
	if _, err := e.mod.DeliverDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	msgs, err := e.st.Messages(context.Background(), handle, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].From != "therapist" || !strings.Contains(msgs[0].Text, answer) {
		t.Fatalf("the asker's conversation holds %+v", msgs)
	}
	run("reload the ticket", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#delivery")))
	if d := text("#delivery"); d != "Delivered to the asker" {
		t.Fatalf("delivery shown as %q", d)
	}
	browsertest.Screenshot(t, ctx, "console-ticket-answered")
}

// TestBrowserAdminAndCurator checks the staff page (a generated password is
// shown once), the curator's view of a ticket with an AI draft, and an
// urgent ticket (no draft, no Reject, the tier in the tab title), and keeps
// screenshots of them for people (CANDID_SCREENSHOTS).
func TestBrowserAdminAndCurator(t *testing.T) {
	guide := fixedGuide{shown: "If you are in danger now, call **999**.\n\nThese services can help:\n\n- **Samaritans**: call 116 123, free, 24/7.", check: "Are you safe right now? If you are in danger, call 999."}
	e := newEnv(t, envOpts{drafter: &moderation.StubDrafter{Text: "It can help to **slow down**.\n\n- Breathe\n- Talk", Model: "local-test"}, crisis: guide, onCallURL: "http://127.0.0.1:1/unused"})
	apw := e.addStaff("root", "admin")
	e.addStaff("carol", "curator")
	tk, _ := e.open(false, "I feel nervous before sex and do not know who to ask")
	urgent, _ := e.open(true, "I feel unsafe at home and I do not know who to ask")

	bctx := browsertest.New(t)
	ctx, cancel := context.WithTimeout(bctx, 60*time.Second)
	defer cancel()
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	run("login page", chromedp.Navigate(e.srv.URL+"/console/login"), chromedp.WaitVisible(chromedp.CSS("#login-name")))
	browsertest.Screenshot(t, ctx, "console-login")
	if p := a11yProblems(t, ctx); len(p) > 0 {
		t.Errorf("login page: %v", p)
	}
	run("log in as admin",
		chromedp.SendKeys(chromedp.CSS("#login-name"), "root"),
		chromedp.SendKeys(chromedp.CSS("#login-password"), apw),
		chromedp.Click(chromedp.CSS(`form[action="/console/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/console/staff"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/console/staff"]`)),
		chromedp.WaitVisible(chromedp.CSS("#add-name")),
		chromedp.SendKeys(chromedp.CSS("#add-name"), "dana"),
		chromedp.Click(chromedp.CSS(`form[action="/console/staff"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#secret-value")),
	)
	pw, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#secret-value")))
	if err != nil || len(pw) < 16 {
		t.Fatalf("generated password %q: %v", pw, err)
	}
	browsertest.Screenshot(t, ctx, "console-staff")
	if p := a11yProblems(t, ctx); len(p) > 0 {
		t.Errorf("staff page: %v", p)
	}

	// Wait for the background draft, then view the ticket as an admin.
	deadline := time.Now().Add(10 * time.Second)
	for got, _ := e.mod.Ticket(context.Background(), tk.ID); got.Draft == ""; got, _ = e.mod.Ticket(context.Background(), tk.ID) {
		if time.Now().After(deadline) {
			t.Fatal("no draft")
		}
		time.Sleep(10 * time.Millisecond)
	}
	run("ticket with a draft", chromedp.Navigate(e.srv.URL+"/console/tickets/"+tk.ID), chromedp.WaitVisible(chromedp.CSS("#draft-text")))
	label, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".draft-label")))
	if err != nil || !strings.Contains(label, "AI draft — edit and approve; never sent automatically") {
		t.Fatalf("draft label %q: %v", label, err)
	}
	// The draft goes into the answer box only when staff ask, to be edited.
	run("copy the draft", chromedp.Click(chromedp.CSS("[data-copy-draft]")))
	if v, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#answer-text"))); err != nil || !strings.Contains(v, "**slow down**") {
		t.Fatalf("answer box after copying the draft: %q %v", v, err)
	}
	browsertest.Screenshot(t, ctx, "console-ticket-draft")
	if p := a11yProblems(t, ctx); len(p) > 0 {
		t.Errorf("ticket page with a draft: %v", p)
	}

	// An urgent ticket: no AI draft, no Reject, and the tab says it waits.
	run("urgent ticket", chromedp.Navigate(e.srv.URL+"/console/tickets/"+urgent.ID), chromedp.WaitVisible(chromedp.CSS("#no-reject")))
	page, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(page, `id="draft-text"`) || strings.Contains(page, `/reject"`) {
		t.Error("an urgent ticket shows an AI draft or a Reject form")
	}
	// The crisis protocol: the resources the asker was given, the safety
	// check and the escalation, before the question.
	for _, want := range []string{`id="crisis-shown"`, "Samaritans", "116 123", `id="send-safety-check"`, `id="escalate"`, "respond within"} {
		if !strings.Contains(page, want) {
			t.Errorf("the urgent ticket's crisis panel lacks %q", want)
		}
	}
	if strings.Index(page, `id="crisis-panel"`) > strings.Index(page, `id="question"`) {
		t.Error("the crisis panel comes after the question")
	}
	if title, err := chromedp.Run(ctx, chromedp.Title()); err != nil || !strings.HasPrefix(title, "(1 urgent) ") {
		t.Errorf("tab title %q (%v), want it to start with (1 urgent)", title, err)
	}
	browsertest.Screenshot(t, ctx, "console-ticket-urgent")
	if p := a11yProblems(t, ctx); len(p) > 0 {
		t.Errorf("urgent ticket page: %v", p)
	}
}
