// Package telegram owns Candid's Telegram adapter: it turns private-chat
// messages and button presses into conversation.Inbound (and passes what
// its own rules would turn away, such as group messages, edits, captions
// and a flood past a chat's queue, to the engine's Refused first, so that a
// person in danger gets help whatever those rules say), renders the
// engine's replies as Telegram HTML with inline keyboards, and delivers the
// moderation queue's later answers to the asker's sealed chat address (it
// is the moderation.Sender for "telegram").
//
// It talks to the Bot API through go-telegram-bot-api v5.5.1, behind the
// small botAPI interface, and works around that library's gaps: its own
// cancellable long-polling loop with backoff (not GetUpdatesChan), its own
// webhook handler with a constant-time secret_token check (not
// ListenForWebhook), every call bound to a context, and the token kept out
// of errors.
//
// Anonymity: a Telegram user is only ever a handle (identity.Keys.Handle)
// and a sealed address (identity.Keys.Seal). User IDs, chat IDs, user names
// and first names are used in memory to reply, and are never stored or
// logged. Photos and files are never downloaded.
package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/candid-app/candid/internal/conversation"
	"github.com/candid-app/candid/internal/identity"
	"github.com/candid-app/candid/internal/moderation"
)

// Platform is the platform name in handles, tickets and outbox items.
const Platform = "telegram"

// WebhookPath is where cmd/candid mounts Handler in webhook mode; the
// public --telegram-webhook URL must end with it.
const WebhookPath = "/telegram/webhook"

// DefaultAPIEndpoint is the library's format: token, then method.
const DefaultAPIEndpoint = tgbotapi.APIEndpoint

// Engine is the conversation engine as the adapter sees it
// (*conversation.Engine implements it). Refused is where a message goes
// that one of the adapter's own rules would stop (a full queue, a group
// chat, an edit, a photo's caption): safety comes before every such rule,
// so one that needs help gets it (see conversation.Engine.Refused).
type Engine interface {
	Handle(ctx context.Context, in conversation.Inbound) ([]conversation.Reply, error)
	Refused(ctx context.Context, in conversation.Inbound, refusal string) ([]conversation.Reply, error)
	// Urgent reports a present danger (the safety check alone), so that
	// accept can answer one before the update is confirmed to Telegram.
	Urgent(text string) bool
}

// Store is what the adapter keeps: update de-duplication (Once), the
// button → action table and the polling offset (per-handle state, so
// /forget and retention delete an asker's buttons with the rest). A
// *boltstore.Store or *redisstore.Store satisfies it.
type Store interface {
	Once(ctx context.Context, key string, ttl time.Duration) (bool, error)
	PutState(ctx context.Context, handle, key string, value []byte, ttl time.Duration) error
	State(ctx context.Context, handle, key string) ([]byte, error)
}

// Options configure a Bot. Token, Engine, Keys and Store are required.
type Options struct {
	// Token is the bot token from @BotFather (CANDID_TELEGRAM_TOKEN).
	Token string
	// APIEndpoint is the Bot API URL format with %s for the token and the
	// method (CANDID_TELEGRAM_API_ENDPOINT); default DefaultAPIEndpoint.
	APIEndpoint string
	// HTTPClient is used for every Bot API call. It must have a timeout
	// longer than PollTimeout; default: a client with a 60 s timeout.
	HTTPClient *http.Client
	Engine     Engine
	Keys       *identity.Keys
	Store      Store
	Logger     *slog.Logger

	// WebhookURL switches from long polling to webhook mode: the public
	// HTTPS URL that ends in WebhookPath (--telegram-webhook).
	// WebhookSecret is then required (CANDID_TELEGRAM_WEBHOOK_SECRET): 1–256
	// characters of A-Z, a-z, 0-9, _ and -.
	WebhookURL    string
	WebhookSecret string

	// Region is the crisis-resource region passed to the engine ("" = the
	// engine's default).
	Region string
	// AddressTTL is how long a sealed chat address stays openable: the
	// ticket retention (default 30 days).
	AddressTTL time.Duration
	// ButtonTTL is how long an inline button keeps working (default 7 days).
	ButtonTTL time.Duration
	// PollTimeout is the long-polling wait (default 25 s).
	PollTimeout time.Duration
	// ShutdownGrace is how long Run lets queued updates finish after ctx
	// ends (default 10 s).
	ShutdownGrace time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

const (
	defaultAddressTTL    = 30 * 24 * time.Hour
	defaultButtonTTL     = 7 * 24 * time.Hour
	defaultPollTimeout   = 25 * time.Second
	defaultShutdownGrace = 10 * time.Second
	// Telegram redelivers an unconfirmed update for at most 24 hours.
	updateOnceTTL = 48 * time.Hour
	// Telegram picks update IDs at random after a week without updates, so
	// a stored offset must be forgotten before that.
	offsetTTL      = 6 * 24 * time.Hour
	groupNoticeTTL = 90 * 24 * time.Hour
	sentMarkTTL    = 7 * 24 * time.Hour
	// perChatQueue bounds one chat's waiting updates: a flood beyond it is
	// dropped, except what needs help (see overflow), which has a lane of
	// the same size ahead of the rest. totalQueue bounds all of them.
	perChatQueue = 5
	totalQueue   = 1000
	// maxRetryAfter: a 429 asking for a longer wait fails the send (the
	// outbox retries it later) rather than holding a worker.
	maxRetryAfter = 60 * time.Second
	sendAttempts  = 3
)

// allowedUpdates are the update kinds we ask Telegram for.
var allowedUpdates = []string{"message", "edited_message", "channel_post", "callback_query"}

// Commands registered with setMyCommands; the engine implements them.
var Commands = []tgbotapi.BotCommand{
	{Command: "start", Description: "Welcome, privacy and emergency help"},
	{Command: "help", Description: "How this works"},
	{Command: "privacy", Description: "What is kept, and for how long"},
	{Command: "forget", Description: "Delete everything kept about you"},
	{Command: "book", Description: "Book a session with a therapist"},
}

// Bot is the Telegram adapter. Create it with New, start it with Run; in
// webhook mode mount Handler at WebhookPath; register it with the
// moderation service as the "telegram" Sender.
type Bot struct {
	opts  Options
	log   *slog.Logger
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
	lim   *limiter
	disp  *dispatcher

	running sync.Mutex // held by Run

	mu       sync.RWMutex
	api      botAPI          // nil until Run has reached Telegram
	self     tgbotapi.User   // the bot's own account (not an asker)
	work     context.Context // non-nil while updates are accepted
	stateKey string          // the pseudo-handle for the bot's own state

	// username is the bot's own user name, for the private-chat notice:
	// read without b.mu, which accept holds while overflow builds one.
	username atomic.Pointer[string]
}

var _ moderation.Sender = (*Bot)(nil)

// New checks the options; it does not contact Telegram (Run does), so a
// Telegram outage at start-up does not stop the rest of Candid.
func New(opts Options) (*Bot, error) {
	if strings.TrimSpace(opts.Token) == "" {
		return nil, errors.New("telegram: no bot token: set CANDID_TELEGRAM_TOKEN to the token @BotFather gave you")
	}
	if strings.ContainsAny(opts.Token, " /\n\t") {
		return nil, errors.New("telegram: the bot token looks malformed (it contains a space or a slash): copy it again from @BotFather")
	}
	if opts.Engine == nil || opts.Keys == nil || opts.Store == nil {
		return nil, errors.New("telegram: Engine, Keys and Store are required")
	}
	if opts.APIEndpoint == "" {
		opts.APIEndpoint = DefaultAPIEndpoint
	}
	if strings.Count(opts.APIEndpoint, "%s") != 2 || !strings.HasPrefix(opts.APIEndpoint, "http") {
		return nil, fmt.Errorf("telegram: CANDID_TELEGRAM_API_ENDPOINT %q must be a URL with two %%s (token, method), like %q", opts.APIEndpoint, DefaultAPIEndpoint)
	}
	if opts.WebhookURL != "" {
		u, err := url.Parse(opts.WebhookURL)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return nil, fmt.Errorf("telegram: --telegram-webhook %q must be a public https:// URL (Telegram only calls HTTPS webhooks)", opts.WebhookURL)
		}
		if !validSecret(opts.WebhookSecret) {
			return nil, errors.New("telegram: webhook mode needs CANDID_TELEGRAM_WEBHOOK_SECRET: 1–256 characters of A-Z, a-z, 0-9, _ and - (for example from `openssl rand -hex 32`)")
		}
	}
	if opts.PollTimeout <= 0 {
		opts.PollTimeout = defaultPollTimeout
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = DefaultHTTPClient(opts.PollTimeout)
	}
	if opts.HTTPClient == http.DefaultClient || opts.HTTPClient.Timeout <= opts.PollTimeout {
		return nil, fmt.Errorf("telegram: the HTTP client needs a timeout longer than the poll timeout (%v); it has %v (http.DefaultClient has none)", opts.PollTimeout, opts.HTTPClient.Timeout)
	}
	if opts.AddressTTL <= 0 {
		opts.AddressTTL = defaultAddressTTL
	}
	if opts.ButtonTTL <= 0 {
		opts.ButtonTTL = defaultButtonTTL
	}
	if opts.ShutdownGrace <= 0 {
		opts.ShutdownGrace = defaultShutdownGrace
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	b := &Bot{
		opts:  opts,
		log:   opts.Logger.With("component", "telegram"),
		now:   opts.Now,
		sleep: sleepCtx,
		disp:  newDispatcher(perChatQueue, totalQueue),
	}
	b.lim = newLimiter(opts.Now, func(ctx context.Context, d time.Duration) error { return b.sleep(ctx, d) })
	return b, nil
}

// DefaultHTTPClient returns a client with timeouts suitable for long
// polling: every phase of a call is bounded.
func DefaultHTTPClient(pollTimeout time.Duration) *http.Client {
	if pollTimeout <= 0 {
		pollTimeout = defaultPollTimeout
	}
	return &http.Client{
		Timeout: pollTimeout + 35*time.Second,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: pollTimeout + 20*time.Second,
			ExpectContinueTimeout: time.Second,
			IdleConnTimeout:       90 * time.Second,
			MaxIdleConnsPerHost:   16,
			ForceAttemptHTTP2:     true,
		},
	}
}

func validSecret(s string) bool {
	if len(s) < 1 || len(s) > 256 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ErrUnauthorized means Telegram rejected the token; retrying cannot help.
var ErrUnauthorized = errors.New("telegram: the bot token was rejected: check CANDID_TELEGRAM_TOKEN (revoked or mistyped? @BotFather shows the current one)")

// Run connects to Telegram (retrying with backoff while it is unreachable),
// registers the command list, then receives updates until ctx ends: by long
// polling, or in webhook mode by setting the webhook (with secret_token) and
// accepting what Handler receives. It returns nil when ctx ends, and an
// error only for what retrying cannot fix (a rejected token, a refused
// webhook URL).
func (b *Bot) Run(ctx context.Context) error {
	if !b.running.TryLock() {
		return errors.New("telegram: Run is already running")
	}
	defer b.running.Unlock()

	api, err := b.connect(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	b.registerCommands(ctx, api)

	// Queued updates may finish after ctx ends, within ShutdownGrace.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(b.opts.ShutdownGrace, cancelWork)
		context.AfterFunc(work, func() { t.Stop() })
	})
	defer stop()

	if b.opts.WebhookURL != "" {
		err = b.runWebhook(ctx, api, work)
	} else {
		err = b.poll(ctx, api, work)
	}
	b.mu.Lock()
	b.work = nil // stop accepting; no submit can start after this
	b.mu.Unlock()
	b.disp.wait()
	return err
}

// connect builds the library client (which calls getMe), with backoff.
func (b *Bot) connect(ctx context.Context) (botAPI, error) {
	bo := backoff{min: time.Second, max: time.Minute}
	for {
		api, err := connect(ctx, b.opts.Token, b.opts.APIEndpoint, b.opts.HTTPClient)
		if err == nil {
			b.mu.Lock()
			b.api = api
			b.self = api.bot.Self
			name := api.bot.Self.UserName
			b.username.Store(&name)
			b.stateKey = "svc:telegram:" + strconv.FormatInt(api.bot.Self.ID, 10)
			b.mu.Unlock()
			b.log.Info("telegram: connected", "bot", api.bot.Self.UserName)
			return api, nil
		}
		if e, ok := apiError(err); ok && (e.Code == http.StatusUnauthorized || e.Code == http.StatusNotFound) {
			return nil, fmt.Errorf("%w (Bot API said %d %s)", ErrUnauthorized, e.Code, e.Message)
		}
		b.log.Warn("telegram: cannot reach the Bot API; retrying", "err", err, "endpoint", redactEndpoint(b.opts.APIEndpoint))
		if err := b.sleep(ctx, bo.next()); err != nil {
			return nil, err
		}
	}
}

func redactEndpoint(e string) string {
	if u, err := url.Parse(e); err == nil {
		return u.Scheme + "://" + u.Host
	}
	return "(unparseable)"
}

func (b *Bot) registerCommands(ctx context.Context, api botAPI) {
	cfg := tgbotapi.NewSetMyCommandsWithScope(tgbotapi.NewBotCommandScopeAllPrivateChats(), Commands...)
	if _, err := b.call(ctx, api, 0, func(ctx context.Context) (*tgbotapi.APIResponse, error) { return api.Request(ctx, cfg) }); err != nil {
		// Not fatal: the commands work when typed; only the menu is missing.
		b.log.Warn("telegram: setMyCommands failed; the command menu may be out of date", "err", err)
	}
}

// runWebhook sets the webhook and accepts updates until ctx ends.
func (b *Bot) runWebhook(ctx context.Context, api botAPI, work context.Context) error {
	params := tgbotapi.Params{
		"url":          b.opts.WebhookURL,
		"secret_token": b.opts.WebhookSecret,
	}
	if err := params.AddInterface("allowed_updates", allowedUpdates); err != nil {
		return fmt.Errorf("telegram: %w", err)
	}
	bo := backoff{min: time.Second, max: time.Minute}
	for {
		_, err := b.call(ctx, api, 0, func(ctx context.Context) (*tgbotapi.APIResponse, error) {
			return api.MakeRequest(ctx, "setWebhook", params)
		})
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		if e, ok := apiError(err); ok && e.Code == http.StatusBadRequest {
			return fmt.Errorf("telegram: Telegram refused the webhook %q: %s (it must be a public HTTPS URL on port 443, 80, 88 or 8443)", b.opts.WebhookURL, e.Message)
		}
		b.log.Warn("telegram: setWebhook failed; retrying", "err", err)
		if err := b.sleep(ctx, bo.next()); err != nil {
			return nil
		}
	}
	b.log.Info("telegram: webhook set; receiving updates at " + WebhookPath)
	b.mu.Lock()
	b.work = work
	b.mu.Unlock()
	<-ctx.Done()
	return nil
}

// poll is the long-polling loop: cancellable, with backoff, and restartable
// (unlike the library's GetUpdatesChan).
func (b *Bot) poll(ctx context.Context, api botAPI, work context.Context) error {
	// getUpdates fails while a webhook is set (from an earlier deployment).
	if _, err := b.call(ctx, api, 0, func(ctx context.Context) (*tgbotapi.APIResponse, error) {
		return api.Request(ctx, tgbotapi.DeleteWebhookConfig{})
	}); err != nil && ctx.Err() == nil {
		b.log.Warn("telegram: deleteWebhook failed; polling anyway", "err", err)
	}
	b.mu.Lock()
	b.work = work
	b.mu.Unlock()

	offset := b.loadOffset(ctx)
	saved := offset
	bo := backoff{min: time.Second, max: time.Minute}
	for ctx.Err() == nil {
		cfg := tgbotapi.UpdateConfig{Offset: offset, Limit: 100, Timeout: int(b.opts.PollTimeout / time.Second), AllowedUpdates: allowedUpdates}
		resp, err := api.Request(ctx, cfg)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			wait := bo.next()
			if e, ok := apiError(err); ok {
				switch {
				case e.Code == http.StatusUnauthorized || e.Code == http.StatusNotFound:
					return fmt.Errorf("%w (getUpdates: %d %s)", ErrUnauthorized, e.Code, e.Message)
				case e.Code == http.StatusConflict:
					b.log.Warn("telegram: getUpdates conflict: another Candid (or another program) is polling with this token, or a webhook is set; only one may receive updates", "err", e.Message)
					if strings.Contains(strings.ToLower(e.Message), "webhook") {
						_, _ = api.Request(ctx, tgbotapi.DeleteWebhookConfig{})
					}
				case e.Code == http.StatusTooManyRequests && e.RetryAfter > 0:
					wait = time.Duration(e.RetryAfter) * time.Second
				default:
					b.log.Warn("telegram: getUpdates failed; retrying", "err", e.Message, "code", e.Code)
				}
			} else {
				b.log.Warn("telegram: getUpdates failed; retrying", "err", err)
			}
			if b.sleep(ctx, wait) != nil {
				return nil
			}
			continue
		}
		batch, ok := decodeUpdates(resp.Result)
		if !ok {
			// Not a list of updates: a broken proxy or server. Do not spin.
			b.log.Warn("telegram: getUpdates returned something that is not a list of updates; retrying")
			if b.sleep(ctx, bo.next()) != nil {
				return nil
			}
			continue
		}
		bo.reset()
		for _, it := range batch {
			if it.id < offset {
				continue // already confirmed (a misbehaving server)
			}
			if it.ok {
				if err := b.accept(ctx, it.update, true); err != nil {
					if ctx.Err() != nil {
						return nil
					}
					// The store is down: without de-duplication we would
					// risk answering twice. Keep the offset and retry.
					b.log.Error("telegram: cannot record the update; retrying", "err", err)
					_ = b.sleep(ctx, bo.next())
					break
				}
			} else {
				b.log.Warn("telegram: skipped an update this library version cannot decode")
			}
			offset = it.id + 1
		}
		if offset != saved {
			b.saveOffset(ctx, offset)
			saved = offset
		}
	}
	return nil
}

type rawUpdate struct {
	id     int
	ok     bool
	update tgbotapi.Update
}

// decodeUpdates decodes each update on its own, so that one this library
// version cannot decode is skipped instead of blocking all the others.
func decodeUpdates(result []byte) ([]rawUpdate, bool) {
	var raws []json.RawMessage
	if err := json.Unmarshal(result, &raws); err != nil {
		return nil, false
	}
	out := make([]rawUpdate, 0, len(raws))
	for _, r := range raws {
		var u tgbotapi.Update
		if err := json.Unmarshal(r, &u); err == nil && u.UpdateID > 0 {
			out = append(out, rawUpdate{id: u.UpdateID, ok: true, update: u})
			continue
		}
		var id struct {
			UpdateID int `json:"update_id"`
		}
		if err := json.Unmarshal(r, &id); err == nil && id.UpdateID > 0 {
			out = append(out, rawUpdate{id: id.UpdateID})
		}
	}
	return out, true
}

func (b *Bot) loadOffset(ctx context.Context) int {
	b.mu.RLock()
	key := b.stateKey
	b.mu.RUnlock()
	v, err := b.opts.Store.State(ctx, key, "poll-offset")
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(string(v))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

func (b *Bot) saveOffset(ctx context.Context, offset int) {
	b.mu.RLock()
	key := b.stateKey
	b.mu.RUnlock()
	if err := b.opts.Store.PutState(ctx, key, "poll-offset", []byte(strconv.Itoa(offset)), offsetTTL); err != nil {
		b.log.Warn("telegram: cannot save the polling offset (updates are still de-duplicated)", "err", err)
	}
}

// errBusy: every queue slot is taken (webhook answers 503; Telegram retries).
var errBusy = errors.New("telegram: too many updates waiting")

// errNotRunning: Run is not accepting updates.
var errNotRunning = errors.New("telegram: not running")

// accept records the update as seen (Store.Once) and queues it for its
// chat. An update seen before is dropped. One from a chat whose queue is
// full (a flood) is handled at once by overflow, which gives a message that
// needs help the help and drops the rest: no update is marked seen and then
// lost to the cap. Marking before processing makes handling at-most-once:
// after a crash, an update that was queued but not yet handled is lost
// rather than answered twice (an urgent ticket that overflow opened is
// already stored by then). An emergency is the exception: acceptUrgent
// answers it before accept returns.
func (b *Bot) accept(ctx context.Context, u tgbotapi.Update, wait bool) error {
	if chat := routeChat(&u); b.opts.Engine.Urgent(updateText(&u)) && b.disp.firstHasRoom(chat) {
		return b.acceptUrgent(ctx, u, chat)
	}
	// Take a queue slot first, without holding b.mu: a worker that frees
	// slots may need b.mu itself.
	if wait {
		if err := b.disp.acquire(ctx); err != nil {
			return err
		}
	} else if !b.disp.tryAcquire() {
		return errBusy
	}
	// Hold b.mu (shared) from the check to the submit, so that Run cannot
	// stop accepting and wait for the queues in between.
	b.mu.RLock()
	defer b.mu.RUnlock()
	work, api := b.work, b.api
	if work == nil || api == nil {
		b.disp.release()
		return errNotRunning
	}
	first, err := b.opts.Store.Once(ctx, b.onceKey(&u), updateOnceTTL)
	if err != nil {
		b.disp.release()
		return fmt.Errorf("telegram: de-duplicate update: %w", err)
	}
	if !first {
		b.disp.release()
		b.log.Debug("telegram: duplicate update ignored")
		return nil
	}
	if !b.disp.submit(work, routeChat(&u), func(ctx context.Context) { b.safeHandle(ctx, api, &u) }) {
		b.overflow(ctx, work, api, &u)
	}
	return nil
}

// onceKey is the de-duplication key of an update: the bot and the update
// id, never the chat or the sender.
func (b *Bot) onceKey(u *tgbotapi.Update) string {
	return "telegram/update/" + strconv.FormatInt(b.self.ID, 10) + "/" + strconv.Itoa(u.UpdateID)
}

// acceptUrgent handles a present danger before accept returns, so before
// the polling loop confirms the update's offset or the webhook answers 200:
// the engine stores the urgent ticket now, and a crash or a stop after this
// point cannot lose it (at-most-once handling would, for an update that
// waited in a queue). The reply goes in the chat's first lane, ahead of its
// waiting updates, without a queue slot: no cap stands between a person in
// danger and the help (the first lane's own bound, checked by accept, keeps
// a flood of alarming messages from growing without end). A store that
// cannot de-duplicate does not stop it either: answering an emergency twice
// is better than not at all.
func (b *Bot) acceptUrgent(ctx context.Context, u tgbotapi.Update, chat int64) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	work, api := b.work, b.api
	if work == nil || api == nil {
		return errNotRunning
	}
	first, err := b.opts.Store.Once(ctx, b.onceKey(&u), updateOnceTTL)
	if err != nil {
		b.log.Error("telegram: cannot de-duplicate an urgent update; answering it anyway", "err", err)
		first = true
	}
	if !first {
		b.log.Debug("telegram: duplicate update ignored")
		return nil
	}
	fn := func(ctx context.Context) { b.safeHandle(ctx, api, &u) }
	if replies, ok := b.helpFor(ctx, &u); ok {
		fn = func(ctx context.Context) { b.sendAll(ctx, api, chat, replies) }
	}
	b.disp.submitUrgent(work, chat, fn)
	return nil
}

// overflow takes an update that its chat's full queue cannot take, with the
// queue slot accept acquired for it. Safety comes before the cap: a message
// that needs help is handled now (the engine opens its urgent ticket before
// the update is confirmed to Telegram, so stopping cannot lose it) and its
// reply goes ahead of the chat's waiting updates. Anything else is dropped,
// as it always was: a chat sending faster than we answer is not answered
// message by message.
func (b *Bot) overflow(ctx, work context.Context, api botAPI, u *tgbotapi.Update) {
	chat := routeChat(u)
	drop := func() {
		b.disp.release()
		b.log.Info("telegram: dropped an update from a chat that is sending faster than we answer")
	}
	if !b.disp.firstHasRoom(chat) {
		// Help for this chat already waits to go out, with its tickets.
		drop()
		return
	}
	replies, ok := b.helpFor(ctx, u)
	if !ok {
		drop()
		return
	}
	if !b.disp.submitFirst(work, chat, func(ctx context.Context) { b.sendAll(ctx, api, chat, replies) }) {
		drop()
		return
	}
	b.log.Info("telegram: a message from a chat that is sending faster than we answer needs help: it goes first")
}

// routeChat is the queue an update runs in: its chat, so that one chat's
// updates run in order and chats do not wait for each other.
func routeChat(u *tgbotapi.Update) int64 {
	switch {
	case u.Message != nil && u.Message.Chat != nil:
		return u.Message.Chat.ID
	case u.EditedMessage != nil && u.EditedMessage.Chat != nil:
		return u.EditedMessage.Chat.ID
	case u.ChannelPost != nil && u.ChannelPost.Chat != nil:
		return u.ChannelPost.Chat.ID
	case u.CallbackQuery != nil && u.CallbackQuery.Message != nil && u.CallbackQuery.Message.Chat != nil:
		return u.CallbackQuery.Message.Chat.ID
	case u.CallbackQuery != nil && u.CallbackQuery.From != nil:
		return u.CallbackQuery.From.ID
	}
	return 0
}

// safeHandle runs one update; a bug in handling one update must not take
// down the adapter.
func (b *Bot) safeHandle(ctx context.Context, api botAPI, u *tgbotapi.Update) {
	defer func() {
		if r := recover(); r != nil {
			// Only a runtime error's message is logged: another panic value
			// could carry message text.
			what := fmt.Sprintf("%T", r)
			if re, ok := r.(runtime.Error); ok {
				what = re.Error()
			}
			b.log.Error("telegram: panic while handling an update", "panic", what)
		}
	}()
	b.handleUpdate(ctx, api, u)
}

// backoff is exponential with a cap.
type backoff struct {
	min, max, cur time.Duration
}

func (bo *backoff) next() time.Duration {
	switch {
	case bo.cur == 0:
		bo.cur = bo.min
	case bo.cur < bo.max:
		bo.cur *= 2
		if bo.cur > bo.max {
			bo.cur = bo.max
		}
	}
	return bo.cur
}

func (bo *backoff) reset() { bo.cur = 0 }
