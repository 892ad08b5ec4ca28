package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/candid-app/candid/internal/content"
	"github.com/candid-app/candid/internal/evaluate"
	"github.com/candid-app/candid/internal/faq"
	"github.com/candid-app/candid/internal/learn"
	"github.com/candid-app/candid/internal/match"
)

// Thresholds of the corpus checks, on word-set (Jaccard) similarity.
const (
	// evalNear: a training line this close to an evaluation line makes
	// the evaluation measure memory, not understanding.
	evalNear = 0.7
	// crossNear: two lines this close under different topics teach the
	// ranker that the same words mean two things.
	crossNear = 0.9
	// nearMinWords: shorter lines are compared for equality only.
	nearMinWords = 4
)

// lintTopicCorpus checks the matcher's corpus beside the FAQ: the ranker
// is trained on it as it is now, no line is nearly a line of another
// topic, and no line is near a line of an evaluation set (eval/*.jsonl).
// It prints each problem and returns the counts of errors and warnings.
func lintTopicCorpus(stdout io.Writer, faqRoot, corpus, evalDir string) (errs, warns int) {
	report := func(format string, a ...any) {
		fmt.Fprintf(stdout, format+"\n", a...)
		errs++
	}
	lines, hash, err := match.ReadTopicCorpus(os.DirFS(corpus))
	if err != nil {
		report("%s: error: %v", filepath.Join(corpus, "topics"), err)
		return errs, warns
	}
	cat, err := faq.Load(os.DirFS(faqRoot), content.EntriesDir)
	if err == nil {
		var rk *learn.Model
		var lex *match.Lexicon
		if lex, err = match.LoadLexicon(os.DirFS(faqRoot), content.LexiconFile); err == nil {
			if rk, err = match.LoadRanker(os.DirFS(faqRoot)); err == nil {
				err = match.CheckRankerFresh(rk, match.RankerHash(cat, lex, hash))
			}
		}
		if err != nil {
			report("%s: error: %v", filepath.Join(faqRoot, "match"), err)
		}
	}
	qs := make([]string, len(lines))
	for i, l := range lines {
		qs[i] = l.Q
	}
	at := func(l match.TopicLine) string { return fmt.Sprintf("%s:%d", filepath.Join(corpus, l.File), l.Line) }
	for _, p := range learn.NearPairs(qs, qs, crossNear, nearMinWords) {
		a, b := lines[p.A], lines[p.B]
		if a.Topic != b.Topic {
			report("%s: error: nearly the same words as %s (similarity %.2f) under another topic (%s, %s): keep the line where it belongs and delete the other", at(b), at(a), p.Similarity, b.Topic, a.Topic)
		}
	}
	files, _ := filepath.Glob(filepath.Join(evalDir, "*.jsonl"))
	sort.Strings(files)
	for _, f := range files {
		cases, err := evaluate.LoadCases(f)
		if err != nil {
			continue // not a case file (the safety sets have their own format)
		}
		var eq []string
		for _, c := range cases {
			eq = append(eq, c.Q)
		}
		for _, p := range learn.NearPairs(qs, eq, evalNear, nearMinWords) {
			report("%s: error: within similarity %.2f of %s line %d, an evaluation question: delete the training line, so that evaluation stays honest", at(lines[p.A]), p.Similarity, f, p.B+1)
		}
	}
	return errs, warns
}
