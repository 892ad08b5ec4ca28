package conversation

import (
	"context"
	"strings"
	"testing"

	"github.com/candid-app/candid/internal/faq"
)

// reviewedLibrary is fakeLibrary with one entry marked reviewed.
type reviewedLibrary struct {
	fakeLibrary
	reviewed *faq.Entry
}

func (l reviewedLibrary) Entry(id string) *faq.Entry {
	if id == l.reviewed.ID {
		return l.reviewed
	}
	return l.fakeLibrary.Entry(id)
}

// TestReviewedNoteOnlyOnReviewed: askers are told an answer was reviewed
// only when a clinician signed it off, in the summary and the full answer;
// a draft (every shipped entry today) never says so.
func TestReviewedNoteOnlyOnReviewed(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	const note = "Reviewed by the clinic's therapists"
	draft := func() []Reply {
		out, err := f.e.Handle(ctx, Inbound{Handle: "h_draftasker", Platform: "web", Text: "answer please"})
		if err != nil {
			t.Fatal(err)
		}
		more, err := f.e.Handle(ctx, Inbound{Handle: "h_draftasker", Platform: "web", Action: ActionMore + out[0].FAQID})
		if err != nil {
			t.Fatal(err)
		}
		return append(out, more...)
	}()
	for _, r := range draft {
		if strings.Contains(r.Text, note) {
			t.Errorf("a draft entry claims a review: %q", r.Text)
		}
	}

	lib := f.e.opts.Library.(fakeLibrary)
	cp := *lib.Entry("erectile-dysfunction")
	cp.Review = faq.Review{Status: "reviewed", By: "sex therapist (AASECT)", Date: "2026-12-01"}
	f.e.opts.Library = reviewedLibrary{lib, &cp}
	out, err := f.e.Handle(ctx, Inbound{Handle: "h_reviewedasker", Platform: "web", Text: "answer please"})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 || !strings.Contains(out[0].Text, note+" (2026-12-01).") {
		t.Fatalf("summary of a reviewed entry: %+v", out)
	}
	more, err := f.e.Handle(ctx, Inbound{Handle: "h_reviewedasker", Platform: "web", Action: ActionMore + "erectile-dysfunction"})
	if err != nil {
		t.Fatal(err)
	}
	if len(more) == 0 || !strings.Contains(more[0].Text, note) {
		t.Fatalf("full answer of a reviewed entry: %+v", more)
	}
}
