package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/candid-app/candid/internal/safety"
)

// faqTrain trains the safety detector's learned layer from the corpus and
// writes the model file (go generate ./faq runs it).
func faqTrain(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("faq train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	corpus := fs.String("corpus", "corpus", "the training corpus folder (safety/*.jsonl, topics/*.jsonl)")
	faqDir := fs.String("faq", "faq", "the content folder whose crisis rules run before the model")
	scores := fs.String("scores", "", "also write each corpus line's out-of-fold score (TSV: score, set, kind, writer, text) to this file, to read the misses")
	check := fs.Bool("check", false, "only report whether the model at --out is fresh")
	if err := fs.Parse(args); err != nil {
		return err
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
