package telegram

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// SecretHeader carries the webhook's secret_token on every Telegram request.
const SecretHeader = "X-Telegram-Bot-Api-Secret-Token"

// maxWebhookBody bounds one update. Text is at most 4096 characters; with
// entities, reply context and names an update stays far below this.
const maxWebhookBody = 1 << 20

// Handler receives webhook updates (mount it at WebhookPath). It answers 403
// and does nothing else unless the secret header matches (compared in
// constant time), 405 for anything but POST, 413 for an oversized body, 400
// for malformed JSON, 503 while Run is not accepting or the queues are full
// (Telegram retries), and 200 once the update is queued or recognised as a
// duplicate. Updates are handled after the response, so Telegram never
// waits for the engine or for rate limits; only one that its chat's full
// queue cannot take is looked at first (see Bot.overflow: if it needs help,
// its ticket is stored before the 200).
func (b *Bot) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !b.secretOK(r.Header.Get(SecretHeader)) {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				http.Error(w, "update too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "cannot read the update", http.StatusBadRequest)
			return
		}
		var u tgbotapi.Update
		if err := json.Unmarshal(body, &u); err != nil || u.UpdateID <= 0 {
			http.Error(w, "not a Telegram update", http.StatusBadRequest)
			return
		}
		switch err := b.accept(r.Context(), u, false); {
		case err == nil:
			w.WriteHeader(http.StatusOK)
		case errors.Is(err, errBusy), errors.Is(err, errNotRunning):
			w.Header().Set("Retry-After", "1")
			http.Error(w, "busy, retry", http.StatusServiceUnavailable)
		default:
			b.log.Error("telegram: webhook update not accepted", "err", err)
			http.Error(w, "temporary failure", http.StatusInternalServerError)
		}
	})
}

// secretOK compares hashes, so neither the content nor the length of the
// secret leaks through timing. Without a configured secret nothing passes.
func (b *Bot) secretOK(got string) bool {
	if b.opts.WebhookSecret == "" || got == "" {
		return false
	}
	g := sha256.Sum256([]byte(got))
	w := sha256.Sum256([]byte(b.opts.WebhookSecret))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}
