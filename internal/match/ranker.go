package match

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"unicode/utf8"

	"github.com/candid-app/candid/internal/learn"
)

// RankerFile is where the learned ranker lives in a content folder. A
// folder without one matches lexically.
const RankerFile = "match/ranker.model"

// NoneClass is the ranker's class for a question that no entry answers.
const NoneClass = "none"

// rankerTop is how many of the ranker's best entries join the lexical
// short list: a question in words that no paraphrase uses can still reach
// its entry through the ranker.
const rankerTop = 3

// LoadRanker reads the ranker from a content folder. It returns nil and no
// error when the folder has none, so that a new catalog still matches
// lexically.
func LoadRanker(fsys fs.FS) (*learn.Model, error) {
	b, err := fs.ReadFile(fsys, RankerFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("match: %w", err)
	}
	m, err := learn.Read(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("match: %s: %w", RankerFile, err)
	}
	if m.Class(NoneClass) < 0 {
		return nil, fmt.Errorf("match: %s has no %q class: retrain it with go generate ./faq", RankerFile, NoneClass)
	}
	return m, nil
}

// ranker ties a model's classes to one catalog's entries.
type ranker struct {
	model *learn.Model
	// entryOf maps a class to its entry number, -1 for none and for
	// classes the catalog no longer has.
	entryOf []int
	// classOf maps an entry to its class, -1 for entries the model was
	// not trained on (added since): they get no ranker signal and are
	// matched lexically.
	classOf []int
	none    int
}

func newRanker(m *learn.Model, ids []string) *ranker {
	if m == nil {
		return nil
	}
	r := &ranker{model: m, entryOf: make([]int, len(m.Classes)), classOf: make([]int, len(ids)), none: m.Class(NoneClass)}
	for c := range r.entryOf {
		r.entryOf[c] = -1
	}
	for e, id := range ids {
		r.classOf[e] = m.Class(id)
		if c := r.classOf[e]; c >= 0 {
			r.entryOf[c] = e
		}
	}
	return r
}

// covered counts the catalog's entries the model knows.
func (r *ranker) covered() int {
	n := 0
	for _, c := range r.classOf {
		if c >= 0 {
			n++
		}
	}
	return n
}

// rankerView is the ranker's verdict on one question, as the ranking
// carries it.
type rankerView struct {
	probs   []float64 // per class; nil: no ranker
	classOf []int     // the ranker's, per entry
	none    float64   // probability of the none class
	max     float64   // best entry's probability
	top     []int     // entries, best first, at most rankerTop
}

// view reads probs (per class) into the entries' terms; top is reused.
func (r *ranker) view(probs []float64, top []int) rankerView {
	v := rankerView{probs: probs, classOf: r.classOf, top: top[:0]}
	if r.none >= 0 {
		v.none = probs[r.none]
	}
	// The best few by selection: a catalog has tens of classes, and three
	// passes over them cost less than a sort.
	for len(v.top) < rankerTop {
		best, bp := -1, -1.0
		for c, p := range probs {
			e := r.entryOf[c]
			if e < 0 || p <= bp || slices.Contains(v.top, e) {
				continue
			}
			best, bp = e, p
		}
		if best < 0 {
			break
		}
		if len(v.top) == 0 {
			v.max = bp // the best entry's probability
		}
		v.top = append(v.top, best)
	}
	return v
}

// mergeShortList puts the ranker's best entries into the first places of
// cands that calibration reads: those already in the lexical list move up
// behind the lexical top MaxCandidates, the rest join with no lexical
// score. It returns the new list and how many of it are to be calibrated.
func mergeShortList(cands []scored, top []int) ([]scored, int) {
	short := min(len(cands), MaxCandidates)
	for _, e := range top {
		at := slices.IndexFunc(cands, func(c scored) bool { return c.entry == e })
		switch {
		case at >= 0 && at < short:
			continue
		case at >= 0:
			c := cands[at]
			copy(cands[short+1:at+1], cands[short:at])
			cands[short] = c
		default:
			cands = append(cands, scored{})
			copy(cands[short+1:], cands[short:])
			cands[short] = scored{entry: e, bestDoc: -1}
		}
		short++
	}
	return cands, short
}

// capText cuts s to at most n bytes at a rune boundary (n ≤ 0: no cut), so
// that the ranker reads what the lexical side reads.
func capText(s string, n int) string {
	if n <= 0 || len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
