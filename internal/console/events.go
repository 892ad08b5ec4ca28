package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

const (
	// sseHeartbeat keeps proxies from closing an idle stream.
	sseHeartbeat = 25 * time.Second
	// sseLifetime ends every stream after a while; the browser's EventSource
	// reconnects by itself. It bounds how long a forgotten tab holds a
	// subscription and how long a shutdown could wait for a stream.
	sseLifetime = 10 * time.Minute
)

// events streams the queue counts as Server-Sent Events: one "stats" event
// at once and another whenever a ticket changes, so the console's live count
// follows the queue without reloading.
func (c *Console) events(w http.ResponseWriter, r *http.Request, p principal) {
	rc := http.NewResponseController(w)
	// A server WriteTimeout would cut the stream; this stream bounds itself.
	_ = rc.SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	ch, unsubscribe := c.mod.Subscribe()
	defer unsubscribe()

	ctx := r.Context()
	send := func() error {
		_, stats, err := c.mod.Queue(ctx)
		if err != nil {
			return err
		}
		data, err := json.Marshal(statsView(stats))
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "event: stats\ndata: %s\n\n", data); err != nil {
			return err
		}
		return rc.Flush()
	}
	if _, err := fmt.Fprint(w, "retry: 5000\n\n"); err != nil {
		return
	}
	if err := send(); err != nil {
		return
	}
	heartbeat := time.NewTicker(sseHeartbeat)
	defer heartbeat.Stop()
	lifetime := time.NewTimer(sseLifetime)
	defer lifetime.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.done:
			return
		case <-lifetime.C:
			return
		case <-heartbeat.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
		case _, ok := <-ch:
			if !ok {
				return
			}
			// Coalesce a burst of events into one recount.
			for drained := false; !drained; {
				select {
				case _, ok := <-ch:
					if !ok {
						return
					}
				default:
					drained = true
				}
			}
			if err := send(); err != nil {
				return
			}
		}
	}
}
