// Package boltstore is Candid's embedded storage backend: the whole
// store.Store in one bbolt file, so that `candid serve` runs with nothing
// installed. It owns the file layout (buckets, keys, indexes), the file lock
// and the rewriting of the file that makes deleted data really gone.
//
// Layout. Every value is JSON. Records live in one bucket per kind; two
// secondary indexes keep the heavy operations proportional to their work:
// "hidx" lists the tickets and outbox items of each handle (messages and
// state are keyed by handle already), so Forget touches only that handle's
// records; "exp" orders every expiring record by its expiry, so Purge reads
// only what has expired. Both indexes are kept exact: a record's index
// entries are rewritten whenever the record is.
//
// Deleted data and the file. bbolt copies pages on write and leaves the old
// copies in free pages until it reuses them, so a deleted message can still
// be read from the file with a hex editor. To keep the anonymity promise
// ("expired data is gone, not hidden"; "/forget deletes everything"),
// the store rewrites the file (bbolt.Compact into a fresh file, then an
// atomic rename) right after a Forget that removed something, and after a
// Purge that removed asker data at most once per Options.CompactInterval.
package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/candid-app/candid/internal/store"
	"github.com/candid-app/candid/internal/store/internal/rules"
)

var _ store.Store = (*Store)(nil)

// Options configure Open. The zero value is usable.
type Options struct {
	// Timeout is how long Open waits for the file lock that another process
	// may hold. Default 1s. bbolt would otherwise wait forever.
	Timeout time.Duration
	// Logger receives counts and durations only. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock used to hide expired records and to stamp writes.
	// Default time.Now. Tests pass a fake clock.
	Now func() time.Time
	// CompactInterval bounds how often Purge rewrites the file to wipe
	// expired data from free pages. Default 1h. Forget always rewrites at
	// once (someone was just told their data is gone).
	CompactInterval time.Duration
	// NoCompact disables those rewrites (deleted data may then linger in
	// free pages until bbolt reuses them). For benchmarks only.
	NoCompact bool
}

// Store is a store.Store in one bbolt file. It is safe for concurrent use;
// one process at a time may open a file.
type Store struct {
	path            string
	timeout         time.Duration
	log             *slog.Logger
	now             func() time.Time
	compactInterval time.Duration
	noCompact       bool

	// mu is held shared by every operation and exclusively while the file
	// is swapped for its compacted copy.
	mu            sync.RWMutex
	db            *bolt.DB
	dirty         bool // asker data deleted since the last compaction
	lastCompacted time.Time
}

// Bucket names.
var (
	bMsg    = []byte("msg")      // handle \0 id -> Message
	bState  = []byte("state")    // handle \0 key -> stateRec
	bTicket = []byte("ticket")   // id -> Ticket
	bTState = []byte("tstate")   // state \0 id -> nil (queue index)
	bAudit  = []byte("audit")    // ticketID \0 version(8) -> AuditEntry
	bOutbox = []byte("outbox")   // id -> OutboxItem
	bODue   = []byte("odue")     // nextAttempt(8) id -> nil
	bHIdx   = []byte("hidx")     // handle \0 kind \0 id -> nil (kind 't' ticket, 'o' outbox)
	bExp    = []byte("exp")      // expiresAt(8) kind(1) recordKey -> nil
	bBlock  = []byte("block")    // handle -> blockRec
	bOnce   = []byte("once")     // key -> expiry(8)
	bStaff  = []byte("staff")    // name -> Staff
	bSess   = []byte("sess")     // idHash -> Session
	bToken  = []byte("token")    // tokenHash -> staff name
	bFeed   = []byte("feedback") // day \x00 faq \x00 event -> uint64 count (no asker data)

	allBuckets = [][]byte{bMsg, bState, bTicket, bTState, bAudit, bOutbox, bODue, bHIdx, bExp, bBlock, bOnce, bStaff, bSess, bToken, bFeed}
)

// Kinds in the exp index.
const (
	kMsg     = 'm'
	kState   = 's'
	kTicket  = 't'
	kOutbox  = 'o'
	kBlock   = 'b'
	kOnce    = 'n'
	kSession = 'S'
)

type stateRec struct {
	Value     []byte    `json:"value"`
	ExpiresAt time.Time `json:"expires_at"`
}

type blockRec struct {
	Until time.Time `json:"until"`
}

// Open opens (or creates, mode 0600) the data file at path and takes its
// lock. If another process holds the lock, Open fails after opts.Timeout with
// an error that says so.
func Open(path string, opts Options) (*Store, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CompactInterval <= 0 {
		opts.CompactInterval = time.Hour
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("boltstore: create data directory: %w", err)
		}
	}
	s := &Store{
		path:            path,
		timeout:         opts.Timeout,
		log:             opts.Logger.With("store", "bolt"),
		now:             opts.Now,
		compactInterval: opts.CompactInterval,
		noCompact:       opts.NoCompact,
	}
	db, err := s.openFile(path)
	if err != nil {
		return nil, err
	}
	// A leftover from a compaction that crashed; we hold the lock now, so
	// nobody else is writing it.
	_ = os.Remove(path + ".compact")
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm() != 0o600 {
		if err := os.Chmod(path, 0o600); err != nil {
			db.Close()
			return nil, fmt.Errorf("boltstore: restrict data file to 0600: %w", err)
		}
		s.log.Warn("data file permissions tightened to 0600")
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("boltstore: init %s: %w", path, err)
	}
	s.db = db
	s.lastCompacted = s.now()
	return s, nil
}

func (s *Store) openFile(path string) (*bolt.DB, error) {
	// NoSync stays false: every commit is fsynced, as store.Store requires.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: s.timeout})
	if errors.Is(err, bolt.ErrTimeout) {
		holder := ""
		if pid := lockHolder(path); pid > 0 {
			holder = fmt.Sprintf(" (pid %d)", pid)
		}
		return nil, fmt.Errorf("data file %s is in use by another candid process%s — stop it or use a different --data (waited %s for its lock): %w",
			path, holder, s.timeout, err)
	}
	if err != nil {
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	return db, nil
}

// Path is the data file.
func (s *Store) Path() string { return s.path }

// Close releases the file and its lock.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return nil
	}
	err := s.db.Close()
	s.db = nil
	return err
}

var errClosed = errors.New("boltstore: store is closed")

func (s *Store) update(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return errClosed
	}
	return s.db.Update(fn)
}

func (s *Store) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return errClosed
	}
	return s.db.View(fn)
}

// ---- encoding helpers ----

var maxTime = time.Unix(0, math.MaxInt64)

// tkey encodes t so that byte order is time order.
func tkey(t time.Time) []byte {
	var n int64
	switch {
	case t.Before(time.Unix(0, 0)):
		n = 0
	case t.After(maxTime):
		n = math.MaxInt64
	default:
		n = t.UnixNano()
	}
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, uint64(n))
	return b
}

func u64key(v int64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, uint64(v))
	return b
}

func join(parts ...string) []byte { return []byte(strings.Join(parts, "\x00")) }

func prefix(parts ...string) []byte { return append(join(parts...), 0) }

func cat(a []byte, b ...[]byte) []byte {
	out := append([]byte(nil), a...)
	for _, x := range b {
		out = append(out, x...)
	}
	return out
}

func checkHandle(h string) error {
	if h == "" {
		return errors.New("boltstore: empty handle")
	}
	if strings.IndexByte(h, 0) >= 0 {
		return errors.New("boltstore: handle contains NUL")
	}
	return nil
}

func checkID(what, id string) error {
	if id == "" {
		return fmt.Errorf("boltstore: empty %s", what)
	}
	if strings.IndexByte(id, 0) >= 0 {
		return fmt.Errorf("boltstore: %s contains NUL", what)
	}
	return nil
}

func noExpiry(what string) error {
	return fmt.Errorf("boltstore: %s has no ExpiresAt: every record needs a retention limit", what)
}

func get[T any](b *bolt.Bucket, k []byte) (T, bool, error) {
	var v T
	raw := b.Get(k)
	if raw == nil {
		return v, false, nil
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, false, fmt.Errorf("boltstore: decode %T: %w", v, err)
	}
	return v, true, nil
}

func put(b *bolt.Bucket, k []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(k, raw)
}

// setExp moves a record's entry in the exp index from old to next (either
// may be zero: no entry).
func setExp(tx *bolt.Tx, kind byte, rec []byte, old, next time.Time) error {
	b := tx.Bucket(bExp)
	if !old.IsZero() {
		if err := b.Delete(cat(tkey(old), []byte{kind}, rec)); err != nil {
			return err
		}
	}
	if !next.IsZero() {
		return b.Put(cat(tkey(next), []byte{kind}, rec), nil)
	}
	return nil
}

var expired = rules.Expired

// ---- conversation memory ----

func (s *Store) PutMessage(ctx context.Context, m store.Message) error {
	if err := checkHandle(m.Handle); err != nil {
		return err
	}
	if m.ID == "" {
		return errors.New("boltstore: message without ID")
	}
	if m.ExpiresAt.IsZero() {
		return noExpiry("message")
	}
	if m.At.IsZero() {
		m.At = s.now()
	}
	k := join(m.Handle, m.ID)
	return s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bMsg)
		old, ok, err := get[store.Message](b, k)
		if err != nil {
			return err
		}
		var oldExp time.Time
		if ok {
			oldExp = old.ExpiresAt
		}
		if err := put(b, k, m); err != nil {
			return err
		}
		return setExp(tx, kMsg, k, oldExp, m.ExpiresAt)
	})
}

func (s *Store) Messages(ctx context.Context, handle string, limit int) ([]store.Message, error) {
	if err := checkHandle(handle); err != nil {
		return nil, err
	}
	now := s.now()
	var out []store.Message
	err := s.view(ctx, func(tx *bolt.Tx) error {
		p := prefix(handle)
		c := tx.Bucket(bMsg).Cursor()
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			var m store.Message
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("boltstore: decode message: %w", err)
			}
			if !expired(m.ExpiresAt, now) {
				out = append(out, m)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
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
	k := join(handle, key)
	return s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bState)
		old, ok, err := get[stateRec](b, k)
		if err != nil {
			return err
		}
		var oldExp time.Time
		if ok {
			oldExp = old.ExpiresAt
		}
		if err := put(b, k, rec); err != nil {
			return err
		}
		return setExp(tx, kState, k, oldExp, rec.ExpiresAt)
	})
}

func (s *Store) State(ctx context.Context, handle, key string) ([]byte, error) {
	if err := checkHandle(handle); err != nil {
		return nil, err
	}
	var rec stateRec
	var ok bool
	err := s.view(ctx, func(tx *bolt.Tx) (err error) {
		rec, ok, err = get[stateRec](tx.Bucket(bState), join(handle, key))
		return err
	})
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
	k := join(handle, key)
	return s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bState)
		old, ok, err := get[stateRec](b, k)
		if err != nil || !ok {
			return err
		}
		if err := b.Delete(k); err != nil {
			return err
		}
		return setExp(tx, kState, k, old.ExpiresAt, time.Time{})
	})
}

// ---- tickets ----

// writeTicket stores t over old (nil for a new ticket), keeping the state,
// handle and expiry indexes exact.
func writeTicket(tx *bolt.Tx, old *store.Ticket, t store.Ticket) error {
	id := []byte(t.ID)
	if err := put(tx.Bucket(bTicket), id, t); err != nil {
		return err
	}
	ts, hidx := tx.Bucket(bTState), tx.Bucket(bHIdx)
	var oldExp time.Time
	if old != nil {
		oldExp = old.ExpiresAt
		if err := ts.Delete(join(string(old.State), t.ID)); err != nil {
			return err
		}
		if old.Handle != "" {
			if err := hidx.Delete(join(old.Handle, "t", t.ID)); err != nil {
				return err
			}
		}
	}
	if err := ts.Put(join(string(t.State), t.ID), nil); err != nil {
		return err
	}
	if t.Handle != "" {
		if err := hidx.Put(join(t.Handle, "t", t.ID), nil); err != nil {
			return err
		}
	}
	return setExp(tx, kTicket, id, oldExp, t.ExpiresAt)
}

func deleteTicket(tx *bolt.Tx, t store.Ticket) (audits int, err error) {
	if err := tx.Bucket(bTicket).Delete([]byte(t.ID)); err != nil {
		return 0, err
	}
	if err := tx.Bucket(bTState).Delete(join(string(t.State), t.ID)); err != nil {
		return 0, err
	}
	if t.Handle != "" {
		if err := tx.Bucket(bHIdx).Delete(join(t.Handle, "t", t.ID)); err != nil {
			return 0, err
		}
	}
	if err := setExp(tx, kTicket, []byte(t.ID), t.ExpiresAt, time.Time{}); err != nil {
		return 0, err
	}
	ab := tx.Bucket(bAudit)
	p := prefix(t.ID)
	var keys [][]byte
	c := ab.Cursor()
	for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := ab.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

func putAudit(tx *bolt.Tx, a store.AuditEntry, version int64) error {
	return put(tx.Bucket(bAudit), cat(prefix(a.TicketID), u64key(version)), a)
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
	return s.update(ctx, func(tx *bolt.Tx) error {
		if tx.Bucket(bTicket).Get([]byte(t.ID)) != nil {
			return fmt.Errorf("ticket %s exists: %w", t.ID, store.ErrConflict)
		}
		if err := writeTicket(tx, nil, t); err != nil {
			return err
		}
		return putAudit(tx, audit, t.Version)
	})
}

func (s *Store) Ticket(ctx context.Context, id string) (store.Ticket, error) {
	var t store.Ticket
	var ok bool
	err := s.view(ctx, func(tx *bolt.Tx) (err error) {
		t, ok, err = get[store.Ticket](tx.Bucket(bTicket), []byte(id))
		return err
	})
	if err != nil {
		return store.Ticket{}, err
	}
	if !ok || expired(t.ExpiresAt, s.now()) {
		return store.Ticket{}, fmt.Errorf("ticket %s: %w", id, store.ErrNotFound)
	}
	return t, nil
}

func (s *Store) Tickets(ctx context.Context, f store.TicketFilter) ([]store.Ticket, error) {
	now := s.now()
	var out []store.Ticket
	err := s.view(ctx, func(tx *bolt.Tx) error {
		tb := tx.Bucket(bTicket)
		add := func(v []byte) error {
			var t store.Ticket
			if err := json.Unmarshal(v, &t); err != nil {
				return fmt.Errorf("boltstore: decode ticket: %w", err)
			}
			if !expired(t.ExpiresAt, now) {
				out = append(out, t)
			}
			return nil
		}
		if len(f.States) == 0 {
			return tb.ForEach(func(_, v []byte) error { return add(v) })
		}
		c := tx.Bucket(bTState).Cursor()
		for _, st := range slices.Compact(slices.Sorted(slices.Values(f.States))) {
			p := prefix(string(st))
			for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
				if v := tb.Get(k[len(p):]); v != nil {
					if err := add(v); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
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
	now := s.now()
	var stored store.Ticket
	err := s.update(ctx, func(tx *bolt.Tx) error {
		old, ok, err := get[store.Ticket](tx.Bucket(bTicket), []byte(t.ID))
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
		if err := writeTicket(tx, &old, n); err != nil {
			return err
		}
		if err := putAudit(tx, rules.Audit(audit, n.ID, old.State, n.State, now), n.Version); err != nil {
			return err
		}
		if out != nil {
			item := rules.Outbox(*out, n, now)
			if err := checkID("outbox ID", item.ID); err != nil {
				return err
			}
			ob := tx.Bucket(bOutbox)
			if ob.Get([]byte(item.ID)) != nil {
				return fmt.Errorf("outbox item %s exists: %w", item.ID, store.ErrConflict)
			}
			if err := writeOutbox(tx, nil, item); err != nil {
				return err
			}
		}
		stored = n
		return nil
	})
	if err != nil {
		return store.Ticket{}, err
	}
	return stored, nil
}

func (s *Store) Audit(ctx context.Context, ticketID string) ([]store.AuditEntry, error) {
	now := s.now()
	var out []store.AuditEntry
	err := s.view(ctx, func(tx *bolt.Tx) error {
		t, ok, err := get[store.Ticket](tx.Bucket(bTicket), []byte(ticketID))
		if err != nil {
			return err
		}
		if !ok || expired(t.ExpiresAt, now) {
			return fmt.Errorf("ticket %s: %w", ticketID, store.ErrNotFound)
		}
		p := prefix(ticketID)
		c := tx.Bucket(bAudit).Cursor()
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			var a store.AuditEntry
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("boltstore: decode audit: %w", err)
			}
			out = append(out, a)
		}
		return nil
	})
	return out, err
}

// ---- outbox ----

func writeOutbox(tx *bolt.Tx, old *store.OutboxItem, o store.OutboxItem) error {
	id := []byte(o.ID)
	due, hidx := tx.Bucket(bODue), tx.Bucket(bHIdx)
	var oldExp time.Time
	if old != nil {
		oldExp = old.ExpiresAt
		if err := due.Delete(cat(tkey(old.NextAttempt), id)); err != nil {
			return err
		}
		if old.Handle != "" {
			if err := hidx.Delete(join(old.Handle, "o", o.ID)); err != nil {
				return err
			}
		}
	}
	if err := put(tx.Bucket(bOutbox), id, o); err != nil {
		return err
	}
	if err := due.Put(cat(tkey(o.NextAttempt), id), nil); err != nil {
		return err
	}
	if o.Handle != "" {
		if err := hidx.Put(join(o.Handle, "o", o.ID), nil); err != nil {
			return err
		}
	}
	return setExp(tx, kOutbox, id, oldExp, o.ExpiresAt)
}

func deleteOutbox(tx *bolt.Tx, o store.OutboxItem) error {
	id := []byte(o.ID)
	if err := tx.Bucket(bOutbox).Delete(id); err != nil {
		return err
	}
	if err := tx.Bucket(bODue).Delete(cat(tkey(o.NextAttempt), id)); err != nil {
		return err
	}
	if o.Handle != "" {
		if err := tx.Bucket(bHIdx).Delete(join(o.Handle, "o", o.ID)); err != nil {
			return err
		}
	}
	return setExp(tx, kOutbox, id, o.ExpiresAt, time.Time{})
}

func (s *Store) ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.OutboxItem, error) {
	var out []store.OutboxItem
	err := s.update(ctx, func(tx *bolt.Tx) error {
		out = out[:0]
		ob, due := tx.Bucket(bOutbox), tx.Bucket(bODue)
		end := tkey(now)
		var claim []store.OutboxItem
		var stale [][]byte
		c := due.Cursor()
		for k, _ := c.First(); k != nil && bytes.Compare(k[:8], end) <= 0; k, _ = c.Next() {
			if limit > 0 && len(claim) >= limit {
				break
			}
			o, ok, err := get[store.OutboxItem](ob, k[8:])
			if err != nil {
				return err
			}
			if !ok {
				stale = append(stale, bytes.Clone(k))
				continue
			}
			if expired(o.ExpiresAt, now) {
				continue // Purge deletes it
			}
			claim = append(claim, o)
		}
		for _, k := range stale {
			if err := due.Delete(k); err != nil {
				return err
			}
		}
		for _, o := range claim {
			n := o
			n.Attempts++
			n.NextAttempt = now.Add(lease)
			if err := writeOutbox(tx, &o, n); err != nil {
				return err
			}
			out = append(out, n)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) CompleteOutbox(ctx context.Context, id, delivery string) error {
	now := s.now()
	return s.update(ctx, func(tx *bolt.Tx) error {
		o, ok, err := get[store.OutboxItem](tx.Bucket(bOutbox), []byte(id))
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("outbox item %s: %w", id, store.ErrNotFound)
		}
		if err := deleteOutbox(tx, o); err != nil {
			return err
		}
		t, ok, err := get[store.Ticket](tx.Bucket(bTicket), []byte(o.TicketID))
		if err != nil || !ok {
			return err // the ticket is gone (purged): nothing to record
		}
		n := t
		n.Delivery = delivery
		n.Address = nil
		n.Version++
		n.UpdatedAt = now
		return writeTicket(tx, &t, n)
	})
}

func (s *Store) RetryOutbox(ctx context.Context, id string, next time.Time, lastErr string) error {
	now := s.now()
	return s.update(ctx, func(tx *bolt.Tx) error {
		o, ok, err := get[store.OutboxItem](tx.Bucket(bOutbox), []byte(id))
		if err != nil {
			return err
		}
		if !ok || expired(o.ExpiresAt, now) {
			return fmt.Errorf("outbox item %s: %w", id, store.ErrNotFound)
		}
		n := o
		n.NextAttempt = next
		n.LastError = lastErr
		return writeOutbox(tx, &o, n)
	})
}

// ---- blocks ----

func (s *Store) Block(ctx context.Context, handle string, until time.Time) error {
	if err := checkHandle(handle); err != nil {
		return err
	}
	if until.IsZero() {
		return noExpiry("block")
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bBlock)
		old, ok, err := get[blockRec](b, []byte(handle))
		if err != nil {
			return err
		}
		var oldExp time.Time
		if ok {
			oldExp = old.Until
		}
		if err := put(b, []byte(handle), blockRec{Until: until}); err != nil {
			return err
		}
		return setExp(tx, kBlock, []byte(handle), oldExp, until)
	})
}

func (s *Store) Unblock(ctx context.Context, handle string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bBlock)
		old, ok, err := get[blockRec](b, []byte(handle))
		if err != nil || !ok {
			return err
		}
		if err := b.Delete([]byte(handle)); err != nil {
			return err
		}
		return setExp(tx, kBlock, []byte(handle), old.Until, time.Time{})
	})
}

func (s *Store) Blocked(ctx context.Context, handle string) (bool, error) {
	var rec blockRec
	var ok bool
	err := s.view(ctx, func(tx *bolt.Tx) (err error) {
		rec, ok, err = get[blockRec](tx.Bucket(bBlock), []byte(handle))
		return err
	})
	if err != nil {
		return false, err
	}
	return ok && !expired(rec.Until, s.now()), nil
}

// ---- once ----

func (s *Store) Once(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, noExpiry("once key (ttl <= 0)")
	}
	now := s.now()
	first := false
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bOnce)
		var oldExp time.Time
		if v := b.Get([]byte(key)); v != nil {
			oldExp = time.Unix(0, int64(binary.BigEndian.Uint64(v)))
			if !expired(oldExp, now) {
				first = false
				return nil
			}
		}
		exp := now.Add(ttl)
		if err := b.Put([]byte(key), tkey(exp)); err != nil {
			return err
		}
		first = true
		return setExp(tx, kOnce, []byte(key), oldExp, exp)
	})
	return first, err
}

// ---- staff, sessions, tokens ----

func (s *Store) PutStaff(ctx context.Context, st store.Staff) error {
	if err := checkID("staff name", st.Name); err != nil {
		return err
	}
	if st.CreatedAt.IsZero() {
		st.CreatedAt = s.now()
	}
	return s.update(ctx, func(tx *bolt.Tx) error { return put(tx.Bucket(bStaff), []byte(st.Name), st) })
}

func (s *Store) Staff(ctx context.Context, name string) (store.Staff, error) {
	var st store.Staff
	var ok bool
	err := s.view(ctx, func(tx *bolt.Tx) (err error) {
		st, ok, err = get[store.Staff](tx.Bucket(bStaff), []byte(name))
		return err
	})
	if err == nil && !ok {
		err = fmt.Errorf("staff %q: %w", name, store.ErrNotFound)
	}
	return st, err
}

func (s *Store) ListStaff(ctx context.Context) ([]store.Staff, error) {
	var out []store.Staff
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bStaff).ForEach(func(_, v []byte) error {
			var st store.Staff
			if err := json.Unmarshal(v, &st); err != nil {
				return fmt.Errorf("boltstore: decode staff: %w", err)
			}
			out = append(out, st)
			return nil
		})
	})
	return out, err
}

func (s *Store) DeleteStaff(ctx context.Context, name string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		sb := tx.Bucket(bStaff)
		if sb.Get([]byte(name)) == nil {
			return fmt.Errorf("staff %q: %w", name, store.ErrNotFound)
		}
		if err := sb.Delete([]byte(name)); err != nil {
			return err
		}
		// Sessions and tokens are few; a scan is cheaper than an index.
		var sessions []store.Session
		err := tx.Bucket(bSess).ForEach(func(_, v []byte) error {
			var se store.Session
			if err := json.Unmarshal(v, &se); err != nil {
				return err
			}
			if se.Staff == name {
				sessions = append(sessions, se)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, se := range sessions {
			if err := deleteSession(tx, se); err != nil {
				return err
			}
		}
		tb := tx.Bucket(bToken)
		var tokens [][]byte
		err = tb.ForEach(func(k, v []byte) error {
			if t, err := decodeToken(k, v); err == nil && t.Staff == name {
				tokens = append(tokens, bytes.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range tokens {
			if err := tb.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}

func deleteSession(tx *bolt.Tx, se store.Session) error {
	if err := tx.Bucket(bSess).Delete([]byte(se.IDHash)); err != nil {
		return err
	}
	return setExp(tx, kSession, []byte(se.IDHash), se.ExpiresAt, time.Time{})
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
	return s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bSess)
		old, ok, err := get[store.Session](b, []byte(se.IDHash))
		if err != nil {
			return err
		}
		var oldExp time.Time
		if ok {
			oldExp = old.ExpiresAt
		}
		if err := put(b, []byte(se.IDHash), se); err != nil {
			return err
		}
		return setExp(tx, kSession, []byte(se.IDHash), oldExp, se.ExpiresAt)
	})
}

func (s *Store) Session(ctx context.Context, idHash string) (store.Session, error) {
	var se store.Session
	var ok bool
	err := s.view(ctx, func(tx *bolt.Tx) (err error) {
		se, ok, err = get[store.Session](tx.Bucket(bSess), []byte(idHash))
		return err
	})
	if err != nil {
		return store.Session{}, err
	}
	if !ok || expired(se.ExpiresAt, s.now()) {
		return store.Session{}, fmt.Errorf("session: %w", store.ErrNotFound)
	}
	return se, nil
}

func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		se, ok, err := get[store.Session](tx.Bucket(bSess), []byte(idHash))
		if err != nil || !ok {
			return err
		}
		return deleteSession(tx, se)
	})
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
	return s.update(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bToken).Put([]byte(t.Hash), b)
	})
}

// decodeToken reads a token record. Tokens made before expiry existed were
// stored as the bare staff name.
func decodeToken(k, v []byte) (store.APIToken, error) {
	if len(v) > 0 && v[0] != '{' {
		return store.APIToken{Hash: string(k), Staff: string(v)}, nil
	}
	var t store.APIToken
	if err := json.Unmarshal(v, &t); err != nil {
		return store.APIToken{}, fmt.Errorf("token record: %w", err)
	}
	t.Hash = string(k)
	return t, nil
}

func (s *Store) Token(ctx context.Context, tokenHash string) (store.APIToken, error) {
	var t store.APIToken
	found := false
	err := s.view(ctx, func(tx *bolt.Tx) (err error) {
		if v := tx.Bucket(bToken).Get([]byte(tokenHash)); v != nil {
			found = true
			t, err = decodeToken([]byte(tokenHash), v)
		}
		return err
	})
	if err == nil && !found {
		err = fmt.Errorf("token: %w", store.ErrNotFound)
	}
	return t, err
}

func (s *Store) Tokens(ctx context.Context, staff string) ([]store.APIToken, error) {
	var out []store.APIToken
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bToken).ForEach(func(k, v []byte) error {
			t, err := decodeToken(k, v)
			if err != nil {
				return err
			}
			if t.Staff == staff {
				out = append(out, t)
			}
			return nil
		})
	})
	sortTokens(out)
	return out, err
}

// sortTokens orders tokens oldest first (then by hash, for a stable list).
func sortTokens(ts []store.APIToken) {
	slices.SortFunc(ts, func(a, b store.APIToken) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.Hash, b.Hash)
	})
}

func (s *Store) DeleteToken(ctx context.Context, tokenHash string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bToken)
		if b.Get([]byte(tokenHash)) == nil {
			return fmt.Errorf("token: %w", store.ErrNotFound)
		}
		return b.Delete([]byte(tokenHash))
	})
}

// ---- forget and purge ----

func (s *Store) Forget(ctx context.Context, handle string) (store.ForgetReport, error) {
	if err := checkHandle(handle); err != nil {
		return store.ForgetReport{}, err
	}
	start := time.Now()
	var rep store.ForgetReport
	err := s.update(ctx, func(tx *bolt.Tx) error {
		rep = store.ForgetReport{}
		now := s.now()
		p := prefix(handle)
		// Messages and state are keyed by handle.
		for _, spec := range []struct {
			bucket []byte
			kind   byte
			count  *int
		}{{bMsg, kMsg, &rep.Messages}, {bState, kState, &rep.State}} {
			b := tx.Bucket(spec.bucket)
			type kv struct {
				k   []byte
				exp time.Time
			}
			var doomed []kv
			c := b.Cursor()
			for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
				var rec struct {
					ExpiresAt time.Time `json:"expires_at"`
				}
				if err := json.Unmarshal(v, &rec); err != nil {
					return fmt.Errorf("boltstore: decode: %w", err)
				}
				doomed = append(doomed, kv{bytes.Clone(k), rec.ExpiresAt})
			}
			for _, d := range doomed {
				if err := b.Delete(d.k); err != nil {
					return err
				}
				if err := setExp(tx, spec.kind, d.k, d.exp, time.Time{}); err != nil {
					return err
				}
			}
			*spec.count = len(doomed)
		}
		// Tickets and outbox items through the handle index.
		var refs [][]byte
		c := tx.Bucket(bHIdx).Cursor()
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
			refs = append(refs, bytes.Clone(k[len(p):]))
		}
		for _, ref := range refs {
			kind, id, _ := bytes.Cut(ref, []byte{0})
			switch string(kind) {
			case "o":
				o, ok, err := get[store.OutboxItem](tx.Bucket(bOutbox), id)
				if err != nil {
					return err
				}
				if ok {
					if err := deleteOutbox(tx, o); err != nil {
						return err
					}
					rep.Outbox++
				}
			case "t":
				t, ok, err := get[store.Ticket](tx.Bucket(bTicket), id)
				if err != nil {
					return err
				}
				if ok {
					n := rules.Tombstone(t, store.TicketForgotten, now)
					if err := writeTicket(tx, &t, n); err != nil {
						return err
					}
					a := rules.TombstoneAudit(t, n, "forget", now)
					if err := putAudit(tx, a, n.Version); err != nil {
						return err
					}
					rep.Tickets++
				}
			}
			// writeTicket and deleteOutbox dropped the index entry; a
			// dangling one goes too.
			if err := tx.Bucket(bHIdx).Delete(cat(p, ref)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return store.ForgetReport{}, err
	}
	if rep != (store.ForgetReport{}) {
		s.markDirty()
		if err := s.compact(); err != nil {
			return rep, fmt.Errorf("boltstore: forget removed the records but could not rewrite the file: %w", err)
		}
	}
	s.log.Info("forget", "messages", rep.Messages, "tickets", rep.Tickets, "outbox", rep.Outbox, "state", rep.State, "duration", time.Since(start))
	return rep, nil
}

// purgeBatch bounds one Purge transaction, so that writers are not held
// up for long.
const purgeBatch = 1000

func (s *Store) Purge(ctx context.Context, now time.Time) (store.PurgeReport, error) {
	start := time.Now()
	var total store.PurgeReport
	for {
		var rep store.PurgeReport
		var n int
		err := s.update(ctx, func(tx *bolt.Tx) (err error) {
			rep = store.PurgeReport{}
			n, err = purgeOnce(tx, now, &rep)
			if err == nil && n == 0 {
				err = purgeFeedback(tx, now, &rep)
			}
			return err
		})
		if err != nil {
			return total, err
		}
		total.Messages += rep.Messages
		total.Tickets += rep.Tickets
		total.Outbox += rep.Outbox
		total.State += rep.State
		total.Audit += rep.Audit
		total.Other += rep.Other
		if n < purgeBatch {
			break
		}
	}
	if total.Messages+total.Tickets+total.Outbox+total.State > 0 {
		s.markDirty()
	}
	if err := s.maybeCompact(now); err != nil {
		return total, err
	}
	s.log.Info("purge", "messages", total.Messages, "tickets", total.Tickets, "outbox", total.Outbox,
		"state", total.State, "audit", total.Audit, "other", total.Other, "duration", time.Since(start))
	return total, nil
}

func purgeOnce(tx *bolt.Tx, now time.Time, rep *store.PurgeReport) (int, error) {
	eb := tx.Bucket(bExp)
	end := tkey(now)
	var keys [][]byte
	c := eb.Cursor()
	for k, _ := c.First(); k != nil && bytes.Compare(k[:8], end) <= 0 && len(keys) < purgeBatch; k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		// Every handler below removes the index entry it was reached by
		// (the record's exact exp entry); delete it first in case the
		// record is already gone.
		if err := eb.Delete(k); err != nil {
			return 0, err
		}
		kind, rec := k[8], k[9:]
		switch kind {
		case kMsg, kState, kBlock, kSession:
			b := map[byte][]byte{kMsg: bMsg, kState: bState, kBlock: bBlock, kSession: bSess}[kind]
			if tx.Bucket(b).Get(rec) == nil {
				continue
			}
			if err := tx.Bucket(b).Delete(rec); err != nil {
				return 0, err
			}
			switch kind {
			case kMsg:
				rep.Messages++
			case kState:
				rep.State++
			default:
				rep.Other++
			}
		case kOnce:
			if tx.Bucket(bOnce).Get(rec) != nil {
				if err := tx.Bucket(bOnce).Delete(rec); err != nil {
					return 0, err
				}
				rep.Other++
			}
		case kOutbox:
			o, ok, err := get[store.OutboxItem](tx.Bucket(bOutbox), rec)
			if err != nil {
				return 0, err
			}
			if ok {
				if err := deleteOutbox(tx, o); err != nil {
					return 0, err
				}
				rep.Outbox++
			}
		case kTicket:
			t, ok, err := get[store.Ticket](tx.Bucket(bTicket), rec)
			if err != nil {
				return 0, err
			}
			if !ok {
				continue
			}
			rep.Tickets++
			if rules.Live(t.State) {
				n := rules.Tombstone(t, store.TicketExpired, now)
				// The exp entry is already gone: write as if it had none.
				t.ExpiresAt = time.Time{}
				if err := writeTicket(tx, &t, n); err != nil {
					return 0, err
				}
				a := rules.TombstoneAudit(t, n, "expire", now)
				if err := putAudit(tx, a, n.Version); err != nil {
					return 0, err
				}
				continue
			}
			t.ExpiresAt = time.Time{}
			audits, err := deleteTicket(tx, t)
			if err != nil {
				return 0, err
			}
			rep.Audit += audits
		}
	}
	return len(keys), nil
}

// ---- compaction ----

func (s *Store) markDirty() {
	s.mu.Lock()
	s.dirty = true
	s.mu.Unlock()
}

func (s *Store) maybeCompact(now time.Time) error {
	s.mu.RLock()
	due := s.dirty && now.Sub(s.lastCompacted) >= s.compactInterval
	s.mu.RUnlock()
	if !due {
		return nil
	}
	return s.compact()
}

// compact rewrites the data file without its free pages, so that deleted
// records cannot be recovered from it. It copies the live data into a new
// file, fsyncs it, renames it over the old one and switches to it; the lock
// on the new file is taken before the rename, so no other process can slip
// in.
func (s *Store) compact() error {
	if s.noCompact {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return errClosed
	}
	start := time.Now()
	tmp := s.path + ".compact"
	_ = os.Remove(tmp)
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: s.timeout})
	if err != nil {
		return fmt.Errorf("boltstore: compact: %w", err)
	}
	fail := func(err error) error {
		dst.Close()
		os.Remove(tmp)
		return fmt.Errorf("boltstore: compact: %w", err)
	}
	if err := bolt.Compact(dst, s.db, 64<<20); err != nil {
		return fail(err)
	}
	if err := dst.Sync(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return fail(err)
	}
	if d, err := os.Open(filepath.Dir(s.path)); err == nil {
		_ = d.Sync() // make the rename durable
		d.Close()
	}
	old := s.db
	s.db = dst
	s.dirty = false
	s.lastCompacted = s.now()
	if err := old.Close(); err != nil {
		s.log.Warn("compact: closing the old file failed", "err", err)
	}
	var size int64
	if fi, err := os.Stat(s.path); err == nil {
		size = fi.Size()
	}
	s.log.Info("compacted data file", "bytes", size, "duration", time.Since(start))
	return nil
}
