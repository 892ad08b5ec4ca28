package main

import (
	"encoding/json"
	"hash/fnv"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// fakeEmbeddings answers POST /v1/embeddings in the shape the OpenAI API
// documents ({"object":"list","data":[{"object":"embedding","index","embedding"}],
// "model","usage"}), with a hashed bag-of-words vector per input, and
// records every input it was sent.
type fakeEmbeddings struct {
	mu     sync.Mutex
	inputs []string
	fail   atomic.Bool
}

func (f *fakeEmbeddings) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/embeddings" || r.Header.Get("Authorization") != "Bearer test-key" {
		http.Error(w, `{"error":{"message":"bad request","type":"invalid_request_error"}}`, http.StatusBadRequest)
		return
	}
	if f.fail.Load() {
		http.Error(w, `{"error":{"message":"overloaded","type":"server_error"}}`, http.StatusServiceUnavailable)
		return
	}
	var req struct {
		Model string   `json:"model"`
		Input []string `json:"input"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Model != "test-embed" {
		http.Error(w, `{"error":{"message":"bad body","type":"invalid_request_error"}}`, http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.inputs = append(f.inputs, req.Input...)
	f.mu.Unlock()
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
		v := make([]float32, 32)
		for _, w := range strings.Fields(strings.ToLower(text)) {
			h := fnv.New32a()
			h.Write([]byte(w))
			v[h.Sum32()%32]++
		}
		out.Data = append(out.Data, item{"embedding", i, v})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

// TestServeWithEmbeddings: with match.embeddings.* set, serve fuses the
// embedding signal, caches the FAQ's vectors under the data folder,
// scrubs contact details before any text leaves, and falls back to
// lexical matching when the API fails.
func TestServeWithEmbeddings(t *testing.T) {
	fake := &fakeEmbeddings{}
	api := httptest.NewServer(fake)
	defer api.Close()
	a, _ := newApp(t, map[string]string{
		"CANDID_EMBEDDINGS_BASE_URL": api.URL + "/v1",
		"CANDID_EMBEDDINGS_API_KEY":  "test-key",
		"CANDID_EMBEDDINGS_MODEL":    "test-embed",
	})
	m := a.lib.Current().Matcher
	r := m.Explain("cant stay hard, email me at someone@example.org")
	if r.Features["embedding"] != 1 || len(r.Candidates) == 0 || r.Candidates[0].ID != "erectile-dysfunction" {
		t.Fatalf("embeddings not used: %+v", r)
	}
	fake.mu.Lock()
	n := len(fake.inputs)
	for _, in := range fake.inputs {
		if strings.Contains(in, "someone@example.org") {
			t.Errorf("an e-mail address was sent to the embeddings API: %q", in)
		}
	}
	fake.mu.Unlock()
	if n < len(a.lib.Current().Catalog.Entries) {
		t.Errorf("only %d texts embedded", n)
	}
	if files, _ := filepath.Glob(filepath.Join(a.cfg.Data, "embeddings", "*.gob")); len(files) != 1 {
		t.Errorf("embedding cache files: %v", files)
	}
	fake.fail.Store(true)
	r = m.Explain("cant stay hard")
	if r.Features["embedding"] != 0 || len(r.Candidates) == 0 || r.Candidates[0].ID != "erectile-dysfunction" {
		t.Errorf("no lexical fallback when the API fails: %+v", r)
	}
}
