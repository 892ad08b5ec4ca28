package conversation

import (
	"context"
	"testing"
	"time"
)

// TestFeedbackCounts: shown, helpful, not helpful, Ask a therapist and Book
// after an answer are counted against the entry; a forged button for an
// entry that does not exist counts nothing; the counts hold no handle.
func TestFeedbackCounts(t *testing.T) {
	f := newFixture(t, false)
	f.e.opts.Feedback = f.st
	ctx := context.Background()
	do := func(in Inbound) {
		t.Helper()
		in.Platform = "web"
		if _, err := f.e.Handle(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	const h = "h_feedback_asker"
	do(Inbound{Handle: h, Text: "answer please"})
	do(Inbound{Handle: h, Action: ActionHelpful + "erectile-dysfunction"})
	do(Inbound{Handle: h, Action: ActionNotHelpful + "erectile-dysfunction"})
	do(Inbound{Handle: h, Action: ActionBook})
	do(Inbound{Handle: h, Action: ActionAskTherapist})
	do(Inbound{Handle: h, Action: ActionHelpful + "no-such-entry"})
	do(Inbound{Handle: h, Action: ActionShowFAQ + "consent"})

	got, err := f.st.Feedback(ctx, time.Now().UTC().Add(-24*time.Hour).Format(time.DateOnly))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int64{}
	for _, c := range got {
		m[c.FAQID+" "+c.Event] += c.N
		if c.FAQID == h || c.Event == h {
			t.Errorf("a count holds the handle: %+v", c)
		}
	}
	want := map[string]int64{
		"erectile-dysfunction shown": 1, "erectile-dysfunction helpful": 1, "erectile-dysfunction not_helpful": 1,
		"erectile-dysfunction book": 1, "erectile-dysfunction ask_therapist": 1, "consent shown": 1,
	}
	for k, n := range want {
		if m[k] != n {
			t.Errorf("%s = %d, want %d (all %v)", k, m[k], n, m)
		}
	}
	if len(m) != len(want) {
		t.Errorf("counts %v, want exactly %v", m, want)
	}
}
