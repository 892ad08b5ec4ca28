package staff

import (
	"log/slog"
	"sync"
	"time"
)

// throttledLog writes each message at most once per interval, and the next
// time says how many were held back: a flood of refused logins must not
// become a flood of log lines (disk, log shipping costs, and the one line
// that matters lost among them).
type throttledLog struct {
	log   *slog.Logger
	every time.Duration
	now   func() time.Time

	mu   sync.Mutex
	last map[string]time.Time
	held map[string]int
}

func (t *throttledLog) Warn(msg string, args ...any) {
	t.mu.Lock()
	if t.last == nil {
		t.last, t.held = map[string]time.Time{}, map[string]int{}
	}
	now := t.now()
	if last, ok := t.last[msg]; ok && now.Sub(last) < t.every {
		t.held[msg]++
		t.mu.Unlock()
		return
	}
	held, since := t.held[msg], now.Sub(t.last[msg])
	t.last[msg], t.held[msg] = now, 0
	t.mu.Unlock()
	if held > 0 {
		args = append(args, "held_back", held, "since_last", since.Round(time.Second).String())
	}
	t.log.Warn(msg, args...)
}
