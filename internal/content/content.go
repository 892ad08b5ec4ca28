// Package content owns the curated content a running server uses: the FAQ
// catalog, the matcher built over it with the slang lexicon, and the crisis
// rules and resources. It loads them together from one folder (or the copy
// built into the binary), validates all of them, and swaps them atomically
// on Reload, so a curator's change takes effect without a restart and a
// broken change never replaces working content.
package content

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"

	faqfiles "github.com/candid-app/candid/faq"
	"github.com/candid-app/candid/internal/faq"
	"github.com/candid-app/candid/internal/match"
	"github.com/candid-app/candid/internal/safety"
)

// Paths inside a content folder.
const (
	EntriesDir    = "en"
	LexiconFile   = "lexicon.yaml"
	CrisisFile    = "safety/crisis.yaml"
	ResourcesFile = "safety/resources.yaml"
)

// Set is one consistent version of the content.
type Set struct {
	Catalog   *faq.Catalog
	Matcher   *match.Matcher
	Detector  *safety.Detector
	Resources *safety.Resources
	Source    string // where it was loaded from, for logs
}

// Source chooses the content folder: dir when given, else ./faq when it
// holds entries (a checkout), else the embedded copy.
func Source(dir string) (fs.FS, string, error) {
	if dir != "" {
		st, err := os.Stat(filepath.Join(dir, EntriesDir))
		if err != nil || !st.IsDir() {
			return nil, "", fmt.Errorf("content: %s has no %s/ folder of FAQ entries: point --faq at the folder that holds en/, lexicon.yaml and safety/", dir, EntriesDir)
		}
		return os.DirFS(dir), dir, nil
	}
	if st, err := os.Stat(filepath.Join("faq", EntriesDir)); err == nil && st.IsDir() {
		return os.DirFS("faq"), "./faq", nil
	}
	return faqfiles.FS, "built-in copy", nil
}

// Load reads and validates everything in fsys. opts configure the matcher
// (thresholds, optional embeddings, logger); Previous is set by Reload.
func Load(fsys fs.FS, source string, opts match.Options) (*Set, error) {
	return load(fsys, source, opts, nil)
}

// load is Load reusing what it can of prev, the Set being replaced.
func load(fsys fs.FS, source string, opts match.Options, prev *Set) (*Set, error) {
	cat, err := faq.Load(fsys, EntriesDir)
	if err != nil {
		return nil, fmt.Errorf("FAQ entries in %s: %w", source, err)
	}
	lex, err := match.LoadLexicon(fsys, LexiconFile)
	if err != nil {
		return nil, fmt.Errorf("lexicon in %s: %w", source, err)
	}
	opts.Previous = nil
	if prev != nil {
		opts.Previous = prev.Matcher
	}
	if opts.Ranker == nil {
		if opts.Ranker, err = match.LoadRanker(fsys); err != nil {
			return nil, fmt.Errorf("ranker in %s: %w", source, err)
		}
	}
	m, err := match.New(cat, lex, opts)
	if err != nil {
		return nil, fmt.Errorf("matcher over %s: %w", source, err)
	}
	det, err := safety.LoadDetector(fsys, CrisisFile)
	if err != nil {
		return nil, fmt.Errorf("crisis rules in %s: %w", source, err)
	}
	model, err := safety.LoadModel(fsys)
	if err != nil {
		return nil, fmt.Errorf("safety model in %s: %w", source, err)
	}
	det = det.WithModel(model)
	res, err := safety.LoadResources(fsys, ResourcesFile)
	if err != nil {
		return nil, fmt.Errorf("crisis resources in %s: %w", source, err)
	}
	return &Set{Catalog: cat, Matcher: m, Detector: det, Resources: res, Source: source}, nil
}

// Live is the content in use. Its methods read the current Set; Reload
// replaces it. Safe for concurrent use: a query sees one whole Set.
type Live struct {
	cur    atomic.Pointer[Set]
	fsys   fs.FS
	source string
	opts   match.Options
	log    *slog.Logger
}

// NewLive loads the content once; an error here stops the server.
func NewLive(fsys fs.FS, source string, opts match.Options, log *slog.Logger) (*Live, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s, err := Load(fsys, source, opts)
	if err != nil {
		return nil, err
	}
	l := &Live{fsys: fsys, source: source, opts: opts, log: log}
	l.cur.Store(s)
	return l, nil
}

// Reload loads the content again and swaps it in only if all of it is valid.
func (l *Live) Reload() error {
	s, err := load(l.fsys, l.source, l.opts, l.Current())
	if err != nil {
		l.log.Error("content reload failed; still serving the previous version", "source", l.source, "err", err)
		return err
	}
	l.cur.Store(s)
	l.log.Info("content reloaded", "source", l.source, "entries", len(s.Catalog.Entries))
	return nil
}

// Current returns the Set in use.
func (l *Live) Current() *Set { return l.cur.Load() }

// Match, Entry, Assess and Message make Live the engine's Library, Assessor
// and CrisisResources.
func (l *Live) Match(q string) match.Result       { return l.Current().Matcher.Match(q) }
func (l *Live) Entry(id string) *faq.Entry        { return l.Current().Catalog.Entry(id) }
func (l *Live) Assess(t string) safety.Assessment { return l.Current().Detector.Assess(t) }
func (l *Live) Message(region string, a safety.Assessment) string {
	return l.Current().Resources.Message(region, a)
}

// SafetyCheck is the clinic's safety-check reply for kind (Resources.SafetyCheck).
func (l *Live) SafetyCheck(region string, kind safety.Kind, lang string) string {
	return l.Current().Resources.SafetyCheck(region, kind, lang)
}
