package storetest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"sync"
	"time"

	"github.com/candid-app/candid/internal/store"
)

// ---- outbox ----

func testClaimLease(e *env) {
	e.create(e.ticket("t1", "h1"))
	e.answer("t1", "o1")
	lease := 5 * time.Minute
	first, err := e.s.ClaimOutbox(e.ctx, e.now(), lease, 10)
	ok(e.t, err)
	if len(first) != 1 || first[0].ID != "o1" || first[0].Attempts != 1 || !first[0].NextAttempt.Equal(e.now().Add(lease)) {
		e.t.Fatalf("first claim = %+v", first)
	}
	for _, d := range []time.Duration{0, time.Minute, lease - time.Millisecond} {
		got, err := e.s.ClaimOutbox(e.ctx, e.now().Add(d), lease, 10)
		ok(e.t, err)
		if len(got) != 0 {
			e.t.Errorf("claim %s into the lease got %d items", d, len(got))
		}
	}
	e.clock.Advance(lease)
	again, err := e.s.ClaimOutbox(e.ctx, e.now(), lease, 10)
	ok(e.t, err)
	if len(again) != 1 || again[0].Attempts != 2 {
		e.t.Errorf("claim after the lease = %+v", again)
	}
}

func testClaimOrderLimit(e *env) {
	base := e.now()
	for i, id := range []string{"a", "b", "c", "d"} {
		e.create(e.ticket("t"+id, "h"+id))
		tk, err := e.s.Ticket(e.ctx, "t"+id)
		ok(e.t, err)
		tk.State = store.TicketAnswered
		// d is due first, a last; c is not due yet.
		next := base.Add(-time.Duration(i) * time.Minute)
		if id == "c" {
			next = base.Add(time.Hour)
		}
		_, err = e.s.UpdateTicket(e.ctx, tk, store.AuditEntry{Actor: "mod", Action: "answer"},
			&store.OutboxItem{ID: "o" + id, Text: "x", NextAttempt: next})
		ok(e.t, err)
	}
	got, err := e.s.ClaimOutbox(e.ctx, base, time.Minute, 2)
	ok(e.t, err)
	same(e.t, "first two", ids(got), []string{"od", "ob"})
	got, err = e.s.ClaimOutbox(e.ctx, base, time.Minute, 2)
	ok(e.t, err)
	same(e.t, "then", ids(got), []string{"oa"})
	got, err = e.s.ClaimOutbox(e.ctx, base.Add(time.Hour), time.Minute, 0)
	ok(e.t, err)
	same(e.t, "an hour later", ids(got), []string{"oa", "ob", "od", "oc"})
}

func ids(items []store.OutboxItem) []string {
	out := []string{}
	for _, o := range items {
		out = append(out, o.ID)
	}
	return out
}

func testClaimConcurrent(e *env) {
	const n = 20
	for i := range n {
		id := fmt.Sprintf("t%02d", i)
		e.create(e.ticket(id, "h"+id))
		e.answer(id, "o"+id)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				got, err := e.s.ClaimOutbox(e.ctx, e.now(), time.Hour, 3)
				if err != nil {
					e.t.Error(err)
					return
				}
				mu.Lock()
				for _, o := range got {
					seen[o.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != n {
		e.t.Errorf("claimed %d distinct items, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			e.t.Errorf("item %s claimed %d times", id, c)
		}
	}
}

func testClaimExpired(e *env) {
	e.create(e.ticket("t1", "h1"))
	tk, err := e.s.Ticket(e.ctx, "t1")
	ok(e.t, err)
	tk.State = store.TicketAnswered
	_, err = e.s.UpdateTicket(e.ctx, tk, store.AuditEntry{Actor: "mod", Action: "answer"},
		&store.OutboxItem{ID: "o1", Text: "x", ExpiresAt: e.now().Add(time.Minute)})
	ok(e.t, err)
	e.clock.Advance(time.Minute)
	got, err := e.s.ClaimOutbox(e.ctx, e.now(), time.Minute, 0)
	ok(e.t, err)
	if len(got) != 0 {
		e.t.Errorf("claimed expired items: %+v", got)
	}
	is(e.t, e.s.RetryOutbox(e.ctx, "o1", e.now(), "x"), store.ErrNotFound)
}

func testComplete(e *env) {
	e.create(e.ticket("t1", "h1"))
	answered := e.answer("t1", "o1")
	if answered.Address == nil {
		e.t.Fatal("answered ticket lost its address before delivery")
	}
	_, err := e.s.ClaimOutbox(e.ctx, e.now(), time.Minute, 0)
	ok(e.t, err)
	ok(e.t, e.s.CompleteOutbox(e.ctx, "o1", "delivered"))
	got, err := e.s.Ticket(e.ctx, "t1")
	ok(e.t, err)
	if got.Delivery != "delivered" || got.Address != nil || got.Version != answered.Version+1 {
		e.t.Errorf("after complete: delivery %q address %q version %d (was %d)", got.Delivery, got.Address, got.Version, answered.Version)
	}
	if got.Answer != "the answer" || got.State != store.TicketAnswered {
		e.t.Errorf("complete changed more than delivery: %+v", got)
	}
	e.clock.Advance(time.Hour)
	items, err := e.s.ClaimOutbox(e.ctx, e.now(), time.Minute, 0)
	ok(e.t, err)
	if len(items) != 0 {
		e.t.Errorf("completed item still claimable: %+v", items)
	}
	is(e.t, e.s.CompleteOutbox(e.ctx, "o1", "delivered"), store.ErrNotFound)
	is(e.t, e.s.CompleteOutbox(e.ctx, "missing", "delivered"), store.ErrNotFound)

	// A failure is recorded the same way.
	e.create(e.ticket("t2", "h2"))
	e.answer("t2", "o2")
	ok(e.t, e.s.CompleteOutbox(e.ctx, "o2", "failed: blocked by user"))
	got, err = e.s.Ticket(e.ctx, "t2")
	ok(e.t, err)
	if got.Delivery != "failed: blocked by user" || got.Address != nil {
		e.t.Errorf("after failed complete: %+v", got)
	}
}

func testRetry(e *env) {
	e.create(e.ticket("t1", "h1"))
	e.answer("t1", "o1")
	claimed, err := e.s.ClaimOutbox(e.ctx, e.now(), time.Minute, 0)
	ok(e.t, err)
	if len(claimed) != 1 {
		e.t.Fatalf("claimed %d", len(claimed))
	}
	next := e.now().Add(10 * time.Minute)
	ok(e.t, e.s.RetryOutbox(e.ctx, "o1", next, "telegram: 429"))
	// Not due before next, even after the lease.
	got, err := e.s.ClaimOutbox(e.ctx, e.now().Add(5*time.Minute), time.Minute, 0)
	ok(e.t, err)
	if len(got) != 0 {
		e.t.Errorf("claimed before next: %+v", got)
	}
	got, err = e.s.ClaimOutbox(e.ctx, next, time.Minute, 0)
	ok(e.t, err)
	if len(got) != 1 || got[0].LastError != "telegram: 429" || got[0].Attempts != 2 {
		e.t.Errorf("claim at next = %+v", got)
	}
	// Retry can also bring an item forward.
	ok(e.t, e.s.RetryOutbox(e.ctx, "o1", e.now(), "again"))
	got, err = e.s.ClaimOutbox(e.ctx, e.now(), time.Minute, 0)
	ok(e.t, err)
	if len(got) != 1 || got[0].LastError != "again" {
		e.t.Errorf("claim after retry now = %+v", got)
	}
	is(e.t, e.s.RetryOutbox(e.ctx, "missing", next, "x"), store.ErrNotFound)
}

// ---- blocks, once ----

func testBlocks(e *env) {
	b, err := e.s.Blocked(e.ctx, "h1")
	ok(e.t, err)
	if b {
		e.t.Error("blocked before Block")
	}
	ok(e.t, e.s.Block(e.ctx, "h1", e.now().Add(time.Hour)))
	ok(e.t, e.s.Block(e.ctx, "h2", e.now().Add(time.Minute)))
	for _, tc := range []struct {
		h    string
		want bool
	}{{"h1", true}, {"h2", true}, {"h3", false}} {
		b, err := e.s.Blocked(e.ctx, tc.h)
		ok(e.t, err)
		if b != tc.want {
			e.t.Errorf("Blocked(%s) = %v", tc.h, b)
		}
	}
	e.clock.Advance(time.Minute)
	if b, _ := e.s.Blocked(e.ctx, "h2"); b {
		e.t.Error("block past until still blocks")
	}
	ok(e.t, e.s.Unblock(e.ctx, "h1"))
	ok(e.t, e.s.Unblock(e.ctx, "h1"))
	if b, _ := e.s.Blocked(e.ctx, "h1"); b {
		e.t.Error("blocked after Unblock")
	}
	if err := e.s.Block(e.ctx, "h1", time.Time{}); err == nil {
		e.t.Error("Block without until succeeded")
	}
}

func testOnce(e *env) {
	for _, tc := range []struct {
		key  string
		want bool
	}{{"tg:1", true}, {"tg:1", false}, {"tg:2", true}, {"tg:1", false}} {
		got, err := e.s.Once(e.ctx, tc.key, time.Hour)
		ok(e.t, err)
		if got != tc.want {
			e.t.Errorf("Once(%s) = %v, want %v", tc.key, got, tc.want)
		}
	}
	e.clock.Advance(time.Hour)
	got, err := e.s.Once(e.ctx, "tg:1", time.Hour)
	ok(e.t, err)
	if !got {
		e.t.Error("Once after its ttl = false")
	}
	// Concurrent: exactly one caller sees true.
	var wg sync.WaitGroup
	var mu sync.Mutex
	trues := 0
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := e.s.Once(e.ctx, "race", time.Hour)
			if err != nil {
				e.t.Error(err)
			}
			if got {
				mu.Lock()
				trues++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if trues != 1 {
		e.t.Errorf("%d concurrent Once calls returned true, want 1", trues)
	}
}

// ---- staff ----

func testStaff(e *env) {
	_, err := e.s.Staff(e.ctx, "ann")
	is(e.t, err, store.ErrNotFound)
	ann := store.Staff{Name: "ann", Role: "moderator", PasswordHash: "h1", CreatedAt: e.now()}
	bob := store.Staff{Name: "bob", Role: "admin", PasswordHash: "h2", CreatedAt: e.now()}
	ok(e.t, e.s.PutStaff(e.ctx, bob))
	ok(e.t, e.s.PutStaff(e.ctx, ann))
	ann.Disabled = true
	ok(e.t, e.s.PutStaff(e.ctx, ann))
	got, err := e.s.Staff(e.ctx, "ann")
	ok(e.t, err)
	same(e.t, "staff", got, ann)
	list, err := e.s.ListStaff(e.ctx)
	ok(e.t, err)
	same(e.t, "list", list, []store.Staff{ann, bob})
	is(e.t, e.s.DeleteStaff(e.ctx, "nobody"), store.ErrNotFound)
}

func testDeleteStaff(e *env) {
	for _, name := range []string{"ann", "bob"} {
		ok(e.t, e.s.PutStaff(e.ctx, store.Staff{Name: name, Role: "moderator", CreatedAt: e.now()}))
		ok(e.t, e.s.PutSession(e.ctx, store.Session{IDHash: "s-" + name, Staff: name, CSRF: "c", CreatedAt: e.now(), ExpiresAt: e.now().Add(time.Hour)}))
		ok(e.t, e.s.PutSession(e.ctx, store.Session{IDHash: "s2-" + name, Staff: name, CSRF: "c", CreatedAt: e.now(), ExpiresAt: e.now().Add(time.Hour)}))
		ok(e.t, e.s.PutToken(e.ctx, store.APIToken{Hash: "tok-" + name, Staff: name, CreatedAt: e.now(), ExpiresAt: e.now().Add(time.Hour)}))
	}
	ok(e.t, e.s.DeleteStaff(e.ctx, "ann"))
	_, err := e.s.Staff(e.ctx, "ann")
	is(e.t, err, store.ErrNotFound)
	for _, h := range []string{"s-ann", "s2-ann"} {
		_, err = e.s.Session(e.ctx, h)
		is(e.t, err, store.ErrNotFound)
	}
	_, err = e.s.Token(e.ctx, "tok-ann")
	is(e.t, err, store.ErrNotFound)
	if ts, err := e.s.Tokens(e.ctx, "ann"); err != nil || len(ts) != 0 {
		e.t.Errorf("ann's tokens after DeleteStaff: %+v %v", ts, err)
	}
	// bob is untouched.
	if _, err := e.s.Session(e.ctx, "s-bob"); err != nil {
		e.t.Errorf("bob's session: %v", err)
	}
	if tk, err := e.s.Token(e.ctx, "tok-bob"); err != nil || tk.Staff != "bob" {
		e.t.Errorf("bob's token: %+v %v", tk, err)
	}
	list, err := e.s.ListStaff(e.ctx)
	ok(e.t, err)
	if len(list) != 1 || list[0].Name != "bob" {
		e.t.Errorf("list = %+v", list)
	}
}

func testSessions(e *env) {
	_, err := e.s.Session(e.ctx, "nope")
	is(e.t, err, store.ErrNotFound)
	se := store.Session{IDHash: "abc", Staff: "ann", CSRF: "csrf", CreatedAt: e.now(), ExpiresAt: e.now().Add(time.Hour)}
	ok(e.t, e.s.PutSession(e.ctx, se))
	got, err := e.s.Session(e.ctx, "abc")
	ok(e.t, err)
	same(e.t, "session", got, se)
	ok(e.t, e.s.DeleteSession(e.ctx, "abc"))
	ok(e.t, e.s.DeleteSession(e.ctx, "abc"))
	_, err = e.s.Session(e.ctx, "abc")
	is(e.t, err, store.ErrNotFound)

	se.IDHash = "short"
	se.ExpiresAt = e.now().Add(time.Minute)
	ok(e.t, e.s.PutSession(e.ctx, se))
	e.clock.Advance(time.Minute)
	_, err = e.s.Session(e.ctx, "short")
	is(e.t, err, store.ErrNotFound)
	se.ExpiresAt = time.Time{}
	if err := e.s.PutSession(e.ctx, se); err == nil {
		e.t.Error("PutSession without ExpiresAt succeeded")
	}
}

func testTokens(e *env) {
	_, err := e.s.Token(e.ctx, "t")
	is(e.t, err, store.ErrNotFound)
	is(e.t, e.s.DeleteToken(e.ctx, "t"), store.ErrNotFound)
	if ts, err := e.s.Tokens(e.ctx, "ann"); err != nil || len(ts) != 0 {
		e.t.Errorf("Tokens before any = %+v %v", ts, err)
	}
	t0 := e.now().UTC().Truncate(time.Second)
	first := store.APIToken{Hash: "t", Staff: "ann", CreatedAt: t0, ExpiresAt: t0.Add(90 * 24 * time.Hour)}
	second := store.APIToken{Hash: "u", Staff: "ann", CreatedAt: t0.Add(time.Minute), ExpiresAt: t0.Add(24 * time.Hour)}
	other := store.APIToken{Hash: "v", Staff: "bob", CreatedAt: t0}
	for _, tk := range []store.APIToken{second, first, other} {
		ok(e.t, e.s.PutToken(e.ctx, tk))
	}
	got, err := e.s.Token(e.ctx, "t")
	ok(e.t, err)
	if got.Staff != "ann" || !got.ExpiresAt.Equal(first.ExpiresAt) || !got.CreatedAt.Equal(first.CreatedAt) || got.Hash != "t" {
		e.t.Errorf("Token = %+v, want %+v", got, first)
	}
	list, err := e.s.Tokens(e.ctx, "ann")
	ok(e.t, err)
	if len(list) != 2 || list[0].Hash != "t" || list[1].Hash != "u" {
		e.t.Errorf("Tokens(ann) = %+v, want t then u", list)
	}
	ok(e.t, e.s.DeleteToken(e.ctx, "t"))
	_, err = e.s.Token(e.ctx, "t")
	is(e.t, err, store.ErrNotFound)
	if list, _ := e.s.Tokens(e.ctx, "ann"); len(list) != 1 || list[0].Hash != "u" {
		e.t.Errorf("after revoking t: %+v", list)
	}
	if tk, err := e.s.Token(e.ctx, "v"); err != nil || tk.Staff != "bob" {
		e.t.Errorf("bob's token: %+v %v", tk, err)
	}
	if err := e.s.PutToken(e.ctx, store.APIToken{Hash: "", Staff: "ann"}); err == nil {
		e.t.Error("PutToken with an empty hash succeeded")
	}
}

// ---- forget ----

// seedAsker gives handle a bit of everything; its ticket IDs are prefix-o
// (open), prefix-a (answered, outbox pending), prefix-d (answered and
// delivered).
func (e *env) seedAsker(handle, prefix string) {
	e.t.Helper()
	for i := range 3 {
		ok(e.t, e.s.PutMessage(e.ctx, e.msg(handle, fmt.Sprintf("%s-m%d", prefix, i), e.now().Add(time.Duration(i)))))
	}
	ok(e.t, e.s.PutState(e.ctx, handle, "last", []byte("last question of "+handle), time.Hour))
	ok(e.t, e.s.PutState(e.ctx, handle, "locale", []byte("en"), time.Hour))
	e.create(e.ticket(prefix+"-o", handle))
	e.create(e.ticket(prefix+"-a", handle))
	e.answer(prefix+"-a", prefix+"-oa")
	e.create(e.ticket(prefix+"-d", handle))
	e.answer(prefix+"-d", prefix+"-od")
	ok(e.t, e.s.CompleteOutbox(e.ctx, prefix+"-od", "delivered"))
}

func testForget(e *env) {
	e.seedAsker("h-forget", "f")
	e.seedAsker("h-keep", "k")
	ok(e.t, e.s.Block(e.ctx, "h-forget", e.now().Add(time.Hour)))
	before, err := e.s.Ticket(e.ctx, "f-a")
	ok(e.t, err)

	rep, err := e.s.Forget(e.ctx, "h-forget")
	ok(e.t, err)
	same(e.t, "report", rep, store.ForgetReport{Messages: 3, Tickets: 3, Outbox: 1, State: 2})

	msgs, err := e.s.Messages(e.ctx, "h-forget", 0)
	ok(e.t, err)
	if len(msgs) != 0 {
		e.t.Errorf("%d messages survived", len(msgs))
	}
	for _, k := range []string{"last", "locale"} {
		_, err := e.s.State(e.ctx, "h-forget", k)
		is(e.t, err, store.ErrNotFound)
	}
	items, err := e.s.ClaimOutbox(e.ctx, e.now().Add(time.Hour), time.Minute, 0)
	ok(e.t, err)
	same(e.t, "outbox after forget", ids(items), []string{"k-oa"})
	is(e.t, e.s.CompleteOutbox(e.ctx, "f-oa", "delivered"), store.ErrNotFound)

	for _, id := range []string{"f-o", "f-a", "f-d"} {
		tk, err := e.s.Ticket(e.ctx, id)
		ok(e.t, err)
		if tk.State != store.TicketForgotten || tk.Handle != "" || tk.Question != "" || tk.Address != nil ||
			tk.Candidates != nil || tk.Draft != "" || tk.DraftModel != "" || tk.Answer != "" || tk.Category != "" {
			e.t.Errorf("ticket %s is not a content-free tombstone: %+v", id, tk)
		}
		if !tk.ExpiresAt.Equal(e.now().Add(store.TombstoneRetention)) {
			e.t.Errorf("tombstone %s expires %v, want now+TombstoneRetention", id, tk.ExpiresAt)
		}
		audit, err := e.s.Audit(e.ctx, id)
		ok(e.t, err)
		last := audit[len(audit)-1]
		if last.Action != "forget" || last.Actor != "system" || last.To != store.TicketForgotten {
			e.t.Errorf("ticket %s: last audit entry %+v", id, last)
		}
	}
	tomb, _ := e.s.Ticket(e.ctx, "f-a")
	if tomb.Delivery != "failed: forgotten" || tomb.Version != before.Version+1 {
		e.t.Errorf("pending delivery after forget: %q, version %d (was %d)", tomb.Delivery, tomb.Version, before.Version)
	}
	if tomb, _ := e.s.Ticket(e.ctx, "f-d"); tomb.Delivery != "delivered" {
		e.t.Errorf("delivered ticket after forget: delivery %q", tomb.Delivery)
	}
	forgotten, err := e.s.Tickets(e.ctx, store.TicketFilter{States: []store.TicketState{store.TicketForgotten}})
	ok(e.t, err)
	if len(forgotten) != 3 {
		e.t.Errorf("%d forgotten tickets listed, want 3", len(forgotten))
	}
	open, err := e.s.Tickets(e.ctx, store.TicketFilter{States: []store.TicketState{store.TicketOpen}})
	ok(e.t, err)
	if len(open) != 1 || open[0].ID != "k-o" {
		e.t.Errorf("open tickets after forget: %+v", open)
	}

	// The other asker is untouched.
	msgs, err = e.s.Messages(e.ctx, "h-keep", 0)
	ok(e.t, err)
	if len(msgs) != 3 {
		e.t.Errorf("other handle has %d messages", len(msgs))
	}
	if v, err := e.s.State(e.ctx, "h-keep", "last"); err != nil || string(v) != "last question of h-keep" {
		e.t.Errorf("other handle's state: %q %v", v, err)
	}
	for _, id := range []string{"k-o", "k-a", "k-d"} {
		tk, err := e.s.Ticket(e.ctx, id)
		ok(e.t, err)
		if tk.Handle != "h-keep" || tk.Question == "" {
			e.t.Errorf("other handle's ticket %s changed: %+v", id, tk)
		}
	}
	// The block survives, on purpose.
	if b, err := e.s.Blocked(e.ctx, "h-forget"); err != nil || !b {
		e.t.Errorf("block after forget: %v %v", b, err)
	}
	// A tombstone cannot be brought back, even with its current version.
	tomb.State = store.TicketAnswered
	tomb.Handle = "h-forget"
	tomb.Answer = "late answer"
	_, err = e.s.UpdateTicket(e.ctx, tomb, store.AuditEntry{Actor: "mod", Action: "answer"}, &store.OutboxItem{ID: "late", Text: "late answer"})
	is(e.t, err, store.ErrConflict)
	// Forgetting again (or an unknown handle) finds nothing.
	rep, err = e.s.Forget(e.ctx, "h-forget")
	ok(e.t, err)
	same(e.t, "second forget", rep, store.ForgetReport{})
}

func testForgetRaw(e *env) {
	if e.raw == nil {
		e.t.Skip("backend gives no raw bytes")
	}
	const handle = "hANDLE-4f1c9e2b7d"
	e.seedAsker(handle, "f")
	e.seedAsker("h-keep", "k")
	secrets := [][]byte{
		[]byte(handle),
		[]byte("question from " + handle),
		[]byte("last question of " + handle),
		[]byte("sealed-address-" + handle),
		[]byte(base64.StdEncoding.EncodeToString([]byte("sealed-address-" + handle))), // as JSON stores []byte
	}
	raw := e.raw(e.t)
	if !bytes.Contains(raw, []byte(handle)) {
		e.t.Fatal("raw bytes do not contain the handle even before Forget: the scan would prove nothing")
	}
	_, err := e.s.Forget(e.ctx, handle)
	ok(e.t, err)
	raw = e.raw(e.t)
	for _, s := range secrets {
		if i := bytes.Index(raw, s); i >= 0 {
			lo, hi := max(0, i-40), min(len(raw), i+len(s)+40)
			e.t.Errorf("%q still in the backend's bytes after Forget: …%q…", s, raw[lo:hi])
		}
	}
	if !bytes.Contains(raw, []byte("h-keep")) {
		e.t.Error("the other handle vanished from the raw bytes")
	}
}

// ---- purge ----

func testPurgeRecords(e *env) {
	short := e.now().Add(time.Minute)
	for _, h := range []string{"h1", "h2"} {
		m := e.msg(h, "m-short", e.now())
		m.ExpiresAt = short
		ok(e.t, e.s.PutMessage(e.ctx, m))
		ok(e.t, e.s.PutMessage(e.ctx, e.msg(h, "m-long", e.now())))
		ok(e.t, e.s.PutState(e.ctx, h, "short", []byte("x"), time.Minute))
		ok(e.t, e.s.PutState(e.ctx, h, "long", []byte("x"), time.Hour))
	}
	e.create(e.ticket("t1", "h1"))
	tk, err := e.s.Ticket(e.ctx, "t1")
	ok(e.t, err)
	tk.State = store.TicketAnswered
	_, err = e.s.UpdateTicket(e.ctx, tk, store.AuditEntry{Actor: "mod", Action: "answer"},
		&store.OutboxItem{ID: "o-short", Text: "x", ExpiresAt: short})
	ok(e.t, err)
	ok(e.t, e.s.Block(e.ctx, "h1", short))
	ok(e.t, e.s.Block(e.ctx, "h2", e.now().Add(time.Hour)))
	_, err = e.s.Once(e.ctx, "once-short", time.Minute)
	ok(e.t, err)
	_, err = e.s.Once(e.ctx, "once-long", time.Hour)
	ok(e.t, err)
	ok(e.t, e.s.PutSession(e.ctx, store.Session{IDHash: "s-short", Staff: "ann", CreatedAt: e.now(), ExpiresAt: short}))
	ok(e.t, e.s.PutSession(e.ctx, store.Session{IDHash: "s-long", Staff: "ann", CreatedAt: e.now(), ExpiresAt: e.now().Add(time.Hour)}))

	// Nothing is due yet.
	rep, err := e.s.Purge(e.ctx, e.now())
	ok(e.t, err)
	same(e.t, "early purge", rep, store.PurgeReport{})

	e.clock.Advance(2 * time.Minute)
	rep, err = e.s.Purge(e.ctx, e.now())
	ok(e.t, err)
	same(e.t, "purge", rep, store.PurgeReport{Messages: 2, State: 2, Outbox: 1, Other: 3})
	rep, err = e.s.Purge(e.ctx, e.now())
	ok(e.t, err)
	same(e.t, "second purge", rep, store.PurgeReport{})

	for _, h := range []string{"h1", "h2"} {
		msgs, err := e.s.Messages(e.ctx, h, 0)
		ok(e.t, err)
		if len(msgs) != 1 || msgs[0].ID != "m-long" {
			e.t.Errorf("%s messages after purge: %+v", h, msgs)
		}
		_, err = e.s.State(e.ctx, h, "short")
		is(e.t, err, store.ErrNotFound)
		_, err = e.s.State(e.ctx, h, "long")
		ok(e.t, err)
	}
	is(e.t, e.s.CompleteOutbox(e.ctx, "o-short", "delivered"), store.ErrNotFound)
	if b, _ := e.s.Blocked(e.ctx, "h2"); !b {
		e.t.Error("live block purged")
	}
	if first, _ := e.s.Once(e.ctx, "once-short", time.Hour); !first {
		e.t.Error("purged once key still known")
	}
	if first, _ := e.s.Once(e.ctx, "once-long", time.Hour); first {
		e.t.Error("live once key forgotten")
	}
	_, err = e.s.Session(e.ctx, "s-short")
	is(e.t, err, store.ErrNotFound)
	_, err = e.s.Session(e.ctx, "s-long")
	ok(e.t, err)
	if _, err := e.s.Ticket(e.ctx, "t1"); err != nil {
		e.t.Errorf("live ticket: %v", err)
	}
}

func testPurgeTickets(e *env) {
	exp := e.now().Add(time.Hour)
	mk := func(id string, state store.TicketState) {
		tk := e.ticket(id, "h-"+id)
		tk.State = state
		tk.ExpiresAt = exp
		e.create(tk)
	}
	mk("open", store.TicketOpen)
	mk("claimed", store.TicketClaimed)
	mk("answered", store.TicketAnswered)
	mk("rejected", store.TicketRejected)
	e.create(e.ticket("live", "h-live")) // expires in 24h
	tk, err := e.s.Ticket(e.ctx, "answered")
	ok(e.t, err)
	tk.Answer = "a"
	_, err = e.s.UpdateTicket(e.ctx, tk, store.AuditEntry{Actor: "mod", Action: "edit"}, nil)
	ok(e.t, err)

	e.clock.Advance(time.Hour)
	rep, err := e.s.Purge(e.ctx, e.now())
	ok(e.t, err)
	// open and claimed become tombstones; answered (2 audit entries) and
	// rejected (1) are deleted with their audit.
	same(e.t, "purge", rep, store.PurgeReport{Tickets: 4, Audit: 3})
	for _, id := range []string{"open", "claimed"} {
		tk, err := e.s.Ticket(e.ctx, id)
		ok(e.t, err)
		if tk.State != store.TicketExpired || tk.Handle != "" || tk.Question != "" || tk.Address != nil ||
			tk.Candidates != nil || tk.Draft != "" || tk.Answer != "" {
			e.t.Errorf("%s is not a content-free expired tombstone: %+v", id, tk)
		}
		if !tk.ExpiresAt.Equal(e.now().Add(store.TombstoneRetention)) {
			e.t.Errorf("tombstone %s expires %v", id, tk.ExpiresAt)
		}
		audit, err := e.s.Audit(e.ctx, id)
		ok(e.t, err)
		if len(audit) != 2 || audit[1].Action != "expire" || audit[1].To != store.TicketExpired {
			e.t.Errorf("%s audit: %+v", id, audit)
		}
	}
	for _, id := range []string{"answered", "rejected"} {
		_, err := e.s.Ticket(e.ctx, id)
		is(e.t, err, store.ErrNotFound)
		_, err = e.s.Audit(e.ctx, id)
		is(e.t, err, store.ErrNotFound)
	}
	live, err := e.s.Ticket(e.ctx, "live")
	ok(e.t, err)
	if live.State != store.TicketOpen || live.Question == "" {
		e.t.Errorf("live ticket changed: %+v", live)
	}
	// The tombstones no longer hold the handle: forgetting it finds nothing.
	rep2, err := e.s.Forget(e.ctx, "h-open")
	ok(e.t, err)
	same(e.t, "forget after expiry", rep2, store.ForgetReport{})
	expiredList, err := e.s.Tickets(e.ctx, store.TicketFilter{States: []store.TicketState{store.TicketExpired}})
	ok(e.t, err)
	if len(expiredList) != 2 {
		e.t.Errorf("%d expired tickets listed, want 2", len(expiredList))
	}
}

func testPurgeTombstones(e *env) {
	e.create(e.ticket("forgot", "h1"))
	tk := e.ticket("expire", "h2")
	tk.ExpiresAt = e.now().Add(time.Minute)
	e.create(tk)
	_, err := e.s.Forget(e.ctx, "h1")
	ok(e.t, err)
	e.clock.Advance(time.Minute)
	_, err = e.s.Purge(e.ctx, e.now())
	ok(e.t, err)
	// forgot's tombstone was made a minute before expire's.
	e.clock.Advance(store.TombstoneRetention - time.Minute)
	rep, err := e.s.Purge(e.ctx, e.now())
	ok(e.t, err)
	same(e.t, "first tombstone purge", rep, store.PurgeReport{Tickets: 1, Audit: 2})
	_, err = e.s.Ticket(e.ctx, "forgot")
	is(e.t, err, store.ErrNotFound)
	if _, err := e.s.Ticket(e.ctx, "expire"); err != nil {
		e.t.Errorf("younger tombstone: %v", err)
	}
	e.clock.Advance(time.Minute)
	rep, err = e.s.Purge(e.ctx, e.now())
	ok(e.t, err)
	same(e.t, "second tombstone purge", rep, store.PurgeReport{Tickets: 1, Audit: 2})
	_, err = e.s.Audit(e.ctx, "expire")
	is(e.t, err, store.ErrNotFound)
	all, err := e.s.Tickets(e.ctx, store.TicketFilter{})
	ok(e.t, err)
	if len(all) != 0 {
		e.t.Errorf("tickets left: %+v", all)
	}
}
