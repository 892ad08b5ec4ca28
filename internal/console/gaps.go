package console

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/candid-app/candid/internal/store"
)

// The gaps page: what askers sent to the therapists, grouped by the FAQ
// entry the matcher found nearest (its own judgement, so no second model
// is needed), with each group's size, a few scrubbed examples and whether
// it grows. A large group near an entry says that entry misses what people
// ask; the group with no entry near says a topic is missing. Each example
// links to its ticket, where an answered one becomes an FAQ draft in one
// click. Only questions kept for tickets (scrubbed, within their
// retention) are read.

type gapsData struct {
	Groups []gapGroup
	Total  int
}

type gapGroup struct {
	FAQID, Question       string // empty FAQID: no entry near
	Size, ThisWeek, Prior int
	Trend                 string
	Examples              []gapExample
}

type gapExample struct {
	ID, Excerpt, State string
}

func (c *Console) gapsPage(w http.ResponseWriter, r *http.Request, p principal) {
	hs, err := c.mod.History(r.Context())
	if err != nil {
		c.fail(w, r, &p, err)
		return
	}
	waiting, _, err := c.mod.Queue(r.Context())
	if err != nil {
		c.fail(w, r, &p, err)
		return
	}
	tickets := slices.Clone(waiting)
	for _, h := range hs {
		tickets = append(tickets, h.Ticket)
	}
	now := c.now()
	by := map[string]*gapGroup{}
	d := &gapsData{}
	for _, t := range tickets {
		if t.State == store.TicketForgotten || strings.TrimSpace(t.Question) == "" || t.SafetyRank() == store.RankUrgent {
			continue // urgent tickets are emergencies, not FAQ gaps
		}
		key := ""
		if len(t.Candidates) > 0 && t.Candidates[0].Score >= c.weak {
			key = t.Candidates[0].FAQID
		}
		g := by[key]
		if g == nil {
			g = &gapGroup{FAQID: key, Question: "No FAQ entry is near: a missing topic?"}
			if key != "" {
				g.Question = c.faqEntry(key).Question
				if g.Question == "" {
					g.Question = key
				}
			}
			by[key] = g
		}
		g.Size++
		d.Total++
		switch age := now.Sub(t.CreatedAt); {
		case age < 7*24*time.Hour:
			g.ThisWeek++
		case age < 14*24*time.Hour:
			g.Prior++
		}
		if len(g.Examples) < 5 {
			g.Examples = append(g.Examples, gapExample{ID: t.ID, Excerpt: excerpt(t.Question, 140), State: stateLabel(t.State)})
		}
	}
	for _, g := range by {
		switch {
		case g.ThisWeek > g.Prior:
			g.Trend = "rising"
		case g.ThisWeek < g.Prior:
			g.Trend = "falling"
		default:
			g.Trend = "steady"
		}
		d.Groups = append(d.Groups, *g)
	}
	slices.SortFunc(d.Groups, func(a, b gapGroup) int {
		if a.Size != b.Size {
			return b.Size - a.Size
		}
		return strings.Compare(a.FAQID, b.FAQID)
	})
	pg := c.newPage(r, p, "Gaps", "gaps")
	pg.Gaps = d
	c.render(w, r, http.StatusOK, "gaps", pg)
}
