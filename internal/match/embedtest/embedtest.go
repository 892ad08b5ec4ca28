// Package embedtest is a fake of an OpenAI-compatible embeddings API for
// tests, built from the documented wire format: POST /v1/embeddings with
// {"model", "input": [...]}, answered {"object": "list", "data":
// [{"object": "embedding", "index", "embedding"}], "model", "usage"}. Each
// vector is a hashed bag of the input's words, so similar texts get similar
// vectors. It records what it was sent, so tests can check what left.
package embedtest

import (
	"encoding/json"
	"hash/fnv"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Dim is the length of every vector.
const Dim = 64

// Modes for single-text requests (a question being matched; building the
// index sends batches): ModeOK answers, ModeFail answers 503, ModeSlow
// answers after SlowDelay.
const (
	ModeOK   = "ok"
	ModeFail = "fail"
	ModeSlow = "slow"
)

// SlowDelay is how long ModeSlow waits before answering.
const SlowDelay = 300 * time.Millisecond

// Server is the fake. Its URL plus "/v1" is the base URL a client needs.
type Server struct {
	*httptest.Server
	// Key, when set, must come as "Authorization: Bearer <Key>".
	Key string
	// Calls counts the requests answered with vectors.
	Calls atomic.Int64

	mode   atomic.Value
	mu     sync.Mutex
	inputs []string
	models []string
}

// New starts a fake requiring key (empty: none), closed when t ends.
func New(t testing.TB, key string) *Server {
	s := &Server{Key: key}
	s.mode.Store(ModeOK)
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// SetMode switches how single-text requests are answered.
func (s *Server) SetMode(m string) { s.mode.Store(m) }

// Inputs returns every text received so far.
func (s *Server) Inputs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.inputs...)
}

// Models returns the model named by each request so far.
func (s *Server) Models() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.models...)
}

func apiError(w http.ResponseWriter, code int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": typ}})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/embeddings" {
		apiError(w, http.StatusNotFound, "invalid_request_error", "unknown endpoint")
		return
	}
	if s.Key != "" && r.Header.Get("Authorization") != "Bearer "+s.Key {
		apiError(w, http.StatusUnauthorized, "invalid_request_error", "incorrect API key")
		return
	}
	var req struct {
		Model string   `json:"model"`
		Input []string `json:"input"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Model == "" || len(req.Input) == 0 {
		apiError(w, http.StatusBadRequest, "invalid_request_error", "model and input are required")
		return
	}
	s.mu.Lock()
	s.inputs = append(s.inputs, req.Input...)
	s.models = append(s.models, req.Model)
	s.mu.Unlock()
	if len(req.Input) == 1 {
		switch s.mode.Load().(string) {
		case ModeFail:
			apiError(w, http.StatusServiceUnavailable, "server_error", "overloaded")
			return
		case ModeSlow:
			time.Sleep(SlowDelay)
		}
	}
	s.Calls.Add(1)
	type item struct {
		Object    string    `json:"object"`
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	}
	out := struct {
		Object string         `json:"object"`
		Data   []item         `json:"data"`
		Model  string         `json:"model"`
		Usage  map[string]int `json:"usage"`
	}{Object: "list", Model: req.Model, Usage: map[string]int{"prompt_tokens": len(req.Input), "total_tokens": len(req.Input)}}
	for i, text := range req.Input {
		v := make([]float32, Dim)
		for _, w := range strings.Fields(strings.ToLower(text)) {
			h := fnv.New32a()
			h.Write([]byte(w))
			v[h.Sum32()%Dim]++
		}
		out.Data = append(out.Data, item{"embedding", i, v})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}
