package storetest

import (
	"slices"
	"sync"
	"time"
)

// Clock is a fake clock the suite moves forward. An Opener passes c.Now to
// the backend as its clock, and registers with OnAdvance whatever else must
// follow it (miniredis: SetTime and FastForward, so its TTLs fire). A real
// redis-server cannot be moved: its TTLs follow real time, which is why the
// backends hide expired records by their logical expiry and Purge deletes
// them, with TTLs only as the safety net.
type Clock struct {
	mu    sync.Mutex
	now   time.Time
	hooks []func(now time.Time, d time.Duration)
}

// NewClock returns a clock at start (monotonic reading stripped).
func NewClock(start time.Time) *Clock { return &Clock{now: start.Round(0)} }

// Now returns the fake time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d and runs the OnAdvance hooks.
func (c *Clock) Advance(d time.Duration) {
	if d < 0 {
		panic("storetest: the clock only moves forward")
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	now, hooks := c.now, slices.Clone(c.hooks)
	c.mu.Unlock()
	for _, h := range hooks {
		h(now, d)
	}
}

// OnAdvance registers f to run after every Advance.
func (c *Clock) OnAdvance(f func(now time.Time, d time.Duration)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hooks = append(c.hooks, f)
}
