package redisstore

import (
	"context"
	"fmt"
	"io"
)

// Dump writes every key under the prefix with its type, TTL and content, one
// per line. It is for privacy audits (the invariants' tests read it to prove
// what is and is not held). It walks with SCAN, so it does not block Redis,
// but it reads everything: never serve it, and run it on a test server.
func (s *Store) Dump(ctx context.Context, w io.Writer) error {
	iter := s.rdb.Scan(ctx, 0, s.prefix+"*", 500).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		typ, err := s.rdb.Type(ctx, key).Result()
		if err != nil {
			return fmt.Errorf("redisstore: dump %q: %w", key, err)
		}
		var v any
		switch typ {
		case "string":
			v, err = s.rdb.Get(ctx, key).Result()
		case "hash":
			v, err = s.rdb.HGetAll(ctx, key).Result()
		case "list":
			v, err = s.rdb.LRange(ctx, key, 0, -1).Result()
		case "set":
			v, err = s.rdb.SMembers(ctx, key).Result()
		case "zset":
			v, err = s.rdb.ZRangeWithScores(ctx, key, 0, -1).Result()
		case "stream":
			v, err = s.rdb.XRange(ctx, key, "-", "+").Result()
		case "none": // expired between SCAN and TYPE
			continue
		default:
			v = "(type " + typ + " not read)"
		}
		if err != nil {
			return fmt.Errorf("redisstore: dump %q: %w", key, err)
		}
		ttl, _ := s.rdb.PTTL(ctx, key).Result()
		if _, err := fmt.Fprintf(w, "%q %s ttl=%s %q\n", key, typ, ttl, fmt.Sprint(v)); err != nil {
			return err
		}
	}
	return iter.Err()
}
