package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/candid-app/candid/internal/content"
	"github.com/candid-app/candid/internal/evaluate"
	"github.com/candid-app/candid/internal/faq"
	"github.com/candid-app/candid/internal/match"
	"github.com/candid-app/candid/internal/safety"
)

const faqUsage = `Usage:
  candid faq lint [DIR]                 check the entries (DIR: faq/en, or faq/ for every locale)
  candid faq eval --cases FILE [flags]  measure the matcher on labelled questions (JSON lines)
  candid faq show [--faq DIR] ID        show an entry as an asker sees it
  candid faq train [--corpus DIR]       train the safety detector's learned layer (go generate ./faq)
  candid faq safety [--misses] FILE…    safety recall per kind and tier, and false alarms, on labelled messages`

func faqCmd(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, faqUsage)
		return exitError{code: 2}
	}
	switch args[0] {
	case "lint":
		return faqLint(args[1:], stdout, stderr)
	case "eval":
		return faqEval(args[1:], stdout, stderr, getenv)
	case "show":
		return faqShow(args[1:], stdout, stderr, getenv)
	case "train":
		return faqTrain(args[1:], stdout, stderr)
	case "safety":
		return faqSafety(args[1:], stdout, stderr, getenv)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, faqUsage)
		return nil
	}
	return exitError{2, fmt.Sprintf("candid faq: unknown subcommand %q\n\n%s", args[0], faqUsage)}
}

// localeDirs returns the locale folders to lint: dir itself when it holds
// entries, else its sub-folders that do (skipping safety/).
func localeDirs(dir string) ([]string, error) {
	if m, _ := filepath.Glob(filepath.Join(dir, "*.yaml")); len(m) > 0 && filepath.Base(dir) != "faq" {
		return []string{dir}, nil
	}
	subs, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", dir, err)
	}
	var out []string
	for _, s := range subs {
		if !s.IsDir() || s.Name() == "safety" {
			continue
		}
		if m, _ := filepath.Glob(filepath.Join(dir, s.Name(), "*.yaml")); len(m) > 0 {
			out = append(out, filepath.Join(dir, s.Name()))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no FAQ entries (*.yaml) nor locale folders with entries", dir)
	}
	return out, nil
}

func faqLint(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("faq lint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	today := fs.String("today", "", "check review dates as of this day (YYYY-MM-DD; default today)")
	strict := fs.Bool("strict", false, "treat warnings as errors")
	review := fs.Bool("review", false, "list only the entries a clinician needs to review (drafts, and reviews expired or due), overdue first; exits 0")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir := "faq/en"
	if fs.NArg() > 1 {
		return exitError{2, "candid faq lint: give at most one folder"}
	}
	if fs.NArg() == 1 {
		dir = fs.Arg(0)
	}
	opts := faq.LintOptions{}
	if *today != "" {
		t, err := time.Parse(time.DateOnly, *today)
		if err != nil {
			return exitError{2, "candid faq lint: --today must be YYYY-MM-DD"}
		}
		opts.Today = t
	}
	// The topics every locale must answer (faq/topics.txt), when the
	// folder has the list.
	topicsRoot := filepath.Clean(dir)
	if filepath.Base(topicsRoot) != "faq" {
		topicsRoot = filepath.Dir(topicsRoot)
	}
	if b, err := os.ReadFile(filepath.Join(topicsRoot, "topics.txt")); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				opts.RequiredIDs = append(opts.RequiredIDs, l)
			}
		}
	}
	dirs, err := localeDirs(filepath.Clean(dir))
	if err != nil {
		return err
	}
	if *review {
		return faqReviewList(stdout, dirs, opts)
	}
	var errs, warns, entries, drafts int
	for _, d := range dirs {
		cat, ps := faq.Lint(os.DirFS(filepath.Dir(d)), filepath.Base(d), opts)
		for _, p := range ps {
			p.File = filepath.Join(filepath.Dir(d), p.File)
			fmt.Fprintln(stdout, p.String())
			if p.Warning {
				warns++
			} else {
				errs++
			}
		}
		if cat != nil {
			entries += len(cat.Entries)
			for _, e := range cat.Entries {
				if e.IsDraft() {
					drafts++
				}
			}
		}
	}
	// The safety model must be trained on the corpus as it is now. The
	// corpus lives beside faq/ in a checkout (corpus/); without it (an
	// installed binary linting a copied folder) there is nothing to compare.
	faqRoot := filepath.Clean(dir)
	if filepath.Base(faqRoot) != "faq" {
		faqRoot = filepath.Dir(faqRoot)
	}
	if corpus := filepath.Join(filepath.Dir(faqRoot), "corpus"); dirExists(filepath.Join(corpus, "safety")) {
		_, hash, err := safety.ReadCorpus(os.DirFS(corpus))
		if err == nil {
			hash, err = safety.WithRules(hash, os.DirFS(faqRoot))
		}
		if err == nil {
			var m *safety.Model
			if m, err = safety.LoadModel(os.DirFS(faqRoot)); err == nil {
				err = m.CheckFresh(hash)
			}
		}
		if err != nil {
			fmt.Fprintf(stdout, "%s: error: %v\n", filepath.Join(faqRoot, "safety"), err)
			errs++
		}
	}
	if corpus := filepath.Join(filepath.Dir(faqRoot), "corpus"); dirExists(filepath.Join(corpus, "topics")) {
		e, w := lintTopicCorpus(stdout, faqRoot, corpus, filepath.Join(filepath.Dir(faqRoot), "eval"))
		errs, warns = errs+e, warns+w
	}
	fmt.Fprintf(stdout, "%d entries (%d drafts awaiting clinical review), %d errors, %d warnings\n", entries, drafts, errs, warns)
	if errs > 0 || *strict && warns > 0 {
		return exitError{code: 1}
	}
	return nil
}

// faqReviewList prints the clinical review queue of each locale folder.
func faqReviewList(stdout io.Writer, dirs []string, opts faq.LintOptions) error {
	total, overdue := 0, 0
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ENTRY\tFILE\tWHY")
	for _, d := range dirs {
		cat, _ := faq.Lint(os.DirFS(filepath.Dir(d)), filepath.Base(d), opts)
		if cat == nil {
			continue
		}
		for _, it := range faq.ReviewQueue(cat, opts) {
			total++
			if it.Overdue {
				overdue++
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", it.ID, filepath.Join(filepath.Dir(d), it.File), it.Reason)
		}
	}
	tw.Flush()
	fmt.Fprintf(stdout, "%d entries need a clinician's review (%d overdue). A reviewer sets review.status: reviewed, review.by (a role, not a name) and review.date in the entry; see docs/curators.md.\n", total, overdue)
	return nil
}

func faqEval(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("faq eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cases := fs.String("cases", "", "labelled questions, JSON lines {\"q\": …, \"expect\": [ids]} (required)")
	dir := fs.String("faq", getenv("CANDID_FAQ"), "content folder (default ./faq or the built-in copy)")
	d := evaluate.DefaultFloors()
	fs.Float64Var(&d.MinAnswerAccuracy, "min-accuracy", d.MinAnswerAccuracy, "floor: answer accuracy")
	fs.Float64Var(&d.MaxWrongAnswerRate, "max-wrong", d.MaxWrongAnswerRate, "floor: wrong-answer rate")
	fs.Float64Var(&d.MinTop3Recall, "min-top3", d.MinTop3Recall, "floor: top-3 recall")
	fs.Float64Var(&d.MinCrisisRecall, "min-crisis-recall", d.MinCrisisRecall, "floor: crisis recall")
	fs.Float64Var(&d.MaxFalseCrisisRate, "max-false-crisis", d.MaxFalseCrisisRate, "floor: false-crisis rate")
	noFloor := fs.Bool("no-floor", false, "report only; never fail")
	quiet := fs.Bool("quiet", false, "print the metrics without the list of misses")
	baselineFlag := fs.Bool("baseline", baseline != nil, "also report bleve's BM25 on the same cases (needs a build with -tags bleve)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cases == "" {
		fs.Usage()
		return exitError{2, "candid faq eval: --cases FILE is required"}
	}
	cs, err := evaluate.LoadCases(*cases)
	if err != nil {
		return err
	}
	classify, set, err := classifier(*dir, match.Thresholds{})
	if err != nil {
		return err
	}
	rep := evaluate.Run(cs, func(q string) evaluate.Outcome {
		c := classify(q)
		o := evaluate.Outcome{Decision: c.Decision, FAQID: c.FAQID}
		for _, cand := range c.Candidates {
			o.Candidates = append(o.Candidates, cand.FAQID)
		}
		return o
	}, evaluate.Options{})
	fmt.Fprintf(stdout, "candid on %s (%d cases, %d entries from %s)\n", *cases, len(cs), len(set.Catalog.Entries), set.Source)
	if *quiet {
		fmt.Fprint(stdout, rep.Summary())
	} else {
		rep.WriteTo(stdout)
	}
	if *baselineFlag {
		if baseline == nil {
			fmt.Fprintln(stdout, "\nbaseline: not built in; run with `go run -tags bleve ./cmd/candid faq eval …`")
		} else {
			fn, err := baseline(set)
			if err != nil {
				return fmt.Errorf("baseline: %w", err)
			}
			brep := evaluate.Run(cs, func(q string) evaluate.Outcome {
				// The baseline has no crisis detector: the same safety step runs first, so the
				// comparison is about matching only.
				if c := classify(q); c.Decision == "crisis" {
					return evaluate.Outcome{Decision: "crisis"}
				}
				return fn(q)
			}, evaluate.Options{})
			fmt.Fprintf(stdout, "\nbaseline: bleve BM25 (same documents, same safety step, always answers its top hit)\n%s", brep.Summary())
		}
	}
	if *noFloor {
		return nil
	}
	if err := d.Check(rep); err != nil {
		return exitError{1, "candid faq eval: below the quality floor:\n" + err.Error()}
	}
	fmt.Fprintln(stdout, "quality floor: met")
	return nil
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// baseline is set by baseline_bleve.go in builds with -tags bleve.
var baseline func(set *content.Set) (func(q string) evaluate.Outcome, error)

func faqShow(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("faq show", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("faq", getenv("CANDID_FAQ"), "content folder (default ./faq or the built-in copy)")
	clinic := fs.String("clinic-name", firstNonEmpty(getenv("CANDID_CLINIC_NAME"), faq.ExampleVars.ClinicName), "clinic name to fill in")
	booking := fs.String("booking-url", firstNonEmpty(getenv("CANDID_BOOKING_URL"), faq.ExampleVars.BookingURL), "booking URL to fill in")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return exitError{2, "Usage: candid faq show [--faq DIR] ID"}
	}
	fsys, _, err := content.Source(*dir)
	if err != nil {
		return err
	}
	cat, ps := faq.Lint(fsys, content.EntriesDir, faq.LintOptions{})
	id := fs.Arg(0)
	e := cat.Entry(id)
	if e == nil {
		var ids []string
		for _, x := range cat.Entries {
			if strings.Contains(x.ID, id) {
				ids = append(ids, x.ID)
			}
		}
		msg := fmt.Sprintf("candid faq show: no entry %q", id)
		if len(ids) > 0 {
			msg += "; did you mean: " + strings.Join(ids, ", ")
		}
		return exitError{1, msg}
	}
	v := faq.ExampleVars
	v.ClinicName, v.BookingURL = *clinic, *booking
	fmt.Fprint(stdout, e.Show(v))
	for _, p := range ps {
		if strings.HasSuffix(p.File, id+".yaml") {
			fmt.Fprintln(stdout, p.String())
		}
	}
	return nil
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
