package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/candid-app/candid/internal/store"
)

// Feedback counts: one hash per day ("fb:2026-12-07"), field entry \x00
// event, expiring with store.FeedbackRetention, so no purge is needed.

func (s *Store) AddFeedback(ctx context.Context, c store.FeedbackCount) error {
	day, err := time.Parse(time.DateOnly, c.Day)
	if err != nil {
		return fmt.Errorf("redisstore: feedback day %q: want YYYY-MM-DD", c.Day)
	}
	if c.FAQID == "" || len(c.FAQID) > 128 || strings.IndexByte(c.FAQID, 0) >= 0 ||
		c.Event == "" || len(c.Event) > 32 || strings.IndexByte(c.Event, 0) >= 0 || c.N < 0 {
		return fmt.Errorf("redisstore: feedback %q/%q/%d is not valid", c.FAQID, c.Event, c.N)
	}
	key := s.k("fb:" + c.Day)
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HIncrBy(ctx, key, c.FAQID+"\x00"+c.Event, c.N)
		p.ExpireAt(ctx, key, day.Add(store.FeedbackRetention+24*time.Hour))
		return nil
	})
	return err
}

func (s *Store) Feedback(ctx context.Context, since string) ([]store.FeedbackCount, error) {
	from, err := time.Parse(time.DateOnly, since)
	if err != nil {
		return nil, fmt.Errorf("redisstore: feedback since %q: want YYYY-MM-DD", since)
	}
	today := time.Now().UTC()
	if oldest := today.Add(-store.FeedbackRetention); from.Before(oldest) {
		from = oldest
	}
	var days []string
	for d := from; !d.After(today.Add(24 * time.Hour)); d = d.Add(24 * time.Hour) {
		days = append(days, d.Format(time.DateOnly))
	}
	cmds := make([]*redis.MapStringStringCmd, len(days))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, d := range days {
			cmds[i] = p.HGetAll(ctx, s.k("fb:"+d))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []store.FeedbackCount
	for i, cmd := range cmds {
		for field, v := range cmd.Val() {
			id, ev, ok := strings.Cut(field, "\x00")
			n, perr := strconv.ParseInt(v, 10, 64)
			if !ok || perr != nil {
				continue
			}
			out = append(out, store.FeedbackCount{Day: days[i], FAQID: id, Event: ev, N: n})
		}
	}
	return out, nil
}
