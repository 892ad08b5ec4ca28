package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/candid-app/candid/internal/console"
	"github.com/candid-app/candid/internal/content"
	"github.com/candid-app/candid/internal/faq"
	"github.com/candid-app/candid/internal/slack"
	"github.com/candid-app/candid/internal/telegram"
)

// adapters starts the platform adapters that are configured: each is on when
// its token is set, and the web chat is always on.
func (a *app) adapters(ctx context.Context, mux *http.ServeMux) error {
	cfg := a.cfg
	if cfg.TelegramToken != "" {
		secret := cfg.TelegramWebhookSecret
		if cfg.TelegramWebhook != "" && secret == "" {
			// Telegram sends it back on every request; a fresh one per start is fine.
			b := make([]byte, 24)
			rand.Read(b)
			secret = hex.EncodeToString(b)
		}
		bot, err := telegram.New(telegram.Options{
			Token: cfg.TelegramToken, APIEndpoint: cfg.TelegramAPIEndpoint, Engine: a.engine, Keys: a.keys,
			Store: a.store, Logger: a.log.With("adapter", "telegram"), Region: cfg.Region,
			AddressTTL: time.Duration(cfg.TicketRetentionDays) * 24 * time.Hour,
			WebhookURL: cfg.TelegramWebhook, WebhookSecret: secret,
		})
		if err != nil {
			return fmt.Errorf("telegram: %w", err)
		}
		a.mod.RegisterSender(telegram.Platform, bot)
		if cfg.TelegramWebhook != "" {
			mux.Handle(telegram.WebhookPath, bot.Handler())
		}
		a.runners = append(a.runners, func(ctx context.Context) error {
			err := bot.Run(ctx)
			if errors.Is(err, telegram.ErrUnauthorized) {
				return fmt.Errorf("telegram: the bot token was refused: check CANDID_TELEGRAM_TOKEN (from BotFather): %w", err)
			}
			return err
		})
		mode := "long polling"
		if cfg.TelegramWebhook != "" {
			mode = "webhook"
		}
		a.log.Info("telegram adapter on", "mode", mode)
	}
	if cfg.SlackBotToken != "" {
		app, err := slack.New(slack.Options{
			BotToken: cfg.SlackBotToken, AppToken: cfg.SlackAppToken, SigningSecret: cfg.SlackSigningSecret,
			ModerationChannel: cfg.SlackModerationChannel, Moderators: []string{cfg.SlackModerators},
			APIURL: cfg.SlackAPIURL, Engine: a.engine, Moderation: a.mod, Keys: a.keys, Store: a.store,
			FAQ: a.lib, Logger: a.log.With("adapter", "slack"), Region: cfg.Region,
		})
		if err != nil {
			return fmt.Errorf("slack: %w", err)
		}
		a.mod.RegisterSender("slack", app)
		app.Register(mux)
		a.runners = append(a.runners, app.Run)
		a.log.Info("slack adapter on", "mode", app.Mode())
	}
	return nil
}

// consoleFAQ gives the console the entries it names and previews (a
// ticket's candidates), read from the live content on each view.
func consoleFAQ(lib *content.Live, vars faq.Vars) console.FAQ { return liveConsoleFAQ{lib, vars} }

// liveConsoleFAQ reads the current content on every lookup, so the console
// names and previews entries as they are after a hot reload.
type liveConsoleFAQ struct {
	lib  *content.Live
	vars faq.Vars
}

func (f liveConsoleFAQ) FAQEntry(id string) (console.FAQEntry, bool) {
	e := f.lib.Entry(id)
	if e == nil {
		return console.FAQEntry{}, false
	}
	text, err := e.Render(f.vars)
	if err != nil {
		return console.FAQEntry{}, false
	}
	return console.FAQEntry{ID: e.ID, Question: e.Question, Answer: text}, true
}
