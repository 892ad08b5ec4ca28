package console

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/candid-app/candid/internal/moderation"
	"github.com/candid-app/candid/internal/store"
)

// TestQueueFiltersAndSearch: each filter and the search return the right
// tickets, and the counts stay the whole queue's.
func TestQueueFiltersAndSearch(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.staffClient("alice", "moderator")
	ctx := context.Background()
	open := func(q, platform, tier string) store.Ticket {
		t.Helper()
		tk := store.Ticket{Handle: "hFILTER" + q[:4] + "secret", Platform: platform, Question: q, Locale: "en", Tier: tier, Urgent: tier == "urgent"}
		if platform != "web" {
			tk.Address = []byte("sealed")
		}
		got, err := e.mod.OpenTicket(ctx, tk)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	urgent := open("urgentQ I cannot go on tonight", "web", "urgent")
	concern := open("concernQ my partner reads my messages", "telegram", "concern")
	plain := open("plainQ is it normal to fake it sometimes", "slack", "")
	mine := open("mineQ nervous about our first time", "web", "")
	if _, err := e.mod.Claim(ctx, moderation.Actor{Name: "alice", Role: moderation.RoleModerator}, mine.ID); err != nil {
		t.Fatal(err)
	}
	all := []store.Ticket{urgent, concern, plain, mine}
	tests := []struct {
		query string
		want  []store.Ticket
	}{
		{"", all},
		{"?show=urgent", []store.Ticket{urgent}},
		{"?show=concern", []store.Ticket{concern}},
		{"?show=mine", []store.Ticket{mine}},
		{"?show=unclaimed", []store.Ticket{urgent, concern, plain}},
		{"?channel=slack", []store.Ticket{plain}},
		{"?channel=web&show=unclaimed", []store.Ticket{urgent}},
		{"?q=NORMAL+fake", []store.Ticket{plain}},
		{"?q=partner", []store.Ticket{concern}},
		{"?q=nothing-like-this", nil},
		{"?show=<script>&channel=fax&q=" + strings.Repeat("x", 300), all}, // hostile values are ignored
	}
	for _, tt := range tests {
		r := c.get("/console/" + tt.query)
		if r.status != http.StatusOK {
			t.Fatalf("%s: status %d", tt.query, r.status)
		}
		for _, tk := range all {
			listed := strings.Contains(r.body, `href="/console/tickets/`+tk.ID+`"`)
			want := false
			for _, w := range tt.want {
				want = want || w.ID == tk.ID
			}
			if listed != want {
				t.Errorf("%s: ticket %q listed %v, want %v", tt.query, tk.Question, listed, want)
			}
		}
		if len(tt.want) == 0 && !strings.Contains(r.body, `id="no-match"`) {
			t.Errorf("%s: no 'nothing matches' note", tt.query)
		}
		if !strings.Contains(r.body, `data-live="urgent">1<`) {
			t.Errorf("%s: the urgent count is not the whole queue's", tt.query)
		}
		if strings.Contains(r.body, "<script>&") {
			t.Errorf("%s: a hostile value was echoed", tt.query)
		}
	}
}
