package slack

import (
	"context"
	"sync"
)

// keyLock serialises work per key (an asker's handle), so that two quick
// messages from one asker — a question and a button press — reach the
// engine in the order they came, while different askers run in parallel.
type keyLock struct {
	mu    sync.Mutex
	locks map[string]*keyLockEntry
}

type keyLockEntry struct {
	held chan struct{} // holds one token while the key is locked
	refs int           // holders and waiters
}

// lock locks key, waiting as long as it takes, and returns its unlock
// function.
func (k *keyLock) lock(key string) func() {
	unlock, _ := k.tryLock(context.Background(), key, 0)
	return unlock
}

// tryLock locks key and returns its unlock function, waiting while another
// holds it. It gives up (ok false) at once when limit inputs for key
// already hold or wait for it (limit 0: no limit), and when ctx ends before
// the key is free.
func (k *keyLock) tryLock(ctx context.Context, key string, limit int) (unlock func(), ok bool) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyLockEntry{}
	}
	e := k.locks[key]
	if e == nil {
		e = &keyLockEntry{held: make(chan struct{}, 1)}
		k.locks[key] = e
	}
	if limit > 0 && e.refs >= limit {
		k.mu.Unlock()
		return nil, false
	}
	e.refs++
	k.mu.Unlock()
	leave := func() {
		k.mu.Lock()
		e.refs--
		if e.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
	select {
	case e.held <- struct{}{}:
	default:
		select {
		case e.held <- struct{}{}:
		case <-ctx.Done():
			leave()
			return nil, false
		}
	}
	return func() {
		<-e.held
		leave()
	}, true
}
