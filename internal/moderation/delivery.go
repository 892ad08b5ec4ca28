package moderation

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/candid-app/candid/internal/store"
)

// Delivery backoff: the first retry after about retryBase, doubling up to
// retryMax.
const (
	retryBase   = 5 * time.Second
	retryMax    = time.Hour
	outboxBatch = 32
	// sendTimeout bounds one delivery; it stays below the default lease so
	// that a slow send is not taken over and repeated by another worker.
	sendTimeout = 30 * time.Second
)

// wake tells RunDelivery that an item is waiting.
func (s *Service) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// backoff returns the wait before retry number attempts (1-based), with
// ±20% jitter so that many failing items do not retry in lockstep.
func backoff(attempts int) time.Duration {
	if attempts < 1 {
		attempts = 1
	}
	d := retryBase
	for i := 1; i < attempts && d < retryMax; i++ {
		d *= 2
	}
	d = min(d, retryMax)
	jitter := time.Duration(rand.Int64N(int64(d)/5*2+1)) - d/5
	return d + jitter
}

// DeliverDue makes one pass over the outbox: it claims the items that are
// due and delivers each (web askers itself, other platforms through their
// Sender). It returns how many were delivered; an error only when the
// outbox could not be read. Failures are retried with backoff; permanent
// ones are recorded on the ticket as "failed: …".
func (s *Service) DeliverDue(ctx context.Context) (int, error) {
	items, err := s.st.ClaimOutbox(ctx, s.now(), s.lease, outboxBatch)
	if err != nil {
		return 0, fmt.Errorf("moderation: read the outbox: %w", err)
	}
	delivered := 0
	for _, it := range items {
		if ctx.Err() != nil {
			return delivered, ctx.Err()
		}
		if s.deliver(ctx, it) {
			delivered++
		}
	}
	return delivered, nil
}

// deliver handles one outbox item and reports whether it reached the asker.
func (s *Service) deliver(ctx context.Context, it store.OutboxItem) bool {
	now := s.now()
	t, err := s.st.Ticket(ctx, it.TicketID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.fail(ctx, it, store.Ticket{ID: it.TicketID}, "failed: the ticket no longer exists")
		return false
	case err != nil:
		s.retry(ctx, it, fmt.Errorf("read the ticket: %w", err))
		return false
	case t.State == store.TicketForgotten || it.Handle == "":
		s.fail(ctx, it, t, deliveryForgotten)
		return false
	case t.State == store.TicketExpired || !now.Before(it.ExpiresAt):
		s.fail(ctx, it, t, deliveryExpired)
		return false
	}

	if it.Platform == "web" {
		return s.deliverWeb(ctx, it, t)
	}
	if len(it.Address) == 0 {
		s.fail(ctx, it, t, "failed: no reply address (the asker deleted their data or it expired)")
		return false
	}
	snd := s.sender(it.Platform)
	if snd == nil {
		// The adapter may not be running yet; retry until the item expires.
		s.retry(ctx, it, fmt.Errorf("no sender is registered for platform %q (is its adapter configured?)", it.Platform))
		return false
	}
	sctx, cancel := context.WithTimeout(ctx, min(sendTimeout, s.lease))
	err = snd.Deliver(sctx, it)
	cancel()
	if errors.Is(err, ErrUndeliverable) {
		s.fail(ctx, it, t, "failed: "+truncate(err.Error(), 200))
		return false
	}
	if err != nil {
		s.retry(ctx, it, err)
		return false
	}
	return s.complete(ctx, it, t)
}

// deliverWeb writes the answer into the asker's conversation. The message
// ID is the outbox item ID, so a repeated delivery (after a crash between
// this write and CompleteOutbox) overwrites the same message: the asker sees
// it once.
func (s *Service) deliverWeb(ctx context.Context, it store.OutboxItem, t store.Ticket) bool {
	from := "therapist"
	if it.Kind != "therapist" {
		from = "candid"
	}
	msg := store.Message{
		ID:     it.ID,
		Handle: it.Handle,
		From:   from,
		Kind:   it.Kind,
		Text:   it.Text,
		// Derived from the item, not the clock, so a re-delivery writes
		// the identical message.
		At:        it.CreatedAt,
		ExpiresAt: it.CreatedAt.Add(s.retention),
		Buttons:   it.Buttons,
	}
	if err := s.st.PutMessage(ctx, msg); err != nil {
		s.retry(ctx, it, fmt.Errorf("write the answer to the web conversation: %w", err))
		return false
	}
	// /forget may have run while we wrote: then the message we just wrote
	// would outlive the asker's request. Check, and forget again if so.
	// Only a definite answer counts: a transient read error must never
	// erase an asker's data.
	cur, err := s.st.Ticket(ctx, it.TicketID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && cur.State == store.TicketForgotten) {
		if _, ferr := s.st.Forget(ctx, it.Handle); ferr != nil {
			s.log.Error("moderation: could not erase an answer written during /forget; retrying", "ticket", it.TicketID, "err", ferr)
			s.retry(ctx, it, ferr)
			return false
		}
		s.fail(ctx, it, t, deliveryForgotten)
		return false
	}
	return s.complete(ctx, it, t)
}

func (s *Service) complete(ctx context.Context, it store.OutboxItem, t store.Ticket) bool {
	s.fire(stepDelivered)
	if err := s.st.CompleteOutbox(ctx, it.ID, "delivered"); err != nil {
		// The asker has the answer; the lease will bring the item back and
		// it will be delivered again (idempotently for web).
		s.log.Warn("moderation: answer delivered but not marked as delivered; it will be retried", "ticket", it.TicketID, "err", err)
		return true
	}
	s.fire(stepCompleted)
	t.Delivery = "delivered"
	t.Address = nil
	s.log.Info("moderation: answer delivered", "ticket", it.TicketID, "platform", it.Platform)
	s.publish("delivered", t, systemActor)
	return true
}

func (s *Service) fail(ctx context.Context, it store.OutboxItem, t store.Ticket, delivery string) {
	if err := s.st.CompleteOutbox(ctx, it.ID, delivery); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Warn("moderation: could not record a failed delivery", "ticket", it.TicketID, "err", err)
		return
	}
	s.log.Warn("moderation: delivery failed for good", "ticket", it.TicketID, "platform", it.Platform, "reason", delivery)
	t.Delivery = delivery
	t.Address = nil
	s.publish("delivery_failed", t, systemActor)
}

func (s *Service) retry(ctx context.Context, it store.OutboxItem, cause error) {
	// ClaimOutbox counts claims in Attempts (see storetest), so this
	// attempt is already included.
	attempts := max(it.Attempts, 1)
	now := s.now()
	if attempts >= s.maxAttempts {
		t, _ := s.st.Ticket(ctx, it.TicketID)
		if t.ID == "" {
			t.ID = it.TicketID
		}
		s.fail(ctx, it, t, fmt.Sprintf("failed: gave up after %d attempts (%s)", attempts, truncate(cause.Error(), 160)))
		return
	}
	next := now.Add(backoff(attempts))
	if err := s.st.RetryOutbox(ctx, it.ID, next, truncate(cause.Error(), 300)); err != nil {
		// The lease brings the item back anyway.
		s.log.Warn("moderation: could not schedule a delivery retry", "ticket", it.TicketID, "err", err)
	}
	s.log.Info("moderation: delivery will be retried", "ticket", it.TicketID, "platform", it.Platform, "attempt", attempts, "err", cause)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cutting may split a rune; ToValidUTF8 drops the broken tail.
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// RunDelivery delivers outbox items until ctx is done: at once when an
// answer is enqueued, otherwise every DeliveryPoll, backing off while the
// store fails.
func (s *Service) RunDelivery(ctx context.Context) error {
	fails := 0
	for {
		wait := s.poll
		n, err := s.DeliverDue(ctx)
		if ctx.Err() != nil {
			return nil
		}
		switch {
		case err != nil:
			fails++
			wait = min(backoff(fails), time.Minute)
			s.log.Error("moderation: delivery pass failed", "err", err, "retry_in", wait)
		case n == outboxBatch:
			fails = 0
			wait = 0 // more may be due
		default:
			fails = 0
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-s.kick:
			timer.Stop()
		case <-timer.C:
		}
	}
}

// RunRetention purges expired data every interval until ctx is done.
// Open and claimed tickets past retention become "expired" tombstones, and
// subscribers get an "expired" event for each.
func (s *Service) RunRetention(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		// Well under redisstore's TTL grace (1h), so that Purge, not a
		// Redis TTL, turns expired tickets into tombstones.
		every = 10 * time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.PurgeNow(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("moderation: retention pass failed; will retry", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// PurgeNow runs one retention pass (store.Purge) and publishes "expired"
// for each ticket that became a tombstone in it.
func (s *Service) PurgeNow(ctx context.Context) (store.PurgeReport, error) {
	now := s.now()
	rep, err := s.st.Purge(ctx, now)
	if err != nil {
		return rep, fmt.Errorf("moderation: retention: %w", err)
	}
	if rep.Tickets > 0 {
		// Backends stamp a tombstone with the purge time.
		expired, err := s.st.Tickets(ctx, store.TicketFilter{States: []store.TicketState{store.TicketExpired}})
		if err != nil {
			return rep, fmt.Errorf("moderation: retention: %w", err)
		}
		for _, t := range expired {
			if !t.UpdatedAt.Before(now) {
				s.publish("expired", t, systemActor)
			}
		}
		s.log.Info("moderation: retention purged expired data", "tickets", rep.Tickets, "messages", rep.Messages, "outbox", rep.Outbox)
	}
	return rep, nil
}
