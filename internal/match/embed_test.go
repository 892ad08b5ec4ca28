package match

import (
	"encoding/json"
	"hash/fnv"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// embedServer answers POST /v1/embeddings in the documented OpenAI shape
// with a bag-of-words vector (64 hashed dimensions). mode "fail" answers
// 500 to single-text (query) requests, "slow" sleeps past the timeout.
func embedServer(t *testing.T, mode *atomic.Value, calls *atomic.Int64) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/embeddings" {
			http.NotFound(w, r)
			return
		}
		var req struct {
			Model string   `json:"model"`
			Input []string `json:"input"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Model == "" {
			http.Error(w, "bad request", 400)
			return
		}
		calls.Add(1)
		if len(req.Input) == 1 {
			switch mode.Load().(string) {
			case "fail":
				http.Error(w, "boom", 500)
				return
			case "slow":
				time.Sleep(300 * time.Millisecond)
			}
		}
		type item struct {
			Object    string    `json:"object"`
			Index     int       `json:"index"`
			Embedding []float32 `json:"embedding"`
		}
		var data []item
		for i, text := range req.Input {
			v := make([]float32, 64)
			for _, w := range strings.Fields(strings.ToLower(text)) {
				h := fnv.New32a()
				h.Write([]byte(w))
				v[h.Sum32()%64]++
			}
			data = append(data, item{"embedding", i, v})
		}
		json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data, "model": req.Model})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestEmbeddingsFusedCachedAndFallBack(t *testing.T) {
	var mode atomic.Value
	mode.Store("ok")
	var calls atomic.Int64
	srv := embedServer(t, &mode, &calls)
	dir := t.TempDir()
	eo := &EmbedOptions{
		Embedder: &HTTPEmbedder{BaseURL: srv.URL + "/v1", Model: "test-embed"},
		Model:    "test-embed", CacheDir: dir, Timeout: 100 * time.Millisecond,
	}
	m, err := Load(testFS(), "en", "lexicon.yaml", Options{Embeddings: eo})
	if err != nil {
		t.Fatal(err)
	}
	if m.emb == nil {
		t.Fatal("embeddings not enabled")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.gob"))
	if len(files) != 1 {
		t.Fatalf("cache files: %v", files)
	}
	r := m.Explain("cant get hard with my partner")
	if r.Features["embedding"] != 1 || r.Candidates[0].ID != "erectile-dysfunction" {
		t.Errorf("with embeddings: %+v", r)
	}
	// A second build reads the cache: no catalog requests.
	before := calls.Load()
	if _, err := Load(testFS(), "en", "lexicon.yaml", Options{Embeddings: eo}); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != before {
		t.Errorf("rebuild made %d embedding calls despite the cache", calls.Load()-before)
	}
	// Errors and timeouts fall back to the lexical result.
	lexical := testMatcher(t)
	for _, md := range []string{"fail", "slow"} {
		mode.Store(md)
		got := m.Explain("is wanking every day bad")
		want := lexical.Match("is wanking every day bad")
		if got.Features["embedding"] != 0 || !slices.Equal(got.Candidates, want.Candidates) || got.Decision != want.Decision {
			t.Errorf("%s: got %+v, want the lexical %+v", md, got, want)
		}
	}
	// A catalog that cannot be embedded still builds, lexically.
	mode.Store("ok")
	bad := &EmbedOptions{Embedder: &HTTPEmbedder{BaseURL: srv.URL + "/nope", Model: "x"}, Model: "x"}
	m2, err := Load(testFS(), "en", "lexicon.yaml", Options{Embeddings: bad})
	if err != nil || m2.emb != nil {
		t.Errorf("unreachable embedder: err %v, emb %v", err, m2.emb)
	}
	_ = os.Remove
}
