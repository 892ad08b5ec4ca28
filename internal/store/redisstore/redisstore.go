// Package redisstore is Candid's storage backend for several replicas: the
// whole store.Store in one Redis (go-redis v9). It owns the key layout, the
// scripts and transactions that keep multi-key writes atomic across
// replicas, and the mapping of retention onto Redis TTLs.
//
// Key layout (every key starts with Options.Prefix, "candid:" by default;
// NUL separates a handle from what follows it, which is why handles may
// not contain NUL):
//
//	msg:<handle>\0<id>  string  Message JSON
//	st:<handle>\0<key>  string  state JSON {value, expires_at}
//	t:<id>              string  Ticket JSON
//	a:<id>              list    AuditEntry JSON, oldest first
//	ts:<state>          set     ticket IDs in that state (the queue)
//	o:<id>              hash    outbox item: data (JSON), attempts, next, err, exp (ms)
//	odue                zset    outbox IDs by NextAttempt (ms)
//	h:<handle>          set     names of that handle's msg, st, t and o keys (for Forget)
//	b:<handle>          string  block JSON {until}
//	once:<key>          string  expiry (unix ms)
//	staff               hash    name → Staff JSON
//	sess:<idHash>       string  Session JSON
//	ss:<staff>          set     that staff's session hashes
//	tok                 hash    token hash → staff name
//	stok:<staff>        set     that staff's token hashes
//	exp                 zset    names of every expiring key by its expiry (ms)
//	rl:<name>:<digest>  hash    token bucket {tok, ts} (limits.go)
//	rw:<name>:<digest>  zset    sliding window of event times (limits.go)
//
// Retention. Each record carries its logical expiry; reads hide a record
// at or past it, Purge (run by any replica, concurrently is fine) deletes
// it or makes a tombstone of it, exactly once, via the exp index. Every
// key also gets a Redis TTL (PEXPIREAT) at its expiry plus ttlGrace: the
// safety net that removes data even if no replica ever runs Purge. The
// grace leaves Purge time to turn open tickets into tombstones and to
// count what it removed.
//
// Atomicity. UpdateTicket, CreateTicket, CompleteOutbox, Forget and Purge
// use WATCH/MULTI/EXEC (optimistic: a concurrent write to a watched key
// aborts the EXEC, and UpdateTicket reports ErrConflict); ClaimOutbox,
// RetryOutbox and Once are Lua scripts, so replicas never claim one item
// twice. The scripts touch keys they derive from the prefix, so this
// backend needs a single Redis (or a primary with replicas), not Redis
// Cluster.
package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/candid-app/candid/internal/store"
	"github.com/candid-app/candid/internal/store/internal/rules"
)

var _ store.Store = (*Store)(nil)

// ttlGrace is how long after its logical expiry Redis drops a key by
// itself. Purge normally deletes it first.
const ttlGrace = time.Hour

// Options configure New.
type Options struct {
	// URL is a redis:// or rediss:// URL (user, password, db included).
	// It wins over Addr.
	URL string
	// Addr is host:port. Default "127.0.0.1:6379".
	Addr string
	// Prefix starts every key, so that several deployments (or tests) can
	// share one Redis. Default "candid:".
	Prefix string
	// Logger receives counts and durations only. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock used to hide expired records and stamp writes.
	// Default time.Now.
	Now func() time.Time
	// Client, if set, is used instead of dialling URL or Addr; Close does
	// not close it.
	Client *redis.Client
}

// Store is a store.Store in Redis. It is safe for concurrent use, also by
// several processes sharing the Redis.
type Store struct {
	rdb      *redis.Client
	ownsConn bool
	prefix   string
	log      *slog.Logger
	now      func() time.Time
}

// New connects and checks that Redis answers.
func New(ctx context.Context, opts Options) (*Store, error) {
	if opts.Prefix == "" {
		opts.Prefix = "candid:"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Store{prefix: opts.Prefix, log: opts.Logger.With("store", "redis"), now: opts.Now}
	where := ""
	switch {
	case opts.Client != nil:
		s.rdb = opts.Client
		where = opts.Client.Options().Addr
	case opts.URL != "":
		o, err := redis.ParseURL(opts.URL)
		if err != nil {
			// The URL may hold a password: do not echo it.
			return nil, errors.New("redisstore: invalid Redis URL (want redis://[user:password@]host:port[/db])")
		}
		s.rdb, s.ownsConn, where = redis.NewClient(o), true, o.Addr
	default:
		if opts.Addr == "" {
			opts.Addr = "127.0.0.1:6379"
		}
		s.rdb, s.ownsConn, where = redis.NewClient(&redis.Options{Addr: opts.Addr}), true, opts.Addr
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.rdb.Ping(pctx).Err(); err != nil {
		if s.ownsConn {
			s.rdb.Close()
		}
		return nil, fmt.Errorf("redis at %s is unreachable (is it running, and is --redis right?): %w", where, err)
	}
	return s, nil
}

// Close closes the connection pool (unless Options.Client was given).
func (s *Store) Close() error {
	if s.ownsConn {
		return s.rdb.Close()
	}
	return nil
}

// Client is the underlying client (for health checks).
func (s *Store) Client() *redis.Client { return s.rdb }

// ---- keys and encoding ----

func (s *Store) k(name string) string { return s.prefix + name }

func msgName(handle, id string) string   { return "msg:" + handle + "\x00" + id }
func stName(handle, key string) string   { return "st:" + handle + "\x00" + key }
func ticketName(id string) string        { return "t:" + id }
func auditName(id string) string         { return "a:" + id }
func outName(id string) string           { return "o:" + id }
func tsName(st store.TicketState) string { return "ts:" + string(st) }
func hName(handle string) string         { return "h:" + handle }

// handleOf extracts the handle from a msg: or st: name.
func handleOf(name string) string {
	_, rest, _ := strings.Cut(name, ":")
	h, _, _ := strings.Cut(rest, "\x00")
	return h
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func score(t time.Time) float64 { return float64(t.UnixMilli()) }

func checkHandle(h string) error {
	if h == "" {
		return errors.New("redisstore: empty handle")
	}
	if strings.IndexByte(h, 0) >= 0 {
		return errors.New("redisstore: handle contains NUL")
	}
	return nil
}

func checkID(what, id string) error {
	if id == "" {
		return fmt.Errorf("redisstore: empty %s", what)
	}
	return nil
}

func noExpiry(what string) error {
	return fmt.Errorf("redisstore: %s has no ExpiresAt: every record needs a retention limit", what)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own record types are encoded
	}
	return b
}

var expired = rules.Expired

// setRecord queues the write of an expiring string record: value, TTL
// (expiry + grace) and exp index entry.
func (s *Store) setRecord(ctx context.Context, p redis.Pipeliner, name string, v any, exp time.Time) {
	key := s.k(name)
	p.Set(ctx, key, mustJSON(v), 0)
	p.PExpireAt(ctx, key, exp.Add(ttlGrace))
	p.ZAdd(ctx, s.k("exp"), redis.Z{Score: score(exp), Member: name})
}

// addToHandle queues adding name to the handle's index set.
func (s *Store) addToHandle(ctx context.Context, p redis.Pipeliner, handle, name string, exp time.Time) {
	s.addToSet(ctx, p, s.k(hName(handle)), name, exp)
}

// addToSet queues adding member to an index set whose TTL is the latest of
// its members' (expiry + grace).
func (s *Store) addToSet(ctx context.Context, p redis.Pipeliner, key, member string, exp time.Time) {
	p.SAdd(ctx, key, member)
	at := exp.Add(ttlGrace)
	// NX sets a TTL on a new set; GT only ever lengthens it.
	p.Do(ctx, "PEXPIREAT", key, ms(at), "NX")
	p.Do(ctx, "PEXPIREAT", key, ms(at), "GT")
}

// retry runs a WATCH transaction again when a concurrent write aborted it.
func (s *Store) retry(ctx context.Context, fn func(tx *redis.Tx) error, keys ...string) error {
	for range 100 {
		err := s.rdb.Watch(ctx, fn, keys...)
		if !errors.Is(err, redis.TxFailedErr) {
			return err
		}
	}
	return errors.New("redisstore: gave up after 100 conflicting transactions")
}

func getJSON[T any](ctx context.Context, c redis.Cmdable, key string) (T, bool, error) {
	var v T
	raw, err := c.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return v, false, nil
	}
	if err != nil {
		return v, false, err
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, false, fmt.Errorf("redisstore: decode %T: %w", v, err)
	}
	return v, true, nil
}

type stateRec struct {
	Value     []byte    `json:"value"`
	ExpiresAt time.Time `json:"expires_at"`
}

type blockRec struct {
	Until time.Time `json:"until"`
}

// ---- conversation memory ----

func (s *Store) PutMessage(ctx context.Context, m store.Message) error {
	if err := checkHandle(m.Handle); err != nil {
		return err
	}
	if m.ID == "" {
		return errors.New("redisstore: message without ID")
	}
	if m.ExpiresAt.IsZero() {
		return noExpiry("message")
	}
	if m.At.IsZero() {
		m.At = s.now()
	}
	name := msgName(m.Handle, m.ID)
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		s.setRecord(ctx, p, name, m, m.ExpiresAt)
		s.addToHandle(ctx, p, m.Handle, name, m.ExpiresAt)
		return nil
	})
	return err
}

// handleNames lists the handle's index entries that start with kind.
func (s *Store) handleNames(ctx context.Context, c redis.Cmdable, handle, kind string) ([]string, error) {
	all, err := c.SMembers(ctx, s.k(hName(handle))).Result()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range all {
		if strings.HasPrefix(n, kind) {
			out = append(out, n)
		}
	}
	return out, nil
}

func (s *Store) Messages(ctx context.Context, handle string, limit int) ([]store.Message, error) {
	if err := checkHandle(handle); err != nil {
		return nil, err
	}
	names, err := s.handleNames(ctx, s.rdb, handle, "msg:")
	if err != nil || len(names) == 0 {
		return nil, err
	}
	keys := make([]string, len(names))
	for i, n := range names {
		keys[i] = s.k(n)
	}
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, err
	}
	now := s.now()
	var out []store.Message
	for _, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue // gone since the index was read
		}
		var m store.Message
		if err := json.Unmarshal([]byte(str), &m); err != nil {
			return nil, fmt.Errorf("redisstore: decode message: %w", err)
		}
		if !expired(m.ExpiresAt, now) {
			out = append(out, m)
		}
	}
	rules.SortMessages(out)
	if limit > 0 && len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, nil
}

// ---- per-asker state ----

func (s *Store) PutState(ctx context.Context, handle, key string, value []byte, ttl time.Duration) error {
	if err := checkHandle(handle); err != nil {
		return err
	}
	if ttl <= 0 {
		return noExpiry("state (ttl <= 0)")
	}
	rec := stateRec{Value: value, ExpiresAt: s.now().Add(ttl)}
	name := stName(handle, key)
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		s.setRecord(ctx, p, name, rec, rec.ExpiresAt)
		s.addToHandle(ctx, p, handle, name, rec.ExpiresAt)
		return nil
	})
	return err
}

func (s *Store) State(ctx context.Context, handle, key string) ([]byte, error) {
	if err := checkHandle(handle); err != nil {
		return nil, err
	}
	rec, ok, err := getJSON[stateRec](ctx, s.rdb, s.k(stName(handle, key)))
	if err != nil {
		return nil, err
	}
	if !ok || expired(rec.ExpiresAt, s.now()) {
		return nil, fmt.Errorf("state %q: %w", key, store.ErrNotFound)
	}
	if rec.Value == nil {
		rec.Value = []byte{}
	}
	return rec.Value, nil
}

func (s *Store) DeleteState(ctx context.Context, handle, key string) error {
	if err := checkHandle(handle); err != nil {
		return err
	}
	name := stName(handle, key)
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, s.k(name))
		p.ZRem(ctx, s.k("exp"), name)
		p.SRem(ctx, s.k(hName(handle)), name)
		return nil
	})
	return err
}

// ---- tickets ----

// writeTicket queues storing t over old (nil: new ticket), keeping the
// state, handle and expiry indexes and the audit list's TTL in step.
func (s *Store) writeTicket(ctx context.Context, p redis.Pipeliner, old *store.Ticket, t store.Ticket) {
	name := ticketName(t.ID)
	s.setRecord(ctx, p, name, t, t.ExpiresAt)
	p.PExpireAt(ctx, s.k(auditName(t.ID)), t.ExpiresAt.Add(ttlGrace))
	if old != nil {
		p.SRem(ctx, s.k(tsName(old.State)), t.ID)
		if old.Handle != "" && old.Handle != t.Handle {
			p.SRem(ctx, s.k(hName(old.Handle)), name)
		}
	}
	p.SAdd(ctx, s.k(tsName(t.State)), t.ID)
	if t.Handle != "" {
		s.addToHandle(ctx, p, t.Handle, name, t.ExpiresAt)
	}
}

func (s *Store) appendAudit(ctx context.Context, p redis.Pipeliner, a store.AuditEntry) {
	p.RPush(ctx, s.k(auditName(a.TicketID)), mustJSON(a))
}

func (s *Store) CreateTicket(ctx context.Context, t store.Ticket, audit store.AuditEntry) error {
	if err := checkID("ticket ID", t.ID); err != nil {
		return err
	}
	if t.Handle != "" {
		if err := checkHandle(t.Handle); err != nil {
			return err
		}
	}
	if t.ExpiresAt.IsZero() {
		return noExpiry("ticket")
	}
	now := s.now()
	t = rules.NewTicket(t, now)
	audit = rules.Audit(audit, t.ID, "", t.State, now)
	key := s.k(ticketName(t.ID))
	err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
		n, err := tx.Exists(ctx, key).Result()
		if err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("ticket %s exists: %w", t.ID, store.ErrConflict)
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Del(ctx, s.k(auditName(t.ID))) // a leftover of a ticket Redis expired by itself
			s.appendAudit(ctx, p, audit)
			s.writeTicket(ctx, p, nil, t)
			return nil
		})
		return err
	}, key)
	if errors.Is(err, redis.TxFailedErr) {
		return fmt.Errorf("ticket %s was created concurrently: %w", t.ID, store.ErrConflict)
	}
	return err
}

func (s *Store) Ticket(ctx context.Context, id string) (store.Ticket, error) {
	t, ok, err := getJSON[store.Ticket](ctx, s.rdb, s.k(ticketName(id)))
	if err != nil {
		return store.Ticket{}, err
	}
	if !ok || expired(t.ExpiresAt, s.now()) {
		return store.Ticket{}, fmt.Errorf("ticket %s: %w", id, store.ErrNotFound)
	}
	return t, nil
}

func (s *Store) Tickets(ctx context.Context, f store.TicketFilter) ([]store.Ticket, error) {
	states := f.States
	if len(states) == 0 {
		states = rules.StatesAll
	}
	want := map[store.TicketState]bool{}
	var setKeys []string
	for _, st := range states {
		if !want[st] {
			want[st] = true
			setKeys = append(setKeys, s.k(tsName(st)))
		}
	}
	ids, err := s.rdb.SUnion(ctx, setKeys...).Result()
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.k(ticketName(id))
	}
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, err
	}
	now := s.now()
	var out []store.Ticket
	for _, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue
		}
		var t store.Ticket
		if err := json.Unmarshal([]byte(str), &t); err != nil {
			return nil, fmt.Errorf("redisstore: decode ticket: %w", err)
		}
		// The state sets and the ticket are written together, but a
		// reader between two MGETs may see a ticket that just moved.
		if want[t.State] && !expired(t.ExpiresAt, now) {
			out = append(out, t)
		}
	}
	rules.SortTickets(out)
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

func (s *Store) UpdateTicket(ctx context.Context, t store.Ticket, audit store.AuditEntry, out *store.OutboxItem) (store.Ticket, error) {
	if t.Handle != "" {
		if err := checkHandle(t.Handle); err != nil {
			return store.Ticket{}, err
		}
	}
	if out != nil {
		if err := checkID("outbox ID", out.ID); err != nil {
			return store.Ticket{}, err
		}
	}
	now := s.now()
	tkey := s.k(ticketName(t.ID))
	keys := []string{tkey}
	if out != nil {
		keys = append(keys, s.k(outName(out.ID)))
	}
	var stored store.Ticket
	err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
		old, ok, err := getJSON[store.Ticket](ctx, tx, tkey)
		if err != nil {
			return err
		}
		if !ok || expired(old.ExpiresAt, now) {
			return fmt.Errorf("ticket %s: %w", t.ID, store.ErrNotFound)
		}
		if old.Version != t.Version {
			return fmt.Errorf("ticket %s is at version %d, not %d: %w", t.ID, old.Version, t.Version, store.ErrConflict)
		}
		if rules.Tombstoned(old.State) {
			return fmt.Errorf("ticket %s is a tombstone (%s): %w", t.ID, old.State, store.ErrConflict)
		}
		n := rules.NextTicket(old, t, now)
		var item store.OutboxItem
		if out != nil {
			item = rules.Outbox(*out, n, now)
			exists, err := tx.Exists(ctx, s.k(outName(item.ID))).Result()
			if err != nil {
				return err
			}
			if exists > 0 {
				return fmt.Errorf("outbox item %s exists: %w", item.ID, store.ErrConflict)
			}
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			s.writeTicket(ctx, p, &old, n)
			s.appendAudit(ctx, p, rules.Audit(audit, n.ID, old.State, n.State, now))
			if out != nil {
				s.writeOutbox(ctx, p, item)
			}
			return nil
		})
		stored = n
		return err
	}, keys...)
	if errors.Is(err, redis.TxFailedErr) {
		return store.Ticket{}, fmt.Errorf("ticket %s changed concurrently: %w", t.ID, store.ErrConflict)
	}
	if err != nil {
		return store.Ticket{}, err
	}
	return stored, nil
}

func (s *Store) Audit(ctx context.Context, ticketID string) ([]store.AuditEntry, error) {
	if _, err := s.Ticket(ctx, ticketID); err != nil {
		return nil, err
	}
	raws, err := s.rdb.LRange(ctx, s.k(auditName(ticketID)), 0, -1).Result()
	if err != nil {
		return nil, err
	}
	out := make([]store.AuditEntry, 0, len(raws))
	for _, r := range raws {
		var a store.AuditEntry
		if err := json.Unmarshal([]byte(r), &a); err != nil {
			return nil, fmt.Errorf("redisstore: decode audit: %w", err)
		}
		out = append(out, a)
	}
	return out, nil
}

// ---- outbox ----

// An outbox item is a hash so that the claim script can bump its attempts
// and lease without parsing JSON: data holds the item as enqueued;
// attempts, next (RFC 3339) and err override its Attempts, NextAttempt
// and LastError; exp is its expiry in unix ms.
func (s *Store) writeOutbox(ctx context.Context, p redis.Pipeliner, o store.OutboxItem) {
	key := s.k(outName(o.ID))
	p.HSet(ctx, key, "data", mustJSON(o), "attempts", o.Attempts,
		"next", o.NextAttempt.Format(time.RFC3339Nano), "err", o.LastError, "exp", ms(o.ExpiresAt))
	p.PExpireAt(ctx, key, o.ExpiresAt.Add(ttlGrace))
	p.ZAdd(ctx, s.k("odue"), redis.Z{Score: score(o.NextAttempt), Member: o.ID})
	p.ZAdd(ctx, s.k("exp"), redis.Z{Score: score(o.ExpiresAt), Member: outName(o.ID)})
	if o.Handle != "" {
		s.addToHandle(ctx, p, o.Handle, outName(o.ID), o.ExpiresAt)
	}
}

// deleteOutbox queues removing an item and its index entries. The result
// of the exp index removal says whether this call removed it (counted once
// even when two replicas race).
func (s *Store) deleteOutbox(ctx context.Context, p redis.Pipeliner, id, handle string) (del, zrem *redis.IntCmd) {
	del = p.Del(ctx, s.k(outName(id)))
	p.ZRem(ctx, s.k("odue"), id)
	zrem = p.ZRem(ctx, s.k("exp"), outName(id))
	if handle != "" {
		p.SRem(ctx, s.k(hName(handle)), outName(id))
	}
	return del, zrem
}

func decodeOutbox(data, attempts, next, lastErr string) (store.OutboxItem, error) {
	var o store.OutboxItem
	if err := json.Unmarshal([]byte(data), &o); err != nil {
		return o, fmt.Errorf("redisstore: decode outbox item: %w", err)
	}
	o.Attempts, _ = strconv.Atoi(attempts)
	if t, err := time.Parse(time.RFC3339Nano, next); err == nil {
		o.NextAttempt = t
	}
	o.LastError = lastErr
	return o, nil
}

// claimScript takes up to ARGV[3] due items (0: all) in NextAttempt order,
// skipping expired ones, and leases them: attempts+1, next = the lease
// end. It returns data, attempts, err for each. One script, so two
// replicas never claim the same item.
var claimScript = redis.NewScript(`
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local now, limit, out, n = tonumber(ARGV[1]), tonumber(ARGV[3]), {}, 0
for _, id in ipairs(due) do
  if limit > 0 and n >= limit then break end
  local key = ARGV[5] .. 'o:' .. id
  local f = redis.call('HMGET', key, 'data', 'err', 'exp')
  if not f[1] then
    redis.call('ZREM', KEYS[1], id)
  elseif tonumber(f[3]) > now then
    local attempts = redis.call('HINCRBY', key, 'attempts', 1)
    redis.call('HSET', key, 'next', ARGV[4])
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    n = n + 1
    out[#out + 1] = f[1]
    out[#out + 1] = tostring(attempts)
    out[#out + 1] = f[2] or ''
  end
end
return out
`)

func (s *Store) ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.OutboxItem, error) {
	next := now.Add(lease)
	res, err := claimScript.Run(ctx, s.rdb, []string{s.k("odue")},
		ms(now), ms(next), limit, next.Format(time.RFC3339Nano), s.prefix).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("redisstore: claim outbox: %w", err)
	}
	out := make([]store.OutboxItem, 0, len(res)/3)
	for i := 0; i+2 < len(res); i += 3 {
		o, err := decodeOutbox(res[i], res[i+1], "", res[i+2])
		if err != nil {
			return nil, err
		}
		o.NextAttempt = next
		out = append(out, o)
	}
	return out, nil
}

func (s *Store) CompleteOutbox(ctx context.Context, id, delivery string) error {
	okey := s.k(outName(id))
	now := s.now()
	return s.retry(ctx, func(tx *redis.Tx) error {
		data, err := tx.HGet(ctx, okey, "data").Result()
		if errors.Is(err, redis.Nil) {
			return fmt.Errorf("outbox item %s: %w", id, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		o, err := decodeOutbox(data, "0", "", "")
		if err != nil {
			return err
		}
		tkey := s.k(ticketName(o.TicketID))
		if err := tx.Watch(ctx, tkey).Err(); err != nil {
			return err
		}
		t, ok, err := getJSON[store.Ticket](ctx, tx, tkey)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			s.deleteOutbox(ctx, p, id, o.Handle)
			if ok { // else the ticket is gone (purged): nothing to record
				n := t
				n.Delivery = delivery
				n.Address = nil
				n.Version++
				n.UpdatedAt = now
				s.writeTicket(ctx, p, &t, n)
			}
			return nil
		})
		return err
	}, okey)
}

var retryScript = redis.NewScript(`
local exp = redis.call('HGET', KEYS[1], 'exp')
if not exp or tonumber(exp) <= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'next', ARGV[3], 'err', ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[5])
return 1
`)

func (s *Store) RetryOutbox(ctx context.Context, id string, next time.Time, lastErr string) error {
	n, err := retryScript.Run(ctx, s.rdb, []string{s.k(outName(id)), s.k("odue")},
		ms(s.now()), ms(next), next.Format(time.RFC3339Nano), lastErr, id).Int()
	if err != nil {
		return fmt.Errorf("redisstore: retry outbox: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("outbox item %s: %w", id, store.ErrNotFound)
	}
	return nil
}

// ---- blocks ----

func (s *Store) Block(ctx context.Context, handle string, until time.Time) error {
	if err := checkHandle(handle); err != nil {
		return err
	}
	if until.IsZero() {
		return noExpiry("block")
	}
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		s.setRecord(ctx, p, "b:"+handle, blockRec{Until: until}, until)
		return nil
	})
	return err
}

func (s *Store) Unblock(ctx context.Context, handle string) error {
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, s.k("b:"+handle))
		p.ZRem(ctx, s.k("exp"), "b:"+handle)
		return nil
	})
	return err
}

func (s *Store) Blocked(ctx context.Context, handle string) (bool, error) {
	b, ok, err := getJSON[blockRec](ctx, s.rdb, s.k("b:"+handle))
	if err != nil {
		return false, err
	}
	return ok && !expired(b.Until, s.now()), nil
}

// ---- once ----

// onceScript: the value is the key's logical expiry (ms); a key past it
// counts as new even if Redis has not dropped it yet.
var onceScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v and tonumber(v) > tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
return 1
`)

func (s *Store) Once(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, noExpiry("once key (ttl <= 0)")
	}
	now := s.now()
	exp := now.Add(ttl)
	n, err := onceScript.Run(ctx, s.rdb, []string{s.k("once:" + key), s.k("exp")},
		ms(now), ms(exp), ms(exp.Add(ttlGrace)), "once:"+key).Int()
	if err != nil {
		return false, fmt.Errorf("redisstore: once: %w", err)
	}
	return n == 1, nil
}

// ---- staff, sessions, tokens ----

func (s *Store) PutStaff(ctx context.Context, st store.Staff) error {
	if err := checkID("staff name", st.Name); err != nil {
		return err
	}
	if st.CreatedAt.IsZero() {
		st.CreatedAt = s.now()
	}
	return s.rdb.HSet(ctx, s.k("staff"), st.Name, mustJSON(st)).Err()
}

func (s *Store) Staff(ctx context.Context, name string) (store.Staff, error) {
	raw, err := s.rdb.HGet(ctx, s.k("staff"), name).Bytes()
	if errors.Is(err, redis.Nil) {
		return store.Staff{}, fmt.Errorf("staff %q: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return store.Staff{}, err
	}
	var st store.Staff
	if err := json.Unmarshal(raw, &st); err != nil {
		return store.Staff{}, fmt.Errorf("redisstore: decode staff: %w", err)
	}
	return st, nil
}

func (s *Store) ListStaff(ctx context.Context) ([]store.Staff, error) {
	all, err := s.rdb.HGetAll(ctx, s.k("staff")).Result()
	if err != nil {
		return nil, err
	}
	out := make([]store.Staff, 0, len(all))
	for _, raw := range all {
		var st store.Staff
		if err := json.Unmarshal([]byte(raw), &st); err != nil {
			return nil, fmt.Errorf("redisstore: decode staff: %w", err)
		}
		out = append(out, st)
	}
	sortStaff(out)
	return out, nil
}

func (s *Store) DeleteStaff(ctx context.Context, name string) error {
	ssKey, stokKey := s.k("ss:"+name), s.k("stok:"+name)
	return s.retry(ctx, func(tx *redis.Tx) error {
		exists, err := tx.HExists(ctx, s.k("staff"), name).Result()
		if err != nil {
			return err
		}
		if !exists {
			return fmt.Errorf("staff %q: %w", name, store.ErrNotFound)
		}
		sessions, err := tx.SMembers(ctx, ssKey).Result()
		if err != nil {
			return err
		}
		tokens, err := tx.SMembers(ctx, stokKey).Result()
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HDel(ctx, s.k("staff"), name)
			for _, h := range sessions {
				p.Del(ctx, s.k("sess:"+h))
				p.ZRem(ctx, s.k("exp"), "sess:"+h)
			}
			if len(tokens) > 0 {
				p.HDel(ctx, s.k("tok"), tokens...)
			}
			p.Del(ctx, ssKey, stokKey)
			return nil
		})
		return err
	}, ssKey, stokKey)
}

func (s *Store) PutSession(ctx context.Context, se store.Session) error {
	if err := checkID("session hash", se.IDHash); err != nil {
		return err
	}
	if se.ExpiresAt.IsZero() {
		return noExpiry("session")
	}
	if se.CreatedAt.IsZero() {
		se.CreatedAt = s.now()
	}
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		s.setRecord(ctx, p, "sess:"+se.IDHash, se, se.ExpiresAt)
		s.addToSet(ctx, p, s.k("ss:"+se.Staff), se.IDHash, se.ExpiresAt)
		return nil
	})
	return err
}

func (s *Store) Session(ctx context.Context, idHash string) (store.Session, error) {
	se, ok, err := getJSON[store.Session](ctx, s.rdb, s.k("sess:"+idHash))
	if err != nil {
		return store.Session{}, err
	}
	if !ok || expired(se.ExpiresAt, s.now()) {
		return store.Session{}, fmt.Errorf("session: %w", store.ErrNotFound)
	}
	return se, nil
}

func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	se, ok, err := getJSON[store.Session](ctx, s.rdb, s.k("sess:"+idHash))
	if err != nil {
		return err
	}
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, s.k("sess:"+idHash))
		p.ZRem(ctx, s.k("exp"), "sess:"+idHash)
		if ok {
			p.SRem(ctx, s.k("ss:"+se.Staff), idHash)
		}
		return nil
	})
	return err
}

func (s *Store) PutToken(ctx context.Context, t store.APIToken) error {
	if err := checkID("token hash", t.Hash); err != nil {
		return err
	}
	if err := checkID("staff name", t.Staff); err != nil {
		return err
	}
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	prev, err := s.Token(ctx, t.Hash)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		if prev.Staff != "" && prev.Staff != t.Staff {
			p.SRem(ctx, s.k("stok:"+prev.Staff), t.Hash)
		}
		p.HSet(ctx, s.k("tok"), t.Hash, b)
		p.SAdd(ctx, s.k("stok:"+t.Staff), t.Hash)
		return nil
	})
	return err
}

// decodeToken reads a token record. Tokens made before expiry existed were
// stored as the bare staff name.
func decodeToken(hash, v string) (store.APIToken, error) {
	if v != "" && v[0] != '{' {
		return store.APIToken{Hash: hash, Staff: v}, nil
	}
	var t store.APIToken
	if err := json.Unmarshal([]byte(v), &t); err != nil {
		return store.APIToken{}, fmt.Errorf("token record: %w", err)
	}
	t.Hash = hash
	return t, nil
}

func (s *Store) Token(ctx context.Context, tokenHash string) (store.APIToken, error) {
	v, err := s.rdb.HGet(ctx, s.k("tok"), tokenHash).Result()
	if errors.Is(err, redis.Nil) {
		return store.APIToken{}, fmt.Errorf("token: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.APIToken{}, err
	}
	return decodeToken(tokenHash, v)
}

func (s *Store) Tokens(ctx context.Context, staff string) ([]store.APIToken, error) {
	hashes, err := s.rdb.SMembers(ctx, s.k("stok:"+staff)).Result()
	if err != nil || len(hashes) == 0 {
		return nil, err
	}
	vals, err := s.rdb.HMGet(ctx, s.k("tok"), hashes...).Result()
	if err != nil {
		return nil, err
	}
	var out []store.APIToken
	for i, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue // deleted since the set was read
		}
		t, err := decodeToken(hashes[i], str)
		if err != nil {
			return nil, err
		}
		if t.Staff == staff {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b store.APIToken) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.Hash, b.Hash)
	})
	return out, nil
}

func (s *Store) DeleteToken(ctx context.Context, tokenHash string) error {
	t, err := s.Token(ctx, tokenHash)
	if err != nil {
		return err
	}
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HDel(ctx, s.k("tok"), tokenHash)
		p.SRem(ctx, s.k("stok:"+t.Staff), tokenHash)
		return nil
	})
	return err
}
