package console

import (
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/candid-app/candid/internal/store"
)

// Queue filters and search, from the queue page's query string. They narrow
// what the page shows; the counts above the list stay the whole queue's, so
// a filter never hides that urgent tickets wait.
type queueFilter struct {
	Show    string // all, urgent, concern, mine, unclaimed
	Channel string // "", web, telegram, slack
	Q       string // words to find in the scrubbed question
	words   []string
}

func parseQueueFilter(v url.Values) queueFilter {
	f := queueFilter{Show: "all"}
	switch s := v.Get("show"); s {
	case "urgent", "concern", "mine", "unclaimed":
		f.Show = s
	}
	switch ch := v.Get("channel"); ch {
	case "web", "telegram", "slack":
		f.Channel = ch
	}
	q := v.Get("q")
	if len(q) > 200 || !utf8.ValidString(q) {
		q = ""
	}
	f.Q = strings.TrimSpace(q)
	f.words = strings.Fields(strings.ToLower(f.Q))
	return f
}

// Active reports whether anything narrows the list.
func (f queueFilter) Active() bool { return f.Show != "all" || f.Channel != "" || f.Q != "" }

func (f queueFilter) keep(t store.Ticket, me string) bool {
	switch f.Show {
	case "urgent":
		if t.SafetyRank() != store.RankUrgent {
			return false
		}
	case "concern":
		if t.SafetyRank() != store.RankConcern {
			return false
		}
	case "mine":
		if t.State != store.TicketClaimed || t.ClaimedBy != me {
			return false
		}
	case "unclaimed":
		if t.State != store.TicketOpen {
			return false
		}
	}
	if f.Channel != "" && t.Platform != f.Channel {
		return false
	}
	if len(f.words) > 0 {
		q := strings.ToLower(t.Question)
		for _, w := range f.words {
			if !strings.Contains(q, w) {
				return false
			}
		}
	}
	return true
}
