package match

import (
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"sync/atomic"

	"github.com/candid-app/candid/internal/faq"
)

// Live holds the Matcher in use and replaces it atomically: a query runs
// entirely on the Matcher it loaded at its start, so a swap never tears a
// query, and readers never wait for a rebuild. The wiring calls Reload on
// SIGHUP or when a watcher sees faq/ change.
type Live struct {
	cur atomic.Pointer[Matcher]

	mu      sync.Mutex // serialises Reload: one rebuild at a time
	dir     string     // the FAQ folder inside the fs.FS, e.g. "en"
	lexPath string     // the lexicon inside the fs.FS, e.g. "lexicon.yaml"; "" for none
	opts    Options
}

// NewLive loads the catalog at dir and the lexicon at lexPath (both inside
// fsys; lexPath may be "" to run without a lexicon) and builds the first
// Matcher. With os.DirFS("faq"), dir is "en" and lexPath "lexicon.yaml".
func NewLive(fsys fs.FS, dir, lexPath string, opts Options) (*Live, error) {
	l := &Live{dir: dir, lexPath: lexPath, opts: opts}
	if err := l.Reload(fsys); err != nil {
		return nil, err
	}
	return l, nil
}

// Load builds a Matcher from the catalog at dir and the lexicon at lexPath.
func Load(fsys fs.FS, dir, lexPath string, opts Options) (*Matcher, error) {
	cat, err := faq.Load(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("loading FAQ: %w", err)
	}
	var lex *Lexicon
	if lexPath != "" {
		if lex, err = LoadLexicon(fsys, lexPath); err != nil {
			return nil, err
		}
	}
	return New(cat, lex, opts)
}

// Reload rebuilds the Matcher from fsys and swaps it in only when the FAQ
// and the lexicon load cleanly; on any error the current Matcher stays and
// the error is returned.
func (l *Live) Reload(fsys fs.FS) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	m, err := Load(fsys, l.dir, l.lexPath, l.opts)
	if err != nil {
		return err
	}
	l.cur.Store(m)
	return nil
}

// Swap installs m and returns the previous Matcher. A nil m is refused.
func (l *Live) Swap(m *Matcher) (*Matcher, error) {
	if m == nil {
		return nil, errors.New("match: Swap(nil)")
	}
	return l.cur.Swap(m), nil
}

// Matcher returns the Matcher in use.
func (l *Live) Matcher() *Matcher { return l.cur.Load() }

// Match runs the query on the Matcher in use.
func (l *Live) Match(query string) Result { return l.cur.Load().Match(query) }
