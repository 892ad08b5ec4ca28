package moderation

import (
	"context"
	"sync"

	"github.com/candid-app/candid/internal/store"
)

// This file ships fakes for tests of this package and of its consumers
// (the console, the adapters). They are ordinary implementations, not
// expectation mocks.

// MapFAQ is an FAQ whose answers are a map from entry ID to text.
type MapFAQ map[string]string

// RenderAnswer returns the entry's text.
func (m MapFAQ) RenderAnswer(id string) (string, bool) {
	text, ok := m[id]
	return text, ok
}

var _ FAQ = MapFAQ(nil)

// StubDrafter returns a fixed draft (or error) and counts its calls.
type StubDrafter struct {
	Text, Model string
	Err         error

	mu    sync.Mutex
	calls []string
}

// Draft returns d.Text and d.Model, or d.Err.
func (d *StubDrafter) Draft(ctx context.Context, question string, _ []store.Candidate) (string, string, error) {
	d.mu.Lock()
	d.calls = append(d.calls, question)
	d.mu.Unlock()
	if d.Err != nil {
		return "", "", d.Err
	}
	return d.Text, d.Model, nil
}

// Questions returns the questions the drafter was asked, in order.
func (d *StubDrafter) Questions() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.calls...)
}

var _ Drafter = (*StubDrafter)(nil)

// RecordingSender is a Sender that records what it delivers. Errs, when
// set, are returned by the first len(Errs) calls in turn (nil entries
// succeed); later calls succeed.
type RecordingSender struct {
	Errs []error

	mu        sync.Mutex
	calls     int
	delivered []store.OutboxItem
}

// Deliver records item, or fails as Errs says.
func (r *RecordingSender) Deliver(ctx context.Context, item store.OutboxItem) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := r.calls
	r.calls++
	if i < len(r.Errs) && r.Errs[i] != nil {
		return r.Errs[i]
	}
	r.delivered = append(r.delivered, item)
	return nil
}

// Delivered returns the items delivered so far.
func (r *RecordingSender) Delivered() []store.OutboxItem {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]store.OutboxItem(nil), r.delivered...)
}

// Calls returns how many times Deliver was called.
func (r *RecordingSender) Calls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

var _ Sender = (*RecordingSender)(nil)

// UrgentQueued returns the urgent tickets in s's queue, for the adapters'
// tests that check an asker in danger reached a person.
func UrgentQueued(ctx context.Context, s *Service) ([]store.Ticket, error) {
	q, _, err := s.Queue(ctx)
	if err != nil {
		return nil, err
	}
	var out []store.Ticket
	for _, tk := range q {
		if tk.Urgent {
			out = append(out, tk)
		}
	}
	return out, nil
}
