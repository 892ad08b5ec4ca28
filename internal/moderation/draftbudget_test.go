package moderation

import (
	"testing"
	"time"
)

// TestDraftBudget: over the hourly budget a ticket has no AI draft; the
// ticket itself opens as always.
func TestDraftBudget(t *testing.T) {
	drafter := &StubDrafter{Text: "draft", Model: "m"}
	e := newEnv(t, func(o *Options) { o.Drafter = drafter; o.DraftsPerHour = 2 })
	var ids []string
	for range 4 {
		tk, _ := e.open("web", false)
		ids = append(ids, tk.ID)
	}
	e.svc.Close() // waits for the drafts
	if n := len(drafter.Questions()); n != 2 {
		t.Errorf("%d drafts asked for, want 2 (the budget)", n)
	}
	with := 0
	for _, id := range ids {
		if e.stored(id).Draft != "" {
			with++
		}
	}
	if with != 2 {
		t.Errorf("%d tickets have a draft, want 2", with)
	}
	// After an hour the budget is back.
	e2 := newEnv(t, func(o *Options) { o.Drafter = drafter; o.DraftsPerHour = 1 })
	e2.open("web", false)
	e2.open("web", false)
	e2.clock.Advance(61 * 60 * 1e9)
	e2.open("web", false)
	e2.svc.Close()
	if n := len(drafter.Questions()); n != 4 {
		t.Errorf("%d drafts in all, want 4 (2 + 1 + 1 after the hour)", n)
	}
}

func TestHumanSpan(t *testing.T) {
	for d, want := range map[time.Duration]string{
		24 * time.Hour: "1 day", 30 * 24 * time.Hour: "30 days", 3 * time.Hour: "3 hours",
		time.Hour: "1 hour", 90 * time.Minute: "90 minutes", time.Minute: "1 minute",
	} {
		if got := humanSpan(d); got != want {
			t.Errorf("humanSpan(%v) = %q, want %q", d, got, want)
		}
	}
}
