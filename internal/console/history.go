package console

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/candid-app/candid/internal/moderation"
	"github.com/candid-app/candid/internal/store"
)

// The history page: closed tickets (answered, booked, rejected, expired,
// deleted by the asker) with who handled them and how long a person took,
// and the median and 90th percentile of that time, so a clinic sees
// whether it keeps the answer time it promises.

type historyData struct {
	State         string
	Rows          []historyRow
	Limit         int
	Handled       int
	Median, P90   string
	UrgentPromise string
	UrgentOnTime  string
}

type historyRow struct {
	ID, Excerpt, Tier, Outcome, By string
	Opened, OpenedISO, Took        string
	Late                           bool
}

func (c *Console) historyPage(w http.ResponseWriter, r *http.Request, p principal) {
	state := r.URL.Query().Get("state")
	var states []store.TicketState
	switch state {
	case "answered", "booked", "rejected", "expired", "forgotten":
		states = []store.TicketState{store.TicketState(state)}
	default:
		state = "all"
	}
	hs, err := c.mod.History(r.Context(), states...)
	if err != nil {
		c.fail(w, r, &p, err)
		return
	}
	d := &historyData{State: state, Limit: moderation.HistoryLimit, UrgentPromise: humanAge(c.respond[store.RankUrgent])}
	var took []time.Duration
	urgent, urgentOK := 0, 0
	for _, h := range hs {
		t := h.Ticket
		row := historyRow{ID: t.ID, Excerpt: excerpt(t.Question, 120), Tier: tierOf(t), Outcome: stateLabel(t.State), By: t.ActedBy,
			Opened: t.CreatedAt.UTC().Format("2006-01-02 15:04 UTC"), OpenedISO: t.CreatedAt.UTC().Format(time.RFC3339)}
		if t.State == store.TicketForgotten {
			row.Excerpt = "(deleted by the asker)"
		}
		if !h.HandledAt.IsZero() {
			d := h.HandledAt.Sub(t.CreatedAt)
			took = append(took, d)
			row.Took = humanAge(d)
			if rank := t.SafetyRank(); rank != store.RankOrdinary {
				row.Late = d > c.respond[rank]
				if rank == store.RankUrgent {
					urgent++
					if !row.Late {
						urgentOK++
					}
				}
			}
		}
		d.Rows = append(d.Rows, row)
	}
	d.Handled = len(took)
	d.Median, d.P90 = "none", "none"
	if len(took) > 0 {
		slices.Sort(took)
		d.Median = humanAge(took[(len(took)-1)/2])
		d.P90 = humanAge(took[(len(took)*9+9)/10-1]) // nearest rank
	}
	d.UrgentOnTime = "no urgent tickets"
	if urgent > 0 {
		d.UrgentOnTime = strconv.Itoa(urgentOK) + " of " + strconv.Itoa(urgent)
	}
	pg := c.newPage(r, p, "History", "history")
	pg.History = d
	c.render(w, r, http.StatusOK, "history", pg)
}
