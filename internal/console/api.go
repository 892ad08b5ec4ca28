package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/candid-app/candid/internal/moderation"
	"github.com/candid-app/candid/internal/staff"
	"github.com/candid-app/candid/internal/store"
)

// classify maps an error to the status, code and message a client sees.
// Messages of the services' sentinel errors are written for people; any
// other error is logged and hidden behind a generic message.
func classify(err error) (status int, code, msg string) {
	var he *httpErr
	switch {
	case errors.As(err, &he):
		return he.status, he.code, he.msg
	case errors.Is(err, staff.ErrRateLimited):
		return http.StatusTooManyRequests, "rate_limited", err.Error()
	case errors.Is(err, staff.ErrBusy):
		return http.StatusServiceUnavailable, "busy", err.Error()
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, "not_found", "not found: it may have expired, been deleted by the asker, or never existed"
	case errors.Is(err, moderation.ErrConflict), errors.Is(err, moderation.ErrNotClaimer),
		errors.Is(err, store.ErrConflict), errors.Is(err, staff.ErrExists):
		return http.StatusConflict, "conflict", err.Error()
	case errors.Is(err, moderation.ErrOnCallFailed):
		return http.StatusBadGateway, "oncall_failed", err.Error()
	case errors.Is(err, moderation.ErrIllegal):
		return http.StatusConflict, "illegal", err.Error()
	case errors.Is(err, moderation.ErrForbidden):
		return http.StatusForbidden, "forbidden", err.Error()
	case errors.Is(err, moderation.ErrInvalid), errors.Is(err, staff.ErrInvalid):
		return http.StatusUnprocessableEntity, "invalid", err.Error()
	case errors.Is(err, staff.ErrBadLogin), isAuthErr(err):
		return http.StatusUnauthorized, "unauthorized", err.Error()
	}
	return http.StatusInternalServerError, "internal", "something went wrong on the server: try again, and tell the operator if it keeps happening"
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (c *Console) apiError(w http.ResponseWriter, r *http.Request, err error) {
	status, code, msg := classify(err)
	if status == http.StatusInternalServerError {
		c.log.ErrorContext(r.Context(), "staff API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="candid"`)
	}
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "900")
	}
	var body errorBody
	body.Error.Code, body.Error.Message = code, msg
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v) // the status is sent; a write error means the client left
}

func badRequest(format string, args ...any) error {
	return &httpErr{status: http.StatusBadRequest, code: "malformed", msg: fmt.Sprintf(format, args...)}
}

func invalid(format string, args ...any) error {
	return &httpErr{status: http.StatusUnprocessableEntity, code: "invalid", msg: fmt.Sprintf(format, args...)}
}

// decodeJSON reads a JSON object body of at most maxBody bytes into dst,
// rejecting unknown fields, trailing data and invalid UTF-8 (which
// encoding/json would otherwise silently replace). When optional is true an
// empty body is allowed and leaves dst as it is.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any, optional bool) error {
	if r.ContentLength > maxBody {
		return &httpErr{status: http.StatusRequestEntityTooLarge, code: "too_large",
			msg: fmt.Sprintf("request body is over %d KiB", maxBody>>10)}
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &httpErr{status: http.StatusRequestEntityTooLarge, code: "too_large",
				msg: fmt.Sprintf("request body is over %d KiB", maxBody>>10)}
		}
		return badRequest("could not read the request body: %v", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		if optional {
			return nil
		}
		return badRequest("empty request body: send a JSON object (see docs/api.md)")
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return &httpErr{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type",
			msg: "send the body as JSON with Content-Type: application/json"}
	}
	if !utf8.Valid(data) {
		return badRequest("request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return badRequest("malformed JSON: %v", strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("malformed JSON: unexpected data after the object")
	}
	return nil
}

// validAnswer checks what the console can check itself; the moderation
// service cleans the text and checks the rest (length, FAQ id, booking link)
// and says what is wrong with ErrInvalid.
func validAnswer(ans moderation.Answer) (moderation.Answer, error) {
	if !utf8.ValidString(ans.Text) || !utf8.ValidString(ans.FAQID) {
		return ans, badRequest("the answer is not valid UTF-8")
	}
	ans.FAQID = strings.TrimSpace(ans.FAQID)
	if strings.TrimSpace(ans.Text) == "" && ans.FAQID == "" && !ans.Booking {
		return ans, invalid("the answer is empty: write text, pick an FAQ answer (faq_id) or set booking")
	}
	return ans, nil
}

// api wraps a JSON API handler: headers, authentication, role.
func (c *Console) api(h func(http.ResponseWriter, *http.Request, principal) error, need access) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secureHeaders(w, cspAPI)
		p, err := c.apiAuth(r)
		if err == nil && !need.allows(p.Role) {
			err = need.forbidden(p.Role)
		}
		if err == nil {
			err = h(w, r, p)
		}
		if err != nil {
			c.apiError(w, r, err)
		}
	})
}

func (c *Console) apiNotFound(w http.ResponseWriter, r *http.Request) {
	secureHeaders(w, cspAPI)
	c.apiError(w, r, &httpErr{status: http.StatusNotFound, code: "not_found",
		msg: fmt.Sprintf("no API endpoint %s %s: see docs/api.md", r.Method, r.URL.Path)})
}

func ticketID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !validID(id) {
		return "", &httpErr{status: http.StatusNotFound, code: "not_found", msg: "no such ticket"}
	}
	return id, nil
}

func (c *Console) apiTickets(w http.ResponseWriter, r *http.Request, p principal) error {
	ts, stats, err := c.mod.Queue(r.Context())
	if err != nil {
		return err
	}
	waiting, undelivered := splitQueue(ts)
	ts = append(waiting, undelivered...)
	out := struct {
		Tickets []ticketJSON `json:"tickets"`
		Stats   statsJSON    `json:"stats"`
	}{Tickets: []ticketJSON{}, Stats: statsView(stats)}
	for _, t := range ts {
		out.Tickets = append(out.Tickets, c.ticketView(t))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (c *Console) apiTicket(w http.ResponseWriter, r *http.Request, p principal) error {
	id, err := ticketID(r)
	if err != nil {
		return err
	}
	t, err := c.mod.Ticket(r.Context(), id)
	if err != nil {
		return err
	}
	audit, err := c.mod.Audit(r.Context(), id)
	if err != nil {
		return err
	}
	if audit == nil {
		audit = []store.AuditEntry{}
	}
	reasons := c.mod.RejectReasons()
	if reasons == nil {
		reasons = []moderation.Reason{}
	}
	writeJSON(w, http.StatusOK, struct {
		Ticket        ticketJSON          `json:"ticket"`
		Audit         []store.AuditEntry  `json:"audit"`
		RejectReasons []moderation.Reason `json:"reject_reasons"`
	}{c.ticketView(t), audit, reasons})
	return nil
}

func (c *Console) writeTicket(w http.ResponseWriter, t store.Ticket) {
	writeJSON(w, http.StatusOK, struct {
		Ticket ticketJSON `json:"ticket"`
	}{c.ticketView(t)})
}

// apiTransition runs a ticket action that takes no parameters.
func (c *Console) apiTransition(w http.ResponseWriter, r *http.Request, p principal,
	do func(id string) (store.Ticket, error)) error {
	id, err := ticketID(r)
	if err != nil {
		return err
	}
	var none struct{}
	if err := decodeJSON(w, r, &none, true); err != nil {
		return err
	}
	t, err := do(id)
	if err != nil {
		return err
	}
	c.writeTicket(w, t)
	return nil
}

func (c *Console) apiClaim(w http.ResponseWriter, r *http.Request, p principal) error {
	return c.apiTransition(w, r, p, func(id string) (store.Ticket, error) { return c.mod.Claim(r.Context(), p.Actor, id) })
}

func (c *Console) apiRelease(w http.ResponseWriter, r *http.Request, p principal) error {
	return c.apiTransition(w, r, p, func(id string) (store.Ticket, error) { return c.mod.Release(r.Context(), p.Actor, id) })
}

func (c *Console) apiAnswer(w http.ResponseWriter, r *http.Request, p principal) error {
	id, err := ticketID(r)
	if err != nil {
		return err
	}
	var ans moderation.Answer
	if err := decodeJSON(w, r, &ans, false); err != nil {
		return err
	}
	if ans, err = validAnswer(ans); err != nil {
		return err
	}
	t, err := c.mod.Answer(r.Context(), p.Actor, id, ans)
	if err != nil {
		return err
	}
	c.writeTicket(w, t)
	return nil
}

func (c *Console) apiReject(w http.ResponseWriter, r *http.Request, p principal) error {
	id, err := ticketID(r)
	if err != nil {
		return err
	}
	var req struct {
		Reason string `json:"reason"`
	}
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	if err := c.validReason(req.Reason); err != nil {
		return err
	}
	t, err := c.mod.Reject(r.Context(), p.Actor, id, req.Reason)
	if err != nil {
		return err
	}
	c.writeTicket(w, t)
	return nil
}

// validReason checks a reject reason against the service's list, so that a
// typo is a clear 422 naming the codes that exist.
func (c *Console) validReason(code string) error {
	var codes []string
	for _, r := range c.mod.RejectReasons() {
		if r.Code == code {
			return nil
		}
		codes = append(codes, r.Code)
	}
	if code == "" {
		return invalid("reason is required: one of %s", strings.Join(codes, ", "))
	}
	return invalid("unknown reason %q: use one of %s", excerpt(code, 40), strings.Join(codes, ", "))
}

// Block durations staff may choose. A block stops abuse; it is not a
// punishment, so it always ends.
const (
	defaultBlockDays = 30
	maxBlockDays     = 365
)

func (c *Console) apiBlock(w http.ResponseWriter, r *http.Request, p principal) error {
	id, err := ticketID(r)
	if err != nil {
		return err
	}
	req := struct {
		Days int `json:"days"`
	}{Days: defaultBlockDays}
	if err := decodeJSON(w, r, &req, true); err != nil {
		return err
	}
	if req.Days < 1 || req.Days > maxBlockDays {
		return invalid("days must be between 1 and %d", maxBlockDays)
	}
	if err := c.mod.BlockAsker(r.Context(), p.Actor, id, time.Duration(req.Days)*24*time.Hour); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Blocked bool `json:"blocked"`
		Days    int  `json:"days"`
	}{true, req.Days})
	return nil
}

func (c *Console) apiPreview(w http.ResponseWriter, r *http.Request, p principal) error {
	var ans moderation.Answer
	if err := decodeJSON(w, r, &ans, false); err != nil {
		return err
	}
	ans, err := validAnswer(ans)
	if err != nil {
		return err
	}
	text, err := c.mod.Preview(ans)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Text string `json:"text"`
		HTML string `json:"html"`
	}{text, string(askerHTML(text))})
	return nil
}

// staffJSON is an account without its password hash.
type staffJSON struct {
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	Disabled  bool      `json:"disabled,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

func (c *Console) apiStaffList(w http.ResponseWriter, r *http.Request, p principal) error {
	list, err := c.acc.List(r.Context())
	if err != nil {
		return err
	}
	out := struct {
		Staff []staffJSON `json:"staff"`
	}{Staff: []staffJSON{}}
	for _, s := range list {
		out.Staff = append(out.Staff, staffJSON{s.Name, s.Role, s.Disabled, s.CreatedAt})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (c *Console) apiStaffAdd(w http.ResponseWriter, r *http.Request, p principal) error {
	var req struct {
		Name string `json:"name"`
		Role string `json:"role"`
	}
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	name, role, err := validStaff(req.Name, req.Role)
	if err != nil {
		return err
	}
	pw, err := c.acc.Add(r.Context(), name, role)
	if err != nil {
		return err
	}
	c.log.InfoContext(r.Context(), "staff account added", "by", p.Name, "name", name, "role", role)
	writeJSON(w, http.StatusCreated, struct {
		Name     string `json:"name"`
		Role     string `json:"role"`
		Password string `json:"password"`
	}{name, role, pw})
	return nil
}

// validStaff checks a new account's name and role before the staff service
// does, so that the common mistakes get a precise message.
func validStaff(name, role string) (string, string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", "", invalid("name is required")
	case !staff.ValidName(name):
		return "", "", invalid("the name must be 2 to 32 characters of a-z, 0-9, '.', '_' or '-'")
	case !moderation.ValidRole(role):
		return "", "", invalid("role must be moderator, curator or admin")
	}
	return name, role, nil
}

func staffName(r *http.Request) (string, error) {
	name := r.PathValue("name")
	if !staff.ValidName(name) {
		return "", &httpErr{status: http.StatusNotFound, code: "not_found", msg: "no such staff account"}
	}
	return name, nil
}

func (c *Console) apiStaffRemove(w http.ResponseWriter, r *http.Request, p principal) error {
	name, err := staffName(r)
	if err != nil {
		return err
	}
	if name == p.Name {
		return &httpErr{status: http.StatusConflict, code: "conflict", msg: "you cannot remove your own account: ask another admin"}
	}
	if err := c.acc.Remove(r.Context(), name); err != nil {
		return err
	}
	c.log.InfoContext(r.Context(), "staff account removed", "by", p.Name, "name", name)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (c *Console) apiStaffToken(w http.ResponseWriter, r *http.Request, p principal) error {
	name, err := staffName(r)
	if err != nil {
		return err
	}
	if name != p.Name && p.Role != moderation.RoleAdmin {
		return roleAdmin.forbidden(p.Role)
	}
	var none struct{}
	if err := decodeJSON(w, r, &none, true); err != nil {
		return err
	}
	tok, err := c.acc.NewToken(r.Context(), name)
	if err != nil {
		return err
	}
	c.log.InfoContext(r.Context(), "staff API token issued", "by", p.Name, "name", name)
	writeJSON(w, http.StatusOK, struct {
		Name  string `json:"name"`
		Token string `json:"token"`
	}{name, tok})
	return nil
}

func (c *Console) apiStaffPassword(w http.ResponseWriter, r *http.Request, p principal) error {
	name, err := staffName(r)
	if err != nil {
		return err
	}
	var none struct{}
	if err := decodeJSON(w, r, &none, true); err != nil {
		return err
	}
	pw, err := c.acc.ResetPassword(r.Context(), name)
	if err != nil {
		return err
	}
	c.log.InfoContext(r.Context(), "staff password reset", "by", p.Name, "name", name)
	writeJSON(w, http.StatusOK, struct {
		Name     string `json:"name"`
		Password string `json:"password"`
	}{name, pw})
	return nil
}

func (c *Console) apiMe(w http.ResponseWriter, r *http.Request, p principal) error {
	writeJSON(w, http.StatusOK, struct {
		Name string `json:"name"`
		Role string `json:"role"`
	}{p.Name, p.Role})
	return nil
}

func utf8ok(s string) bool { return utf8.ValidString(s) }
