package llm

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// This file ships fakes for tests of this package and of its consumers (the
// wiring's end-to-end tests). They are ordinary implementations, not
// expectation mocks.

// StaticFAQ is an FAQ backed by a map from entry ID to its curated text.
type StaticFAQ map[string]CuratedEntry

// CuratedEntry is one StaticFAQ entry.
type CuratedEntry struct {
	Question, Answer string
}

// Curated returns the entry.
func (s StaticFAQ) Curated(id string) (string, string, bool) {
	e, ok := s[id]
	return e.Question, e.Answer, ok
}

var _ FAQ = StaticFAQ(nil)

// FakeServer is an OpenAI-compatible chat-completions endpoint: serve it with
// httptest.NewServer and give New the server's URL + "/v1". It answers
// POST /v1/chat/completions in the documented shape of the OpenAI API and
// records every request body. Set the fields before the first request.
type FakeServer struct {
	// Reply is the assistant message's content (default "A draft answer.").
	Reply string
	// FinishReason is the choice's finish_reason (default "stop").
	FinishReason string
	// NoChoices answers with an empty "choices" array.
	NoChoices bool
	// Status, when not 0 or 200, answers with an OpenAI error body
	// ({"error":{"message","type","param","code"}}) and this status.
	Status    int
	ErrorType string
	ErrorCode any // string, number or nil, as providers send it
	ErrorMsg  string
	// Body, when set, is sent as is (with Status, or 200), for malformed
	// replies.
	Body string
	// Hang makes the server wait until the client gives up.
	Hang bool

	mu       sync.Mutex
	requests []RecordedRequest
}

// RecordedRequest is one request the FakeServer received.
type RecordedRequest struct {
	Method, Path  string
	Authorization string
	Body          []byte // raw, as received
}

// ServeHTTP implements http.Handler.
func (f *FakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	f.mu.Lock()
	f.requests = append(f.requests, RecordedRequest{Method: r.Method, Path: r.URL.Path, Authorization: r.Header.Get("Authorization"), Body: body})
	f.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]any{
			"message": fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path), "type": "invalid_request_error", "param": nil, "code": nil}})
		return
	}
	if f.Hang {
		<-r.Context().Done()
		return
	}
	status := f.Status
	if status == 0 {
		status = http.StatusOK
	}
	if f.Body != "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, f.Body)
		return
	}
	if status != http.StatusOK {
		writeJSON(w, status, map[string]any{"error": map[string]any{
			"message": f.ErrorMsg, "type": f.ErrorType, "param": nil, "code": f.ErrorCode}})
		return
	}
	var req struct {
		Model string `json:"model"`
	}
	json.Unmarshal(body, &req)
	reply, finish := f.Reply, f.FinishReason
	if reply == "" {
		reply = "A draft answer."
	}
	if finish == "" {
		finish = "stop"
	}
	choices := []any{map[string]any{
		"index":         0,
		"message":       map[string]any{"role": "assistant", "content": reply, "refusal": nil, "annotations": []any{}},
		"logprobs":      nil,
		"finish_reason": finish,
	}}
	if f.NoChoices {
		choices = []any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id":      "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
		"object":  "chat.completion",
		"created": time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC).Unix(),
		"model":   req.Model,
		"choices": choices,
		"usage": map[string]any{
			"prompt_tokens": 412, "completion_tokens": 156, "total_tokens": 568,
			"prompt_tokens_details":     map[string]any{"cached_tokens": 0, "audio_tokens": 0},
			"completion_tokens_details": map[string]any{"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
		},
		"service_tier":       "default",
		"system_fingerprint": "fp_44709d6fcb",
	})
}

// Requests returns the requests received so far.
func (f *FakeServer) Requests() []RecordedRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]RecordedRequest(nil), f.requests...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
