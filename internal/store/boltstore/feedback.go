package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/candid-app/candid/internal/store"
)

// Feedback counts: one key per day, entry and event, holding a uint64.
// Keys sort by day, so a range from a day on is a cursor seek.

func feedbackKey(c store.FeedbackCount) []byte {
	return []byte(c.Day + "\x00" + c.FAQID + "\x00" + c.Event)
}

func checkFeedback(c store.FeedbackCount) error {
	if _, err := time.Parse(time.DateOnly, c.Day); err != nil {
		return fmt.Errorf("boltstore: feedback day %q: want YYYY-MM-DD", c.Day)
	}
	if c.FAQID == "" || len(c.FAQID) > 128 || strings.IndexByte(c.FAQID, 0) >= 0 {
		return fmt.Errorf("boltstore: feedback entry id %q", c.FAQID)
	}
	if c.Event == "" || len(c.Event) > 32 || strings.IndexByte(c.Event, 0) >= 0 {
		return fmt.Errorf("boltstore: feedback event %q", c.Event)
	}
	if c.N < 0 {
		return fmt.Errorf("boltstore: feedback count %d", c.N)
	}
	return nil
}

func (s *Store) AddFeedback(ctx context.Context, c store.FeedbackCount) error {
	if err := checkFeedback(c); err != nil {
		return err
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bFeed)
		k := feedbackKey(c)
		var n uint64
		if v := b.Get(k); len(v) == 8 {
			n = binary.BigEndian.Uint64(v)
		}
		var buf [8]byte
		binary.BigEndian.PutUint64(buf[:], n+uint64(c.N))
		return b.Put(k, buf[:])
	})
}

func (s *Store) Feedback(ctx context.Context, since string) ([]store.FeedbackCount, error) {
	var out []store.FeedbackCount
	err := s.view(ctx, func(tx *bolt.Tx) error {
		cur := tx.Bucket(bFeed).Cursor()
		for k, v := cur.Seek([]byte(since)); k != nil; k, v = cur.Next() {
			parts := bytes.SplitN(k, []byte{0}, 3)
			if len(parts) != 3 || len(v) != 8 {
				continue
			}
			out = append(out, store.FeedbackCount{Day: string(parts[0]), FAQID: string(parts[1]), Event: string(parts[2]),
				N: int64(binary.BigEndian.Uint64(v))})
		}
		return nil
	})
	return out, err
}

// purgeFeedback deletes the counts older than store.FeedbackRetention.
func purgeFeedback(tx *bolt.Tx, now time.Time, rep *store.PurgeReport) error {
	cutoff := []byte(now.Add(-store.FeedbackRetention).UTC().Format(time.DateOnly))
	b := tx.Bucket(bFeed)
	var old [][]byte
	cur := b.Cursor()
	for k, _ := cur.First(); k != nil && bytes.Compare(k, cutoff) < 0; k, _ = cur.Next() {
		old = append(old, bytes.Clone(k))
	}
	for _, k := range old {
		if err := b.Delete(k); err != nil {
			return err
		}
		rep.Other++
	}
	return nil
}
