package slack

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sync"

	slackgo "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// Socket Mode limits.
const (
	// socketReadLimit caps one WebSocket message from Slack (the default is
	// unlimited); like MaxBodyBytes for HTTP mode, with room for framing.
	socketReadLimit = 1 << 20
	// socketWorkers bounds the envelopes handled at once.
	socketWorkers = 16
)

// runSocket holds the Socket Mode connection until ctx ends. slack-go
// reconnects by itself; it gives up (and we return its error) only when
// Slack refuses the app token.
func (a *App) runSocket(ctx context.Context) error {
	api := slackgo.New(a.botToken,
		slackgo.OptionAPIURL(a.apiURL),
		slackgo.OptionHTTPClient(a.httpClient),
		slackgo.OptionAppLevelToken(a.appToken),
		slackgo.OptionLog(log.New(discard{}, "", 0)),
	)
	sm := socketmode.New(api,
		socketmode.OptionReadLimit(socketReadLimit),
		// Its debug output holds message payloads; keep it off and quiet.
		socketmode.OptionLog(log.New(discard{}, "", 0)),
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- sm.RunContext(ctx) }()

	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, socketWorkers)
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("slack: Socket Mode stopped: %w (check CANDID_SLACK_APP_TOKEN: an app-level token with connections:write, and Socket Mode enabled for the app)", err)
		case evt := <-sm.Events:
			switch evt.Type {
			case socketmode.EventTypeEventsAPI, socketmode.EventTypeInteractive, socketmode.EventTypeSlashCommand:
			case socketmode.EventTypeConnected:
				a.log.InfoContext(ctx, "slack: Socket Mode connected")
				continue
			case socketmode.EventTypeConnectionError:
				a.log.WarnContext(ctx, "slack: Socket Mode connection failed; retrying")
				continue
			case socketmode.EventTypeInvalidAuth:
				return errors.New("slack: Slack refused the app token: check CANDID_SLACK_APP_TOKEN")
			case socketmode.EventTypeErrorBadMessage, socketmode.EventTypeIncomingError:
				// Never log the message itself: it may hold a question.
				a.log.WarnContext(ctx, "slack: unreadable Socket Mode message ignored", "type", string(evt.Type))
				continue
			default:
				continue
			}
			if evt.Request == nil {
				continue
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
			wg.Go(func() {
				defer func() { <-sem }()
				a.handleSocket(ctx, sm, evt)
			})
		}
	}
}

// handleSocket processes one envelope and acknowledges it. An Events API
// envelope is acknowledged only once its event_id is recorded, so that a
// failure to record makes Slack retry rather than lose it.
func (a *App) handleSocket(ctx context.Context, sm *socketmode.Client, evt socketmode.Event) {
	req := evt.Request
	var payload any
	switch data := evt.Data.(type) {
	case slackevents.EventsAPIEvent:
		if err := a.handleEvent(ctx, fromEventsAPI(data)); err != nil {
			a.log.ErrorContext(ctx, "slack: event not processed; Slack will retry", "err", err)
			return
		}
	case slackgo.InteractionCallback:
		if resp := a.handleInteraction(ctx, &data); resp != nil {
			payload = resp
		}
	case slackgo.SlashCommand:
		payload = a.handleSlash(ctx, data)
	default:
		return
	}
	if err := sm.AckCtx(ctx, req.EnvelopeID, payload); err != nil && payload != nil {
		// Socket Mode drops responses of 20 KB or more: say so in the
		// modal instead of leaving it spinning.
		a.log.WarnContext(ctx, "slack: Socket Mode acknowledgement failed", "err", err)
		if _, isView := payload.(*slackgo.ViewSubmissionResponse); isView {
			payload = messageView("This preview is too large to show here. Shorten the answer, or send it from the web console.")
		} else {
			payload = nil
		}
		if err := sm.AckCtx(ctx, req.EnvelopeID, payload); err != nil {
			a.log.WarnContext(ctx, "slack: Socket Mode acknowledgement failed", "err", err)
		}
	}
}
