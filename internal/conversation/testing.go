package conversation

import (
	"context"
	"sync"
	"testing"
	"time"

	faqfiles "github.com/candid-app/candid/faq"
	"github.com/candid-app/candid/internal/faq"
	"github.com/candid-app/candid/internal/match"
	"github.com/candid-app/candid/internal/safety"
	"github.com/candid-app/candid/internal/store"
)

// TestOptions configure NewTestEngine. Memory is required (a real store in a
// temporary folder, usually). Tickets and Forgetter default to fakes that
// write through Memory's store when it is a store.Store.
type TestOptions struct {
	Memory    Memory
	Tickets   Tickets
	Forgetter Forgetter
	Vars      faq.Vars
	Region    string
}

// NewTestEngine builds a real engine over the shipped FAQ, lexicon and
// crisis rules, for tests in this and other packages (adapters).
func NewTestEngine(t testing.TB, o TestOptions) *Engine {
	t.Helper()
	lib, det, res := ShippedContent(t)
	if o.Tickets == nil || o.Forgetter == nil {
		st, ok := o.Memory.(store.Store)
		if !ok {
			t.Fatal("NewTestEngine: give Tickets and Forgetter, or a store.Store as Memory")
		}
		f := &FakeTickets{Store: st}
		if o.Tickets == nil {
			o.Tickets = f
		}
		if o.Forgetter == nil {
			o.Forgetter = f
		}
	}
	if o.Vars.ClinicName == "" {
		o.Vars = faq.ExampleVars
	}
	e, err := New(Options{Library: lib, Safety: det, Resources: res, Memory: o.Memory, Tickets: o.Tickets,
		Forgetter: o.Forgetter, Vars: o.Vars, Region: o.Region})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// ShippedContent loads the embedded FAQ, lexicon and safety files.
func ShippedContent(t testing.TB) (*StaticLibrary, *safety.Detector, *safety.Resources) {
	t.Helper()
	cat, err := faq.Load(faqfiles.FS, "en")
	if err != nil {
		t.Fatalf("shipped FAQ: %v", err)
	}
	lex, err := match.LoadLexicon(faqfiles.FS, "lexicon.yaml")
	if err != nil {
		t.Fatalf("shipped lexicon: %v", err)
	}
	rk, err := match.LoadRanker(faqfiles.FS)
	if err != nil {
		t.Fatalf("shipped ranker: %v", err)
	}
	m, err := match.New(cat, lex, match.Options{Ranker: rk})
	if err != nil {
		t.Fatalf("matcher: %v", err)
	}
	det, err := safety.LoadDetector(faqfiles.FS, "safety/crisis.yaml")
	if err != nil {
		t.Fatalf("crisis rules: %v", err)
	}
	model, err := safety.LoadModel(faqfiles.FS)
	if err != nil {
		t.Fatalf("safety model: %v", err)
	}
	det = det.WithModel(model)
	res, err := safety.LoadResources(faqfiles.FS, "safety/resources.yaml")
	if err != nil {
		t.Fatalf("crisis resources: %v", err)
	}
	return &StaticLibrary{Matcher: m, Catalog: cat}, det, res
}

// StaticLibrary is a Library that never changes (tools and tests).
type StaticLibrary struct {
	Matcher *match.Matcher
	Catalog *faq.Catalog
}

func (l *StaticLibrary) Match(q string) match.Result { return l.Matcher.Match(q) }
func (l *StaticLibrary) Entry(id string) *faq.Entry  { return l.Catalog.Entry(id) }

// FakeTickets stores tickets directly (no moderation service) and forgets
// through the store. It records the tickets it opened.
type FakeTickets struct {
	Store  store.Store
	mu     sync.Mutex
	n      int
	Opened []store.Ticket
}

func (f *FakeTickets) OpenTicket(ctx context.Context, t store.Ticket) (store.Ticket, error) {
	f.mu.Lock()
	f.n++
	t.ID = "t" + string(rune('0'+f.n%10)) + randomSuffix()
	f.mu.Unlock()
	t.State = store.TicketOpen
	now := time.Now()
	t.CreatedAt, t.UpdatedAt, t.ExpiresAt = now, now, now.Add(30*24*time.Hour)
	if err := f.Store.CreateTicket(ctx, t, store.AuditEntry{TicketID: t.ID, Actor: "system", Action: "opened", To: store.TicketOpen}); err != nil {
		return store.Ticket{}, err
	}
	f.mu.Lock()
	f.Opened = append(f.Opened, t)
	f.mu.Unlock()
	return t, nil
}

func (f *FakeTickets) Forget(ctx context.Context, handle string) (store.ForgetReport, error) {
	return f.Store.Forget(ctx, handle)
}
