// Package web owns the asker's web chat: the accessible chat page (works
// without JavaScript; scripts only enhance it), its JSON API for clinics that
// embed the chat in their own site, and the anonymous session cookie.
//
// The chat knows an asker only by a random cookie value, turned into a handle
// with the server's key; the cookie value itself is never stored or logged.
package web

import (
	"crypto/subtle"
	"github.com/candid-app/candid/internal/clientip"

	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/candid-app/candid/internal/conversation"
	"github.com/candid-app/candid/internal/identity"
	"github.com/candid-app/candid/internal/markup"
	"github.com/candid-app/candid/internal/ratelimit"
	"github.com/candid-app/candid/internal/store"
)

// Limits on what the chat accepts.
const (
	MaxBody     = 16 << 10 // a question is at most a few KB; anything bigger is refused unread
	CookieName  = "candid_session"
	historySize = 200
)

// Engine is the conversation engine as the web chat uses it
// (*conversation.Engine implements it). Refused is what a message the rate
// limits stopped goes to instead: safety comes before every limit, so a
// limited asker in danger still gets the help (see conversation.Engine.Refused).
type Engine interface {
	Handle(ctx context.Context, in conversation.Inbound) ([]conversation.Reply, error)
	Refused(ctx context.Context, in conversation.Inbound, refusal string) ([]conversation.Reply, error)
	History(ctx context.Context, handle string, limit int) ([]store.Message, error)
	PrivacyNotice() string
}

// Options configure the chat.
type Options struct {
	Engine        Engine
	Keys          *identity.Keys
	Logger        *slog.Logger
	ClinicName    string
	EmergencyLine string
	Region        string
	// SecureCookies marks the session cookie Secure; set it whenever the
	// chat is served over HTTPS (always, in production).
	SecureCookies bool
	// CookieTTL is how long the browser keeps the session (default 30 days,
	// the conversation retention).
	CookieTTL time.Duration
	// PerMinute and Burst limit each asker (default 20 a minute, burst 10);
	// each client address gets five times that.
	PerMinute float64
	Burst     int
	// Limits makes the limiter called name ("asker", "client") with the
	// given rate and burst. Nil: in memory, per process. Several replicas
	// pass shared ones (redisstore.Store.Limiter), or each would allow the
	// full rate.
	Limits func(name string, perSecond float64, burst int) Limiter
	// ClientIP finds the client address the per-client limit keys on,
	// behind the operator's trusted proxies (nil: the connection's).
	ClientIP *clientip.Resolver
	Now      func() time.Time
}

// Limiter takes one event for a key: ratelimit.Limiter in memory, or
// redisstore.Limiter shared by replicas.
type Limiter interface {
	Allow(ctx context.Context, key string) (bool, time.Duration)
}

var _ Limiter = (*ratelimit.Limiter)(nil)

// Chat serves the web chat.
type Chat struct {
	opts   Options
	log    *slog.Logger
	tmpl   *template.Template
	asker  Limiter // per handle
	client Limiter // per client address, so fresh cookies cannot dodge the limit
}

//go:embed assets
var assets embed.FS

// New returns the chat.
func New(opts Options) (*Chat, error) {
	if opts.Engine == nil || opts.Keys == nil {
		return nil, errors.New("web: Engine and Keys are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CookieTTL <= 0 {
		opts.CookieTTL = 30 * 24 * time.Hour
	}
	if opts.PerMinute <= 0 {
		opts.PerMinute = 20
	}
	if opts.Burst <= 0 {
		opts.Burst = 10
	}
	if opts.ClinicName == "" {
		opts.ClinicName = "the clinic"
	}
	if opts.Limits == nil {
		now := opts.Now
		opts.Limits = func(_ string, perSecond float64, burst int) Limiter { return ratelimit.New(perSecond, burst, now) }
	}
	tmpl, err := template.New("").Funcs(template.FuncMap{
		"markup": func(s, kind string) template.HTML { return template.HTML(renderHTML(s, kind)) },
	}).ParseFS(assets, "assets/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	return &Chat{
		opts:   opts,
		log:    opts.Logger,
		tmpl:   tmpl,
		asker:  opts.Limits("asker", opts.PerMinute/60, opts.Burst),
		client: opts.Limits("client", opts.PerMinute*5/60, opts.Burst*5),
	}, nil
}

// Register adds the chat's routes to mux.
func (c *Chat) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", c.page)
	mux.HandleFunc("GET /privacy", c.privacyPage)
	mux.Handle("GET /static/", http.StripPrefix("/static/", c.static()))
	mux.HandleFunc("POST /chat", c.formMessage)
	mux.HandleFunc("POST /chat/action", c.formAction)
	mux.HandleFunc("POST /api/v1/chat/messages", c.apiMessage)
	mux.HandleFunc("POST /api/v1/chat/actions", c.apiAction)
	mux.HandleFunc("GET /api/v1/chat/messages", c.apiHistory)
}

func (c *Chat) static() http.Handler {
	h := http.FileServerFS(mustSub(assets, "assets"))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".html") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

var cookiePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}$`)

// The chat cookie is an ID and the server's signature of it. A value the
// server never issued (planted by someone who wants to read a victim's chat
// later, or guessed) is refused and replaced. With secure cookies the name
// carries the __Host- prefix, so that no other site or subdomain can set it.
func (c *Chat) cookieName() string {
	if c.opts.SecureCookies {
		return "__Host-" + CookieName
	}
	return CookieName
}

func (c *Chat) signCookie(id string) string {
	return id + "." + c.opts.Keys.Digest("web-cookie", id)[2:24]
}

// cookieID returns the ID of a cookie value this server signed.
func (c *Chat) cookieID(v string) (string, bool) {
	if !cookiePattern.MatchString(v) {
		return "", false
	}
	id := v[:22]
	if subtle.ConstantTimeCompare([]byte(c.signCookie(id)), []byte(v)) != 1 {
		return "", false
	}
	return id, true
}

// session returns the asker's handle, issuing a new session cookie when
// there is none (or it is not one of ours).
func (c *Chat) session(w http.ResponseWriter, r *http.Request) string {
	if h, ok := c.existingSession(r); ok {
		return h
	}
	id := identity.NewID()
	http.SetCookie(w, &http.Cookie{
		Name: c.cookieName(), Value: c.signCookie(id), Path: "/", HttpOnly: true, Secure: c.opts.SecureCookies,
		SameSite: http.SameSiteStrictMode, MaxAge: int(c.opts.CookieTTL.Seconds()),
	})
	return c.opts.Keys.Handle("web", id)
}

// pastHandles are the handles retired keys gave this browser's session (see
// conversation.Inbound.PastHandles); none for a new session.
func (c *Chat) pastHandles(r *http.Request) []string {
	ck, err := r.Cookie(c.cookieName())
	if err != nil {
		return nil
	}
	id, ok := c.cookieID(ck.Value)
	if !ok {
		return nil
	}
	return c.opts.Keys.PastHandles("web", id)
}

// existingSession is session without issuing a cookie (for reads).
func (c *Chat) existingSession(r *http.Request) (string, bool) {
	ck, err := r.Cookie(c.cookieName())
	if err != nil {
		return "", false
	}
	id, ok := c.cookieID(ck.Value)
	if !ok {
		return "", false
	}
	return c.opts.Keys.Handle("web", id), true
}

// What a limited asker is told (unless what they wrote needs help).
const (
	limitedAPIText  = "You are sending messages too quickly. Please wait a moment and try again."
	limitedFormText = "You are sending messages too quickly. Please wait a moment."
)

// noticeText gives the only texts the page shows from its address (?notice=
// carries a code, never text): a link from anyone else cannot make the
// clinic's own page show a fake message, such as a false crisis number.
func noticeText(code string) string {
	switch code {
	case "empty":
		return "Type a question first."
	case "button":
		return "That button did not work. Please try again."
	case "limited":
		return limitedFormText
	case "failed":
		return "Something went wrong and your message was not processed. Please try again."
	}
	return ""
}

// noticeURL is where a form post goes back to with a notice code.
func noticeURL(code string) string {
	if noticeText(code) == "" {
		panic("web: unknown notice code " + code) // a programming error, caught by the tests
	}
	return "/?notice=" + code + "#compose"
}

// clientKey is the keyed digest of the client's address that limits key on
// (never the address itself).
func (c *Chat) clientKey(r *http.Request) string {
	return c.opts.Keys.Digest("client", c.opts.ClientIP.Addr(r))
}

// allow applies the per-asker and per-client limits. When either refuses,
// it reports how long until both would allow.
func (c *Chat) allow(r *http.Request, handle string) (bool, time.Duration) {
	ok1, wait1 := c.asker.Allow(r.Context(), handle)
	ok2, wait2 := c.client.Allow(r.Context(), c.clientKey(r))
	if ok1 && ok2 {
		return true, 0
	}
	return false, max(wait1, wait2)
}

// refused passes an input the limits stopped to the engine, which gives a
// message that needs help the help (the resources and an urgent ticket)
// and anything else the refusal. It reports the replies when help was
// given, and nil when the asker is to be told they are limited.
func (c *Chat) refused(ctx context.Context, in conversation.Inbound, refusal string) []conversation.Reply {
	replies, err := c.opts.Engine.Refused(ctx, in, refusal)
	if err != nil {
		c.log.ErrorContext(ctx, "web chat: engine failed on a limited message", "err", err)
		return nil
	}
	if !conversation.NeedsHelp(replies) {
		return nil
	}
	return replies
}

// --- JSON API ---

type replyJSON struct {
	Kind    string         `json:"kind"`
	Text    string         `json:"text"`
	HTML    string         `json:"html"`
	FAQID   string         `json:"faq_id,omitempty"`
	Buttons []store.Button `json:"buttons"`
}

type messageJSON struct {
	ID      string         `json:"id"`
	From    string         `json:"from"`
	Kind    string         `json:"kind,omitempty"`
	Text    string         `json:"text"`
	HTML    string         `json:"html"`
	FAQID   string         `json:"faq_id,omitempty"`
	Buttons []store.Button `json:"buttons"`
	At      time.Time      `json:"at"`
}

func toJSON(rs []conversation.Reply) []replyJSON {
	out := make([]replyJSON, 0, len(rs))
	for _, r := range rs {
		b := r.Buttons
		if b == nil {
			b = []store.Button{}
		}
		out = append(out, replyJSON{Kind: string(r.Kind), Text: r.Text, HTML: renderHTML(r.Text, string(r.Kind)), FAQID: r.FAQID, Buttons: b})
	}
	return out
}

func (c *Chat) apiMessage(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Text string `json:"text"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	if strings.TrimSpace(body.Text) == "" {
		writeError(w, http.StatusUnprocessableEntity, "empty_text", `"text" is empty: type a question.`)
		return
	}
	if utf8.RuneCountInString(body.Text) > conversation.MaxQuestionRunes {
		writeError(w, http.StatusUnprocessableEntity, "text_too_long", fmt.Sprintf(`"text" is longer than %d characters: shorten it to the main question.`, conversation.MaxQuestionRunes))
		return
	}
	c.apiHandle(w, r, conversation.Inbound{Text: body.Text})
}

func (c *Chat) apiAction(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Action string `json:"action"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	if strings.TrimSpace(body.Action) == "" || len(body.Action) > 200 {
		writeError(w, http.StatusUnprocessableEntity, "invalid_action", `"action" must be one of the actions from a reply's buttons.`)
		return
	}
	c.apiHandle(w, r, conversation.Inbound{Action: body.Action})
}

// apiHandle runs one API input through the engine. A limited input gets a
// 429 (with Retry-After), unless it is a message that needs help: that one
// is answered, 200, with the help, whatever the limits say.
func (c *Chat) apiHandle(w http.ResponseWriter, r *http.Request, in conversation.Inbound) {
	handle := c.session(w, r)
	in.Handle, in.Platform, in.Locale, in.Region = handle, "web", "en", c.opts.Region
	in.PastHandles = c.pastHandles(r)
	in.Client = c.clientKey(r)
	if ok, wait := c.allow(r, handle); !ok {
		if replies := c.refused(r.Context(), in, limitedAPIText); replies != nil {
			writeJSON(w, http.StatusOK, map[string]any{"replies": toJSON(replies)})
			return
		}
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		writeError(w, http.StatusTooManyRequests, "rate_limited", limitedAPIText)
		return
	}
	replies, err := c.opts.Engine.Handle(r.Context(), in)
	if err != nil {
		c.log.ErrorContext(r.Context(), "web chat: engine failed", "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "Something went wrong on our side and your message was not processed. Please try again in a minute. In an emergency, call your local emergency number.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"replies": toJSON(replies)})
}

func (c *Chat) apiHistory(w http.ResponseWriter, r *http.Request) {
	handle, ok := c.existingSession(r)
	msgs := []messageJSON{}
	if ok {
		h, err := c.opts.Engine.History(r.Context(), handle, historySize)
		if err != nil {
			c.log.ErrorContext(r.Context(), "web chat: history failed", "err", err)
			writeError(w, http.StatusInternalServerError, "internal", "Could not load the conversation. Please try again.")
			return
		}
		for _, m := range h {
			b := m.Buttons
			if b == nil {
				b = []store.Button{}
			}
			msgs = append(msgs, messageJSON{ID: m.ID, From: m.From, Kind: m.Kind, Text: m.Text, HTML: renderHTML(m.Text, m.Kind), FAQID: m.FAQID, Buttons: b, At: m.At})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": msgs})
}

// decodeJSON enforces the API's input rules: JSON content type, a size cap,
// valid UTF-8, no unknown fields, exactly one object.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "Send JSON with Content-Type: application/json.")
		return false
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("The request body is larger than %d bytes.", MaxBody))
			return false
		}
		writeError(w, http.StatusBadRequest, "bad_request", "Could not read the request body.")
		return false
	}
	if !utf8.Valid(data) {
		writeError(w, http.StatusBadRequest, "invalid_utf8", "The request body is not valid UTF-8.")
		return false
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "malformed_json", "The request body is not valid JSON for this endpoint: "+err.Error())
		return false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "malformed_json", "Send exactly one JSON object.")
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// renderHTML renders a message as safe HTML. In a crisis reply or a
// check-in, whose text is the curated resources, phone numbers become links
// to call or text: a person in danger should not have to copy a number.
func renderHTML(text, kind string) string {
	if kind == string(conversation.KindCrisis) || kind == string(conversation.KindCheckIn) {
		return markup.HTMLPhones(text)
	}
	return markup.HTML(text)
}

// --- the page (works without JavaScript) ---

type pageData struct {
	Clinic        string
	EmergencyLine string
	Messages      []store.Message
	Notice        string
	Privacy       string
}

func (c *Chat) securityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
}

func (c *Chat) page(w http.ResponseWriter, r *http.Request) {
	c.securityHeaders(w)
	d := pageData{Clinic: c.opts.ClinicName, EmergencyLine: c.opts.EmergencyLine, Notice: noticeText(r.URL.Query().Get("notice"))}
	if handle, ok := c.existingSession(r); ok {
		msgs, err := c.opts.Engine.History(r.Context(), handle, historySize)
		if err != nil {
			c.log.ErrorContext(r.Context(), "web chat: history failed", "err", err)
		}
		d.Messages = msgs
	} else {
		c.session(w, r)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := c.tmpl.ExecuteTemplate(w, "chat.html", d); err != nil {
		c.log.ErrorContext(r.Context(), "web chat: render", "err", err)
	}
}

func (c *Chat) privacyPage(w http.ResponseWriter, r *http.Request) {
	c.securityHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	d := pageData{Clinic: c.opts.ClinicName, EmergencyLine: c.opts.EmergencyLine, Privacy: c.opts.Engine.PrivacyNotice()}
	if err := c.tmpl.ExecuteTemplate(w, "privacy.html", d); err != nil {
		c.log.ErrorContext(r.Context(), "web chat: render", "err", err)
	}
}

// sameOrigin rejects cross-site form posts (the cookie is SameSite=Strict
// too; this is the second lock).
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin" || site == "none"
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		return err == nil && u.Host == r.Host
	}
	return true // old browsers send neither; SameSite=Strict still applies
}

func (c *Chat) formMessage(w http.ResponseWriter, r *http.Request) {
	c.form(w, r, func(in *conversation.Inbound) string {
		in.Text = r.PostFormValue("text")
		if strings.TrimSpace(in.Text) == "" {
			return "empty"
		}
		return ""
	})
}

func (c *Chat) formAction(w http.ResponseWriter, r *http.Request) {
	c.form(w, r, func(in *conversation.Inbound) string {
		in.Action = r.PostFormValue("action")
		if in.Action == "" || len(in.Action) > 200 {
			return "button"
		}
		return ""
	})
}

func (c *Chat) form(w http.ResponseWriter, r *http.Request, fill func(*conversation.Inbound) string) {
	if !sameOrigin(r) {
		http.Error(w, "cross-site request refused", http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "The form could not be read (too large or malformed).", http.StatusBadRequest)
		return
	}
	handle := c.session(w, r)
	var in conversation.Inbound
	if code := fill(&in); code != "" {
		http.Redirect(w, r, noticeURL(code), http.StatusSeeOther)
		return
	}
	in.Handle, in.Platform, in.Locale, in.Region = handle, "web", "en", c.opts.Region
	in.PastHandles = c.pastHandles(r)
	in.Client = c.clientKey(r)
	in.Text = strings.ToValidUTF8(in.Text, "\uFFFD")
	if ok, _ := c.allow(r, handle); !ok {
		// The engine keeps the help in the chat's history, which the page
		// shows after the redirect.
		if c.refused(r.Context(), in, limitedFormText) != nil {
			http.Redirect(w, r, "/#latest", http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, noticeURL("limited"), http.StatusSeeOther)
		return
	}
	if _, err := c.opts.Engine.Handle(r.Context(), in); err != nil {
		c.log.ErrorContext(r.Context(), "web chat: engine failed", "err", err)
		http.Redirect(w, r, noticeURL("failed"), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/#latest", http.StatusSeeOther)
}
