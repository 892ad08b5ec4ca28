// Package llm owns Candid's LLM drafter: it asks an OpenAI-compatible chat
// API (OpenAI, vLLM, llama.cpp, Ollama …) for a draft answer to a queued
// question, grounded in the curated FAQ answers the matcher suggested.
//
// A draft is a suggestion for staff. The moderation service stores it on the
// ticket, where only staff see it, and never sends it: only text a human
// submits reaches an asker (anonymity invariant 6). This package never talks
// to askers at all.
//
// What leaves the process is the scrubbed question (scrubbed again here, so
// that the model sees only scrubbed text whatever the caller did) and the
// curated answers; no handle, platform, locale or ticket ID. Neither the
// question nor the draft is ever logged or put in an error.
//
// The prompts are text/template files embedded from the prompts package and
// versioned; a draft's model string names the model and the prompt version
// ("gpt-4o-mini+draft.v1"). See docs/llm.md.
package llm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	openai "github.com/sashabaranov/go-openai"

	"github.com/candid-app/candid/internal/moderation"
	"github.com/candid-app/candid/internal/safety"
	"github.com/candid-app/candid/internal/store"
	"github.com/candid-app/candid/prompts"
)

// Defaults and bounds.
const (
	DefaultTimeout     = 30 * time.Second
	DefaultMaxTokens   = 600
	DefaultTemperature = 0.3
	// reasoningMaxTokens is the default for reasoning models (o1, o3, o4,
	// gpt-5 …), whose limit also counts the hidden reasoning: 600 would
	// often be spent before any text is written.
	reasoningMaxTokens = 4000

	// maxQuestionRunes bounds the question sent (the engine's own limit is
	// lower; this guards the bill against a caller that has none).
	maxQuestionRunes = 4000
	// maxCandidates is how many curated answers go with a question; more
	// cost tokens and rarely help.
	maxCandidates = 3
	// maxAnswerRunes bounds one curated answer in the prompt.
	maxAnswerRunes = 4000
	// maxResponseBytes bounds the reply body read from the server.
	maxResponseBytes = 1 << 20
)

// truncatedNote ends a draft the model stopped at the token limit, so that
// the clinician sees it is incomplete.
const truncatedNote = "\n\n[Draft cut off: the model reached its length limit.]"

// Options configure a Drafter. BaseURL and Model are required.
type Options struct {
	// BaseURL of an OpenAI-compatible API, including its path prefix:
	// https://api.openai.com/v1, http://127.0.0.1:11434/v1 (Ollama),
	// http://127.0.0.1:8000/v1 (vLLM), http://127.0.0.1:8080/v1 (llama.cpp).
	BaseURL string
	// APIKey is sent as a Bearer token; empty for local servers that need none.
	APIKey string
	// Model, for example "gpt-4o-mini" or "llama3.1:8b".
	Model string
	// Timeout bounds one draft request (default 30s).
	Timeout time.Duration
	// MaxTokens bounds the draft's length in tokens (default 600; 4000 for
	// reasoning models, whose limit includes their hidden reasoning).
	MaxTokens int
	// Temperature: 0 means DefaultTemperature (0.3, a steady, careful
	// voice); a negative value leaves it to the server's default. Reasoning
	// models get none (they accept only their default).
	Temperature float32
	Logger      *slog.Logger
	// HTTPClient to use (default: a plain client; Timeout applies through
	// the request's context either way).
	HTTPClient *http.Client
	// FAQ supplies the curated answers of a ticket's candidates; nil sends
	// the question alone. See EntriesFAQ.
	FAQ FAQ
	// ClinicName is named in the prompt (default "the clinic").
	ClinicName string
	// Prompts overrides the embedded prompt templates (prompts.FS), for
	// example to try a wording from a folder with os.DirFS. It must hold
	// draft.system.tmpl and draft.user.tmpl.
	Prompts fs.FS
}

// Drafter writes draft answers with an OpenAI-compatible chat API. It is
// safe for concurrent use.
type Drafter struct {
	client      *openai.Client
	model       string
	timeout     time.Duration
	maxTokens   int
	temperature float32 // 0: not sent
	reasoning   bool
	faq         FAQ
	clinic      string
	prompts     *promptSet
	log         *slog.Logger
}

var _ moderation.Drafter = (*Drafter)(nil)

// New checks opts, loads the prompt templates and returns a Drafter. It
// makes no network call: a server that is down shows up as a failed draft,
// not as a server that will not start.
func New(opts Options) (*Drafter, error) {
	base := strings.TrimSpace(opts.BaseURL)
	if base == "" {
		return nil, errors.New("llm: the base URL is empty: set llm.base_url (CANDID_LLM_BASE_URL), or leave it empty to turn drafts off")
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// The URL may hold credentials: it is not echoed.
		return nil, errors.New("llm: the base URL must be an absolute http(s) URL with the API prefix, such as https://api.openai.com/v1: check llm.base_url")
	}
	model := strings.TrimSpace(opts.Model)
	if model == "" || len(model) > 200 || strings.ContainsFunc(model, unicode.IsControl) {
		return nil, errors.New("llm: the model name is empty or invalid: set llm.model (CANDID_LLM_MODEL), for example gpt-4o-mini")
	}
	fsys := opts.Prompts
	if fsys == nil {
		fsys = prompts.FS
	}
	ps, err := loadPrompts(fsys)
	if err != nil {
		return nil, err
	}
	d := &Drafter{
		model:       model,
		timeout:     opts.Timeout,
		maxTokens:   opts.MaxTokens,
		temperature: opts.Temperature,
		faq:         opts.FAQ,
		clinic:      strings.TrimSpace(opts.ClinicName),
		prompts:     ps,
		log:         opts.Logger,
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.timeout <= 0 {
		d.timeout = DefaultTimeout
	}
	if d.clinic == "" {
		d.clinic = "the clinic"
	}
	// go-openai refuses max_tokens and a non-default temperature for
	// reasoning models; its own validator says which models those are.
	probe := openai.ChatCompletionRequest{Model: model, MaxTokens: 1, Temperature: 0.5}
	d.reasoning = openai.NewReasoningValidator().Validate(probe) != nil
	switch {
	case d.maxTokens > 0:
	case d.reasoning:
		d.maxTokens = reasoningMaxTokens
	default:
		d.maxTokens = DefaultMaxTokens
	}
	switch {
	case d.reasoning || d.temperature < 0:
		d.temperature = 0
	case d.temperature == 0:
		d.temperature = DefaultTemperature
	case d.temperature > 2:
		return nil, errors.New("llm: the temperature must be between 0 and 2")
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	cfg := openai.DefaultConfig(opts.APIKey)
	cfg.BaseURL = strings.TrimRight(base, "/")
	cfg.HTTPClient = limitDoer{c: hc, max: maxResponseBytes}
	d.client = openai.NewClientWithConfig(cfg)
	if p := strings.Trim(u.Path, "/"); p == "" {
		d.log.Warn("llm: the base URL has no path; OpenAI-compatible servers usually need the /v1 prefix in llm.base_url")
	}
	return d, nil
}

// Model returns the model string drafts carry: the configured model and
// the prompt version, for example "gpt-4o-mini+draft.v1".
func (d *Drafter) Model() string {
	return d.model + "+" + d.prompts.label()
}

// PromptVersion returns the version declared by the draft templates.
func (d *Drafter) PromptVersion() int { return d.prompts.version }

// Draft asks the model for a draft answer to question, grounded in the
// curated answers of candidates. The question is scrubbed again before it is
// sent. model is Model(). Errors wrap one of this package's Err values.
func (d *Drafter) Draft(ctx context.Context, question string, candidates []store.Candidate) (text, model string, err error) {
	q, stats := cleanQuestion(question)
	if q == "" {
		return "", "", ErrNoQuestion
	}
	if stats.Total() > 0 {
		// The engine should have scrubbed already; counts only, never text.
		d.log.Warn("llm: the question still held identifiers; they were scrubbed before sending",
			"emails", stats.Emails, "phones", stats.Phones, "links", stats.Links,
			"handles", stats.Handles, "ips", stats.IPs, "numbers", stats.Numbers)
	}
	cands := d.curated(candidates)
	system, err := d.prompts.renderSystem(systemData{ClinicName: d.clinic})
	if err != nil {
		return "", "", err
	}
	user, err := d.prompts.renderUser(userData{ClinicName: d.clinic, Question: q, Boundary: newBoundary(q), Candidates: cands})
	if err != nil {
		return "", "", err
	}
	req := openai.ChatCompletionRequest{
		Model: d.model,
		Messages: []openai.ChatCompletionMessage{
			{Role: openai.ChatMessageRoleSystem, Content: system},
			{Role: openai.ChatMessageRoleUser, Content: user},
		},
		Temperature: d.temperature,
	}
	if d.reasoning {
		req.MaxCompletionTokens = d.maxTokens
	} else {
		// max_tokens, not max_completion_tokens: every OpenAI-compatible
		// server (Ollama, llama.cpp, vLLM) understands it.
		req.MaxTokens = d.maxTokens
	}

	tctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	start := time.Now()
	resp, err := d.client.CreateChatCompletion(tctx, req)
	if err != nil {
		err = classify(ctx, tctx, err, q)
		d.log.Debug("llm: no draft", "model", d.model, "prompt", d.prompts.label(), "err", err)
		return "", "", err
	}
	text, err = d.pick(resp)
	if err != nil {
		return "", "", err
	}
	d.log.Debug("llm: draft written", "model", d.model, "prompt", d.prompts.label(),
		"candidates", len(cands), "prompt_tokens", resp.Usage.PromptTokens,
		"completion_tokens", resp.Usage.CompletionTokens, "duration", time.Since(start).Round(time.Millisecond))
	return text, d.Model(), nil
}

// pick takes the draft out of a completion.
func (d *Drafter) pick(resp openai.ChatCompletionResponse) (string, error) {
	if len(resp.Choices) == 0 {
		return "", fmt.Errorf("%w: the reply had no choices", ErrNoDraft)
	}
	c := resp.Choices[0]
	switch c.FinishReason {
	case openai.FinishReasonContentFilter:
		return "", fmt.Errorf("%w: a clinician answers this one without a draft", ErrContentFilter)
	case openai.FinishReasonToolCalls, openai.FinishReasonFunctionCall:
		return "", fmt.Errorf("%w: the model asked to call a tool, which Candid never offers: choose a model that answers in text", ErrNoDraft)
	}
	if strings.TrimSpace(c.Message.Refusal) != "" {
		return "", fmt.Errorf("%w: the model declined to answer", ErrNoDraft)
	}
	text := cleanDraft(c.Message.Content)
	if text == "" {
		if c.FinishReason == openai.FinishReasonLength {
			return "", fmt.Errorf("%w: the model reached its token limit before writing any text: raise the limit (reasoning models spend tokens thinking)", ErrNoDraft)
		}
		return "", fmt.Errorf("%w: the reply's text was empty", ErrNoDraft)
	}
	if c.FinishReason == openai.FinishReasonLength {
		text += truncatedNote
	}
	return text, nil
}

// curated looks up the candidates' curated answers, best first, skipping
// unknown and repeated IDs.
func (d *Drafter) curated(cands []store.Candidate) []candidate {
	if d.faq == nil {
		return nil
	}
	var out []candidate
	seen := map[string]bool{}
	for _, c := range cands {
		if len(out) == maxCandidates {
			break
		}
		if c.FAQID == "" || seen[c.FAQID] {
			continue
		}
		seen[c.FAQID] = true
		q, a, ok := d.faq.Curated(c.FAQID)
		if !ok || strings.TrimSpace(a) == "" {
			continue
		}
		out = append(out, candidate{ID: oneLine(c.FAQID, 100), Question: oneLine(q, 300), Answer: clip(strings.TrimSpace(a), maxAnswerRunes)})
	}
	return out
}

// cleanQuestion scrubs the question (the invariant: the model sees only
// scrubbed text), drops control characters other than newline and tab,
// and bounds its length.
func cleanQuestion(q string) (string, safety.ScrubStats) {
	q, stats := safety.Scrub(q)
	q = strings.ReplaceAll(q, "\r\n", "\n")
	q = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r == '\r':
			return '\n'
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, q)
	return clip(strings.TrimSpace(q), maxQuestionRunes), stats
}

// cleanDraft removes what a reasoning model served through an
// OpenAI-compatible server may put before its answer (a <think> block) and
// trims white space. The moderation service cleans control characters.
func cleanDraft(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "<think>") {
		if i := strings.Index(s, "</think>"); i >= 0 {
			s = s[i+len("</think>"):]
		} else {
			s = "" // all thinking, no answer
		}
	}
	return strings.TrimSpace(s)
}

// clip bounds s to max runes.
func clip(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max])
}

// limitDoer bounds the body of every reply, so that a broken or hostile
// server cannot make the drafter read without end.
type limitDoer struct {
	c   *http.Client
	max int64
}

func (l limitDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := l.c.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{rc: resp.Body, left: l.max}
	return resp, nil
}

type limitedBody struct {
	rc   io.ReadCloser
	left int64 // bytes still allowed
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// Allowed bytes used up: the body is fine only if it ends here.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, errTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
