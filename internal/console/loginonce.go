package console

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"
)

// Login form tokens are one-use: a script that fetched the form once cannot
// post guesses with the same token and cookie again and again; each try
// needs a fresh form (and a failed try gets one). The record is a hash of
// the token, kept for the token's lifetime.

// OnceStore records a key once (store.Store.Once); with it, replicas share
// which login tokens were used.
type OnceStore interface {
	Once(ctx context.Context, key string, ttl time.Duration) (bool, error)
}

const loginTokenTTL = time.Hour

// memOnceCap bounds the in-memory set of used login tokens (about 5 MB).
const memOnceCap = 50000

// memOnce is the in-process OnceStore used when Options.Once is nil.
type memOnce struct {
	mu   sync.Mutex
	seen map[string]time.Time
	now  func() time.Time
}

func (m *memOnce) Once(_ context.Context, key string, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if len(m.seen) >= memOnceCap {
		for k, exp := range m.seen {
			if !now.Before(exp) {
				delete(m.seen, k)
			}
		}
		// A flood of fresh forms (the set is checked before the login
		// budgets) must not grow memory without bound: start again. The
		// per-name, per-address and global budgets still hold meanwhile.
		if len(m.seen) >= memOnceCap {
			clear(m.seen)
		}
	}
	if exp, ok := m.seen[key]; ok && now.Before(exp) {
		return false, nil
	}
	m.seen[key] = now.Add(ttl)
	return true, nil
}

// useLoginToken reports whether tok is being used for the first time. A
// store that cannot answer lets the login go on: the per-name, per-address
// and global budgets still stand, and staff must be able to log in to
// answer someone in danger.
func (c *Console) useLoginToken(ctx context.Context, tok string) bool {
	sum := sha256.Sum256([]byte(tok))
	fresh, err := c.once.Once(ctx, "console-login:"+hex.EncodeToString(sum[:16]), loginTokenTTL)
	if err != nil {
		c.log.WarnContext(ctx, "console: could not record the login form token; allowing the attempt", "err", err)
		return true
	}
	return fresh
}
