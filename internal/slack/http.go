package slack

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	slackgo "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
)

// HTTP-mode limits.
const (
	// MaxBodyBytes caps a Slack request body. Slack's largest payloads (a
	// modal submission with its whole view) stay far below it.
	MaxBodyBytes = 256 << 10
	// replayWindow is how old (or how far in the future) a request's
	// timestamp may be.
	replayWindow = 5 * time.Minute
	// handlerTimeout bounds the work done for one request.
	handlerTimeout = 20 * time.Second
)

// Register mounts the HTTP-mode endpoints on mux: /slack/events (Events API),
// /slack/interactivity (buttons and modals) and /slack/commands (/ask). In
// Socket Mode it mounts nothing: Slack then reaches the app over the socket
// only, and an HTTP endpoint would be one more door to guard.
func (a *App) Register(mux *http.ServeMux) {
	if a.mode != ModeHTTP {
		a.log.Info("slack: Socket Mode: the /slack/ HTTP endpoints are not mounted")
		return
	}
	mux.Handle("POST /slack/events", a.verified(a.serveEvents))
	mux.Handle("POST /slack/interactivity", a.verified(a.serveInteractivity))
	mux.Handle("POST /slack/commands", a.verified(a.serveCommands))
}

// verified reads the body (capped) and checks Slack's signature over it
// before anything is parsed: unsigned, tampered, replayed and oversized
// requests never reach a handler.
func (a *App) verified(next func(ctx context.Context, w http.ResponseWriter, body []byte)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBodyBytes {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		if err != nil {
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "cannot read the request", http.StatusBadRequest)
			return
		}
		if reason := a.verify(r.Header, body); reason != "" {
			a.log.WarnContext(r.Context(), "slack: request refused", "reason", reason, "path", r.URL.Path)
			http.Error(w, "invalid request signature", http.StatusUnauthorized)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), handlerTimeout)
		defer cancel()
		next(ctx, w, body)
	})
}

// verify returns why a request is not authentic, or "".
func (a *App) verify(h http.Header, body []byte) string {
	if h.Get("X-Slack-Signature") == "" || h.Get("X-Slack-Request-Timestamp") == "" {
		return "unsigned"
	}
	ts, err := strconv.ParseInt(h.Get("X-Slack-Request-Timestamp"), 10, 64)
	if err != nil {
		return "bad timestamp"
	}
	// Our own clock check (slack-go's uses the wall clock; ours is the
	// app's, which tests can set).
	if d := a.now().Sub(time.Unix(ts, 0)); d > replayWindow || d < -replayWindow {
		return "stale timestamp (replay?)"
	}
	sv, err := slackgo.NewSecretsVerifier(h, a.secret)
	if err != nil {
		if errors.Is(err, slackgo.ErrExpiredTimestamp) {
			return "stale timestamp (replay?)"
		}
		return "malformed signature"
	}
	if _, err := sv.Write(body); err != nil {
		return "malformed signature"
	}
	if err := sv.Ensure(); err != nil {
		return "signature mismatch"
	}
	return ""
}

func (a *App) serveEvents(ctx context.Context, w http.ResponseWriter, body []byte) {
	env, err := parseEventBody(body)
	if err != nil {
		http.Error(w, "not an Events API payload", http.StatusBadRequest)
		return
	}
	if env.Type == slackevents.URLVerification {
		writeJSON(w, map[string]string{"challenge": env.Challenge})
		return
	}
	if err := a.handleEvent(ctx, env); err != nil {
		// Not acknowledged, so Slack retries; the event was not recorded.
		a.log.ErrorContext(ctx, "slack: event not processed", "err", err)
		http.Error(w, "try again", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (a *App) serveInteractivity(ctx context.Context, w http.ResponseWriter, body []byte) {
	cb, err := parseInteraction(body)
	if err != nil {
		http.Error(w, "not an interactivity payload", http.StatusBadRequest)
		return
	}
	if resp := a.handleInteraction(ctx, cb); resp != nil {
		writeJSON(w, resp)
		return
	}
	w.WriteHeader(http.StatusOK) // an empty 200 is the acknowledgement Slack expects
}

// parseInteraction reads the form-encoded "payload" of an interactivity
// request.
func parseInteraction(body []byte) (*slackgo.InteractionCallback, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, err
	}
	payload := form.Get("payload")
	if payload == "" {
		return nil, errors.New("slack: no payload")
	}
	var cb slackgo.InteractionCallback
	if err := json.Unmarshal([]byte(payload), &cb); err != nil {
		return nil, err
	}
	return &cb, nil
}

func (a *App) serveCommands(ctx context.Context, w http.ResponseWriter, body []byte) {
	cmd, err := parseSlash(body)
	if err != nil {
		http.Error(w, "not a slash command", http.StatusBadRequest)
		return
	}
	writeJSON(w, a.handleSlash(ctx, cmd))
}

// parseSlash reads a form-encoded slash command.
func parseSlash(body []byte) (slackgo.SlashCommand, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return slackgo.SlashCommand{}, err
	}
	if form.Get("command") == "" {
		return slackgo.SlashCommand{}, errors.New("slack: no command")
	}
	return slackgo.SlashCommand{
		TeamID:      form.Get("team_id"),
		ChannelID:   form.Get("channel_id"),
		UserID:      form.Get("user_id"),
		Command:     form.Get("command"),
		Text:        form.Get("text"),
		ResponseURL: form.Get("response_url"),
		TriggerID:   form.Get("trigger_id"),
		APIAppID:    form.Get("api_app_id"),
	}, nil
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}
