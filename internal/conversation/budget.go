package conversation

import (
	"context"
	"fmt"
	"time"

	"github.com/candid-app/candid/internal/ratelimit"
)

// Ticket budgets. A person may send many ordinary questions to the team,
// but a flood (a script with fresh cookies, one person pasting forty
// questions) would bury everyone else's, and each ticket costs a moderator's
// time, an AI draft and Slack calls. So ordinary tickets are counted per
// asker and per client address over an hour. Urgent and concern tickets are
// never counted and never refused: the budget stands in front of "Ask a
// therapist", never in front of the safety check.

// Counter counts events per key over a window: ratelimit.Window in memory,
// or redisstore.Window shared by replicas.
type Counter interface {
	Count(ctx context.Context, key string) int
	Add(ctx context.Context, key string)
}

var _ Counter = (*ratelimit.Window)(nil)

// Defaults for Options.TicketsPerHour and the per-address multiple.
const (
	DefaultTicketsPerHour = 5
	// clientTicketFactor: one client address (many askers behind one
	// proxy or school network) may open this many times an asker's budget.
	clientTicketFactor = 6
)

func (e *Engine) ticketBudget() (Counter, int) {
	n := e.opts.TicketsPerHour
	if n == 0 {
		n = DefaultTicketsPerHour
	}
	return e.tickets, n
}

// allowTicket reports whether in may open one more ordinary ticket, and
// counts it when so.
func (e *Engine) allowTicket(ctx context.Context, in Inbound) bool {
	c, n := e.ticketBudget()
	if n < 0 {
		return true // budget off
	}
	asker := "asker:" + in.Handle
	client := ""
	if in.Client != "" {
		client = "client:" + in.Client
	}
	if c.Count(ctx, asker) >= n || client != "" && c.Count(ctx, client) >= n*clientTicketFactor {
		return false
	}
	c.Add(ctx, asker)
	if client != "" {
		c.Add(ctx, client)
	}
	return true
}

func (e *Engine) overTicketBudget() []Reply {
	_, n := e.ticketBudget()
	return []Reply{{Kind: KindInfo, Buttons: []Button{{Label: "Ask a therapist", Action: ActionAskTherapist}}, Text: fmt.Sprintf(
		"You have sent %d questions to %s's therapists in the last hour, the most they take from one person at a time so that everyone gets an answer. They will answer those first; please send this one a little later (press **Ask a therapist** again in an hour). If you are in danger now, call your local emergency number.",
		n, e.opts.Vars.ClinicName)}}
}

// newTicketWindow is the in-memory counter used when Options.TicketCounter
// is nil (one process).
func newTicketWindow(now func() time.Time) Counter { return ratelimit.NewWindow(time.Hour, now) }
