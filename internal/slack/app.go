// Package slack is Candid's Slack app. It owns two roles that a deployment
// can use separately or together:
//
//   - Askers in a workspace DM the app or use /ask. Their messages go to the
//     one conversation engine; the replies come back as Block Kit DMs, and
//     later answers from the clinic are delivered by DM (App implements
//     moderation.Sender). A Slack user ID is used only to derive the asker's
//     handle and the sealed DM address: it is never stored in clear, logged or
//     shown to anyone.
//   - The clinic's moderators work the queue in a channel: every ticket is
//     posted as a Block Kit message that follows the ticket (chat.update on
//     every moderation event, whether the action came from Slack or the web
//     console), with buttons and modals to claim, answer (with a preview of
//     exactly what the asker will see), recommend booking, reject or block.
//     Only configured moderators (user IDs or user-group members) can act;
//     everyone else is told no and nothing changes.
//
// Socket Mode is the default transport (no public URL); HTTP mode (Events API,
// interactivity and slash commands on /slack/…, every request's signature
// checked before it is parsed) is used when only a signing secret is set.
package slack

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/candid-app/candid/internal/conversation"
	"github.com/candid-app/candid/internal/faq"
	"github.com/candid-app/candid/internal/identity"
	"github.com/candid-app/candid/internal/moderation"
	"github.com/candid-app/candid/internal/store"
)

// Engine is the conversation engine as the app uses it
// (*conversation.Engine implements it). Refused is where an input goes that
// one of the app's own rules would stop (a busy asker, a file, an edit, a
// mention in a channel, a DM that cannot be opened): safety comes before
// every such rule, so one that needs help gets it (see
// conversation.Engine.Refused).
type Engine interface {
	Handle(ctx context.Context, in conversation.Inbound) ([]conversation.Reply, error)
	Refused(ctx context.Context, in conversation.Inbound, refusal string) ([]conversation.Reply, error)
}

// Moderation is what the app needs from the moderation service
// (*moderation.Service implements it).
type Moderation interface {
	Queue(ctx context.Context) ([]store.Ticket, moderation.QueueStats, error)
	Ticket(ctx context.Context, id string) (store.Ticket, error)
	Claim(ctx context.Context, a moderation.Actor, id string) (store.Ticket, error)
	Release(ctx context.Context, a moderation.Actor, id string) (store.Ticket, error)
	Answer(ctx context.Context, a moderation.Actor, id string, ans moderation.Answer) (store.Ticket, error)
	Reject(ctx context.Context, a moderation.Actor, id, reason string) (store.Ticket, error)
	RejectReasons() []moderation.Reason
	BlockAsker(ctx context.Context, a moderation.Actor, id string, d time.Duration) error
	Preview(ans moderation.Answer) (string, error)
	Subscribe() (<-chan moderation.Event, func())
}

// Store is the part of storage the app keeps for itself (a *boltstore.Store
// or *redisstore.Store satisfies it): Once de-duplicates Slack event IDs, and
// a few records under the reserved state owner "slack:app" remember where a
// ticket's channel message is, a moderator's previewed answer between the
// two modal steps, and which outbox items were already sent. None of them
// holds an asker's Slack ID or DM channel.
type Store interface {
	Once(ctx context.Context, key string, ttl time.Duration) (bool, error)
	PutState(ctx context.Context, handle, key string, value []byte, ttl time.Duration) error
	State(ctx context.Context, handle, key string) ([]byte, error)
	DeleteState(ctx context.Context, handle, key string) error
}

// FAQ names FAQ entries for the moderators' candidate lists (*faq.Catalog and
// the engine's library implement it); optional: without it candidates show
// their IDs.
type FAQ interface {
	Entry(id string) *faq.Entry
}

// Options configure an App. BotToken, Keys, Store and Engine are required,
// and either AppToken (Socket Mode) or SigningSecret (HTTP mode).
type Options struct {
	// BotToken (xoxb-…) calls the Web API.
	BotToken string
	// AppToken (xapp-…, scope connections:write) selects Socket Mode, the
	// default: no public URL is needed.
	AppToken string
	// SigningSecret selects HTTP mode when AppToken is empty: the app then
	// serves /slack/events, /slack/interactivity and /slack/commands (see
	// Register) and checks every request's signature.
	SigningSecret string
	// ModerationChannel (C…/G…) is where tickets are posted. Empty: tickets
	// are not posted to Slack (askers only; staff use the console).
	ModerationChannel string
	// Moderators are user IDs (U…/W…) and user-group IDs (S…) allowed to act
	// on tickets. Empty: nobody can (New logs a warning).
	Moderators []string
	// GroupCacheTTL is how long a user group's member list is trusted
	// (default 5m): removing someone from the group takes effect within it.
	GroupCacheTTL time.Duration
	// APIURL is the Web API base (default https://slack.com/api/); tests
	// point it at a local server.
	APIURL string

	Engine     Engine
	Moderation Moderation // required when ModerationChannel is set
	Keys       *identity.Keys
	Store      Store
	FAQ        FAQ
	Logger     *slog.Logger
	HTTPClient *http.Client
	// Region is the crisis-resource region passed to the engine ("" = the
	// engine's default).
	Region string
	// AddressTTL is how long a sealed DM address stays usable for a later
	// answer (default 30 days, the default ticket retention).
	AddressTTL time.Duration
	// BlockFor is how long "Block asker" blocks (default 30 days).
	BlockFor time.Duration
	// NotificationText is the text of push notifications for replies to
	// askers (default "You have a new reply."): the answer itself never
	// appears on a lock screen.
	NotificationText string

	// Now and Sleep are for tests (defaults time.Now and a context-aware
	// sleep): Sleep is how 429 Retry-After waits are taken.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Transport modes.
const (
	ModeSocket = "socket"
	ModeHTTP   = "http"
)

// App is the Slack app. It is safe for concurrent use.
type App struct {
	log        *slog.Logger
	api        *slackgo.Client
	apiURL     string
	httpClient *http.Client
	botToken   string
	appToken   string
	secret     string
	mode       string
	channel    string

	engine Engine
	mod    Moderation
	keys   *identity.Keys
	sig    signer
	store  Store
	faq    FAQ
	allow  *allowList

	region     string
	addressTTL time.Duration
	blockFor   time.Duration
	notifyText string
	now        func() time.Time
	sleep      func(ctx context.Context, d time.Duration) error

	askers keyLock // one input at a time per asker

	botMu     sync.Mutex
	botUserID string // learnt from auth.test; messages from it are ignored
	teamID    string // learnt from auth.test; payloads from another team are refused

	followMu sync.Mutex
	pending  map[string]pendingTicket // ticket events waiting for the channel follower
	order    []string                 // their ticket IDs, oldest news first
	kick     chan struct{}
}

// New checks the options and returns an App. It makes no network calls.
func New(opts Options) (*App, error) {
	var missing []string
	if opts.BotToken == "" {
		missing = append(missing, "BotToken (CANDID_SLACK_BOT_TOKEN)")
	}
	if opts.Keys == nil {
		missing = append(missing, "Keys")
	}
	if opts.Store == nil {
		missing = append(missing, "Store")
	}
	if opts.Engine == nil {
		missing = append(missing, "Engine")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("slack: missing options: %s", strings.Join(missing, ", "))
	}
	if !strings.HasPrefix(opts.BotToken, "xoxb-") {
		return nil, errors.New("slack: the bot token must be a bot token (xoxb-…) from the app's OAuth & Permissions page")
	}
	mode := ModeSocket
	switch {
	case opts.AppToken != "":
		if !strings.HasPrefix(opts.AppToken, "xapp-") {
			return nil, errors.New("slack: the app token must be an app-level token (xapp-…) with the connections:write scope, from the app's Basic Information page")
		}
	case opts.SigningSecret != "":
		mode = ModeHTTP
	default:
		return nil, errors.New("slack: set CANDID_SLACK_APP_TOKEN for Socket Mode (the default, no public URL needed) or CANDID_SLACK_SIGNING_SECRET for HTTP mode")
	}
	if opts.ModerationChannel != "" {
		if !channelIDRE.MatchString(opts.ModerationChannel) {
			return nil, fmt.Errorf("slack: the moderation channel must be a channel ID (C… or G…, from the channel's details), not %q", opts.ModerationChannel)
		}
		if opts.Moderation == nil {
			return nil, errors.New("slack: a moderation channel is set but Options.Moderation is missing")
		}
	}
	users, groups, err := parseModerators(opts.Moderators)
	if err != nil {
		return nil, err
	}
	a := &App{
		log:        opts.Logger,
		apiURL:     opts.APIURL,
		httpClient: opts.HTTPClient,
		botToken:   opts.BotToken,
		appToken:   opts.AppToken,
		secret:     opts.SigningSecret,
		mode:       mode,
		channel:    opts.ModerationChannel,
		engine:     opts.Engine,
		mod:        opts.Moderation,
		keys:       opts.Keys,
		sig:        signer{keys: opts.Keys},
		store:      opts.Store,
		faq:        opts.FAQ,
		region:     opts.Region,
		addressTTL: opts.AddressTTL,
		blockFor:   opts.BlockFor,
		notifyText: opts.NotificationText,
		now:        opts.Now,
		sleep:      opts.Sleep,
		pending:    map[string]pendingTicket{},
		kick:       make(chan struct{}, 1),
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.apiURL == "" {
		a.apiURL = "https://slack.com/api/"
	}
	if !strings.HasSuffix(a.apiURL, "/") {
		a.apiURL += "/"
	}
	if a.httpClient == nil {
		a.httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	if a.addressTTL <= 0 {
		a.addressTTL = 30 * 24 * time.Hour
	}
	if a.blockFor <= 0 {
		a.blockFor = 30 * 24 * time.Hour
	}
	if a.notifyText == "" {
		a.notifyText = "You have a new reply."
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.sleep == nil {
		a.sleep = sleepCtx
	}
	ttl := opts.GroupCacheTTL
	if ttl <= 0 {
		ttl = 5 * time.Minute
	}
	a.api = slackgo.New(a.botToken,
		slackgo.OptionAPIURL(a.apiURL),
		slackgo.OptionHTTPClient(a.httpClient),
		// slack-go logs request and response bodies in debug mode; ours
		// may hold questions, so its logger goes nowhere.
		slackgo.OptionLog(log.New(discard{}, "", 0)),
	)
	a.allow = &allowList{
		users: users, groups: groups, ttl: ttl, now: a.now, log: a.log,
		cache: map[string]groupMembers{},
		list: func(ctx context.Context, g string) ([]string, error) {
			var ids []string
			err := a.call(ctx, "usergroups.users.list", func(ctx context.Context) error {
				var err error
				ids, err = a.api.GetUserGroupMembersContext(ctx, g)
				return err
			})
			return ids, err
		},
	}
	if a.channel != "" && a.allow.empty() {
		a.log.Warn("slack: NO MODERATORS CONFIGURED — tickets are posted to the moderation channel but nobody can act on them from Slack; set CANDID_SLACK_MODERATORS to user IDs (U…) or user-group IDs (S…)")
	}
	return a, nil
}

// Mode reports the transport: ModeSocket or ModeHTTP.
func (a *App) Mode() string { return a.mode }

// Run connects to Slack and works until ctx ends: in Socket Mode it holds
// the WebSocket connection; in both modes it keeps the moderators' channel in
// step with the moderation service. It returns nil when ctx is cancelled, or
// an error when Slack refuses the tokens.
func (a *App) Run(ctx context.Context) error {
	if err := a.whoAmI(ctx); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	if a.channel != "" {
		events, unsubscribe := a.mod.Subscribe()
		defer unsubscribe()
		wg.Go(func() { a.collect(ctx, events) })
		wg.Go(func() { a.follow(ctx) })
		a.resync(ctx)
	}
	var err error
	if a.mode == ModeSocket {
		err = a.runSocket(ctx)
	} else {
		<-ctx.Done()
	}
	cancel()
	wg.Wait()
	return err
}

// whoAmI checks the bot token and learns the bot's user ID, so that the
// app's own DMs are never taken for an asker's message.
// Slack being unreachable is retried (with backoff, up to a minute apart);
// a refused token is an error at once.
func (a *App) whoAmI(ctx context.Context) error {
	wait := time.Second
	for {
		var resp *slackgo.AuthTestResponse
		err := a.call(ctx, "auth.test", func(ctx context.Context) error {
			var err error
			resp, err = a.api.AuthTestContext(ctx)
			return err
		})
		if err == nil {
			a.botMu.Lock()
			a.botUserID = resp.UserID
			a.teamID = resp.TeamID
			a.botMu.Unlock()
			a.log.InfoContext(ctx, "slack: connected", "mode", a.mode)
			return nil
		}
		switch slackErr(err) {
		case "invalid_auth", "not_authed", "token_revoked", "account_inactive", "token_expired", "not_allowed_token_type":
			return fmt.Errorf("slack: the bot token was refused (%s): check CANDID_SLACK_BOT_TOKEN and that the app is installed in the workspace", slackErr(err))
		}
		a.log.WarnContext(ctx, "slack: cannot reach Slack; retrying", "retry_in", wait, "err", err)
		if err := a.sleep(ctx, wait); err != nil {
			return nil // shutting down
		}
		wait = min(2*wait, time.Minute)
	}
}

// Why a payload's team is refused.
var (
	errTeamUnknown = errors.New("slack: the bot's workspace is not known yet (auth.test has not answered); Slack will retry")
	errOtherTeam   = errors.New("slack: a payload from another workspace was refused")
)

// checkTeam reports whether a payload's team is the workspace the bot token
// belongs to. Slack signs every payload for the app, but an app installed in
// a second workspace (or a payload replayed from one) must not act on this
// clinic's tickets or speak for its askers; the bot could not answer there
// anyway. Before auth.test has answered, no team is known.
func (a *App) checkTeam(team string) error {
	a.botMu.Lock()
	defer a.botMu.Unlock()
	switch {
	case a.teamID == "":
		return errTeamUnknown
	case team != a.teamID:
		return errOtherTeam
	}
	return nil
}

func (a *App) isBot(user string) bool {
	a.botMu.Lock()
	defer a.botMu.Unlock()
	return user != "" && user == a.botUserID
}

// Rate limits. Slack answers 429 with Retry-After; we wait that long and try
// again, a few times, and give up (so the caller can retry later) when Slack
// asks for more than maxRetryAfter.
const (
	maxRateLimitRetries = 3
	maxRetryAfter       = 2 * time.Minute
)

// call runs one Web API call, honouring 429 Retry-After.
func (a *App) call(ctx context.Context, method string, f func(ctx context.Context) error) error {
	for attempt := 0; ; attempt++ {
		err := f(ctx)
		wait, limited := retryAfter(err)
		if !limited || attempt >= maxRateLimitRetries {
			return err
		}
		if wait > maxRetryAfter {
			return fmt.Errorf("slack: %s is rate limited for %s: %w", method, wait, err)
		}
		a.log.DebugContext(ctx, "slack: rate limited, waiting", "method", method, "retry_after", wait)
		if serr := a.sleep(ctx, wait); serr != nil {
			return err
		}
	}
}

// retryAfter reports whether err is a rate-limit answer and how long Slack
// asked us to wait (at least a second).
func retryAfter(err error) (time.Duration, bool) {
	if rl, ok := errors.AsType[*slackgo.RateLimitedError](err); ok {
		return max(rl.RetryAfter, time.Second), true
	}
	if sc, ok := errors.AsType[slackgo.StatusCodeError](err); ok && sc.Code == http.StatusTooManyRequests {
		return time.Second, true // a 429 without Retry-After
	}
	return 0, false
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// slackErr returns Slack's error code ("channel_not_found"), or "".
func slackErr(err error) string {
	if e, ok := errors.AsType[slackgo.SlackErrorResponse](err); ok {
		return e.Err
	}
	return ""
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// stateOwner is the reserved "handle" under which the app keeps its own
// records in the store. Real handles start with "h_", so it cannot collide.
const stateOwner = "slack:app"

// Store keys and retention.
const (
	eventOnceTTL = 24 * time.Hour     // Slack retries an event for about an hour
	draftTTL     = time.Hour          // a previewed answer waiting for "Send"
	sentTTL      = 7 * 24 * time.Hour // an outbox item already delivered
)

var (
	_ moderation.Sender = (*App)(nil)
	_ Moderation        = (*moderation.Service)(nil)
	_ Engine            = (*conversation.Engine)(nil)
)
