package moderation

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/candid-app/candid/internal/store"
)

func TestEscalate(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		bodies = append(bodies, string(b))
		w.WriteHeader(status)
	}))
	defer srv.Close()
	e := newEnv(t, func(o *Options) {
		o.OnCallURL = srv.URL + "/hooks/oncall"
		o.ConsoleURL = "https://candid.example/console"
		o.HTTPClient = srv.Client()
	})
	ctx := context.Background()
	alice := Actor{Name: "alice", Role: RoleModerator}
	open := func(tier string) store.Ticket {
		tk, err := e.svc.OpenTicket(ctx, store.Ticket{Handle: "h_escalate1", Platform: "web", Question: "SECRET-QUESTION tonight",
			Urgent: tier == "urgent", Tier: tier, Category: "suicide"})
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	audited := func(id string) bool {
		entries, err := e.svc.Audit(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range entries {
			if a.Action == "escalated" && a.Actor == "alice" {
				return true
			}
		}
		return false
	}

	urgent := open("urgent")
	if _, err := e.svc.Escalate(ctx, alice, urgent.ID); err != nil {
		t.Fatal(err)
	}
	if !audited(urgent.ID) {
		t.Error("the escalation is not in the ticket's history")
	}
	if len(bodies) != 1 || !strings.Contains(bodies[0], "URGENT") || !strings.Contains(bodies[0], "https://candid.example/console/tickets/"+urgent.ID) {
		t.Fatalf("alert %v", bodies)
	}
	for _, secret := range []string{"SECRET", "suicide", "h_escalate1"} {
		if strings.Contains(bodies[0], secret) {
			t.Errorf("the on-call alert leaks %q: %s", secret, bodies[0])
		}
	}

	// An ordinary ticket is not escalated.
	plain := open("")
	if _, err := e.svc.Escalate(ctx, alice, plain.ID); !errors.Is(err, ErrIllegal) {
		t.Errorf("ordinary ticket: err %v, want ErrIllegal", err)
	}

	// A webhook that refuses: an error that says what to do, and nothing
	// in the history (never say it happened unless it did).
	concern := open("concern")
	status = http.StatusInternalServerError
	_, err := e.svc.Escalate(ctx, alice, concern.ID)
	if err == nil || !strings.Contains(err.Error(), "call the on-call clinician directly") {
		t.Errorf("refused webhook: err %v", err)
	}
	if audited(concern.ID) {
		t.Error("a failed escalation was recorded as done")
	}

	// Without an on-call webhook.
	e2 := newEnv(t, nil)
	tk, err := e2.svc.OpenTicket(ctx, store.Ticket{Handle: "h_escalate2", Platform: "web", Question: "q", Urgent: true, Tier: "urgent"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e2.svc.Escalate(ctx, alice, tk.ID); !errors.Is(err, ErrNoOnCall) || e2.svc.CanEscalate() {
		t.Errorf("no webhook: err %v", err)
	}
}
