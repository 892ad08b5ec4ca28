package match

import (
	"os"
	"path/filepath"
	"slices"
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
