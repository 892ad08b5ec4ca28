// Package moderation owns the clinic's queue of tickets: questions the FAQ
// could not answer, or where the asker pressed "Ask a therapist". It owns the
// ticket lifecycle (open → claimed → answered | booked | rejected, expired
// past retention), the audit log of who on the staff did what, the outbox
// that carries an approved answer to the anonymous asker (web delivery built
// in, other platforms through a registered Sender), staff alerts (events and
// an optional webhook) and LLM drafts, which only staff ever see.
//
// Staff never learn who asked: every ticket the service returns or publishes
// is redacted (no handle, no sealed address), and audit entries name staff or
// "system", never an asker.
package moderation

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/candid-app/candid/internal/store"
)

// Store is the subset of store.Store the moderation service uses; a
// *boltstore.Store or *redisstore.Store satisfies it.
type Store interface {
	PutMessage(ctx context.Context, m store.Message) error
	CreateTicket(ctx context.Context, t store.Ticket, audit store.AuditEntry) error
	Ticket(ctx context.Context, id string) (store.Ticket, error)
	Tickets(ctx context.Context, f store.TicketFilter) ([]store.Ticket, error)
	UpdateTicket(ctx context.Context, t store.Ticket, audit store.AuditEntry, out *store.OutboxItem) (store.Ticket, error)
	Audit(ctx context.Context, ticketID string) ([]store.AuditEntry, error)
	ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.OutboxItem, error)
	CompleteOutbox(ctx context.Context, id, delivery string) error
	RetryOutbox(ctx context.Context, id string, next time.Time, lastErr string) error
	Block(ctx context.Context, handle string, until time.Time) error
	Forget(ctx context.Context, handle string) (store.ForgetReport, error)
	Purge(ctx context.Context, now time.Time) (store.PurgeReport, error)
}

// Options configure a Service. Only Store is required.
type Options struct {
	Store  Store
	Logger *slog.Logger
	Now    func() time.Time
	// ClaimTimeout: a claim lapses after this and anyone may take the
	// ticket (default 15m).
	ClaimTimeout time.Duration
	// TicketRetention: how long a ticket (and its pending answer) is kept
	// (default 30 days).
	TicketRetention time.Duration
	// ClinicName appears in the answer header ("A therapist at … answered").
	ClinicName string
	// BookingURL (http or https) is added to answers that recommend booking.
	// Without it, booking recommendations are refused.
	BookingURL string
	FAQ        FAQ     // may be nil: answering by FAQ id is then refused
	Drafter    Drafter // may be nil (LLM drafting off)
	// DraftsPerHour caps the AI drafts asked for in an hour, over all
	// tickets (default 60; negative: no cap), so that a flood of tickets
	// cannot run up the LLM bill. A ticket over the cap simply has no draft.
	// DraftCounter counts them (nil: in memory, per process; several
	// replicas pass a shared one).
	DraftsPerHour int
	DraftCounter  DraftCounter
	// WebhookURL, when set, receives a Slack-incoming-webhook-compatible
	// alert for every new ticket. The alert holds only counts, urgency and
	// ConsoleURL: the webhook is outside the clinic's control, so it never
	// gets the question, the category or the handle.
	WebhookURL string
	// ConsoleURL is linked from the webhook alert (optional).
	ConsoleURL string
	// OnCallURL, when set, is a Slack-incoming-webhook-compatible URL that
	// Escalate alerts for an urgent or concern ticket (tier and link only).
	OnCallURL  string
	HTTPClient *http.Client // for the webhook (default: 10s timeout)

	// DeliveryLease is how long a claimed outbox item is reserved for one
	// worker before another may retry it (default 1m). Keep it longer than
	// a Sender's slowest delivery, or a slow send can be repeated.
	DeliveryLease time.Duration
	// DeliveryPoll is how often RunDelivery looks for due items when
	// nothing wakes it (default 2s; an answer wakes it at once).
	DeliveryPoll time.Duration
	// MaxAttempts: a platform delivery is given up after this many
	// failures (default 30, about a day with the backoff cap).
	MaxAttempts int
	// FailedVisibleFor: a ticket whose answer could not be delivered stays
	// in the queue, flagged, for this long (default 72h).
	FailedVisibleFor time.Duration
}

// Reason is a canned rejection reason.
type Reason struct {
	Code      string `json:"code"`
	Label     string `json:"label"`      // shown to staff
	AskerText string `json:"asker_text"` // what the asker receives
}

// Service is the moderation queue. It is safe for concurrent use.
type Service struct {
	st           Store
	log          *slog.Logger
	now          func() time.Time
	claimTimeout time.Duration
	retention    time.Duration
	clinic       string
	bookingURL   string
	faq          FAQ
	drafter      Drafter
	draftsPerHr  int
	draftCount   DraftCounter
	draftOnce    sync.Once
	webhookURL   string
	onCallURL    string
	consoleURL   string
	client       *http.Client
	lease        time.Duration
	poll         time.Duration
	maxAttempts  int
	failedFor    time.Duration

	mu      sync.Mutex
	subs    map[int]chan Event
	nextSub int
	senders map[string]Sender

	kick chan struct{} // wakes RunDelivery when an answer is enqueued

	bg     context.Context // background work (drafts, webhooks); cancelled by Close
	stop   context.CancelFunc
	wg     sync.WaitGroup
	closed bool

	// hook, when set (by tests only), is called at named points of the
	// delivery path so that the crash test can kill the process there.
	hook func(step string)
}

// Steps at which the crash test's hook fires.
const (
	stepOutboxWritten = "outbox_written" // Answer committed the ticket and outbox item
	stepDelivered     = "delivered"      // the asker has the answer; CompleteOutbox not yet run
	stepCompleted     = "completed"      // CompleteOutbox ran
)

// New returns a Service.
func New(opts Options) (*Service, error) {
	if opts.Store == nil {
		return nil, errors.New("moderation: Options.Store is required")
	}
	s := &Service{
		st:           opts.Store,
		log:          opts.Logger,
		now:          opts.Now,
		claimTimeout: opts.ClaimTimeout,
		retention:    opts.TicketRetention,
		clinic:       opts.ClinicName,
		bookingURL:   opts.BookingURL,
		faq:          opts.FAQ,
		drafter:      opts.Drafter,
		draftsPerHr:  cmp.Or(opts.DraftsPerHour, 60),
		draftCount:   opts.DraftCounter,
		webhookURL:   opts.WebhookURL,
		onCallURL:    opts.OnCallURL,
		consoleURL:   opts.ConsoleURL,
		client:       opts.HTTPClient,
		lease:        opts.DeliveryLease,
		poll:         opts.DeliveryPoll,
		maxAttempts:  opts.MaxAttempts,
		failedFor:    opts.FailedVisibleFor,
		subs:         map[int]chan Event{},
		senders:      map[string]Sender{},
		kick:         make(chan struct{}, 1),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.claimTimeout <= 0 {
		s.claimTimeout = 15 * time.Minute
	}
	if s.retention <= 0 {
		s.retention = 30 * 24 * time.Hour
	}
	if s.clinic == "" {
		s.clinic = "the clinic"
	}
	if s.client == nil {
		s.client = &http.Client{Timeout: 10 * time.Second}
	}
	if s.lease <= 0 {
		s.lease = time.Minute
	}
	if s.poll <= 0 {
		s.poll = 2 * time.Second
	}
	if s.maxAttempts <= 0 {
		s.maxAttempts = 30
	}
	if s.failedFor <= 0 {
		s.failedFor = 72 * time.Hour
	}
	for name, raw := range map[string]string{"booking URL": s.bookingURL, "webhook URL": s.webhookURL, "on-call webhook URL": s.onCallURL, "console URL": s.consoleURL} {
		if raw == "" {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			// Never echo the webhook URL: it is a secret.
			return nil, fmt.Errorf("moderation: the %s must be an absolute http(s) URL", name)
		}
	}
	s.bg, s.stop = context.WithCancel(context.Background())
	return s, nil
}

// Close stops background work (drafts, webhook alerts): it lets work in
// flight finish for up to closeGrace, then cancels it, and waits. Tickets
// opened after Close get no draft or alert. It does not close the Store.
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	timer := time.NewTimer(closeGrace)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
	}
	s.stop()
	<-done
	return nil
}

// closeGrace is how long Close lets background work finish.
const closeGrace = 10 * time.Second

// goBackground runs f unless the service is closed.
func (s *Service) goBackground(f func(ctx context.Context)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f(s.bg)
	}()
}

// RegisterSender sets the Sender for a platform ("telegram", "slack").
// Web askers are delivered by the service itself.
func (s *Service) RegisterSender(platform string, snd Sender) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.senders[platform] = snd
}

func (s *Service) sender(platform string) Sender {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.senders[platform]
}

// Subscribe returns a channel of events and a function that ends the
// subscription (and closes the channel). The channel is buffered; a
// subscriber that falls behind loses events rather than slowing the service,
// so consumers should treat an event as "something changed" and re-read.
func (s *Service) Subscribe() (<-chan Event, func()) {
	ch := make(chan Event, 64)
	s.mu.Lock()
	id := s.nextSub
	s.nextSub++
	s.subs[id] = ch
	s.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			s.mu.Lock()
			delete(s.subs, id)
			s.mu.Unlock()
			close(ch)
		})
	}
}

func (s *Service) publish(kind string, t store.Ticket, actor string) {
	ev := Event{Kind: kind, Ticket: redact(t), Actor: actor}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range s.subs {
		select {
		case ch <- ev:
		default:
			s.log.Debug("moderation: event dropped for a slow subscriber", "kind", kind)
		}
	}
}

// redact removes asker identity from a ticket before staff or subscribers
// see it.
func redact(t store.Ticket) store.Ticket {
	t.Handle = ""
	t.Address = nil
	t.Delivery = explainDelivery(t.Delivery)
	if t.Refs != nil {
		refs := make(map[string]string, len(t.Refs))
		for k, v := range t.Refs {
			refs[k] = v
		}
		t.Refs = refs
	}
	if t.Candidates != nil {
		t.Candidates = append([]store.Candidate(nil), t.Candidates...)
	}
	return t
}

func (s *Service) fire(step string) {
	if s.hook != nil {
		s.hook(step)
	}
}

// explainDelivery turns a backend's terse tombstone delivery ("failed:
// forgotten", "failed: expired") into words staff understand.
func explainDelivery(d string) string {
	switch d {
	case "failed: " + string(store.TicketForgotten):
		return deliveryForgotten
	case "failed: " + string(store.TicketExpired):
		return deliveryExpired
	}
	return d
}
