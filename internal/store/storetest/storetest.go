// Package storetest owns the conformance suite that every store.Store
// backend must pass: the contract of internal/store, written as tests. A
// backend's own test calls Run with an Opener; nothing else imports it.
//
// Time. The suite never sleeps. Each subtest gets a fresh backend and a
// fake Clock starting at the real current time (whole milliseconds, so that
// Redis scores and PEXPIREAT are exact); the backend must use clock.Now as
// its clock, and the suite moves it with Clock.Advance. ClaimOutbox and
// Purge take their now explicitly and get clock.Now().
//
// Retention semantics the suite pins down (the contract's fine print):
//   - A record whose ExpiresAt is at or before the backend's now is never
//     returned (ErrNotFound, or left out of lists), whether or not Purge
//     has run. That includes a ticket: an open ticket past ExpiresAt is
//     invisible until Purge turns it into an "expired" tombstone.
//   - Messages, tickets and sessions must have an ExpiresAt; PutState and
//     Once need ttl > 0; Block needs a non-zero until. Otherwise the write
//     fails: everything has a retention limit.
//   - An outbox item without ExpiresAt expires with its ticket; without
//     Handle, Platform or Address it takes its ticket's.
//   - Purge: expired messages, state, outbox items, blocks, Once keys and
//     sessions are deleted; open or claimed tickets past ExpiresAt become
//     "expired" tombstones; answered, booked and rejected tickets past
//     ExpiresAt are deleted with their audit entries. A tombstone (expired
//     or forgotten) gets ExpiresAt = the moment it was made +
//     store.TombstoneRetention, and is then deleted with its audit entries.
//     Audit entries live exactly as long as their ticket.
//   - Forget: the handle's messages, state and outbox items are deleted;
//     its tickets (any state) become "forgotten" tombstones, a pending
//     Delivery becomes "failed: forgotten", and an audit entry (actor
//     "system", action "forget") is appended. Blocks survive.
//   - UpdateTicket on a tombstone (expired or forgotten) is ErrConflict,
//     whatever its Version: a tombstone never gets content back.
//   - Version: CreateTicket stores Version 1; every write (UpdateTicket,
//     CompleteOutbox, Forget, Purge) adds one. UpdatedAt is set by the
//     backend.
//   - ClaimOutbox increments Attempts (it counts claims, so a worker that
//     crashed mid-delivery is counted) and returns items in NextAttempt
//     order; limit 0 means no limit.
//   - Tickets lists urgent first, then oldest CreatedAt, then ID.
//   - Audit returns entries in write order, ErrNotFound if the ticket does
//     not exist.
//   - Deletes of state, sessions and blocks are idempotent; DeleteStaff of
//     an unknown name is ErrNotFound.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/candid-app/candid/internal/store"
)

// Backend is what an Opener returns for one subtest.
type Backend struct {
	Store store.Store
	// Raw returns every byte the backend holds at rest for this store:
	// the data file for bbolt; every key name and value under the prefix
	// for Redis. The suite searches it for a forgotten handle.
	Raw func(t *testing.T) []byte
}

// Opener opens a fresh, empty backend whose clock is clock.Now, and
// registers its Close with t.Cleanup.
type Opener func(t *testing.T, clock *Clock) Backend

type env struct {
	t     *testing.T
	ctx   context.Context
	clock *Clock
	s     store.Store
	raw   func(t *testing.T) []byte
}

func setup(t *testing.T, open Opener) *env {
	t.Helper()
	clock := NewClock(time.Now().UTC().Truncate(time.Millisecond))
	b := open(t, clock)
	if b.Store == nil {
		t.Fatal("Opener returned no Store")
	}
	return &env{t: t, ctx: t.Context(), clock: clock, s: b.Store, raw: b.Raw}
}

func (e *env) now() time.Time { return e.clock.Now() }

// Run runs the whole conformance suite against the backend open returns.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(e *env)
	}{
		{"Messages/RoundTrip", testMessagesRoundTrip},
		{"Messages/OrderAndLimit", testMessagesOrder},
		{"Messages/SameIDOverwrites", testMessagesOverwrite},
		{"Messages/ExpiredHidden", testMessagesExpired},
		{"Messages/Invalid", testMessagesInvalid},
		{"State/RoundTrip", testState},
		{"State/Expired", testStateExpired},
		{"Tickets/CreateAndGet", testTicketCreate},
		{"Tickets/CreateConflict", testTicketCreateConflict},
		{"Tickets/NotFound", testTicketNotFound},
		{"Tickets/FilterOrderLimit", testTicketsFilter},
		{"Tickets/ExpiredHidden", testTicketsExpired},
		{"UpdateTicket/Success", testUpdateTicket},
		{"UpdateTicket/StaleVersion", testUpdateStale},
		{"UpdateTicket/Concurrent", testUpdateConcurrent},
		{"UpdateTicket/AtomicWithAuditAndOutbox", testUpdateAtomic},
		{"UpdateTicket/OutboxIDConflictWritesNothing", testUpdateOutboxConflict},
		{"Audit/Order", testAudit},
		{"Outbox/ClaimLease", testClaimLease},
		{"Outbox/ClaimOrderLimit", testClaimOrderLimit},
		{"Outbox/ClaimConcurrent", testClaimConcurrent},
		{"Outbox/ExpiredNotClaimed", testClaimExpired},
		{"Outbox/Complete", testComplete},
		{"Outbox/Retry", testRetry},
		{"Blocks", testBlocks},
		{"Once", testOnce},
		{"Staff/RoundTrip", testStaff},
		{"Staff/DeleteCascade", testDeleteStaff},
		{"Sessions", testSessions},
		{"Tokens", testTokens},
		{"Feedback", testFeedback},
		{"Forget/Everything", testForget},
		{"Forget/RawBytes", testForgetRaw},
		{"Purge/Records", testPurgeRecords},
		{"Purge/Tickets", testPurgeTickets},
		{"Purge/Tombstones", testPurgeTombstones},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(setup(t, open))
		})
	}
}

// ---- helpers ----

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// same compares through JSON, which is what backends store: it ignores
// time zones and monotonic readings, not values.
func same(t *testing.T, what string, got, want any) {
	t.Helper()
	if g, w := jsonOf(t, got), jsonOf(t, want); g != w {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func is(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want %v", err, target)
	}
}

func (e *env) msg(handle, id string, at time.Time) store.Message {
	return store.Message{
		ID: id, Handle: handle, From: "asker", Kind: "question", Text: "text " + id,
		Buttons: []store.Button{{Label: "Helpful", Action: "helpful:" + id}},
		At:      at, ExpiresAt: e.now().Add(time.Hour),
	}
}

func (e *env) ticket(id, handle string) store.Ticket {
	now := e.now()
	return store.Ticket{
		ID: id, Handle: handle, Platform: "telegram", Address: []byte("sealed-address-" + handle),
		Question: "question from " + handle, Locale: "en", Urgent: false,
		Candidates: []store.Candidate{{FAQID: "faq-1", Score: 0.5}},
		Draft:      "draft for " + handle, DraftModel: "model",
		State:     store.TicketOpen,
		Refs:      map[string]string{"slack_ts": "123.456"},
		CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour),
	}
}

func (e *env) create(t store.Ticket) store.Ticket {
	e.t.Helper()
	ok(e.t, e.s.CreateTicket(e.ctx, t, store.AuditEntry{Actor: "system", Action: "create"}))
	got, err := e.s.Ticket(e.ctx, t.ID)
	ok(e.t, err)
	return got
}

// answer moves ticket id to answered, enqueueing an outbox item.
func (e *env) answer(id, outID string) store.Ticket {
	e.t.Helper()
	tk, err := e.s.Ticket(e.ctx, id)
	ok(e.t, err)
	tk.State = store.TicketAnswered
	tk.Answer = "the answer"
	tk.ActedBy = "mod"
	tk.Delivery = "pending"
	out := &store.OutboxItem{ID: outID, Kind: "therapist", Text: "the answer"}
	n, err := e.s.UpdateTicket(e.ctx, tk, store.AuditEntry{Actor: "mod", Action: "answer"}, out)
	ok(e.t, err)
	return n
}

// ---- messages ----

func testMessagesRoundTrip(e *env) {
	m := e.msg("h1", "m1", e.now())
	m.FAQID = "faq-7"
	ok(e.t, e.s.PutMessage(e.ctx, m))
	got, err := e.s.Messages(e.ctx, "h1", 0)
	ok(e.t, err)
	same(e.t, "messages", got, []store.Message{m})
	got, err = e.s.Messages(e.ctx, "nobody", 0)
	ok(e.t, err)
	if len(got) != 0 {
		e.t.Errorf("unknown handle: got %d messages", len(got))
	}
}

func testMessagesOrder(e *env) {
	base := e.now()
	// Written out of order; At decides.
	for _, i := range []int{3, 1, 4, 0, 2} {
		ok(e.t, e.s.PutMessage(e.ctx, e.msg("h1", fmt.Sprintf("m%d", i), base.Add(time.Duration(i)*time.Second))))
	}
	ok(e.t, e.s.PutMessage(e.ctx, e.msg("h2", "other", base)))
	for _, tc := range []struct {
		limit int
		want  []string
	}{
		{0, []string{"m0", "m1", "m2", "m3", "m4"}},
		{10, []string{"m0", "m1", "m2", "m3", "m4"}},
		{2, []string{"m3", "m4"}},
		{1, []string{"m4"}},
	} {
		got, err := e.s.Messages(e.ctx, "h1", tc.limit)
		ok(e.t, err)
		var ids []string
		for _, m := range got {
			ids = append(ids, m.ID)
		}
		same(e.t, fmt.Sprintf("limit %d", tc.limit), ids, tc.want)
	}
}

func testMessagesOverwrite(e *env) {
	m := e.msg("h1", "m1", e.now())
	ok(e.t, e.s.PutMessage(e.ctx, m))
	m.Text = "delivered again"
	ok(e.t, e.s.PutMessage(e.ctx, m))
	got, err := e.s.Messages(e.ctx, "h1", 0)
	ok(e.t, err)
	same(e.t, "messages", got, []store.Message{m})
}

func testMessagesExpired(e *env) {
	short := e.msg("h1", "short", e.now())
	short.ExpiresAt = e.now().Add(time.Minute)
	long := e.msg("h1", "long", e.now().Add(time.Millisecond))
	ok(e.t, e.s.PutMessage(e.ctx, short))
	ok(e.t, e.s.PutMessage(e.ctx, long))
	e.clock.Advance(time.Minute) // ExpiresAt == now counts as expired
	got, err := e.s.Messages(e.ctx, "h1", 0)
	ok(e.t, err)
	same(e.t, "messages before Purge", got, []store.Message{long})
	// Re-putting with a later expiry revives it: the record is what counts.
	short.ExpiresAt = e.now().Add(time.Hour)
	ok(e.t, e.s.PutMessage(e.ctx, short))
	rep, err := e.s.Purge(e.ctx, e.now())
	ok(e.t, err)
	if rep.Messages != 0 {
		e.t.Errorf("Purge removed %d messages, want 0 (the re-put one is live)", rep.Messages)
	}
	got, err = e.s.Messages(e.ctx, "h1", 0)
	ok(e.t, err)
	if len(got) != 2 {
		e.t.Errorf("got %d messages, want 2", len(got))
	}
}

func testMessagesInvalid(e *env) {
	for _, tc := range []struct {
		name string
		edit func(*store.Message)
	}{
		{"no expiry", func(m *store.Message) { m.ExpiresAt = time.Time{} }},
		{"no handle", func(m *store.Message) { m.Handle = "" }},
		{"no id", func(m *store.Message) { m.ID = "" }},
	} {
		m := e.msg("h1", "m1", e.now())
		tc.edit(&m)
		if err := e.s.PutMessage(e.ctx, m); err == nil {
			e.t.Errorf("%s: PutMessage succeeded", tc.name)
		}
	}
}

// ---- state ----

func testState(e *env) {
	_, err := e.s.State(e.ctx, "h1", "last")
	is(e.t, err, store.ErrNotFound)
	ok(e.t, e.s.PutState(e.ctx, "h1", "last", []byte("v1"), time.Hour))
	ok(e.t, e.s.PutState(e.ctx, "h1", "other", []byte("o"), time.Hour))
	ok(e.t, e.s.PutState(e.ctx, "h2", "last", []byte("h2"), time.Hour))
	ok(e.t, e.s.PutState(e.ctx, "h1", "last", []byte("v2"), time.Hour))
	for _, tc := range []struct{ handle, key, want string }{
		{"h1", "last", "v2"}, {"h1", "other", "o"}, {"h2", "last", "h2"},
	} {
		got, err := e.s.State(e.ctx, tc.handle, tc.key)
		ok(e.t, err)
		if string(got) != tc.want {
			e.t.Errorf("State(%s,%s) = %q, want %q", tc.handle, tc.key, got, tc.want)
		}
	}
	ok(e.t, e.s.DeleteState(e.ctx, "h1", "last"))
	ok(e.t, e.s.DeleteState(e.ctx, "h1", "last")) // idempotent
	_, err = e.s.State(e.ctx, "h1", "last")
	is(e.t, err, store.ErrNotFound)
	if _, err := e.s.State(e.ctx, "h1", "other"); err != nil {
		e.t.Errorf("other key: %v", err)
	}
	if err := e.s.PutState(e.ctx, "h1", "k", []byte("v"), 0); err == nil {
		e.t.Error("PutState with ttl 0 succeeded")
	}
}

func testStateExpired(e *env) {
	ok(e.t, e.s.PutState(e.ctx, "h1", "k", []byte("v"), time.Minute))
	e.clock.Advance(time.Minute)
	_, err := e.s.State(e.ctx, "h1", "k")
	is(e.t, err, store.ErrNotFound)
}

// ---- tickets ----

func testTicketCreate(e *env) {
	in := e.ticket("t1", "h1")
	in.Urgent, in.Category = true, "self_harm"
	got := e.create(in)
	want := in
	want.Version = 1
	want.UpdatedAt = e.now()
	same(e.t, "ticket", got, want)
	audit, err := e.s.Audit(e.ctx, "t1")
	ok(e.t, err)
	if len(audit) != 1 || audit[0].TicketID != "t1" || audit[0].Action != "create" || audit[0].To != store.TicketOpen {
		e.t.Errorf("audit after create = %+v", audit)
	}
}

func testTicketCreateConflict(e *env) {
	e.create(e.ticket("t1", "h1"))
	other := e.ticket("t1", "h2")
	other.Question = "overwritten?"
	is(e.t, e.s.CreateTicket(e.ctx, other, store.AuditEntry{Actor: "system", Action: "create"}), store.ErrConflict)
	got, err := e.s.Ticket(e.ctx, "t1")
	ok(e.t, err)
	if got.Handle != "h1" || got.Question != "question from h1" {
		e.t.Errorf("the conflicting create changed the ticket: %+v", got)
	}
	audit, err := e.s.Audit(e.ctx, "t1")
	ok(e.t, err)
	if len(audit) != 1 {
		e.t.Errorf("audit has %d entries, want 1", len(audit))
	}
	bad := e.ticket("t2", "h1")
	bad.ExpiresAt = time.Time{}
	if err := e.s.CreateTicket(e.ctx, bad, store.AuditEntry{}); err == nil {
		e.t.Error("CreateTicket without ExpiresAt succeeded")
	}
}

func testTicketNotFound(e *env) {
	_, err := e.s.Ticket(e.ctx, "missing")
	is(e.t, err, store.ErrNotFound)
	_, err = e.s.Audit(e.ctx, "missing")
	is(e.t, err, store.ErrNotFound)
	tk := e.ticket("missing", "h1")
	tk.Version = 1
	_, err = e.s.UpdateTicket(e.ctx, tk, store.AuditEntry{}, nil)
	is(e.t, err, store.ErrNotFound)
}

func testTicketsFilter(e *env) {
	base := e.now()
	mk := func(id string, age time.Duration, urgent bool, state store.TicketState) {
		tk := e.ticket(id, "h-"+id)
		tk.CreatedAt = base.Add(-age)
		tk.Urgent = urgent
		tk.State = state
		e.create(tk)
	}
	mk("old", 3*time.Hour, false, store.TicketOpen)
	mk("new", 1*time.Hour, false, store.TicketOpen)
	mk("urgent", 0, true, store.TicketOpen)
	mk("claimed", 2*time.Hour, false, store.TicketClaimed)
	mk("done", 5*time.Hour, false, store.TicketAnswered)
	ids := func(ts []store.Ticket) []string {
		out := []string{}
		for _, t := range ts {
			out = append(out, t.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    store.TicketFilter
		want []string
	}{
		{"all", store.TicketFilter{}, []string{"urgent", "done", "old", "claimed", "new"}},
		{"open", store.TicketFilter{States: []store.TicketState{store.TicketOpen}}, []string{"urgent", "old", "new"}},
		{"open+claimed", store.TicketFilter{States: []store.TicketState{store.TicketOpen, store.TicketClaimed}}, []string{"urgent", "old", "claimed", "new"}},
		{"limit", store.TicketFilter{States: []store.TicketState{store.TicketOpen, store.TicketClaimed}, Limit: 2}, []string{"urgent", "old"}},
		{"none", store.TicketFilter{States: []store.TicketState{store.TicketRejected}}, []string{}},
	} {
		got, err := e.s.Tickets(e.ctx, tc.f)
		ok(e.t, err)
		same(e.t, tc.name, ids(got), tc.want)
	}
	// A state change moves the ticket between lists.
	tk, err := e.s.Ticket(e.ctx, "old")
	ok(e.t, err)
	tk.State = store.TicketRejected
	_, err = e.s.UpdateTicket(e.ctx, tk, store.AuditEntry{Actor: "mod", Action: "reject"}, nil)
	ok(e.t, err)
	got, err := e.s.Tickets(e.ctx, store.TicketFilter{States: []store.TicketState{store.TicketOpen}})
	ok(e.t, err)
	same(e.t, "open after reject", ids(got), []string{"urgent", "new"})
	got, err = e.s.Tickets(e.ctx, store.TicketFilter{States: []store.TicketState{store.TicketRejected}})
	ok(e.t, err)
	same(e.t, "rejected after reject", ids(got), []string{"old"})
}

func testTicketsExpired(e *env) {
	short := e.ticket("short", "h1")
	short.ExpiresAt = e.now().Add(time.Minute)
	e.create(short)
	e.create(e.ticket("long", "h2"))
	e.clock.Advance(time.Minute)
	_, err := e.s.Ticket(e.ctx, "short")
	is(e.t, err, store.ErrNotFound)
	got, err := e.s.Tickets(e.ctx, store.TicketFilter{})
	ok(e.t, err)
	if len(got) != 1 || got[0].ID != "long" {
		e.t.Errorf("Tickets = %+v, want only long", got)
	}
	short.Version = 1
	_, err = e.s.UpdateTicket(e.ctx, short, store.AuditEntry{}, nil)
	is(e.t, err, store.ErrNotFound)
}

func testUpdateTicket(e *env) {
	tk := e.create(e.ticket("t1", "h1"))
	e.clock.Advance(time.Second)
	tk.State = store.TicketClaimed
	tk.ClaimedBy = "mod"
	tk.ClaimExpires = e.now().Add(10 * time.Minute)
	got, err := e.s.UpdateTicket(e.ctx, tk, store.AuditEntry{Actor: "mod", Action: "claim"}, nil)
	ok(e.t, err)
	want := tk
	want.Version = 2
	want.UpdatedAt = e.now()
	same(e.t, "returned ticket", got, want)
	stored, err := e.s.Ticket(e.ctx, "t1")
	ok(e.t, err)
	same(e.t, "stored ticket", stored, want)
	audit, err := e.s.Audit(e.ctx, "t1")
	ok(e.t, err)
	if len(audit) != 2 {
		e.t.Fatalf("audit has %d entries, want 2", len(audit))
	}
	same(e.t, "audit entry", audit[1], store.AuditEntry{
		TicketID: "t1", At: e.now(), Actor: "mod", Action: "claim", From: store.TicketOpen, To: store.TicketClaimed,
	})
}

func testUpdateStale(e *env) {
	tk := e.create(e.ticket("t1", "h1"))
	tk.Draft = "v2"
	_, err := e.s.UpdateTicket(e.ctx, tk, store.AuditEntry{Actor: "llm", Action: "draft"}, nil)
	ok(e.t, err) // now at version 2
	for _, version := range []int64{0, 1, 3, 100} {
		stale := tk
		stale.Version = version
		stale.Draft = fmt.Sprintf("stale %d", version)
		_, err := e.s.UpdateTicket(e.ctx, stale, store.AuditEntry{Actor: "mod", Action: "edit"},
			&store.OutboxItem{ID: fmt.Sprintf("o%d", version), Text: "x"})
		is(e.t, err, store.ErrConflict)
	}
	got, err := e.s.Ticket(e.ctx, "t1")
	ok(e.t, err)
	if got.Version != 2 || got.Draft != "v2" {
		e.t.Errorf("after stale updates: version %d draft %q", got.Version, got.Draft)
	}
	audit, err := e.s.Audit(e.ctx, "t1")
	ok(e.t, err)
	if len(audit) != 2 {
		e.t.Errorf("stale updates wrote audit entries: %d", len(audit))
	}
	items, err := e.s.ClaimOutbox(e.ctx, e.now(), time.Minute, 0)
	ok(e.t, err)
	if len(items) != 0 {
		e.t.Errorf("stale updates enqueued %d outbox items", len(items))
	}
}

func testUpdateConcurrent(e *env) {
	tk := e.create(e.ticket("t1", "h1"))
	const rounds, writers = 5, 8
	for round := range rounds {
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins, conflicts := 0, 0
		var winner store.Ticket
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				mine := tk
				mine.ClaimedBy = fmt.Sprintf("mod%d", w)
				got, err := e.s.UpdateTicket(e.ctx, mine, store.AuditEntry{Actor: mine.ClaimedBy, Action: "claim"},
					&store.OutboxItem{ID: fmt.Sprintf("r%d-w%d", round, w), Text: "x"})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
					winner = got
				case errors.Is(err, store.ErrConflict):
					conflicts++
				default:
					e.t.Errorf("round %d writer %d: %v", round, w, err)
				}
			}()
		}
		wg.Wait()
		if wins != 1 || conflicts != writers-1 {
			e.t.Fatalf("round %d: %d wins, %d conflicts; want 1 and %d", round, wins, conflicts, writers-1)
		}
		if winner.Version != tk.Version+1 {
			e.t.Fatalf("round %d: winner at version %d, want %d", round, winner.Version, tk.Version+1)
		}
		tk = winner
	}
	audit, err := e.s.Audit(e.ctx, "t1")
	ok(e.t, err)
	if len(audit) != 1+rounds {
		e.t.Errorf("audit has %d entries, want %d", len(audit), 1+rounds)
	}
	items, err := e.s.ClaimOutbox(e.ctx, e.now(), time.Minute, 0)
	ok(e.t, err)
	if len(items) != rounds {
		e.t.Errorf("%d outbox items, want %d (one per winning write)", len(items), rounds)
	}
}

func testUpdateAtomic(e *env) {
	tk := e.create(e.ticket("t1", "h1"))
	tk.State = store.TicketAnswered
	tk.Answer = "answer"
	tk.Delivery = "pending"
	out := &store.OutboxItem{ID: "o1", Kind: "therapist", Text: "answer", Buttons: []store.Button{{Label: "Thanks", Action: "thanks"}}}
	got, err := e.s.UpdateTicket(e.ctx, tk, store.AuditEntry{Actor: "mod", Action: "answer"}, out)
	ok(e.t, err)
	if got.Version != 2 || got.State != store.TicketAnswered {
		e.t.Errorf("returned %+v", got)
	}
	audit, err := e.s.Audit(e.ctx, "t1")
	ok(e.t, err)
	if len(audit) != 2 || audit[1].Action != "answer" || audit[1].From != store.TicketOpen || audit[1].To != store.TicketAnswered {
		e.t.Errorf("audit = %+v", audit)
	}
	items, err := e.s.ClaimOutbox(e.ctx, e.now(), time.Minute, 0)
	ok(e.t, err)
	want := store.OutboxItem{
		ID: "o1", TicketID: "t1", Handle: "h1", Platform: "telegram", Address: tk.Address,
		Kind: "therapist", Text: "answer", Buttons: out.Buttons,
		Attempts: 1, NextAttempt: e.now().Add(time.Minute), CreatedAt: e.now(), ExpiresAt: tk.ExpiresAt,
	}
	same(e.t, "outbox items", items, []store.OutboxItem{want})
}

func testUpdateOutboxConflict(e *env) {
	e.create(e.ticket("t1", "h1"))
	e.answer("t1", "o1")
	tk := e.create(e.ticket("t2", "h2"))
	tk.State = store.TicketAnswered
	_, err := e.s.UpdateTicket(e.ctx, tk, store.AuditEntry{Actor: "mod", Action: "answer"}, &store.OutboxItem{ID: "o1", Text: "dup"})
	is(e.t, err, store.ErrConflict)
	got, err := e.s.Ticket(e.ctx, "t2")
	ok(e.t, err)
	if got.Version != 1 || got.State != store.TicketOpen {
		e.t.Errorf("ticket changed by a failed update: %+v", got)
	}
	audit, err := e.s.Audit(e.ctx, "t2")
	ok(e.t, err)
	if len(audit) != 1 {
		e.t.Errorf("audit has %d entries, want 1", len(audit))
	}
}

func testAudit(e *env) {
	tk := e.create(e.ticket("t1", "h1"))
	e.create(e.ticket("t10", "h1")) // a prefix of another ID must not mix
	actions := []string{"draft", "claim", "unclaim", "claim", "edit", "answer"}
	for i, a := range actions {
		e.clock.Advance(time.Second)
		var err error
		tk, err = e.s.UpdateTicket(e.ctx, tk, store.AuditEntry{Actor: "mod", Action: a, Note: fmt.Sprint(i)}, nil)
		ok(e.t, err)
	}
	got, err := e.s.Audit(e.ctx, "t1")
	ok(e.t, err)
	var gotActions []string
	for _, a := range got {
		gotActions = append(gotActions, a.Action)
		if a.TicketID != "t1" {
			e.t.Errorf("entry for %s in t1's audit", a.TicketID)
		}
	}
	same(e.t, "audit actions", gotActions, append([]string{"create"}, actions...))
}
