package console

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/candid-app/candid/internal/markup"
	"github.com/candid-app/candid/internal/moderation"
	"github.com/candid-app/candid/internal/staff"
	"github.com/candid-app/candid/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

func parsePages() (map[string]*template.Template, error) {
	pages := map[string]*template.Template{}
	for _, name := range []string{"login", "queue", "ticket", "staff", "error", "history", "feedback", "gaps"} {
		t, err := template.New(name).Funcs(template.FuncMap{"candArgs": candArgs}).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		pages[name] = t
	}
	return pages, nil
}

// candArgs hands the candidate template its candidate and the page (for
// the ticket's ID, what the moderator may do, and the CSRF token).
func candArgs(p *page, c candidateView) struct {
	P *page
	C candidateView
} {
	return struct {
		P *page
		C candidateView
	}{p, c}
}

// page is what every template receives; the page-specific part is in one
// of the pointer fields.
type page struct {
	Title string
	Nav   string
	Actor moderation.Actor
	CSRF  string
	Flash string
	Error string
	Stats statsJSON

	Queue       []queueRow
	Undelivered []queueRow
	Filter      *queueFilter
	History     *historyData
	Feedback    *feedbackData
	Gaps        *gapsData
	Ticket      *ticketData
	Login       *loginData
	Staff       *staffData
}

type queueRow struct {
	ID, Excerpt, Category, State, StateLabel, Age, ClaimedBy, Delivery string
	Tier, Why                                                          string
	Urgent                                                             bool
}

type ticketData struct {
	T                               ticketJSON
	Short, StateLabel, Age, Created string
	ClaimLapse, DeliveryLabel       string
	DeliveryFailed, Terminal        bool
	CanAct, CanAnswer, CanCurate    bool
	CanBlock                        bool
	Category, Why                   string
	ClaimedByMe, ClaimedByOther     bool
	Candidates                      []candidateView
	Reasons                         []moderation.Reason
	Audit                           []auditRow
	AnswerText                      string
	Preview, SentHTML, DraftHTML    template.HTML
	RejectLabel                     string
	Booking, HasPreview             bool
	CanDraft, DraftsToDir           bool
	DraftHint                       string
	Crisis                          *crisisView
	Strong, Weak                    []candidateView
}

type candidateView struct {
	FAQID, Question, Score string
	HTML                   template.HTML
	// Weak: the matcher scored it under its suggest threshold; the page
	// folds it away so that a weak guess is not one click from sending.
	Weak bool
}

type auditRow struct {
	At, AtISO, Actor, Action, Change, Note string
}

type loginData struct {
	Name, Next, Token string
}

type staffData struct {
	Rows    []staffRow
	Secret  *secretView
	AddName string
}

type staffRow struct {
	Name, Role, Since string
	Disabled, Self    bool
}

type secretView struct {
	Kind, Name, Value string
}

// newPage starts a page for a signed-in staff member, with the queue counts
// for the header.
func (c *Console) newPage(r *http.Request, p principal, title, nav string) *page {
	pg := &page{Title: title, Nav: nav, Actor: p.Actor, CSRF: p.csrf}
	if _, stats, err := c.mod.Queue(r.Context()); err == nil {
		pg.Stats = statsView(stats)
	}
	return pg
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, pg *page) {
	var buf bytes.Buffer
	if err := c.pages[name].ExecuteTemplate(&buf, "layout", pg); err != nil {
		c.log.ErrorContext(r.Context(), "console template failed", "page", name, "err", err)
		http.Error(w, "the console could not render this page: tell the operator", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// fail renders an error page for err; p may be nil before login.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, p *principal, err error) {
	status, _, msg := classify(err)
	if status == http.StatusInternalServerError {
		c.log.ErrorContext(r.Context(), "console request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "900")
	}
	pg := &page{Title: http.StatusText(status)}
	if p != nil {
		pg = c.newPage(r, *p, http.StatusText(status), "")
	}
	pg.Error = msg
	c.render(w, r, status, "error", pg)
}

// html wraps a handler that needs no session.
func (c *Console) html(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		secureHeaders(w, cspHTML)
		h(w, r)
	}
}

// page wraps a GET handler that needs a signed-in staff member with a role.
func (c *Console) page(h func(http.ResponseWriter, *http.Request, principal), need access) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secureHeaders(w, cspHTML)
		p, err := c.session(r)
		if errors.Is(err, errNoAuth) {
			c.toLogin(w, r)
			return
		}
		if err != nil {
			c.fail(w, r, nil, err)
			return
		}
		if !need.allows(p.Role) {
			c.fail(w, r, &p, need.forbidden(p.Role))
			return
		}
		h(w, r, p)
	})
}

// form wraps a POST handler: session, body limit, CSRF token, role.
func (c *Console) form(h func(http.ResponseWriter, *http.Request, principal), need access) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secureHeaders(w, cspHTML)
		p, err := c.session(r)
		if errors.Is(err, errNoAuth) {
			c.toLogin(w, r)
			return
		}
		if err != nil {
			c.fail(w, r, nil, err)
			return
		}
		if err := parseForm(w, r); err != nil {
			c.fail(w, r, &p, err)
			return
		}
		if crossSite(r) {
			c.fail(w, r, &p, errCrossSite)
			return
		}
		if !csrfEqual(r.PostFormValue(csrfField), p.csrf) {
			c.fail(w, r, &p, errCSRF)
			return
		}
		if !need.allows(p.Role) {
			c.fail(w, r, &p, need.forbidden(p.Role))
			return
		}
		h(w, r, p)
	})
}

func parseForm(w http.ResponseWriter, r *http.Request) error {
	if r.ContentLength > maxBody {
		return &httpErr{status: http.StatusRequestEntityTooLarge, code: "too_large", msg: "the form is too large"}
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &httpErr{status: http.StatusRequestEntityTooLarge, code: "too_large", msg: "the form is too large"}
		}
		return badRequest("the form could not be read: reload the page and try again")
	}
	return nil
}

// toLogin sends a visitor without a session to the login page, coming back
// afterwards to a GET page they asked for.
func (c *Console) toLogin(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Accept") == "text/event-stream" {
		http.Error(w, "not signed in", http.StatusUnauthorized)
		return
	}
	target := "/console/login"
	if r.Method == http.MethodGet && r.URL.Path != "/console/" {
		target += "?next=" + url.QueryEscape(r.URL.Path)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// safeNext accepts only a path inside the console as the place to go after
// login, so the login page cannot be used as an open redirect.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil ||
		!strings.HasPrefix(next, "/console/") || strings.Contains(next, "//") ||
		strings.ContainsAny(next, "\\\r\n") || strings.HasPrefix(next, "/console/login") {
		return "/console/"
	}
	return next
}

func (c *Console) notFoundPage(w http.ResponseWriter, r *http.Request) {
	pg := &page{Title: "Not found", Error: "there is no such page in the console"}
	if p, err := c.session(r); err == nil {
		pg = c.newPage(r, p, "Not found", "")
		pg.Error = "there is no such page in the console"
	}
	c.render(w, r, http.StatusNotFound, "error", pg)
}

func (c *Console) static(w http.ResponseWriter, r *http.Request) {
	secureHeaders(w, cspHTML)
	name := r.PathValue("file")
	switch name {
	case "console.css", "console.js":
	default:
		http.NotFound(w, r)
		return
	}
	http.ServeFileFS(w, r, staticFS, "static/"+name)
}

// ---- login ----------------------------------------------------------------

// loginForm always shows the form, even to a browser with a valid session:
// logging in again (as someone else, say) must be possible, and it ends
// the session the browser had.
func (c *Console) loginForm(w http.ResponseWriter, r *http.Request) {
	pg := &page{Title: "Log in", Login: &loginData{Next: safeNext(r.URL.Query().Get("next"))}}
	if r.URL.Query().Get("bye") != "" {
		pg.Flash = "You are logged out."
	}
	c.renderLogin(w, r, http.StatusOK, pg)
}

// renderLogin renders the login page with a fresh login CSRF token in a
// cookie and in the form (double submit).
func (c *Console) renderLogin(w http.ResponseWriter, r *http.Request, status int, pg *page) {
	tok := randomToken()
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: tok, Path: "/console/login", MaxAge: 3600,
		HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteStrictMode})
	pg.Login.Token = tok
	c.render(w, r, status, "login", pg)
}

func (c *Console) loginSubmit(w http.ResponseWriter, r *http.Request) {
	pg := &page{Title: "Log in", Login: &loginData{}}
	if err := parseForm(w, r); err != nil {
		status, _, msg := classify(err)
		pg.Error = msg
		c.renderLogin(w, r, status, pg)
		return
	}
	pg.Login.Next = safeNext(r.PostFormValue("next"))
	name, password := r.PostFormValue("name"), r.PostFormValue("password")
	if utf8ok(name) {
		pg.Login.Name = name
	}
	ck, err := r.Cookie(loginCookie)
	if crossSite(r) || err != nil || !csrfEqual(r.PostFormValue(csrfField), ck.Value) {
		pg.Error = "the login form expired, was already used, or came from another site: try again"
		c.renderLogin(w, r, http.StatusForbidden, pg)
		return
	}
	// A spent failure budget refuses before the one-use token is recorded
	// (a store write) and before any password work: under a flood of
	// guesses each costs a counter read.
	if c.acc.LoginRefused(r.Context(), strings.TrimSpace(name), c.clientKey(r)) {
		w.Header().Set("Retry-After", "900")
		pg.Error = "too many login attempts: wait 15 minutes and try again, or ask an admin to reset your password"
		c.renderLogin(w, r, http.StatusTooManyRequests, pg)
		return
	}
	if !c.useLoginToken(r.Context(), ck.Value) {
		pg.Error = "the login form expired, was already used, or came from another site: try again"
		c.renderLogin(w, r, http.StatusForbidden, pg)
		return
	}
	if !utf8ok(name) || !utf8ok(password) || strings.TrimSpace(name) == "" || password == "" ||
		len(name) > 64 || len(password) > 256 {
		pg.Error = "enter your name and password"
		c.renderLogin(w, r, http.StatusBadRequest, pg)
		return
	}
	id, _, err := c.acc.Login(r.Context(), strings.TrimSpace(name), password, c.clientKey(r))
	switch {
	case errors.Is(err, staff.ErrRateLimited):
		w.Header().Set("Retry-After", "900")
		pg.Error = "too many login attempts: wait 15 minutes and try again, or ask an admin to reset your password"
		c.renderLogin(w, r, http.StatusTooManyRequests, pg)
		return
	case errors.Is(err, staff.ErrBusy):
		w.Header().Set("Retry-After", "5")
		pg.Error = "the console is busy checking other logins: try again in a few seconds"
		c.renderLogin(w, r, http.StatusServiceUnavailable, pg)
		return
	case errors.Is(err, staff.ErrBadLogin), err != nil && isAuthErr(err):
		pg.Error = "wrong name or password"
		c.renderLogin(w, r, http.StatusUnauthorized, pg)
		return
	case err != nil:
		c.log.ErrorContext(r.Context(), "console login failed", "err", err)
		pg.Error = "the login could not be checked because of a server problem: try again, and tell the operator if it keeps happening"
		c.renderLogin(w, r, http.StatusInternalServerError, pg)
		return
	}
	// No session fixation: the session ID always comes fresh from Login, and
	// a session the browser already had is ended rather than kept.
	if old, err := r.Cookie(sessionCookie); err == nil && validCookieValue(old.Value) && old.Value != id {
		if err := c.acc.Logout(r.Context(), old.Value); err != nil && !isAuthErr(err) {
			c.log.WarnContext(r.Context(), "ending the previous console session failed", "err", err)
		}
	}
	c.setSessionCookies(w, id)
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "", Path: "/console/login", MaxAge: -1,
		HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, pg.Login.Next, http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, p principal) {
	if err := c.acc.Logout(r.Context(), p.session); err != nil && !isAuthErr(err) {
		c.fail(w, r, &p, err)
		return
	}
	c.clearSessionCookies(w)
	http.Redirect(w, r, "/console/login?bye=1", http.StatusSeeOther)
}

// ---- queue ----------------------------------------------------------------

func (c *Console) queuePage(w http.ResponseWriter, r *http.Request, p principal) {
	ts, stats, err := c.mod.Queue(r.Context())
	if err != nil {
		c.fail(w, r, &p, err)
		return
	}
	waiting, undelivered := splitQueue(ts)
	now := c.now()
	row := func(t store.Ticket) queueRow {
		row := queueRow{ID: t.ID, Excerpt: excerpt(t.Question, 160), Category: categoryLabel(t.Category), State: string(t.State),
			StateLabel: stateLabel(t.State), Age: humanAge(now.Sub(t.CreatedAt)), Urgent: t.Urgent,
			Tier: tierOf(t), Why: t.WhyLabel()}
		if t.State == store.TicketClaimed {
			row.ClaimedBy = t.ClaimedBy
		}
		if strings.HasPrefix(t.Delivery, "failed") {
			row.Delivery = deliveryLabel(t.Delivery)
			row.Excerpt = excerpt(t.Question, 100)
		}
		return row
	}
	pg := &page{Title: "Queue", Nav: "queue", Actor: p.Actor, CSRF: p.csrf, Stats: statsView(stats)}
	f := parseQueueFilter(r.URL.Query())
	pg.Filter = &f
	for _, t := range waiting {
		if f.keep(t, p.Name) {
			pg.Queue = append(pg.Queue, row(t))
		}
	}
	for _, t := range undelivered {
		pg.Undelivered = append(pg.Undelivered, row(t))
	}
	c.render(w, r, http.StatusOK, "queue", pg)
}

// ---- ticket ---------------------------------------------------------------

type ticketAct int

const (
	actClaim ticketAct = iota
	actRelease
	actAnswer
	actPreview
	actReject
	actBlock
	actEscalate
	actSafetyCheck
)

// doneMessage is the confirmation after an action (a fixed set, so the
// query parameter cannot inject text into the page).
func doneMessage(code string) string {
	switch code {
	case "claimed":
		return "You claimed this ticket. Other moderators see that you are answering it."
	case "released":
		return "You released the ticket; it is back in the queue."
	case "answered":
		return "Answer sent. Its delivery to the asker is shown below."
	case "booked":
		return "Booking recommendation sent."
	case "rejected":
		return "Ticket rejected; the asker was told why."
	case "blocked":
		return "The asker is blocked. You never saw who they are."
	case "blocked-closed":
		return "The asker is blocked and the ticket is closed as abusive. You never saw who they are."
	case "escalated":
		return "The on-call clinician was alerted; it is recorded in the history below."
	case "safety-check":
		return "Safety check sent. Its delivery to the asker is shown below; their reply comes in as a follow-up."
	}
	return ""
}

// formState keeps what a moderator typed when an action fails, so that a
// conflict never loses a written answer.
type formState struct {
	text    string
	booking bool
	preview *string
}

func (c *Console) ticketPage(w http.ResponseWriter, r *http.Request, p principal) {
	id := r.PathValue("id")
	c.renderTicket(w, r, p, id, http.StatusOK, doneMessage(r.URL.Query().Get("done")), "", formState{})
}

func (c *Console) renderTicket(w http.ResponseWriter, r *http.Request, p principal, id string, status int, flash, errMsg string, fs formState) {
	if !validID(id) {
		c.fail(w, r, &p, store.ErrNotFound)
		return
	}
	t, err := c.mod.Ticket(r.Context(), id)
	if err != nil {
		c.fail(w, r, &p, err)
		return
	}
	audit, err := c.mod.Audit(r.Context(), id)
	if err != nil {
		c.fail(w, r, &p, err)
		return
	}
	now := c.now()
	v := c.ticketView(t)
	d := &ticketData{
		T: v, Short: shortID(t.ID), StateLabel: stateLabel(t.State), Age: humanAge(now.Sub(t.CreatedAt)),
		Created: t.CreatedAt.UTC().Format(time.RFC3339), DeliveryLabel: deliveryLabel(t.Delivery),
		DeliveryFailed: strings.HasPrefix(t.Delivery, "failed"), Terminal: t.State.Terminal(),
		CanAct: roleActor.allows(p.Role), CanCurate: roleCurator.allows(p.Role),
		ClaimedByMe:    t.State == store.TicketClaimed && t.ClaimedBy == p.Name,
		ClaimedByOther: t.State == store.TicketClaimed && t.ClaimedBy != p.Name,
		Reasons:        c.mod.RejectReasons(), AnswerText: fs.text, Booking: fs.booking,
		DraftsToDir: c.drafts != "",
	}
	if t.State == store.TicketClaimed && t.ClaimExpires.After(now) {
		d.ClaimLapse = humanAge(t.ClaimExpires.Sub(now))
	}
	d.CanAnswer = d.CanAct && !d.Terminal && !d.ClaimedByOther
	// Abuse may only show after an answer, so blocking stays possible until
	// the asker's data is gone.
	d.CanBlock = d.CanAct && t.State != store.TicketForgotten && t.State != store.TicketExpired && !d.ClaimedByOther
	d.Category = categoryLabel(t.Category)
	d.Why = t.WhyLabel()
	if fs.preview != nil {
		d.Preview, d.HasPreview = askerHTML(*fs.preview), true
	}
	d.SentHTML, d.DraftHTML = askerHTML(t.Answer), askerHTML(t.Draft)
	for _, reason := range d.Reasons {
		if reason.Code == t.RejectReason {
			d.RejectLabel = reason.Label
		}
	}
	if d.RejectLabel == "" {
		d.RejectLabel = t.RejectReason
	}
	for _, cand := range v.Candidates {
		cv := candidateView{FAQID: cand.FAQID, Question: cand.Question, Score: strconv.FormatFloat(cand.Score, 'f', 2, 64),
			Weak: cand.Score < c.weak}
		if cv.Question == "" {
			cv.Question = cand.FAQID
		}
		text, err := c.mod.Preview(moderation.Answer{FAQID: cand.FAQID})
		if err != nil {
			text = c.faqEntry(cand.FAQID).Answer
		}
		cv.HTML = askerHTML(text)
		d.Candidates = append(d.Candidates, cv)
		if cv.Weak {
			d.Weak = append(d.Weak, cv)
		} else {
			d.Strong = append(d.Strong, cv)
		}
	}
	for _, a := range audit {
		row := auditRow{At: a.At.UTC().Format("2006-01-02 15:04 UTC"), AtISO: a.At.UTC().Format(time.RFC3339),
			Actor: a.Actor, Action: a.Action, Note: a.Note}
		if a.From != a.To && a.To != "" {
			row.Change = string(a.From) + " → " + string(a.To)
			if a.From == "" {
				row.Change = string(a.To)
			}
		}
		d.Audit = append(d.Audit, row)
	}
	d.CanDraft, d.DraftHint = draftable(t)
	d.Crisis = c.crisisPanel(t, d, audit, now)
	pg := c.newPage(r, p, "Question "+d.Short, "queue")
	pg.Flash, pg.Error, pg.Ticket = flash, errMsg, d
	c.render(w, r, status, "ticket", pg)
}

// askerHTML renders text in the FAQ's Markdown subset as the web chat shows
// it to the asker. markup escapes everything it does not render itself.
func askerHTML(text string) template.HTML {
	if text == "" {
		return ""
	}
	return template.HTML(markup.HTML(text))
}

// shortID is enough of a ticket ID for people to tell tickets apart.
func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func (c *Console) ticketAction(act ticketAct) func(http.ResponseWriter, *http.Request, principal) {
	return func(w http.ResponseWriter, r *http.Request, p principal) {
		id := r.PathValue("id")
		if !validID(id) {
			c.fail(w, r, &p, store.ErrNotFound)
			return
		}
		ctx := r.Context()
		fs := formState{text: r.PostFormValue("text"), booking: r.PostFormValue("booking") != ""}
		if !utf8ok(fs.text) {
			fs.text = ""
		}
		var (
			err  error
			done string
		)
		switch act {
		case actClaim:
			_, err = c.mod.Claim(ctx, p.Actor, id)
			done = "claimed"
		case actRelease:
			_, err = c.mod.Release(ctx, p.Actor, id)
			done = "released"
		case actAnswer, actPreview:
			ans := moderation.Answer{Text: r.PostFormValue("text"), FAQID: r.PostFormValue("faq_id"), Booking: fs.booking}
			ans, err = validAnswer(ans)
			if err == nil && act == actPreview {
				var text string
				if text, err = c.mod.Preview(ans); err == nil {
					fs.preview = &text
					c.renderTicket(w, r, p, id, http.StatusOK, "", "", fs)
					return
				}
			} else if err == nil {
				var t store.Ticket
				t, err = c.mod.Answer(ctx, p.Actor, id, ans)
				done = "answered"
				if err == nil && t.State == store.TicketBooked {
					done = "booked"
				}
			}
		case actReject:
			reason := r.PostFormValue("reason")
			if err = c.validReason(reason); err == nil {
				_, err = c.mod.Reject(ctx, p.Actor, id, reason)
				done = "rejected"
			}
		case actBlock:
			days, convErr := strconv.Atoi(r.PostFormValue("days"))
			if convErr != nil || days < 1 || days > maxBlockDays {
				err = invalid("choose how long to block the asker (1 to %d days)", maxBlockDays)
			} else {
				err = c.mod.BlockAsker(ctx, p.Actor, id, time.Duration(days)*24*time.Hour)
				done = "blocked"
				// Block and close in one action, so the abusive ticket
				// leaves the queue (never an urgent one: it stays for a
				// person to read; moderation refuses it anyway).
				if err == nil && r.PostFormValue("close") != "" {
					if t, terr := c.mod.Ticket(ctx, id); terr == nil && !t.State.Terminal() && t.SafetyRank() != store.RankUrgent {
						if _, err = c.mod.Reject(ctx, p.Actor, id, "abuse"); err == nil {
							done = "blocked-closed"
						}
					}
				}
			}
		case actEscalate:
			_, err = c.mod.Escalate(ctx, p.Actor, id)
			done = "escalated"
		case actSafetyCheck:
			err = c.sendSafetyCheck(ctx, p.Actor, id)
			done = "safety-check"
		}
		if err != nil {
			status, _, msg := classify(err)
			if status == http.StatusInternalServerError {
				c.log.ErrorContext(ctx, "console ticket action failed", "path", r.URL.Path, "err", err)
			}
			if status == http.StatusNotFound {
				c.fail(w, r, &p, err)
				return
			}
			c.renderTicket(w, r, p, id, status, "", msg, fs)
			return
		}
		http.Redirect(w, r, "/console/tickets/"+id+"?done="+done, http.StatusSeeOther)
	}
}

// ---- staff ----------------------------------------------------------------

func (c *Console) staffPage(w http.ResponseWriter, r *http.Request, p principal) {
	c.renderStaff(w, r, p, http.StatusOK, "", "", nil, "")
}

func (c *Console) renderStaff(w http.ResponseWriter, r *http.Request, p principal, status int, flash, errMsg string, secret *secretView, addName string) {
	list, err := c.acc.List(r.Context())
	if err != nil {
		c.fail(w, r, &p, err)
		return
	}
	d := &staffData{Secret: secret, AddName: addName}
	for _, s := range list {
		d.Rows = append(d.Rows, staffRow{Name: s.Name, Role: s.Role, Since: s.CreatedAt.UTC().Format(time.DateOnly),
			Disabled: s.Disabled, Self: s.Name == p.Name})
	}
	pg := c.newPage(r, p, "Staff", "staff")
	pg.Flash, pg.Error, pg.Staff = flash, errMsg, d
	c.render(w, r, status, "staff", pg)
}

func (c *Console) staffFail(w http.ResponseWriter, r *http.Request, p principal, err error, addName string) {
	status, _, msg := classify(err)
	if status == http.StatusInternalServerError {
		c.log.ErrorContext(r.Context(), "console staff action failed", "err", err)
	}
	c.renderStaff(w, r, p, status, "", msg, nil, addName)
}

func (c *Console) staffAdd(w http.ResponseWriter, r *http.Request, p principal) {
	name, role, err := validStaff(r.PostFormValue("name"), r.PostFormValue("role"))
	if err == nil {
		var pw string
		if pw, err = c.acc.Add(r.Context(), name, role); err == nil {
			c.log.InfoContext(r.Context(), "staff account added", "by", p.Name, "name", name, "role", role)
			c.renderStaff(w, r, p, http.StatusOK, fmt.Sprintf("Added %s (%s).", name, role), "",
				&secretView{Kind: "password", Name: name, Value: pw}, "")
			return
		}
	}
	c.staffFail(w, r, p, err, r.PostFormValue("name"))
}

func (c *Console) staffRemove(w http.ResponseWriter, r *http.Request, p principal) {
	name, err := staffName(r)
	if err != nil {
		c.staffFail(w, r, p, err, "")
		return
	}
	if name == p.Name {
		c.staffFail(w, r, p, &httpErr{status: http.StatusConflict, code: "conflict", msg: "you cannot remove your own account: ask another admin"}, "")
		return
	}
	if err := c.acc.Remove(r.Context(), name); err != nil {
		c.staffFail(w, r, p, err, "")
		return
	}
	c.log.InfoContext(r.Context(), "staff account removed", "by", p.Name, "name", name)
	c.renderStaff(w, r, p, http.StatusOK, "Removed "+name+". Their sessions and tokens no longer work.", "", nil, "")
}

func (c *Console) staffToken(w http.ResponseWriter, r *http.Request, p principal) {
	name, err := staffName(r)
	if err != nil {
		c.staffFail(w, r, p, err, "")
		return
	}
	tok, err := c.acc.NewToken(r.Context(), name)
	if err != nil {
		c.staffFail(w, r, p, err, "")
		return
	}
	c.log.InfoContext(r.Context(), "staff API token issued", "by", p.Name, "name", name)
	c.renderStaff(w, r, p, http.StatusOK, "", "", &secretView{Kind: "API token", Name: name, Value: tok}, "")
}

func (c *Console) staffPassword(w http.ResponseWriter, r *http.Request, p principal) {
	name, err := staffName(r)
	if err != nil {
		c.staffFail(w, r, p, err, "")
		return
	}
	pw, err := c.acc.ResetPassword(r.Context(), name)
	if err != nil {
		c.staffFail(w, r, p, err, "")
		return
	}
	c.log.InfoContext(r.Context(), "staff password reset", "by", p.Name, "name", name)
	c.renderStaff(w, r, p, http.StatusOK, "", "", &secretView{Kind: "password", Name: name, Value: pw}, "")
}
