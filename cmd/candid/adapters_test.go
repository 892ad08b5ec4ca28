package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/candid-app/candid/internal/content"
	"github.com/candid-app/candid/internal/faq"
	"github.com/candid-app/candid/internal/match"
)

// TestConsoleFAQFollowsReload: the console names and previews entries from
// the live content, so a reworded, added or removed entry shows there after
// a hot reload without a restart.
func TestConsoleFAQFollowsReload(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../../faq")); err != nil {
		t.Fatal(err)
	}
	lib, err := content.NewLive(os.DirFS(dir), dir, match.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cf := consoleFAQ(lib, faq.Vars{ClinicName: "Test Clinic", BookingURL: "https://clinic.example/book"})
	const id = "performance-anxiety"
	before, ok := cf.FAQEntry(id)
	if !ok || before.Question == "" || before.Answer == "" {
		t.Fatalf("FAQEntry(%q) = %+v, %v; want the shipped entry", id, before, ok)
	}
	if strings.Contains(before.Answer, "{{") {
		t.Errorf("the answer is not rendered with the clinic's variables: %q", before.Answer)
	}
	if _, ok := cf.FAQEntry("no-such-entry"); ok {
		t.Error("an unknown id was found")
	}

	// Reword the entry's question and remove another entry on disk.
	path := filepath.Join(dir, "en", id+".yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const reworded = "Why do I freeze up with nerves before sex?"
	changed := strings.Replace(string(data), "question: \""+before.Question+"\"", "question: \""+reworded+"\"", 1)
	if changed == string(data) {
		t.Fatalf("could not find the question line in %s", path)
	}
	if err := os.WriteFile(path, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "en", "fetishes.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := lib.Reload(); err != nil {
		t.Fatal(err)
	}
	after, ok := cf.FAQEntry(id)
	if !ok || after.Question != reworded {
		t.Errorf("after the reload FAQEntry(%q) = %q, %v; want %q", id, after.Question, ok, reworded)
	}
	if _, ok := cf.FAQEntry("fetishes"); ok {
		t.Error("an entry removed on disk is still offered after the reload")
	}
}
