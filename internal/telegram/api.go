package telegram

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// botAPI is the adapter boundary: the two calls Candid makes through
// go-telegram-bot-api. The library's calls take no context, so the real
// implementation gives every call its own copy of the client bound to the
// caller's context (see libAPI). Tests of the update logic use a fake.
type botAPI interface {
	// Request sends one of the library's configs (sendMessage,
	// answerCallbackQuery, getUpdates …).
	Request(ctx context.Context, c tgbotapi.Chattable) (*tgbotapi.APIResponse, error)
	// MakeRequest calls a method with raw parameters: for what v5.5.1 does
	// not model (setWebhook's secret_token).
	MakeRequest(ctx context.Context, method string, params tgbotapi.Params) (*tgbotapi.APIResponse, error)
}

// maxResponseBytes bounds what a Bot API response may make us read (100
// updates of 4096 characters are far below it).
const maxResponseBytes = 8 << 20

// libAPI implements botAPI with the real library.
type libAPI struct {
	bot   *tgbotapi.BotAPI
	base  *http.Client
	token string
}

// connect builds the library's client, which calls getMe.
func connect(ctx context.Context, token, endpoint string, client *http.Client) (*libAPI, error) {
	l := &libAPI{base: client, token: token}
	bot, err := tgbotapi.NewBotAPIWithClient(token, endpoint, l.doer(ctx))
	if err != nil {
		return nil, err
	}
	bot.Client = nil // every call sets its own (see with)
	l.bot = bot
	return l, nil
}

// with returns a shallow copy of the library client whose HTTP requests
// carry ctx. BotAPI holds no locks or mutable state that calls share, so a
// copy per call is safe and makes MakeRequest cancellable.
func (l *libAPI) with(ctx context.Context) *tgbotapi.BotAPI {
	b := *l.bot
	b.Client = l.doer(ctx)
	return &b
}

func (l *libAPI) doer(ctx context.Context) tgbotapi.HTTPClient {
	return ctxDoer{ctx: ctx, client: l.base, token: l.token}
}

func (l *libAPI) Request(ctx context.Context, c tgbotapi.Chattable) (*tgbotapi.APIResponse, error) {
	return l.with(ctx).Request(c)
}

func (l *libAPI) MakeRequest(ctx context.Context, method string, params tgbotapi.Params) (*tgbotapi.APIResponse, error) {
	return l.with(ctx).MakeRequest(method, params)
}

// ctxDoer attaches a context to the library's requests, bounds the
// response size and keeps the bot token out of error messages (a
// *url.Error prints the URL, which contains the token).
type ctxDoer struct {
	ctx    context.Context
	client *http.Client
	token  string
}

func (d ctxDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.client.Do(req.WithContext(d.ctx))
	if err != nil {
		return nil, redactError(err, d.token)
	}
	resp.Body = limitedBody{Reader: io.LimitReader(resp.Body, maxResponseBytes), Closer: resp.Body}
	return resp, nil
}

type limitedBody struct {
	io.Reader
	io.Closer
}

// redactError removes the token from an HTTP error.
func redactError(err error, token string) error {
	var ue *url.Error
	if token != "" && errors.As(err, &ue) {
		ue.URL = strings.ReplaceAll(ue.URL, token, "<token>")
	}
	if token != "" && strings.Contains(err.Error(), token) {
		// Some other error quoted the URL: keep only its kind.
		return fmt.Errorf("telegram: request failed (details withheld: they contained the bot token): %w", errRedacted)
	}
	return err
}

var errRedacted = errors.New("redacted transport error")

// apiError returns the Bot API error inside err, if any. The library returns
// *tgbotapi.Error; accept the value form too.
func apiError(err error) (tgbotapi.Error, bool) {
	var pe *tgbotapi.Error
	if errors.As(err, &pe) && pe != nil {
		return *pe, true
	}
	var ve tgbotapi.Error
	if errors.As(err, &ve) {
		return ve, true
	}
	return tgbotapi.Error{}, false
}

// permanent reports a failure that retrying cannot fix for this chat: the
// user blocked the bot, deleted their account, or the chat does not exist.
func permanent(err error) bool {
	e, ok := apiError(err)
	if !ok {
		return false
	}
	if e.Code == http.StatusForbidden {
		return true
	}
	if e.Code == http.StatusBadRequest {
		d := strings.ToLower(e.Message)
		return strings.Contains(d, "chat not found") || strings.Contains(d, "user not found") ||
			strings.Contains(d, "peer_id_invalid") || strings.Contains(d, "user is deactivated") ||
			strings.Contains(d, "bot was blocked") || strings.Contains(d, "chat_write_forbidden")
	}
	return false
}

// entityError reports Telegram refusing our HTML ("can't parse entities").
func entityError(err error) bool {
	e, ok := apiError(err)
	return ok && e.Code == http.StatusBadRequest && strings.Contains(strings.ToLower(e.Message), "can't parse entities")
}
