package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"

	"github.com/candid-app/candid/internal/moderation"
	"github.com/candid-app/candid/internal/staff"
	"github.com/candid-app/candid/internal/store"
)

const (
	// sessionCookie holds the staff session ID. It is set twice, with
	// Path=/console and Path=/api/v1, so that the console's own scripts can
	// call the staff API with it (plus the X-CSRF-Token header) while no
	// other path of the site ever receives it.
	sessionCookie = "candid_console"
	// loginCookie carries the login form's CSRF token (double submit):
	// before login there is no session to hold one.
	loginCookie = "candid_login"
	csrfField   = "csrf"
	csrfHeader  = "X-CSRF-Token"
	// maxBody bounds every request body, form or JSON.
	maxBody = 64 << 10
)

// sessionCookiePaths are the paths the session cookie is set for.
func sessionCookiePaths() []string { return []string{"/console", "/api/v1"} }

// access is the role a route needs.
type access int

const (
	roleAny     access = iota // any signed-in staff member: view the queue and tickets
	roleActor                 // moderators and admins: act on tickets
	roleCurator               // curators and admins: turn answers into FAQ drafts
	roleAdmin                 // admins: manage staff
)

func (a access) allows(role string) bool {
	switch a {
	case roleAny:
		return moderation.ValidRole(role)
	case roleActor:
		return role == moderation.RoleModerator || role == moderation.RoleAdmin
	case roleCurator:
		return role == moderation.RoleCurator || role == moderation.RoleAdmin
	case roleAdmin:
		return role == moderation.RoleAdmin
	}
	return false
}

func (a access) who() string {
	switch a {
	case roleActor:
		return "moderators and admins"
	case roleCurator:
		return "curators and admins"
	case roleAdmin:
		return "admins"
	}
	return "staff"
}

func (a access) forbidden(role string) error {
	return &httpErr{status: http.StatusForbidden, code: "forbidden",
		msg: "your role (" + role + ") cannot do this: only " + a.who() + " can; ask an admin if you need it"}
}

// principal is the staff member behind a request.
type principal struct {
	moderation.Actor
	session string // the session cookie's value; empty for a bearer token
	csrf    string // the session's CSRF token
}

// httpErr is an error with the status, code and message the client sees.
type httpErr struct {
	status    int
	code, msg string
}

func (e *httpErr) Error() string { return e.msg }

var (
	errNoAuth = &httpErr{status: http.StatusUnauthorized, code: "unauthorized",
		msg: "not signed in: log in to the console, or send Authorization: Bearer <token> (candid user token NAME prints one)"}
	errBadToken = &httpErr{status: http.StatusUnauthorized, code: "unauthorized",
		msg: "invalid API token: ask an admin for a new one (candid user token NAME)"}
	errCSRF = &httpErr{status: http.StatusForbidden, code: "csrf",
		msg: "missing or wrong CSRF token: reload the page and try again"}
	errCrossSite = &httpErr{status: http.StatusForbidden, code: "csrf",
		msg: "cross-site request refused: use the console itself"}
)

// isAuthErr reports whether err means "not signed in" rather than "the
// server failed".
func isAuthErr(err error) bool {
	return errors.Is(err, staff.ErrNoSession) || errors.Is(err, staff.ErrBadToken) ||
		errors.Is(err, store.ErrNotFound)
}

// validCookieValue keeps hostile cookie values away from the store: session
// IDs are short URL-safe strings.
func validCookieValue(v string) bool {
	if v == "" || len(v) > 256 {
		return false
	}
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == '=') {
			return false
		}
	}
	return true
}

// session returns the principal of the request's session cookie, errNoAuth
// when there is no valid session.
func (c *Console) session(r *http.Request) (principal, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || !validCookieValue(ck.Value) {
		return principal{}, errNoAuth
	}
	a, s, err := c.acc.Session(r.Context(), ck.Value)
	if err != nil {
		if isAuthErr(err) {
			return principal{}, errNoAuth
		}
		return principal{}, err
	}
	return principal{Actor: a, session: ck.Value, csrf: s.CSRF}, nil
}

// apiAuth authenticates an API request: a bearer token, or the console's
// session cookie plus the X-CSRF-Token header on anything but GET.
func (c *Console) apiAuth(r *http.Request) (principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		tok = strings.TrimSpace(tok)
		if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" || len(tok) > 512 {
			return principal{}, &httpErr{status: http.StatusUnauthorized, code: "unauthorized",
				msg: "malformed Authorization header: send Authorization: Bearer <token>"}
		}
		a, err := c.acc.Token(r.Context(), tok)
		if err != nil {
			if isAuthErr(err) {
				return principal{}, errBadToken
			}
			return principal{}, err
		}
		return principal{Actor: a}, nil
	}
	p, err := c.session(r)
	if err != nil {
		return principal{}, err
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if crossSite(r) {
			return principal{}, errCrossSite
		}
		if !csrfEqual(r.Header.Get(csrfHeader), p.csrf) {
			return principal{}, errCSRF
		}
	}
	return p, nil
}

// csrfEqual compares in constant time; an empty expected token never
// matches (a session without a token must not accept an empty field).
func csrfEqual(got, want string) bool {
	if want == "" || got == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// crossSite reports a request that the browser says came from another site.
// The CSRF token is the real defence; this is a cheap second one.
func crossSite(r *http.Request) bool {
	return r.Header.Get("Sec-Fetch-Site") == "cross-site"
}

func (c *Console) setSessionCookies(w http.ResponseWriter, id string) {
	for _, p := range sessionCookiePaths() {
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: p,
			HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteStrictMode})
	}
}

func (c *Console) clearSessionCookies(w http.ResponseWriter) {
	for _, p := range sessionCookiePaths() {
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: p, MaxAge: -1,
			HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteStrictMode})
	}
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics rather than return short)
	return base64.RawURLEncoding.EncodeToString(b)
}

// clientKey identifies the client for login rate limits: its IP address,
// read behind the operator's trusted proxies. Behind an untrusted proxy
// every client shares the proxy's address, so the staff service also
// limits by name.
func (c *Console) clientKey(r *http.Request) string { return c.clientIP.Addr(r) }

// Security headers. The console's scripts and styles are files under
// /console/static, so the policy needs no 'unsafe-inline'.
const (
	cspHTML = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	cspAPI = "default-src 'none'; frame-ancestors 'none'"
)

func secureHeaders(w http.ResponseWriter, csp string) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}
