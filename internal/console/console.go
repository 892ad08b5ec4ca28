// Package console owns the clinic staff's side of Candid on the web: the
// HTML console under /console (login, the queue, the ticket view, staff
// management) and the staff JSON API under /api/v1/tickets, /api/v1/preview
// and /api/v1/staff.
//
// It is a thin HTTP layer: every decision about tickets belongs to the
// moderation service and every decision about accounts to the staff service,
// which it consumes through the small Moderation and Accounts interfaces
// below. What it owns is the web's part of the job: authentication (session
// cookie or bearer token), CSRF, roles, request limits, security headers,
// rendering, and never showing an asker's identity (tickets are converted to
// views that hold no handle and no address before anything is rendered).
package console

import (
	"cmp"
	"github.com/candid-app/candid/internal/clientip"

	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/candid-app/candid/internal/moderation"
	"github.com/candid-app/candid/internal/staff"
	"github.com/candid-app/candid/internal/store"
)

// Moderation is what the console needs from the moderation service
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
	Audit(ctx context.Context, id string) ([]store.AuditEntry, error)
	Subscribe() (<-chan moderation.Event, func())
	Escalate(ctx context.Context, a moderation.Actor, id string) (store.Ticket, error)
	CanEscalate() bool
	History(ctx context.Context, states ...store.TicketState) ([]moderation.Handled, error)
}

// CrisisGuide gives the crisis protocol its words: what an asker in danger
// was shown, and the clinic's safety-check reply (faq/safety/resources.yaml).
// The serve command implements it over the safety resources and the
// clinic's region.
type CrisisGuide interface {
	Shown(t store.Ticket) string
	SafetyCheck(t store.Ticket) string
}

// Accounts is what the console needs from the staff service
// (*staff.Service implements it).
type Accounts interface {
	Add(ctx context.Context, name, role string) (password string, err error)
	Remove(ctx context.Context, name string) error
	List(ctx context.Context) ([]store.Staff, error)
	ResetPassword(ctx context.Context, name string) (password string, err error)
	NewToken(ctx context.Context, name string) (token string, err error)
	Login(ctx context.Context, name, password, clientKey string) (sessionID, csrf string, err error)
	LoginRefused(ctx context.Context, name, clientKey string) bool
	Session(ctx context.Context, sessionID string) (moderation.Actor, store.Session, error)
	Token(ctx context.Context, token string) (moderation.Actor, error)
	Logout(ctx context.Context, sessionID string) error
}

var (
	_ Moderation = (*moderation.Service)(nil)
	_ Accounts   = (*staff.Service)(nil)
)

// FAQEntry is one curated entry as the console shows it: the question names
// a matcher candidate, the answer is rendered with the clinic's variables.
type FAQEntry struct {
	ID       string
	Question string
	Answer   string
}

// FAQ looks up a curated entry as it is now. It is asked on every view,
// not copied at start, because the content is hot-reloaded while the
// console runs: an entry added or reworded on disk shows at once.
type FAQ interface {
	FAQEntry(id string) (FAQEntry, bool)
}

// FAQList is a fixed FAQ (tests, or content that never changes).
type FAQList []FAQEntry

// FAQEntry returns the entry with id.
func (l FAQList) FAQEntry(id string) (FAQEntry, bool) {
	for _, e := range l {
		if e.ID == id {
			return e, true
		}
	}
	return FAQEntry{}, false
}

var _ FAQ = FAQList(nil)

// Options configure a Console.
type Options struct {
	Moderation Moderation // required
	Accounts   Accounts   // required
	// FAQ names the matcher's candidates on the ticket view (nil: they
	// are shown by id).
	FAQ FAQ
	// DraftsDir is where "Turn into FAQ draft" writes
	// <DraftsDir>/<locale>/<id>.yaml; when empty the draft is offered as a
	// download instead.
	DraftsDir string
	Logger    *slog.Logger
	// SecureCookies marks cookies Secure; set it whenever the console is
	// served over HTTPS (directly or behind a TLS-terminating proxy).
	SecureCookies bool
	// ClientIP finds the client address the login limit keys on, behind
	// the operator's trusted proxies (nil: the connection's).
	ClientIP *clientip.Resolver
	// Crisis shows, on urgent and concern tickets, what the asker was
	// shown and the safety-check reply (nil: the panel shows the tier, the
	// kind, the reason and the timer only).
	Crisis CrisisGuide
	// UrgentResponse and ConcernResponse are how soon the clinic promises
	// a person reads and answers an urgent or a concern ticket; the crisis
	// panel counts down against them (defaults 15 minutes and 4 hours).
	UrgentResponse, ConcernResponse time.Duration
	// Feedback reads the per-entry counts for the feedback page (nil: no
	// page).
	Feedback FeedbackReader
	// Once records used login form tokens (store.Store.Once, so replicas
	// share them); nil: in memory.
	Once OnceStore
	// WeakScore: matcher candidates scored under it are folded away on the
	// ticket page; serve passes the matcher's calibrated suggest threshold
	// (default 0.08).
	WeakScore float64
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// Console serves the staff console and the staff API.
type Console struct {
	mod      Moderation
	acc      Accounts
	faq      FAQ
	drafts   string
	log      *slog.Logger
	secure   bool
	clientIP *clientip.Resolver
	crisis   CrisisGuide
	respond  map[int]time.Duration // by store.Ticket.SafetyRank
	weak     float64
	once     OnceStore
	feedback FeedbackReader
	now      func() time.Time
	pages    map[string]*template.Template
	done     chan struct{}
	closing  sync.Once
}

// faqEntry is the entry with id, or a zero one when the FAQ no longer has
// it (a ticket outlives a reload that removed its candidate).
func (c *Console) faqEntry(id string) FAQEntry {
	e, _ := c.faq.FAQEntry(id)
	return e
}

// New checks the options and parses the embedded templates.
func New(opts Options) (*Console, error) {
	if opts.Moderation == nil || opts.Accounts == nil {
		return nil, errors.New("console: Options.Moderation and Options.Accounts are required")
	}
	c := &Console{
		mod:      opts.Moderation,
		acc:      opts.Accounts,
		faq:      opts.FAQ,
		drafts:   opts.DraftsDir,
		log:      opts.Logger,
		secure:   opts.SecureCookies,
		clientIP: opts.ClientIP,
		crisis:   opts.Crisis,
		weak:     cmp.Or(opts.WeakScore, 0.08),
		respond: map[int]time.Duration{
			store.RankUrgent:  cmp.Or(opts.UrgentResponse, 15*time.Minute),
			store.RankConcern: cmp.Or(opts.ConcernResponse, 4*time.Hour),
		},
		now:  opts.Now,
		done: make(chan struct{}),
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.once = opts.Once
	c.feedback = opts.Feedback
	if c.once == nil {
		c.once = &memOnce{seen: map[string]time.Time{}, now: c.now}
	}
	if c.faq == nil {
		c.faq = FAQList(nil)
	}
	pages, err := parsePages()
	if err != nil {
		return nil, fmt.Errorf("console: templates: %w", err)
	}
	c.pages = pages
	return c, nil
}

// Close ends the live-count streams (Server-Sent Events) so that a graceful
// http.Server.Shutdown need not wait for them: wire it with
// srv.RegisterOnShutdown(console.Close). Safe to call more than once.
func (c *Console) Close() { c.closing.Do(func() { close(c.done) }) }

// Register adds the console's and the staff API's routes to mux. It does not
// register anything under /api/v1/chat/, which belongs to the web chat.
func (c *Console) Register(mux *http.ServeMux) {
	// HTML console.
	mux.HandleFunc("GET /console", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
	})
	mux.Handle("GET /console/{$}", c.page(c.queuePage, roleAny))
	mux.HandleFunc("GET /console/login", c.html(c.loginForm))
	mux.HandleFunc("POST /console/login", c.html(c.loginSubmit))
	mux.Handle("POST /console/logout", c.form(c.logout, roleAny))
	mux.Handle("GET /console/events", c.page(c.events, roleAny))
	mux.Handle("GET /console/tickets/{id}", c.page(c.ticketPage, roleAny))
	mux.Handle("GET /console/history", c.page(c.historyPage, roleAny))
	mux.Handle("GET /console/gaps", c.page(c.gapsPage, roleAny))
	if c.feedback != nil {
		mux.Handle("GET /console/feedback", c.page(c.feedbackPage, roleAny))
		mux.Handle("GET /console/feedback.csv", c.page(c.feedbackCSV, roleAny))
	}
	mux.Handle("POST /console/tickets/{id}/claim", c.form(c.ticketAction(actClaim), roleActor))
	mux.Handle("POST /console/tickets/{id}/release", c.form(c.ticketAction(actRelease), roleActor))
	mux.Handle("POST /console/tickets/{id}/answer", c.form(c.ticketAction(actAnswer), roleActor))
	mux.Handle("POST /console/tickets/{id}/preview", c.form(c.ticketAction(actPreview), roleActor))
	mux.Handle("POST /console/tickets/{id}/reject", c.form(c.ticketAction(actReject), roleActor))
	mux.Handle("POST /console/tickets/{id}/block", c.form(c.ticketAction(actBlock), roleActor))
	mux.Handle("POST /console/tickets/{id}/escalate", c.form(c.ticketAction(actEscalate), roleActor))
	mux.Handle("POST /console/tickets/{id}/safety-check", c.form(c.ticketAction(actSafetyCheck), roleActor))
	mux.Handle("POST /console/tickets/{id}/faq-draft", c.form(c.faqDraft, roleCurator))
	mux.Handle("GET /console/staff", c.page(c.staffPage, roleAdmin))
	mux.Handle("POST /console/staff", c.form(c.staffAdd, roleAdmin))
	mux.Handle("POST /console/staff/{name}/remove", c.form(c.staffRemove, roleAdmin))
	mux.Handle("POST /console/staff/{name}/token", c.form(c.staffToken, roleAdmin))
	mux.Handle("POST /console/staff/{name}/password", c.form(c.staffPassword, roleAdmin))
	mux.HandleFunc("GET /console/static/{file}", c.static)
	mux.HandleFunc("/console/", c.html(c.notFoundPage))

	// Staff JSON API.
	mux.Handle("GET /api/v1/tickets", c.api(c.apiTickets, roleAny))
	mux.Handle("GET /api/v1/tickets/{id}", c.api(c.apiTicket, roleAny))
	mux.Handle("POST /api/v1/tickets/{id}/claim", c.api(c.apiClaim, roleActor))
	mux.Handle("POST /api/v1/tickets/{id}/release", c.api(c.apiRelease, roleActor))
	mux.Handle("POST /api/v1/tickets/{id}/answer", c.api(c.apiAnswer, roleActor))
	mux.Handle("POST /api/v1/tickets/{id}/reject", c.api(c.apiReject, roleActor))
	mux.Handle("POST /api/v1/tickets/{id}/block", c.api(c.apiBlock, roleActor))
	mux.Handle("POST /api/v1/preview", c.api(c.apiPreview, roleAny))
	mux.Handle("GET /api/v1/staff", c.api(c.apiStaffList, roleAdmin))
	mux.Handle("POST /api/v1/staff", c.api(c.apiStaffAdd, roleAdmin))
	mux.Handle("GET /api/v1/staff/me", c.api(c.apiMe, roleAny))
	mux.Handle("DELETE /api/v1/staff/{name}", c.api(c.apiStaffRemove, roleAdmin))
	mux.Handle("POST /api/v1/staff/{name}/token", c.api(c.apiStaffToken, roleAny)) // admin, or yourself
	mux.Handle("POST /api/v1/staff/{name}/password", c.api(c.apiStaffPassword, roleAdmin))
	// Anything else under our API prefixes gets a JSON 404 rather than the
	// mux's plain-text one, so API clients always get the documented shape.
	mux.HandleFunc("/api/v1/tickets", c.apiNotFound)
	mux.HandleFunc("/api/v1/tickets/", c.apiNotFound)
	mux.HandleFunc("/api/v1/staff", c.apiNotFound)
	mux.HandleFunc("/api/v1/staff/", c.apiNotFound)
	mux.HandleFunc("/api/v1/preview", c.apiNotFound)
}
