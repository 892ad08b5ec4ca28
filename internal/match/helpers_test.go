package match

import (
	"os"
	"testing"

	"github.com/candid-app/candid/internal/evaluate"
	"github.com/candid-app/candid/internal/faq"
	"github.com/candid-app/candid/internal/learn"
)

// Paths relative to this package.
const (
	faqRoot      = "../../faq"
	devCasesPath = "../../../shared/eval/dev.jsonl"
	ownCasesPath = "../../eval/own.jsonl"
	corpusRoot   = "../../corpus"
)

// loadReal loads the project's FAQ and lexicon, skipping when absent.
func loadReal(t testing.TB) (*faq.Catalog, *Lexicon) {
	t.Helper()
	fsys := os.DirFS(faqRoot)
	cat, err := faq.Load(fsys, "en")
	if err != nil {
		t.Fatalf("loading %s/en: %v", faqRoot, err)
	}
	lex, err := LoadLexicon(fsys, "lexicon.yaml")
	if err != nil {
		t.Fatalf("loading lexicon: %v", err)
	}
	return cat, lex
}

// rankerFor is the shipped ranker when cat has entries it was trained on
// (the real FAQ), nil for a synthetic catalog.
func rankerFor(t testing.TB, cat *faq.Catalog) *learn.Model {
	t.Helper()
	rk, err := LoadRanker(os.DirFS(faqRoot))
	if err != nil {
		t.Fatal(err)
	}
	if rk == nil {
		return nil
	}
	for _, e := range cat.Entries {
		if rk.Class(e.ID) >= 0 {
			return rk
		}
	}
	return nil
}

func loadCases(t testing.TB, path string) []evaluate.Case {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s is absent (%v): skipping", path, err)
	}
	cs, err := evaluate.LoadCases(path)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// outcome adapts a Result to the evaluation's Outcome.
func outcome(r Result) evaluate.Outcome {
	o := evaluate.Outcome{Decision: string(r.Decision)}
	if r.Decision == Answer && len(r.Candidates) > 0 {
		o.FAQID = r.Candidates[0].ID
	}
	for _, c := range r.Candidates {
		o.Candidates = append(o.Candidates, c.ID)
	}
	return o
}
