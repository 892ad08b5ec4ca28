package faq

import (
	"sort"
	"time"
)

// ReviewItem is an entry a clinician needs to read: a draft, or a review
// that has expired or fallen due.
type ReviewItem struct {
	ID     string `json:"id"`
	File   string `json:"file"`
	Status string `json:"status"` // draft | reviewed
	// Reason says why, in words a curator reads: "draft", "draft, due
	// 2026-12-01 (overdue)", "reviewed 2024-01-10, more than 730 days ago".
	Reason string `json:"reason"`
	// Overdue: a date has passed (the draft's due date, or the review's).
	Overdue bool `json:"overdue"`
}

// ReviewQueue lists the entries of cat that need a clinician, overdue
// first, then drafts, each group by ID. It reads the same dates as Lint.
func ReviewQueue(cat *Catalog, opts LintOptions) []ReviewItem {
	if opts.Today.IsZero() {
		opts.Today = time.Now()
	}
	if opts.MaxReviewAge == 0 {
		opts.MaxReviewAge = DefaultMaxReviewAge
	}
	today := dateOf(opts.Today)
	var out []ReviewItem
	for _, e := range cat.Entries {
		it := ReviewItem{ID: e.ID, File: e.File, Status: e.Review.Status}
		due, dueErr := time.Parse(time.DateOnly, e.Review.Due)
		dueParsed := dueErr == nil
		if e.IsDraft() {
			it.Status = "draft"
			it.Reason = "draft: not yet reviewed by a clinician"
			if dueParsed {
				it.Reason += ", review due " + e.Review.Due
				if due.Before(today) {
					it.Reason += " (overdue)"
					it.Overdue = true
				}
			}
			out = append(out, it)
			continue
		}
		date, dateErr := time.Parse(time.DateOnly, e.Review.Date)
		switch {
		case dueParsed && due.Before(today):
			it.Reason, it.Overdue = "reviewed "+e.Review.Date+", next review was due "+e.Review.Due, true
		case dateErr == nil && opts.MaxReviewAge > 0 && today.Sub(date) > opts.MaxReviewAge:
			it.Reason, it.Overdue = "reviewed "+e.Review.Date+", longer ago than reviews stay current", true
		default:
			continue
		}
		out = append(out, it)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Overdue != out[j].Overdue {
			return out[i].Overdue
		}
		return out[i].ID < out[j].ID
	})
	return out
}
