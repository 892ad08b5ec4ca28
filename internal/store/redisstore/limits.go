package redisstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// The two limits of package ratelimit with their state in Redis, so that
// every replica draws on one budget: the web chat's per-asker and
// per-client token buckets, and the console's failed-login window. Without
// this, N replicas allow N times the configured rate, and a password
// guesser gets N times the attempts.
//
// Keys (after the prefix): rl:<name>:<digest> (hash: tok, ts) and
// rw:<name>:<digest> (sorted set of event times). The digest is SHA-256 of
// the caller's key, so no caller's key (a handle, or a login name and
// address) is stored as given, and any byte string is a valid key.
//
// A Redis error fails open (the event is allowed, or counted as none) and is
// logged without the key: if Redis is down the store is too, and refusing
// every asker because the limiter cannot be read helps no one.

// Limiter is a token bucket per key, shared through Redis.
type Limiter struct {
	s     *Store
	name  string
	rate  float64 // tokens per millisecond
	burst int
}

// Window counts events per key over a sliding window, shared through
// Redis.
type Window struct {
	s    *Store
	name string
	span time.Duration
}

// Limiter returns the token bucket called name (a namespace: "asker",
// "client"): burst events at once, perSecond after that.
func (s *Store) Limiter(name string, perSecond float64, burst int) *Limiter {
	return &Limiter{s: s, name: name, rate: perSecond / 1000, burst: max(burst, 1)}
}

// Window returns the sliding window called name over span.
func (s *Store) Window(name string, span time.Duration) *Window {
	return &Window{s: s, name: name, span: span}
}

func limitKey(s *Store, kind, name, key string) string {
	d := sha256.Sum256([]byte(key))
	return s.k(kind + ":" + name + ":" + hex.EncodeToString(d[:16]))
}

// takeToken refills the bucket by the time elapsed on the Redis server's
// clock (one clock for every replica, so their skew does not matter) and
// takes a token if there is one. It returns {1, 0} or {0, ms to wait}.
var takeToken = redis.NewScript(`
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local v = redis.call('HMGET', KEYS[1], 'tok', 'ts')
local tok, ts = tonumber(v[1]), tonumber(v[2])
if tok == nil or ts == nil then tok, ts = burst, now end
if now > ts then tok = math.min(burst, tok + (now - ts) * rate) end
local ok, wait = 0, 0
if tok >= 1 then tok = tok - 1; ok = 1 else wait = math.ceil((1 - tok) / rate) end
redis.call('HSET', KEYS[1], 'tok', tostring(tok), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate) + 1000)
return {ok, wait}
`)

// Allow takes one token for key. When none is left it returns false and how
// long until one is.
func (l *Limiter) Allow(ctx context.Context, key string) (bool, time.Duration) {
	if l.rate <= 0 {
		return true, 0
	}
	res, err := takeToken.Run(ctx, l.s.rdb, []string{limitKey(l.s, "rl", l.name, key)},
		strconv.FormatFloat(l.rate, 'g', -1, 64), l.burst).Int64Slice()
	if err != nil || len(res) != 2 {
		l.s.log.ErrorContext(ctx, "redis rate limit unavailable: allowing the event", "limit", l.name, "err", err)
		return true, 0
	}
	if res[0] == 1 {
		return true, 0
	}
	return false, time.Duration(min(res[1], math.MaxInt64/int64(time.Millisecond))) * time.Millisecond
}

// Count returns how many events key had in the window.
func (w *Window) Count(ctx context.Context, key string) int {
	now := w.s.now()
	n, err := w.s.rdb.ZCount(ctx, limitKey(w.s, "rw", w.name, key),
		"("+strconv.FormatInt(now.Add(-w.span).UnixMilli(), 10), "+inf").Result()
	if err != nil {
		w.s.log.ErrorContext(ctx, "redis window unavailable: counting none", "window", w.name, "err", err)
		return 0
	}
	return int(n)
}

// Add records an event for key now, drops the events that left the window
// and lets Redis drop the key a window after its last event.
func (w *Window) Add(ctx context.Context, key string) {
	now := w.s.now()
	k := limitKey(w.s, "rw", w.name, key)
	ms := now.UnixMilli()
	// Two events in one millisecond are two members.
	member := strconv.FormatInt(now.UnixNano(), 10) + "-" + rand.Text()[:8]
	_, err := w.s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, k, redis.Z{Score: float64(ms), Member: member})
		p.ZRemRangeByScore(ctx, k, "-inf", strconv.FormatInt(now.Add(-w.span).UnixMilli(), 10))
		p.PExpire(ctx, k, w.span+time.Second)
		return nil
	})
	if err != nil {
		w.s.log.ErrorContext(ctx, "redis window unavailable: event not recorded", "window", w.name, "err", err)
	}
}

// Reset forgets key's events.
func (w *Window) Reset(ctx context.Context, key string) {
	if err := w.s.rdb.Del(ctx, limitKey(w.s, "rw", w.name, key)).Err(); err != nil {
		w.s.log.ErrorContext(ctx, "redis window unavailable: events not reset", "window", w.name, "err", err)
	}
}
