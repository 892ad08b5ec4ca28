package faq

import (
	"testing"
	"time"
)

func TestReviewQueue(t *testing.T) {
	today := time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)
	cat := &Catalog{Entries: []*Entry{
		{ID: "fresh-review", Review: Review{Status: "reviewed", By: "physician", Date: "2026-06-01"}},
		{ID: "old-review", Review: Review{Status: "reviewed", By: "physician", Date: "2023-01-01"}},
		{ID: "review-due", Review: Review{Status: "reviewed", By: "physician", Date: "2026-01-01", Due: "2026-12-01"}},
		{ID: "draft-overdue", Review: Review{Status: "draft", Due: "2026-11-30"}},
		{ID: "draft-b", Review: Review{Status: "draft"}},
		{ID: "draft-a", Review: Review{Status: "draft", Due: "2027-01-31"}},
		{ID: "no-status"},
	}}
	got := ReviewQueue(cat, LintOptions{Today: today})
	want := []struct {
		id      string
		overdue bool
	}{{"draft-overdue", true}, {"old-review", true}, {"review-due", true}, {"draft-a", false}, {"draft-b", false}, {"no-status", false}}
	if len(got) != len(want) {
		t.Fatalf("got %d items %+v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		if got[i].ID != w.id || got[i].Overdue != w.overdue || got[i].Reason == "" {
			t.Errorf("item %d: %+v, want %s overdue=%v", i, got[i], w.id, w.overdue)
		}
	}
	if got := ReviewQueue(cat, LintOptions{Today: today, MaxReviewAge: -1}); len(got) != 5 {
		t.Errorf("with the age check off, %d items, want 5 (old-review stays current)", len(got))
	}
}

func TestRedFlagTraced(t *testing.T) {
	text := stemSet("See a doctor if bleeding lasts more than a day, or if you have a fever or severe belly pain.")
	tests := []struct {
		flag string
		want bool
	}{
		{"Heavy bleeding, severe belly pain or fever", true},
		{"Fevers and bleeds", true},
		{"Sudden testicular pain with swelling", false},
		{"Coughing up blood", false},
		{"", true},
	}
	for _, tt := range tests {
		if got := redFlagTraced(tt.flag, text); got != tt.want {
			t.Errorf("redFlagTraced(%q) = %v, want %v", tt.flag, got, tt.want)
		}
	}
}
