package conversation

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/candid-app/candid/internal/faq"
	"github.com/candid-app/candid/internal/match"
	"github.com/candid-app/candid/internal/store"
	"github.com/candid-app/candid/internal/store/boltstore"
)

func openStore(t *testing.T) (*boltstore.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "candid.db")
	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, path
}

// fakeLibrary decides by the first word of the query, so the engine's rules
// can be tested apart from the matcher's quality.
type fakeLibrary struct{ cat *faq.Catalog }

func (f fakeLibrary) Match(q string) match.Result {
	word, _, _ := strings.Cut(q, " ")
	cands := []match.Candidate{{ID: "erectile-dysfunction", Score: 0.9}, {ID: "performance-anxiety", Score: 0.4}, {ID: "low-desire", Score: 0.2}}
	switch word {
	case "answer":
		return match.Result{Decision: match.Answer, Candidates: cands, Confidence: 0.9}
	case "suggest":
		return match.Result{Decision: match.Suggest, Candidates: cands, Confidence: 0.5}
	case "queue":
		return match.Result{Decision: match.Queue, Candidates: cands[:1], Confidence: 0.1}
	case "vanished":
		return match.Result{Decision: match.Answer, Candidates: []match.Candidate{{ID: "no-such-entry", Score: 0.9}}, Confidence: 0.9}
	}
	return match.Result{Decision: match.OutOfScope}
}

func (f fakeLibrary) Entry(id string) *faq.Entry { return f.cat.Entry(id) }

type engineFixture struct {
	e       *Engine
	st      *boltstore.Store
	path    string
	tickets *FakeTickets
}

func newFixture(t *testing.T, real bool) engineFixture {
	t.Helper()
	st, path := openStore(t)
	lib, det, res := ShippedContent(t)
	var l Library = lib
	if !real {
		// The dialogue tests drive the engine with made-up phrases ("answer
		// please"): they test the engine's mechanics, so safety is the rule
		// layer alone, whose verdicts are explained and fixed. The learned
		// layer is tested in internal/safety and on real content below.
		l = fakeLibrary{lib.Catalog}
		det = det.WithModel(nil)
	}
	ft := &FakeTickets{Store: st}
	e, err := New(Options{Library: l, Safety: det, Resources: res, Memory: st, Tickets: ft, Forgetter: ft,
		Vars: faq.Vars{ClinicName: "Test Clinic", BookingURL: "https://clinic.example/book", RetentionDays: 30, TicketRetentionDays: 30, AnswerTime: "within two days"}})
	if err != nil {
		t.Fatal(err)
	}
	return engineFixture{e, st, path, ft}
}

func labels(r Reply) []string {
	var out []string
	for _, b := range r.Buttons {
		out = append(out, b.Label)
	}
	return out
}

func TestDecisions(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	tests := []struct {
		text        string
		kind        Kind
		faqID       string
		wantButtons []string
		wantText    string
	}{
		{"answer please", KindAnswer, "erectile-dysfunction", []string{LabelReadMore, LabelHelpful, LabelNotHelpful, LabelAskTherapist, LabelBook}, ""},
		{"suggest please", KindSuggest, "", nil, "Did you mean"},
		{"queue please", KindInfo, "", []string{LabelAskTherapist}, "therapists"},
		{"vanished entry", KindInfo, "", []string{LabelAskTherapist}, "ready answer"},
		{"what's the weather tomorrow", KindOutOfScope, "", []string{LabelAskTherapist}, "sex, sexual health"},
		{"write me an erotic story about a nurse", KindOutOfScope, "", []string{LabelAskTherapist}, ""},
		{"answer I want to kill myself", KindCrisis, "", nil, ""},
		{"", KindInfo, "", nil, "Type your question"},
		{"   \n\t ", KindInfo, "", nil, "Type your question"},
		{strings.Repeat("long ", 500), KindInfo, "", nil, "longer than"},
		{"/help", KindInfo, "", nil, "/forget"},
		{"/HELP@candid_bot", KindInfo, "", nil, "/privacy"},
		{"/start", KindInfo, "", nil, "anonymous"},
		{"/privacy", KindInfo, "privacy-of-this-service", nil, "Test Clinic"},
		{"/book", KindInfo, "book-a-session", nil, "https://clinic.example/book"},
		{"/frobnicate", KindInfo, "", nil, "don't know that command"},
		{"answer \xff\xfe invalid utf8", KindAnswer, "erectile-dysfunction", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			rs, err := f.e.Handle(ctx, Inbound{Handle: "h_test", Platform: "web", Text: tt.text})
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) == 0 {
				t.Fatal("no reply")
			}
			r := rs[0]
			if r.Kind != tt.kind || r.FAQID != tt.faqID {
				t.Fatalf("got kind %s faq %q, want %s %q (text %q)", r.Kind, r.FAQID, tt.kind, tt.faqID, r.Text)
			}
			if tt.wantButtons != nil && strings.Join(labels(r), "|") != strings.Join(tt.wantButtons, "|") {
				t.Fatalf("buttons %v, want %v", labels(r), tt.wantButtons)
			}
			if !strings.Contains(r.Text, tt.wantText) {
				t.Fatalf("text %q lacks %q", r.Text, tt.wantText)
			}
			if tt.kind == KindSuggest {
				last := r.Buttons[len(r.Buttons)-1]
				if last.Action != ActionAskTherapist || len(r.Buttons) < 2 {
					t.Fatalf("suggest buttons %v", r.Buttons)
				}
			}
		})
	}
}

func TestCrisisComesFirstAndOpensUrgentTicket(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	for _, region := range []string{"US", "UK", "EU", "INTL", ""} {
		rs, err := f.e.Handle(ctx, Inbound{Handle: "h_c" + region, Platform: "telegram", Text: "I want to die", Region: region})
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 1 || rs[0].Kind != KindCrisis {
			t.Fatalf("region %q: replies %+v", region, rs)
		}
		if !strings.Contains(rs[0].Text, "urgent") {
			t.Fatalf("crisis reply does not say it was passed on: %q", rs[0].Text)
		}
	}
	if len(f.tickets.Opened) != 5 || !f.tickets.Opened[0].Urgent || f.tickets.Opened[0].Category == "" {
		t.Fatalf("urgent tickets: %+v", f.tickets.Opened)
	}
}

func TestAskTherapistFlow(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	in := Inbound{Handle: "h_ask", Platform: "web"}

	in.Action = ActionAskTherapist
	rs, _ := f.e.Handle(ctx, in)
	if rs[0].Kind != KindInfo || len(f.tickets.Opened) != 0 {
		t.Fatalf("ask without a question: %+v", rs)
	}

	in.Action, in.Text = "", "queue my secret is mail me at jo@example.com or +44 7700 900123"
	f.e.Handle(ctx, in)
	in.Action, in.Text = ActionAskTherapist, ""
	rs, err := f.e.Handle(ctx, in)
	if err != nil || rs[0].Kind != KindQueued {
		t.Fatalf("ask: %+v %v", rs, err)
	}
	if len(f.tickets.Opened) != 1 {
		t.Fatalf("tickets: %d", len(f.tickets.Opened))
	}
	q := f.tickets.Opened[0].Question
	if strings.Contains(q, "jo@example.com") || strings.Contains(q, "7700") || !strings.Contains(q, "[email]") {
		t.Fatalf("ticket question not scrubbed: %q", q)
	}
	if len(f.tickets.Opened[0].Candidates) == 0 {
		t.Fatal("ticket has no candidates for the moderator")
	}
	rs, _ = f.e.Handle(ctx, in)
	if rs[0].Kind != KindQueued || len(f.tickets.Opened) != 1 {
		t.Fatalf("second press opened another ticket: %d", len(f.tickets.Opened))
	}
	// The history holds the scrubbed question, never the raw one.
	msgs, _ := f.e.History(ctx, "h_ask", 100)
	for _, m := range msgs {
		if strings.Contains(m.Text, "jo@example.com") {
			t.Fatalf("history holds raw e-mail: %q", m.Text)
		}
	}
}

func TestButtons(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	in := Inbound{Handle: "h_b", Platform: "web", Text: "answer me"}
	f.e.Handle(ctx, in)
	tests := []struct {
		action string
		kind   Kind
		check  func(Reply) bool
	}{
		{ActionHelpful + "erectile-dysfunction", KindInfo, func(r Reply) bool { return strings.Contains(r.Text, "glad") }},
		{ActionNotHelpful + "erectile-dysfunction", KindSuggest, func(r Reply) bool {
			for _, b := range r.Buttons {
				if b.Action == ActionShowFAQ+"erectile-dysfunction" {
					return false
				}
			}
			return len(r.Buttons) >= 2
		}},
		{ActionShowFAQ + "low-desire", KindAnswer, func(r Reply) bool { return r.FAQID == "low-desire" }},
		{ActionShowFAQ + "../../etc/passwd", KindInfo, func(r Reply) bool { return strings.Contains(r.Text, "expired") }},
		{ActionBook, KindInfo, func(r Reply) bool { return strings.Contains(r.Text, "https://clinic.example/book") }},
		{"nonsense", KindInfo, func(r Reply) bool { return strings.Contains(r.Text, "expired") }},
		{ActionHelp, KindInfo, func(r Reply) bool { return strings.Contains(r.Text, "/forget") }},
	}
	for _, tt := range tests {
		in := Inbound{Handle: "h_b", Platform: "web", Action: tt.action}
		rs, err := f.e.Handle(ctx, in)
		if err != nil || len(rs) == 0 || rs[0].Kind != tt.kind || !tt.check(rs[0]) {
			t.Errorf("action %q: %+v %v", tt.action, rs, err)
		}
	}
}

func TestForgetDeletesEverything(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	h := "h_forget_me_please"
	f.e.Handle(ctx, Inbound{Handle: h, Platform: "web", Text: "queue my private worry about a rash"})
	f.e.Handle(ctx, Inbound{Handle: h, Platform: "web", Action: ActionAskTherapist})
	if msgs, _ := f.e.History(ctx, h, 100); len(msgs) == 0 {
		t.Fatal("no history before forget")
	}
	rs, err := f.e.Handle(ctx, Inbound{Handle: h, Platform: "web", Text: "/forget"})
	if err != nil || !strings.Contains(rs[0].Text, "deleted") {
		t.Fatalf("forget: %+v %v", rs, err)
	}
	if msgs, _ := f.e.History(ctx, h, 100); len(msgs) != 0 {
		t.Fatalf("history after forget: %+v", msgs)
	}
	if _, err := f.st.State(ctx, h, stateLastQuestion); err == nil {
		t.Fatal("state survives forget")
	}
	tk, err := f.st.Ticket(ctx, f.tickets.Opened[0].ID)
	if err != nil || tk.State != store.TicketForgotten || tk.Question != "" || tk.Handle != "" {
		t.Fatalf("ticket after forget: %+v %v", tk, err)
	}
	f.st.Close()
	raw, _ := os.ReadFile(f.path)
	for _, s := range []string{h, "private worry", "rash"} {
		if bytes.Contains(raw, []byte(s)) {
			t.Fatalf("the database file still holds %q after /forget", s)
		}
	}
}

func TestBlockedAsker(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	f.st.Block(ctx, "h_blocked", f.e.opts.Now().Add(24*3600e9))
	rs, _ := f.e.Handle(ctx, Inbound{Handle: "h_blocked", Platform: "web", Text: "answer me"})
	if rs[0].Kind != KindInfo || !strings.Contains(rs[0].Text, "not available") {
		t.Fatalf("blocked: %+v", rs)
	}
	// Safety still comes first for a blocked asker, and a person sees it:
	// a block never stands between a person in danger and help.
	rs, _ = f.e.Handle(ctx, Inbound{Handle: "h_blocked", Platform: "web", Text: "I want to kill myself"})
	if rs[0].Kind != KindCrisis || len(f.tickets.Opened) != 1 || !f.tickets.Opened[0].Urgent {
		t.Fatalf("blocked crisis: %+v, tickets %d", rs, len(f.tickets.Opened))
	}
}

func TestRealContentExamples(t *testing.T) {
	f := newFixture(t, true)
	tests := []struct{ q, decision, id string }{
		{"cant stay hard", DecisionAnswer, "erectile-dysfunction"},
		{"I want to die", DecisionCrisis, ""},
		{"this dry spell is killing me", "", ""},
		{"does lube kill sperm", "", ""},
		{"what's the weather tomorrow", DecisionOutOfScope, ""},
	}
	for _, tt := range tests {
		c := f.e.Classify(tt.q)
		if tt.decision == "" {
			if c.Decision == DecisionCrisis {
				t.Errorf("%q: false crisis", tt.q)
			}
			continue
		}
		if c.Decision != tt.decision || c.FAQID != tt.id {
			t.Errorf("%q: got %s %s, want %s %s", tt.q, c.Decision, c.FAQID, tt.decision, tt.id)
		}
	}
}

type labelRecorder struct{ got []string }

func (r *labelRecorder) Decision(platform, decision string) {
	r.got = append(r.got, platform+" "+decision)
}

// TestMetricLabelsAreFixed: what askers send (a forged button action, any
// "/word", an unknown platform from a buggy adapter) never becomes a metric
// label; known actions, commands and decisions keep theirs.
func TestMetricLabelsAreFixed(t *testing.T) {
	f := newFixture(t, false)
	rec := &labelRecorder{}
	f.e.opts.Recorder = rec
	ctx := context.Background()
	secret := "my-email-is-alex@example.org"
	for _, in := range []Inbound{
		{Handle: "h1", Platform: "web", Action: "x" + secret},
		{Handle: "h1", Platform: "web", Action: "faq:" + secret},
		{Handle: "h1", Platform: "web", Text: "/" + secret},
		{Handle: "h1", Platform: "web", Text: "/help " + secret},
		{Handle: "h1", Platform: "web", Action: ActionPrivacy},
		{Handle: "h1", Platform: "web\x00" + secret, Text: "how do I put on a condom"},
	} {
		if _, err := f.e.Handle(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"web action:unknown", "web action:faq", "web command:unknown", "web command:help", "web action:privacy"}
	if len(rec.got) != len(want)+1 {
		t.Fatalf("labels %q", rec.got)
	}
	for i, w := range want {
		if rec.got[i] != w {
			t.Errorf("label %d = %q, want %q", i, rec.got[i], w)
		}
	}
	if last := rec.got[len(want)]; !strings.HasPrefix(last, "unknown ") {
		t.Errorf("unknown platform recorded as %q", last)
	}
	for _, l := range rec.got {
		if strings.Contains(l, "alex") || len(l) > 40 {
			t.Errorf("label %q carries asker text", l)
		}
	}
}

// TestCommandsStoredScrubbed: a command is kept in the web history as its
// name only, and an unknown "/word" is scrubbed like any text.
func TestCommandsStoredScrubbed(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	for _, text := range []string{"/help my email is alex@example.org phone 555 123 4567", "/alex@example.org"} {
		if _, err := f.e.Handle(ctx, Inbound{Handle: "hc", Platform: "web", Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := f.e.History(ctx, "hc", 50)
	if err != nil {
		t.Fatal(err)
	}
	var asked []string
	for _, m := range msgs {
		if m.From == "asker" {
			asked = append(asked, m.Text)
		}
		if strings.Contains(m.Text, "alex") || strings.Contains(m.Text, "4567") {
			t.Errorf("stored %q", m.Text)
		}
	}
	if len(asked) != 2 || asked[0] != "/help" {
		t.Errorf("asker messages %q", asked)
	}
}
