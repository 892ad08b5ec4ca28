package match

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/candid-app/candid/internal/match/embedtest"
)

func TestEmbeddingsFusedCachedAndFallBack(t *testing.T) {
	srv := embedtest.New(t, "")
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
	before := srv.Calls.Load()
	if _, err := Load(testFS(), "en", "lexicon.yaml", Options{Embeddings: eo}); err != nil {
		t.Fatal(err)
	}
	if srv.Calls.Load() != before {
		t.Errorf("rebuild made %d embedding calls despite the cache", srv.Calls.Load()-before)
	}
	// Errors and timeouts fall back to the lexical result.
	lexical := testMatcher(t)
	for _, md := range []string{embedtest.ModeFail, embedtest.ModeSlow} {
		srv.SetMode(md)
		got := m.Explain("is wanking every day bad")
		want := lexical.Match("is wanking every day bad")
		if got.Features["embedding"] != 0 || !slices.Equal(got.Candidates, want.Candidates) || got.Decision != want.Decision {
			t.Errorf("%s: got %+v, want the lexical %+v", md, got, want)
		}
	}
	// A catalog that cannot be embedded still builds, lexically.
	srv.SetMode(embedtest.ModeOK)
	bad := &EmbedOptions{Embedder: &HTTPEmbedder{BaseURL: srv.URL + "/nope", Model: "x"}, Model: "x"}
	m2, err := Load(testFS(), "en", "lexicon.yaml", Options{Embeddings: bad})
	if err != nil || m2.emb != nil {
		t.Errorf("unreachable embedder: err %v, emb %v", err, m2.emb)
	}
	_ = os.Remove
}

// A misbehaving or hostile embeddings server gets a clear error, never a
// panic or a silently wrong vector: malformed JSON, an HTTP error, a
// vector for an input it was not sent, a missing vector, and a body past
// the 64 MB cap.
func TestHTTPEmbedderRejectsBadResponses(t *testing.T) {
	tests := []struct {
		name string
		body func(w http.ResponseWriter)
		want string
	}{
		{"not json", func(w http.ResponseWriter) { io.WriteString(w, "<html>oops</html>") }, "embeddings:"},
		{"http error", func(w http.ResponseWriter) { w.WriteHeader(http.StatusTooManyRequests) }, "HTTP 429"},
		{"index out of range", func(w http.ResponseWriter) {
			io.WriteString(w, `{"object":"list","data":[{"object":"embedding","index":7,"embedding":[1,2]}]}`)
		}, "out of range"},
		{"negative index", func(w http.ResponseWriter) {
			io.WriteString(w, `{"object":"list","data":[{"object":"embedding","index":-1,"embedding":[1,2]}]}`)
		}, "out of range"},
		{"missing vector", func(w http.ResponseWriter) { io.WriteString(w, `{"object":"list","data":[]}`) }, "no vector for input 0"},
		{"empty body", func(w http.ResponseWriter) {}, "embeddings:"},
		{"oversized", func(w http.ResponseWriter) {
			io.WriteString(w, `{"object":"list","data":[{"index":0,"embedding":[`)
			chunk := strings.Repeat("1,", 1<<16)
			for i := 0; i < (65<<20)/len(chunk); i++ {
				io.WriteString(w, chunk)
			}
			io.WriteString(w, `1]}]}`)
		}, "embeddings:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { tt.body(w) }))
			defer srv.Close()
			e := &HTTPEmbedder{BaseURL: srv.URL + "/v1", Model: "m"}
			vs, err := e.Embed(context.Background(), []string{"a question"})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Embed = %v, %v; want an error containing %q", vs, err, tt.want)
			}
		})
	}
}
