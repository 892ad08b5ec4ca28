package moderation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/candid-app/candid/internal/store"
)

// webhookMessage is the Slack incoming-webhook payload (also accepted by
// Mattermost, Rocket.Chat and most chat tools).
type webhookMessage struct {
	Text string `json:"text"`
}

// webhookText is the alert for a new ticket. It holds only counts and a
// link: the webhook's receiver is outside the clinic's control, so neither
// the question, nor its safety category, nor the handle may go there.
func (s *Service) webhookText(urgent bool, stats QueueStats) string {
	var b strings.Builder
	if urgent {
		b.WriteString(":rotating_light: New *urgent* ticket in the Candid queue")
	} else {
		b.WriteString("New ticket in the Candid queue")
	}
	fmt.Fprintf(&b, ": %d waiting", stats.Open+stats.Claimed)
	if stats.Urgent > 0 {
		fmt.Fprintf(&b, " (%d urgent)", stats.Urgent)
	}
	b.WriteString(".")
	if s.consoleURL != "" {
		fmt.Fprintf(&b, " <%s|Open the console>", slackEscape(s.consoleURL))
	}
	return b.String()
}

func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "|", "%7C").Replace(s)
}

func (s *Service) notifyWebhook(ctx context.Context, urgent bool) {
	_, stats, err := s.Queue(ctx)
	if err != nil {
		s.log.Warn("moderation: webhook alert without counts", "err", err)
	}
	switch status, err := s.postWebhook(ctx, s.webhookURL, s.webhookText(urgent, stats)); {
	case err != nil:
		s.log.Warn("moderation: the webhook alert could not be sent; check the webhook URL and the network", "err", err)
	case status/100 != 2:
		s.log.Warn("moderation: the webhook refused the alert; check the webhook URL", "status", status)
	}
}

// postWebhook posts text as a Slack incoming-webhook message to url and
// returns the HTTP status. Its errors never hold the URL (it is a secret).
func (s *Service) postWebhook(ctx context.Context, url, text string) (int, error) {
	body, _ := json.Marshal(webhookMessage{Text: text})
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, errors.New("the webhook URL is not usable")
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, errors.New("the webhook did not answer in time")
		}
		return 0, errors.New("the webhook could not be reached")
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// draft asks the Drafter for a draft answer and stores it on the ticket,
// where only staff see it. It is never sent as is: Answer takes only what
// a human submits.
func (s *Service) draft(ctx context.Context, t store.Ticket) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	text, model, err := s.drafter.Draft(ctx, t.Question, t.Candidates)
	if err != nil {
		s.log.Warn("moderation: no draft for the ticket", "ticket", t.ID, "err", err)
		return
	}
	text, err = cleanText(text)
	if err != nil || text == "" {
		s.log.Warn("moderation: the drafter returned an empty or invalid draft", "ticket", t.ID)
		return
	}
	if r := []rune(text); len(r) > maxDraftRunes {
		text = string(r[:maxDraftRunes])
	}
	model = truncate(model, 100)
	if safe, n := defangLinks(text, s.bookingURL); n > 0 {
		text = safe
		s.log.Info("moderation: links outside the booking site removed from a draft", "ticket", t.ID, "links", n)
	}
	_, err = s.transition(ctx, systemActor, t.ID, func(cur *store.Ticket, now time.Time) (change, error) {
		if !live(*cur, now) {
			return change{}, errNoChange
		}
		cur.Draft, cur.DraftModel = text, model
		return change{action: "drafted", event: "drafted", note: model}, nil
	})
	if err != nil && ctx.Err() == nil {
		s.log.Info("moderation: draft not stored", "ticket", t.ID, "err", err)
	}
}
