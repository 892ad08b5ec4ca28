package match

import (
	"fmt"
	"io/fs"

	"github.com/candid-app/candid/internal/faq"
)

// Load builds a Matcher from the catalog at dir and the lexicon at lexPath
// (both inside fsys; lexPath may be "" to run without a lexicon). Swapping
// content in a running server is internal/content's job: it reloads the FAQ,
// the lexicon and the crisis rules together.
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
	if opts.Ranker == nil {
		if opts.Ranker, err = LoadRanker(fsys); err != nil {
			return nil, err
		}
	}
	return New(cat, lex, opts)
}
