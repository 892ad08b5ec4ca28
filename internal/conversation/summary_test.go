package conversation

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/candid-app/candid/internal/faq"
	"github.com/candid-app/candid/internal/match"
)

// summaryLibrary gives erectile-dysfunction a summary, and answers
// "twice ..." with a second entry in Also.
type summaryLibrary struct{ fakeLibrary }

func (l summaryLibrary) Entry(id string) *faq.Entry {
	e := l.fakeLibrary.Entry(id)
	if e == nil || id != "erectile-dysfunction" {
		return e
	}
	cp := *e
	cp.Summary = "Trouble getting or keeping an erection is common and treatable."
	return &cp
}

func (l summaryLibrary) Match(q string) match.Result {
	r := l.fakeLibrary.Match(q)
	if strings.HasPrefix(q, "twice") {
		r = l.fakeLibrary.Match("answer")
		r.Also = "sti-testing"
	}
	return r
}

func TestSummaryFirstAndAlsoAsked(t *testing.T) {
	f := newFixture(t, false)
	f.e.opts.Library = summaryLibrary{fakeLibrary{f.e.opts.Library.(fakeLibrary).cat}}
	ctx := context.Background()
	rs, err := f.e.Handle(ctx, Inbound{Handle: "h_sum", Platform: "web", Text: "answer please"})
	if err != nil {
		t.Fatal(err)
	}
	r := rs[len(rs)-1]
	if r.Kind != KindAnswer || !strings.HasPrefix(r.Text, "Trouble getting") || labels(r)[0] != LabelReadMore {
		t.Fatalf("summary reply: %+v", r)
	}
	full, err := f.e.Handle(ctx, Inbound{Handle: "h_sum", Platform: "web", Action: r.Buttons[0].Action})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := f.e.opts.Library.Entry("erectile-dysfunction").Render(f.e.opts.Vars)
	if full[0].Text != want || slices.Contains(labels(full[0]), LabelReadMore) {
		t.Fatalf("read more: %+v", full[0])
	}
	// A message that asked two things: the second as a button.
	rs, err = f.e.Handle(ctx, Inbound{Handle: "h_sum", Platform: "web", Text: "twice asked"})
	if err != nil {
		t.Fatal(err)
	}
	r = rs[len(rs)-1]
	also := f.e.opts.Library.Entry("sti-testing")
	if !slices.ContainsFunc(r.Buttons, func(b Button) bool {
		return b.Action == ActionShowFAQ+"sti-testing" && b.Label == LabelAlsoAsked+also.Question
	}) {
		t.Fatalf("no also-asked button: %+v", r.Buttons)
	}
	// An expired or unknown entry behind Read more.
	rs, _ = f.e.Handle(ctx, Inbound{Handle: "h_sum", Platform: "web", Action: ActionMore + "no-such-entry"})
	if !strings.Contains(rs[0].Text, "expired") {
		t.Fatalf("unknown read more: %+v", rs[0])
	}
}
