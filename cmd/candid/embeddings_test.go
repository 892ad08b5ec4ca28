package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/candid-app/candid/internal/match/embedtest"
)

// TestServeWithEmbeddings: with match.embeddings.* set, serve fuses the
// embedding signal, caches the FAQ's vectors under the data folder,
// scrubs contact details before any text leaves, and falls back to
// lexical matching when the API fails.
func TestServeWithEmbeddings(t *testing.T) {
	api := embedtest.New(t, "test-key")
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
	inputs := api.Inputs()
	n := len(inputs)
	for _, in := range inputs {
		if strings.Contains(in, "someone@example.org") {
			t.Errorf("an e-mail address was sent to the embeddings API: %q", in)
		}
	}
	for _, model := range api.Models() {
		if model != "test-embed" {
			t.Errorf("model %q sent, want the configured test-embed", model)
		}
	}
	if n < len(a.lib.Current().Catalog.Entries) {
		t.Errorf("only %d texts embedded", n)
	}
	if files, _ := filepath.Glob(filepath.Join(a.cfg.Data, "embeddings", "*.gob")); len(files) != 1 {
		t.Errorf("embedding cache files: %v", files)
	}
	api.SetMode(embedtest.ModeFail)
	r = m.Explain("cant stay hard")
	if r.Features["embedding"] != 0 || len(r.Candidates) == 0 || r.Candidates[0].ID != "erectile-dysfunction" {
		t.Errorf("no lexical fallback when the API fails: %+v", r)
	}
}
