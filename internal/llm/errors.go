package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	openai "github.com/sashabaranov/go-openai"

	"github.com/candid-app/candid/internal/safety"
)

// Errors Draft returns (wrapped), so that callers and tests can use
// errors.Is. The moderation service logs them and leaves the ticket without
// a draft; none of them is ever shown to an asker. No error text holds the
// question or the draft.
var (
	// ErrNoQuestion: the question is empty once scrubbed and cleaned.
	ErrNoQuestion = errors.New("llm: there is no question to draft an answer for")
	// ErrTimeout: the server did not answer within Options.Timeout.
	ErrTimeout = errors.New("llm: the LLM server did not answer in time")
	// ErrUnreachable: no HTTP exchange took place (DNS, refused connection, TLS).
	ErrUnreachable = errors.New("llm: the LLM server could not be reached")
	// ErrRejected: the server answered with an error status; see *StatusError.
	ErrRejected = errors.New("llm: the LLM server refused the request")
	// ErrBadResponse: the reply was not an OpenAI chat completion, or too large.
	ErrBadResponse = errors.New("llm: the LLM server's reply could not be read")
	// ErrNoDraft: a valid reply without usable text (no choices, empty
	// content, the model declined or asked to call a tool).
	ErrNoDraft = errors.New("llm: the model returned no draft")
	// ErrContentFilter: the provider's content filter withheld the draft
	// (finish_reason "content_filter", or an error with code "content_filter").
	ErrContentFilter = errors.New("llm: the provider's content filter withheld the draft")
)

// StatusError is a non-2xx answer from the LLM server. It wraps ErrRejected
// (and ErrContentFilter when the provider says so).
type StatusError struct {
	StatusCode int    // HTTP status
	Type       string // the API error's "type", when the body had one
	Code       string // the API error's "code", when the body had one
	// Detail is the API error's message when it is safe to log: scrubbed,
	// shortened, and dropped when it quotes the question or concerns the
	// API key.
	Detail string
}

func (e *StatusError) Error() string {
	var b strings.Builder
	b.WriteString("llm: ")
	b.WriteString(statusAdvice(e.StatusCode, e.Code))
	fmt.Fprintf(&b, " (HTTP %d", e.StatusCode)
	if e.Type != "" {
		fmt.Fprintf(&b, ", type %q", e.Type)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, ", code %q", e.Code)
	}
	b.WriteString(")")
	if e.Detail != "" {
		fmt.Fprintf(&b, ": %s", e.Detail)
	}
	return b.String()
}

// Unwrap lets errors.Is find ErrRejected, and ErrContentFilter when the
// provider's filter refused the prompt.
func (e *StatusError) Unwrap() []error {
	if e.Code == "content_filter" {
		return []error{ErrRejected, ErrContentFilter}
	}
	return []error{ErrRejected}
}

// statusAdvice says what an operator should do about a status.
func statusAdvice(status int, code string) string {
	switch {
	case code == "content_filter":
		return "the provider's content filter refused the prompt; a clinician answers this one without a draft"
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return "the LLM server refused the API key: check llm.api_key (CANDID_LLM_API_KEY)"
	case status == http.StatusNotFound:
		return "the LLM server has no such model or endpoint: check llm.model (CANDID_LLM_MODEL) and that llm.base_url ends with the API prefix, such as /v1"
	case status == http.StatusTooManyRequests:
		return "the LLM provider's rate limit or quota was reached: drafts resume when it lifts; check the account's limits"
	case status == http.StatusRequestEntityTooLarge:
		return "the LLM server found the prompt too large: use a model with a larger context"
	case status >= 500:
		return "the LLM server failed: drafts resume when it recovers; check its logs"
	default:
		return "the LLM server rejected the request: check llm.model and the server's logs"
	}
}

// errTooLarge marks a reply body over maxResponseBytes.
var errTooLarge = errors.New("reply too large")

// classify turns an error from go-openai into one of ours. parent is the
// caller's context and tctx the one with our timeout; question is the text
// that was sent, so that a server message quoting it is not passed on.
func classify(parent, tctx context.Context, err error, question string) error {
	if parent.Err() != nil {
		return fmt.Errorf("llm: the draft was cancelled: %w", parent.Err())
	}
	if errors.Is(tctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w: raise llm timeout, or use a faster model or server: %w", ErrTimeout, context.DeadlineExceeded)
	}
	if errors.Is(err, errTooLarge) {
		return fmt.Errorf("%w: the reply was larger than %d bytes: check that llm.base_url is an OpenAI-compatible API", ErrBadResponse, maxResponseBytes)
	}
	var apiErr *openai.APIError
	if errors.As(err, &apiErr) {
		return &StatusError{
			StatusCode: apiErr.HTTPStatusCode,
			Type:       oneLine(apiErr.Type, 60),
			Code:       oneLine(codeString(apiErr.Code), 60),
			Detail:     safeDetail(apiErr.HTTPStatusCode, apiErr.Message, question),
		}
	}
	var reqErr *openai.RequestError
	if errors.As(err, &reqErr) {
		// A body that is not an API error (a proxy's HTML page, say). It is
		// withheld: it could echo the request.
		return &StatusError{StatusCode: reqErr.HTTPStatusCode}
	}
	if errors.Is(err, openai.ErrChatCompletionInvalidModel) {
		return fmt.Errorf("%w: llm.model names a completions-only model: choose a chat model", ErrRejected)
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		// url.Error's text holds the whole URL; only its cause is reported.
		return fmt.Errorf("%w: %v: check llm.base_url (CANDID_LLM_BASE_URL) and that the server is running", ErrUnreachable, uerr.Err)
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return fmt.Errorf("%w: %v: check llm.base_url (CANDID_LLM_BASE_URL) and that the server is running", ErrUnreachable, netErr)
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	if errors.As(err, &syn) || errors.As(err, &typ) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: it was not an OpenAI chat completion: check that llm.base_url points at an OpenAI-compatible API, including its /v1 prefix", ErrBadResponse)
	}
	return fmt.Errorf("llm: the draft request failed: %w", err)
}

func codeString(c any) string {
	switch v := c.(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		return fmt.Sprint(v)
	}
}

// safeDetail returns the server's error message if it may be logged: not
// for authentication errors (OpenAI's quotes part of the key), never when
// it quotes the question, and always scrubbed and short.
func safeDetail(status int, msg, question string) string {
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		return ""
	}
	msg = clip(strings.TrimSpace(msg), 1000)
	if msg == "" {
		return ""
	}
	if quotes(msg, question) {
		return "(the server's message was withheld: it quoted the question)"
	}
	msg, _ = safety.Scrub(msg)
	return oneLine(msg, 200)
}

// quotes reports whether msg contains any 24-byte stretch of question (tried
// every 4 bytes, so a quote of 28 bytes or more is always caught). A window
// that long is too specific to appear by chance in an error message and
// short enough to catch a partial quote.
func quotes(msg, question string) bool {
	const window = 24
	q := strings.Join(strings.Fields(question), " ")
	m := strings.Join(strings.Fields(msg), " ")
	if len(q) <= window {
		return q != "" && strings.Contains(m, q)
	}
	for i := 0; i+window <= len(q); i += 4 {
		if strings.Contains(m, q[i:i+window]) {
			return true
		}
	}
	return strings.Contains(m, q[len(q)-window:])
}

// oneLine collapses white space, drops control characters and bounds s to
// max runes, for error text that ends up in logs.
func oneLine(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > max {
		r := []rune(s)
		s = string(r[:max]) + "…"
	}
	return s
}
