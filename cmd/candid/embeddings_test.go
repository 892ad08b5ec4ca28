package main

import (
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/candid-app/candid/internal/logtest"
	"github.com/candid-app/candid/internal/match/embedtest"
)

// TestServeWithEmbeddings: with match.embeddings.* set, serve fuses the
// embedding signal, caches the FAQ's vectors under the data folder,
// scrubs contact details before any text leaves, and falls back to
// lexical matching when the API fails. The logs hold neither the question,
// the address typed in it, nor the API key.
func TestServeWithEmbeddings(t *testing.T) {
	api := embedtest.New(t, "test-key")
	var logs logtest.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, srv := newAppWithLog(t, map[string]string{
		"CANDID_EMBEDDINGS_BASE_URL": api.URL + "/v1",
		"CANDID_EMBEDDINGS_API_KEY":  "test-key",
		"CANDID_EMBEDDINGS_MODEL":    "test-embed",
	}, log)
	// A question through the web chat, so the whole serve path runs.
	resp, err := http.Post(srv.URL+"/api/v1/chat/messages", "application/json",
		strings.NewReader(`{"text":"my erection fades, write to pat.doe@example.org"}`))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("chat: %v %v", resp, err)
	}
	resp.Body.Close()
	m := a.lib.Current().Matcher
	r := m.Explain("cant stay hard, email me at someone@example.org")
	if r.Features["embedding"] != 1 || len(r.Candidates) == 0 || r.Candidates[0].ID != "erectile-dysfunction" {
		t.Fatalf("embeddings not used: %+v", r)
	}
	inputs := api.Inputs()
	n := len(inputs)
	for _, in := range inputs {
		if strings.Contains(in, "someone@example.org") || strings.Contains(in, "pat.doe@example.org") {
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
	got := logs.String()
	if !strings.Contains(got, "matching with embeddings") {
		t.Fatalf("expected the embeddings start-up line; logs:\n%s", got)
	}
	for _, s := range []string{"erection fades", "pat.doe@example.org", "someone@example.org", "test-key"} {
		if strings.Contains(got, s) {
			t.Errorf("logs hold %q", s)
		}
	}
}
