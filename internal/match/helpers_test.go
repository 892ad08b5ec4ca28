package match

import (
	"os"
	"testing"

	"github.com/candid-app/candid/internal/evaluate"
	"github.com/candid-app/candid/internal/faq"
)

// Paths relative to this package.
const (
	faqRoot      = "../../faq"
	devCasesPath = "../../../shared/eval/dev.jsonl"
	ownCasesPath = "../../eval/own.jsonl"
	negCasesPath = "../../eval/negatives.jsonl"
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
