package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/candid-app/candid/internal/content"
	"github.com/candid-app/candid/internal/faq"
	"github.com/candid-app/candid/internal/match"
	"github.com/candid-app/candid/internal/safety"
)

// faqTrain trains the learned layers from the corpus and writes their model
// files (go generate ./faq runs it): the safety detector's (corpus/safety
// and corpus/topics) and the matcher's ranker (the FAQ's texts and
// corpus/topics).
func faqTrain(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("faq train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	corpus := fs.String("corpus", "corpus", "the training corpus folder (safety/*.jsonl, topics/*.jsonl)")
	faqDir := fs.String("faq", "faq", "the content folder whose crisis rules run before the model")
	scores := fs.String("scores", "", "also write each corpus line's out-of-fold score (TSV: score, set, kind, writer, text) to this file, to read the misses")
	check := fs.Bool("check", false, "only report whether the models are fresh")
	only := fs.String("only", "", "train only one layer: safety or ranker (default both)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch *only {
	case "", "safety", "ranker":
	default:
		return exitError{2, "candid faq train: --only takes safety or ranker"}
	}
	if *only != "safety" {
		if err := trainRanker(*corpus, *faqDir, *check, stdout); err != nil {
			return err
		}
	}
	if *only == "ranker" {
		return nil
	}
	if fs.NArg() > 0 {
		return exitError{2, "candid faq train: no arguments expected; use --corpus and --out"}
	}
	lines, corpusHash, err := safety.ReadCorpus(os.DirFS(*corpus))
	if err != nil {
		return fmt.Errorf("candid faq train: %w", err)
	}
	hash, err := safety.WithRules(corpusHash, os.DirFS(*faqDir))
	if err != nil {
		return fmt.Errorf("candid faq train: %w", err)
	}
	if *check {
		m, err := safety.LoadModel(os.DirFS(*faqDir))
		if err != nil {
			return err
		}
		return m.CheckFresh(hash)
	}
	rules, err := safety.LoadDetector(os.DirFS(*faqDir), "safety/crisis.yaml")
	if err != nil {
		return fmt.Errorf("candid faq train: %w", err)
	}
	m, rep, err := safety.Train(lines, hash, rules)
	if err != nil {
		return fmt.Errorf("candid faq train: %w", err)
	}
	fmt.Fprint(stdout, rep.String())
	if *scores != "" {
		var b strings.Builder
		for i, l := range lines {
			fmt.Fprintf(&b, "%.3f\t%s\t%s\t%s\t%s\n", rep.Scores[i], l.Set(), l.Kind, l.Writer, strings.Join(strings.Fields(l.Q), " "))
		}
		if err := os.WriteFile(*scores, []byte(b.String()), 0o600); err != nil {
			return fmt.Errorf("candid faq train: %w", err)
		}
	}
	return m.WriteFiles(func(path string, b []byte) error {
		full := filepath.Join(*faqDir, filepath.FromSlash(path))
		if err := writeFileAtomic(full, b); err != nil {
			return fmt.Errorf("candid faq train: %w", err)
		}
		fmt.Fprintf(stdout, "wrote %s (%d bytes)\n", full, len(b))
		return nil
	})
}

// writeFileAtomic writes through a temporary file and a rename, so a
// crash never leaves half a model.
func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".model-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// trainRanker trains the matcher's ranker and writes match/ranker.model.
func trainRanker(corpus, faqDir string, check bool, stdout io.Writer) error {
	cat, err := faq.Load(os.DirFS(faqDir), content.EntriesDir)
	if err != nil {
		return fmt.Errorf("candid faq train: %w", err)
	}
	lines, corpusHash, err := match.ReadTopicCorpus(os.DirFS(corpus))
	if err != nil {
		return fmt.Errorf("candid faq train: %w", err)
	}
	lex, err := match.LoadLexicon(os.DirFS(faqDir), content.LexiconFile)
	if err != nil {
		return fmt.Errorf("candid faq train: %w", err)
	}
	hash := match.RankerHash(cat, lex, corpusHash)
	if check {
		m, err := match.LoadRanker(os.DirFS(faqDir))
		if err != nil {
			return err
		}
		return match.CheckRankerFresh(m, hash)
	}
	m, rep, err := match.TrainRanker(cat, lex, lines, hash)
	if err != nil {
		return fmt.Errorf("candid faq train: %w", err)
	}
	fmt.Fprint(stdout, rep.String())
	var b bytes.Buffer
	if _, err := m.WriteTo(&b); err != nil {
		return fmt.Errorf("candid faq train: %w", err)
	}
	full := filepath.Join(faqDir, filepath.FromSlash(match.RankerFile))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return fmt.Errorf("candid faq train: %w", err)
	}
	if err := writeFileAtomic(full, b.Bytes()); err != nil {
		return fmt.Errorf("candid faq train: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s (%d bytes)\n", full, b.Len())
	return nil
}
