package console

import (
	"context"
	"encoding/csv"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/candid-app/candid/internal/store"
)

// The feedback page: for each FAQ entry, how often askers were shown it,
// found it helpful or not, and pressed Ask a therapist or Book after it,
// over the last days. Counts only (no text, no handle), so curators see
// which entries work and which need rewriting. A CSV of the same counts is
// one link away.

// FeedbackReader reads the per-entry counts (store.Store does).
type FeedbackReader interface {
	Feedback(ctx context.Context, since string) ([]store.FeedbackCount, error)
}

type feedbackData struct {
	Days int
	Rows []feedbackRow
}

type feedbackRow struct {
	ID, Question                          string
	Shown, Helpful, NotHelpful, Ask, Book int64
	HelpfulRate                           string
}

func feedbackDays(r *http.Request) int {
	days, err := strconv.Atoi(r.URL.Query().Get("days"))
	if err != nil || days < 1 || days > 400 {
		return 30
	}
	return days
}

func (c *Console) feedbackRows(ctx context.Context, days int) ([]feedbackRow, error) {
	since := c.now().UTC().Add(-time.Duration(days-1) * 24 * time.Hour).Format(time.DateOnly)
	counts, err := c.feedback.Feedback(ctx, since)
	if err != nil {
		return nil, err
	}
	by := map[string]*feedbackRow{}
	for _, fc := range counts {
		row := by[fc.FAQID]
		if row == nil {
			row = &feedbackRow{ID: fc.FAQID, Question: c.faqEntry(fc.FAQID).Question}
			if row.Question == "" {
				row.Question = fc.FAQID
			}
			by[fc.FAQID] = row
		}
		switch fc.Event {
		case "shown":
			row.Shown += fc.N
		case "helpful":
			row.Helpful += fc.N
		case "not_helpful":
			row.NotHelpful += fc.N
		case "ask_therapist":
			row.Ask += fc.N
		case "book":
			row.Book += fc.N
		}
	}
	var rows []feedbackRow
	for _, row := range by {
		row.HelpfulRate = "–"
		if n := row.Helpful + row.NotHelpful; n > 0 {
			row.HelpfulRate = strconv.Itoa(int(100*row.Helpful/n)) + "%"
		}
		rows = append(rows, *row)
	}
	slices.SortFunc(rows, func(a, b feedbackRow) int {
		if a.Shown != b.Shown {
			return int(b.Shown - a.Shown)
		}
		return strings.Compare(a.ID, b.ID)
	})
	return rows, nil
}

func (c *Console) feedbackPage(w http.ResponseWriter, r *http.Request, p principal) {
	days := feedbackDays(r)
	rows, err := c.feedbackRows(r.Context(), days)
	if err != nil {
		c.fail(w, r, &p, err)
		return
	}
	pg := c.newPage(r, p, "FAQ feedback", "feedback")
	pg.Feedback = &feedbackData{Days: days, Rows: rows}
	c.render(w, r, http.StatusOK, "feedback", pg)
}

// feedbackCSV is the same counts as CSV (aggregates only, never text or
// handles).
func (c *Console) feedbackCSV(w http.ResponseWriter, r *http.Request, p principal) {
	days := feedbackDays(r)
	rows, err := c.feedbackRows(r.Context(), days)
	if err != nil {
		c.fail(w, r, &p, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="candid-feedback-`+strconv.Itoa(days)+`d.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"entry", "shown", "helpful", "not_helpful", "ask_therapist_after", "book_after"})
	for _, row := range rows {
		cw.Write([]string{row.ID, strconv.FormatInt(row.Shown, 10), strconv.FormatInt(row.Helpful, 10), strconv.FormatInt(row.NotHelpful, 10),
			strconv.FormatInt(row.Ask, 10), strconv.FormatInt(row.Book, 10)})
	}
	cw.Flush()
}
