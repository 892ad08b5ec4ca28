package redisstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/candid-app/candid/internal/store"
	"github.com/candid-app/candid/internal/store/internal/rules"
)

func sortStaff(st []store.Staff) {
	slices.SortFunc(st, func(a, b store.Staff) int { return cmp.Compare(a.Name, b.Name) })
}

// Forget deletes the handle's records in one transaction, found through
// its index set h:<handle>, so it costs O(records of that handle).
func (s *Store) Forget(ctx context.Context, handle string) (store.ForgetReport, error) {
	if err := checkHandle(handle); err != nil {
		return store.ForgetReport{}, err
	}
	start := time.Now()
	hkey := s.k(hName(handle))
	var rep store.ForgetReport
	err := s.retry(ctx, func(tx *redis.Tx) error {
		rep = store.ForgetReport{}
		now := s.now()
		names, err := tx.SMembers(ctx, hkey).Result()
		if err != nil {
			return err
		}
		if len(names) == 0 {
			return nil
		}
		keys := make([]string, len(names))
		for i, n := range names {
			keys[i] = s.k(n)
		}
		// Any write to these records meanwhile aborts and retries us.
		if err := tx.Watch(ctx, keys...).Err(); err != nil {
			return err
		}
		var tickets []store.Ticket
		for _, n := range names {
			if id, ok := strings.CutPrefix(n, "t:"); ok {
				t, found, err := getJSON[store.Ticket](ctx, tx, s.k(ticketName(id)))
				if err != nil {
					return err
				}
				if found && t.Handle == handle {
					tickets = append(tickets, t)
				}
			}
		}
		type counted struct {
			n   *int
			cmd *redis.IntCmd
		}
		var counts []counted
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			for _, n := range names {
				switch {
				case strings.HasPrefix(n, "msg:"):
					counts = append(counts, counted{&rep.Messages, p.Del(ctx, s.k(n))})
					p.ZRem(ctx, s.k("exp"), n)
				case strings.HasPrefix(n, "st:"):
					counts = append(counts, counted{&rep.State, p.Del(ctx, s.k(n))})
					p.ZRem(ctx, s.k("exp"), n)
				case strings.HasPrefix(n, "o:"):
					del, _ := s.deleteOutbox(ctx, p, strings.TrimPrefix(n, "o:"), "")
					counts = append(counts, counted{&rep.Outbox, del})
				}
			}
			for _, t := range tickets {
				tomb := rules.Tombstone(t, store.TicketForgotten, now)
				s.writeTicket(ctx, p, &t, tomb)
				s.appendAudit(ctx, p, rules.TombstoneAudit(t, tomb, "forget", now))
			}
			p.Del(ctx, hkey)
			return nil
		})
		if err != nil {
			return err
		}
		for _, c := range counts {
			*c.n += int(c.cmd.Val())
		}
		rep.Tickets = len(tickets)
		return nil
	}, hkey)
	if err != nil {
		return store.ForgetReport{}, err
	}
	s.log.Info("forget", "messages", rep.Messages, "tickets", rep.Tickets, "outbox", rep.Outbox, "state", rep.State, "duration", time.Since(start))
	return rep, nil
}

// purgeBatch is how many index entries Purge reads at a time.
const purgeBatch = 500

// Purge walks the exp index up to now. Several replicas may run it at once:
// each record is removed (and counted) by exactly one of them.
func (s *Store) Purge(ctx context.Context, now time.Time) (store.PurgeReport, error) {
	start := time.Now()
	var rep store.PurgeReport
	skipped := 0
	for {
		names, err := s.rdb.ZRangeByScore(ctx, s.k("exp"), &redis.ZRangeBy{
			Min: "-inf", Max: strconv.FormatInt(ms(now), 10), Offset: int64(skipped), Count: purgeBatch,
		}).Result()
		if err != nil {
			return rep, err
		}
		for _, n := range names {
			done, err := s.purgeOne(ctx, n, now, &rep)
			if err != nil {
				return rep, err
			}
			if !done {
				skipped++ // expires later within the same millisecond, or rewritten meanwhile
			}
		}
		if len(names) < purgeBatch {
			break
		}
	}
	s.log.Info("purge", "messages", rep.Messages, "tickets", rep.Tickets, "outbox", rep.Outbox,
		"state", rep.State, "audit", rep.Audit, "other", rep.Other, "duration", time.Since(start))
	return rep, nil
}

// expiryFields decodes what Purge needs from any string record.
type expiryFields struct {
	ExpiresAt time.Time `json:"expires_at"`
	Until     time.Time `json:"until"`
	Staff     string    `json:"staff"`
}

func (e expiryFields) at() time.Time {
	if !e.ExpiresAt.IsZero() {
		return e.ExpiresAt
	}
	return e.Until
}

// purgeOne handles one exp index entry; false means it was left alone
// because the record does not expire yet.
func (s *Store) purgeOne(ctx context.Context, name string, now time.Time, rep *store.PurgeReport) (bool, error) {
	kind, rest, _ := strings.Cut(name, ":")
	key := s.k(name)
	expKey := s.k("exp")
	done := true
	var err error
	switch kind {
	case "msg", "st", "b", "sess", "once":
		err = s.retry(ctx, func(tx *redis.Tx) error {
			done = true
			raw, err := tx.Get(ctx, key).Result()
			if err != nil && !errors.Is(err, redis.Nil) {
				return err
			}
			var f expiryFields
			if raw != "" {
				if kind == "once" {
					v, _ := strconv.ParseInt(raw, 10, 64)
					f.ExpiresAt = time.UnixMilli(v)
				} else if err := json.Unmarshal([]byte(raw), &f); err != nil {
					return fmt.Errorf("redisstore: decode %s record: %w", kind, err)
				}
				if !expired(f.at(), now) {
					done = false
					return nil
				}
			}
			var zrem *redis.IntCmd
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Del(ctx, key)
				zrem = p.ZRem(ctx, expKey, name)
				switch kind {
				case "msg", "st":
					p.SRem(ctx, s.k(hName(handleOf(name))), name)
				case "sess":
					if f.Staff != "" {
						p.SRem(ctx, s.k("ss:"+f.Staff), rest)
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
			n := int(zrem.Val())
			switch kind {
			case "msg":
				rep.Messages += n
			case "st":
				rep.State += n
			default:
				rep.Other += n
			}
			return nil
		}, key)
	case "o":
		err = s.retry(ctx, func(tx *redis.Tx) error {
			done = true
			f, err := tx.HMGet(ctx, key, "data", "exp").Result()
			if err != nil {
				return err
			}
			handle := ""
			if data, ok := f[0].(string); ok {
				if exp, _ := strconv.ParseInt(fmt.Sprint(f[1]), 10, 64); exp > ms(now) {
					done = false
					return nil
				}
				o, err := decodeOutbox(data, "0", "", "")
				if err != nil {
					return err
				}
				handle = o.Handle
			}
			var zrem *redis.IntCmd
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				_, zrem = s.deleteOutbox(ctx, p, rest, handle)
				return nil
			})
			if err == nil {
				rep.Outbox += int(zrem.Val())
			}
			return err
		}, key)
	case "t":
		akey := s.k(auditName(rest))
		err = s.retry(ctx, func(tx *redis.Tx) error {
			done = true
			t, found, err := getJSON[store.Ticket](ctx, tx, key)
			if err != nil {
				return err
			}
			if found && !expired(t.ExpiresAt, now) {
				done = false
				return nil
			}
			if found && rules.Live(t.State) {
				tomb := rules.Tombstone(t, store.TicketExpired, now)
				_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
					s.writeTicket(ctx, p, &t, tomb)
					s.appendAudit(ctx, p, rules.TombstoneAudit(t, tomb, "expire", now))
					return nil
				})
				if err == nil {
					rep.Tickets++
				}
				return err
			}
			audits, err := tx.LLen(ctx, akey).Result()
			if err != nil {
				return err
			}
			var zrem *redis.IntCmd
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Del(ctx, key, akey)
				zrem = p.ZRem(ctx, expKey, name)
				if found {
					p.SRem(ctx, s.k(tsName(t.State)), rest)
					if t.Handle != "" {
						p.SRem(ctx, s.k(hName(t.Handle)), name)
					}
				} else {
					for _, st := range rules.StatesAll {
						p.SRem(ctx, s.k(tsName(st)), rest)
					}
				}
				return nil
			})
			if err == nil && zrem.Val() == 1 {
				rep.Tickets++
				rep.Audit += int(audits)
			}
			return err
		}, key, akey)
	default:
		err = s.rdb.ZRem(ctx, expKey, name).Err()
	}
	return done, err
}
