package safety

import (
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"go.yaml.in/yaml/v3"

	"github.com/candid-app/candid/internal/learn"
)

// Category is the kind of crisis a signal points to. Each maps to its own
// resources (a rape crisis line is not a suicide line).
type Category string

const (
	SelfHarm         Category = "self_harm"
	Assault          Category = "assault"
	MinorAtRisk      Category = "minor_at_risk"
	Violence         Category = "violence"
	MedicalEmergency Category = "medical_emergency"
)

// Categories lists every category in the order replies present them.
func Categories() []Category {
	return []Category{SelfHarm, Assault, MinorAtRisk, Violence, MedicalEmergency}
}

func categoryIndex(c Category) int {
	for i, x := range Categories() {
		if x == c {
			return i
		}
	}
	return -1
}

// Signal says that one rule fired. It carries the rule's id, never the text
// that made it fire, so signals can be logged and counted.
type Signal struct {
	Category Category
	Kind     Kind
	Tier     Tier
	Rule     string
	// Soft: the rule's words also come up in ordinary questions (a danger
	// named in a question about it, a past told as background, hyperbole),
	// so the learned layer may soften its urgent to concern; see applyModel.
	Soft bool
}

// Assessment is the detector's verdict on one message.
type Assessment struct {
	// Tier is how soon a person must see the message; Kind the kind of
	// danger (KindNone when Tier is TierNone). Kinds lists every kind that
	// was found, Kind first.
	Tier  Tier
	Kind  Kind
	Kinds []Kind
	// Why names what decided: a rule id, or "model" with Score, the
	// learned layer's probability that the message tells of a danger.
	Why   string
	Score float64
	// Crisis is Tier == TierUrgent, kept for the callers that only need
	// to know whether resources come first.
	Crisis  bool
	Signals []Signal
	// Lang is the language the message seems to be written in ("en" or
	// "es"), so that the help can be given in it.
	Lang string
	// Softened: only soft rules called the message urgent, and the
	// learned layer was confident it tells of no danger, so the tier is
	// concern: the resources and a ticket still come, without the crisis
	// panel first.
	Softened bool
	// Request: the message asks the service to produce sexual content
	// (write erotica, sext, role-play, send nudes). The engine answers it
	// with decision out_of_scope; it is independent of Crisis.
	Request bool
}

// NeedsHelp reports whether the message gets the resources for its kind:
// an urgent or a concern tier.
func (a Assessment) NeedsHelp() bool { return a.Tier == TierUrgent || a.Tier == TierConcern }

// HasKind reports whether k is among the kinds found.
func (a Assessment) HasKind(k Kind) bool { return slices.Contains(a.Kinds, k) }

// Has reports whether any signal is of category c.
func (a Assessment) Has(c Category) bool {
	for _, s := range a.Signals {
		if s.Category == c {
			return true
		}
	}
	return false
}

// Categories returns the distinct categories that fired, in signal order.
func (a Assessment) Categories() []Category {
	var out []Category
	for _, s := range a.Signals {
		if !contains(asStrings(out), string(s.Category)) {
			out = append(out, s.Category)
		}
	}
	return out
}

func asStrings(cs []Category) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c)
	}
	return out
}

// rule is one compiled rule of crisis.yaml.
type rule struct {
	id       string
	category Category // "" for a request rule
	kind     Kind     // the kind it points to (its category's unless named)
	tier     Tier     // urgent unless the rule says concern
	soft     bool     // the model may soften its urgent to concern
	line     int
	match    []int32   // any of these patterns …
	also     [][]int32 // … and, for every group, any of its patterns …
	unless   []int32   // … unless one of these matches within near tokens of the match
	near     int
	examples []string
}

// span is one match of a pattern, as token indexes [start, end).
type span struct{ start, end int32 }

// maxSpans bounds the matches kept per pattern per message: rules need one
// unguarded match, and the bound keeps work linear on hostile input.
const maxSpans = 32

// maxNear bounds a rule's guard window.
const maxNear = 20

// Detector finds crisis signals and content requests in a message. Build one
// with LoadDetector; it is immutable and safe for concurrent use.
type Detector struct {
	norm      *normaliser
	pats      []*pattern
	byFirst   [][]int32          // vocabulary id → patterns that can start with it
	numFirst  []int32            // patterns that can start with a number
	prefFirst map[string][]int32 // first 3 bytes of a starting prefix → patterns
	anyFirst  []int32            // patterns tried at every token
	regexes   []int32
	rules     []rule
	maxStates int
	model     *Model // the learned layer behind the rules, or nil
	// pool (of *scratch) is a pointer so that WithModel's copy shares it:
	// the scratch depends only on the rules, which the copies share too.
	pool *sync.Pool
}

// crisis.yaml keys.
var (
	topKeys  = []string{"version", "rewrites", "sets", "categories", "requests"}
	ruleKeys = []string{"id", "note", "kind", "tier", "match", "also", "unless", "near", "soft", "examples"}
)

// LoadDetector reads the crisis rules at path in fsys (faq/safety/crisis.yaml
// in the repository; see faq/safety/README.md for the format). Every error
// names the file and line.
func LoadDetector(fsys fs.FS, path string) (*Detector, error) {
	f := yfile{name: path}
	root, err := f.load(fsys, path)
	if err != nil {
		return nil, err
	}
	top, err := f.mapping(root, "crisis rules", topKeys...)
	if err != nil {
		return nil, err
	}
	nz := &normaliser{rewrites: map[string][]string{}, vocab: map[string]int32{}}
	for k, v := range contractions {
		nz.vocab[k] = int32(len(nz.vocab))
		for _, w := range strings.Fields(v) {
			if _, ok := nz.vocab[w]; !ok {
				nz.vocab[w] = int32(len(nz.vocab))
			}
		}
	}
	d := &Detector{norm: nz, pool: &sync.Pool{}}
	c := &compiler{norm: nz, sets: map[string]string{}, setNodes: map[string]*node{}, active: map[string]bool{}}
	byKey := map[string]*yaml.Node{}
	for _, p := range top {
		byKey[p.key] = p.v
	}

	if v, ok := byKey["version"]; ok {
		s, err := f.scalar(v, "version")
		if err != nil {
			return nil, err
		}
		if s != "1" {
			return nil, f.errf(v.Line, "version %q not supported (want 1)", s)
		}
	}
	if v, ok := byKey["rewrites"]; ok {
		if err := d.loadRewrites(f, v); err != nil {
			return nil, err
		}
	}
	if v, ok := byKey["sets"]; ok {
		if err := d.loadSets(f, c, v); err != nil {
			return nil, err
		}
	}
	ids := map[string]int{}
	cats, ok := byKey["categories"]
	if !ok {
		return nil, f.errf(root.Line, "no categories: the file must define crisis rules")
	}
	catPairs, err := f.mapping(cats, "categories")
	if err != nil {
		return nil, err
	}
	for _, cp := range catPairs {
		cat := Category(cp.key)
		if categoryIndex(cat) < 0 {
			return nil, f.errf(cp.k.Line, "unknown category %q (want one of %s)", cp.key, strings.Join(asStrings(Categories()), ", "))
		}
		if err := d.loadRules(f, c, cp.v, cat, ids); err != nil {
			return nil, err
		}
	}
	if v, ok := byKey["requests"]; ok {
		if err := d.loadRules(f, c, v, "", ids); err != nil {
			return nil, err
		}
	}
	// Signals come out in category order, then file order.
	sortRules(d.rules)
	d.index()
	return d, nil
}

func (d *Detector) loadRewrites(f yfile, n *yaml.Node) error {
	pairs, err := f.mapping(n, "rewrites")
	if err != nil {
		return err
	}
	// Values are normalised without the rewrites themselves, so one rewrite
	// never feeds another and no loop is possible.
	plain := &normaliser{rewrites: nil, vocab: d.norm.vocab}
	for _, p := range pairs {
		key := cleanText(p.key)
		if key == "" || strings.IndexFunc(key, func(r rune) bool {
			return !unicode.IsLetter(r) && !isDigit(r) && r != '\'' && r != '*'
		}) >= 0 {
			return f.errf(p.k.Line, "rewrite %q: the key must be one word (letters, digits, ' or *)", p.key)
		}
		val, err := f.scalar(p.v, "rewrite "+p.key)
		if err != nil {
			return err
		}
		var words []string
		for _, t := range plain.tokenize(val) {
			words = append(words, t.text)
		}
		if len(words) == 0 {
			return f.errf(p.v.Line, "rewrite %q: empty replacement", p.key)
		}
		d.norm.rewrites[key] = words
		for _, w := range append([]string{key}, words...) {
			if _, ok := d.norm.vocab[w]; !ok {
				d.norm.vocab[w] = int32(len(d.norm.vocab))
			}
		}
	}
	return nil
}

func (d *Detector) loadSets(f yfile, c *compiler, n *yaml.Node) error {
	pairs, err := f.mapping(n, "sets")
	if err != nil {
		return err
	}
	lines := map[string]int{}
	for _, p := range pairs {
		if !isIdent(p.key) {
			return f.errf(p.k.Line, "set name %q: use a-z, 0-9, - and _", p.key)
		}
		items, err := f.list(p.v, "set "+p.key)
		if err != nil {
			return err
		}
		var alts []string
		for _, it := range items {
			if strings.TrimSpace(it.Value) == "" {
				return f.errf(it.Line, "set %s: empty phrase", p.key)
			}
			if strings.HasPrefix(it.Value, "re:") {
				return f.errf(it.Line, "set %s: a set holds phrases, not regexes", p.key)
			}
			alts = append(alts, "("+it.Value+")")
		}
		if len(alts) == 0 {
			return f.errf(p.v.Line, "set %s is empty", p.key)
		}
		c.sets[p.key] = strings.Join(alts, " | ")
		lines[p.key] = p.k.Line
	}
	// Compile every set now, so a mistake is reported at the set's own line
	// even if no rule uses it yet.
	for _, p := range pairs {
		if _, err := c.set(p.key, 0); err != nil {
			return f.errf(lines[p.key], "%v", err)
		}
	}
	return nil
}

func (d *Detector) loadRules(f yfile, c *compiler, n *yaml.Node, cat Category, ids map[string]int) error {
	what := "requests"
	if cat != "" {
		what = "category " + string(cat)
	}
	if err := f.noAlias(n); err != nil {
		return err
	}
	if n.Kind != yaml.SequenceNode {
		return f.errf(n.Line, "%s must be a list of rules", what)
	}
	if len(n.Content) == 0 {
		return f.errf(n.Line, "%s has no rules", what)
	}
	for _, rn := range n.Content {
		pairs, err := f.mapping(rn, "rule", ruleKeys...)
		if err != nil {
			return err
		}
		r := rule{category: cat, kind: categoryKind(cat), tier: TierUrgent, line: rn.Line}
		var matchNode *yaml.Node
		for _, p := range pairs {
			switch p.key {
			case "id":
				s, err := f.scalar(p.v, "id")
				if err != nil {
					return err
				}
				if !isIdent(s) {
					return f.errf(p.v.Line, "rule id %q: use a-z, 0-9, - and _", s)
				}
				if first, dup := ids[s]; dup {
					return f.errf(p.v.Line, "duplicate rule id %q (first on line %d)", s, first)
				}
				ids[s] = p.v.Line
				r.id = s
			case "note":
				if _, err := f.scalar(p.v, "note"); err != nil {
					return err
				}
			case "kind":
				s, err := f.scalar(p.v, "kind")
				if err != nil {
					return err
				}
				k, ok := ParseKind(s)
				if !ok || cat == "" {
					return f.errf(p.v.Line, "kind %q: want one of %v (and only on a crisis rule)", s, Kinds())
				}
				r.kind = k
			case "tier":
				s, err := f.scalar(p.v, "tier")
				if err != nil {
					return err
				}
				if s != string(TierUrgent) && s != string(TierConcern) {
					return f.errf(p.v.Line, "tier %q: want urgent or concern", s)
				}
				r.tier = Tier(s)
			case "match":
				matchNode = p.v
				if r.match, err = d.patterns(f, c, p.v, "match"); err != nil {
					return err
				}
			case "also":
				if err := f.noAlias(p.v); err != nil {
					return err
				}
				if p.v.Kind != yaml.SequenceNode {
					return f.errf(p.v.Line, "also must be a list of pattern lists")
				}
				for _, g := range p.v.Content {
					pats, err := d.patterns(f, c, g, "also")
					if err != nil {
						return err
					}
					r.also = append(r.also, pats)
				}
			case "unless":
				if r.unless, err = d.patterns(f, c, p.v, "unless"); err != nil {
					return err
				}
			case "near":
				s, err := f.scalar(p.v, "near")
				if err != nil {
					return err
				}
				v, err := strconv.Atoi(s)
				if err != nil || v < 0 || v > maxNear {
					return f.errf(p.v.Line, "near %q: want a number of words from 0 to %d", s, maxNear)
				}
				r.near = v
			case "soft":
				s, err := f.scalar(p.v, "soft")
				if err != nil {
					return err
				}
				b, err := strconv.ParseBool(s)
				if err != nil || cat == "" {
					return f.errf(p.v.Line, "soft %q: want true or false (and only on a crisis rule)", s)
				}
				r.soft = b
			case "examples":
				items, err := f.list(p.v, "examples")
				if err != nil {
					return err
				}
				for _, it := range items {
					r.examples = append(r.examples, it.Value)
				}
			}
		}
		if r.id == "" {
			return f.errf(rn.Line, "rule without an id")
		}
		if matchNode == nil || len(r.match) == 0 {
			return f.errf(rn.Line, "rule %s has no match patterns", r.id)
		}
		d.rules = append(d.rules, r)
	}
	return nil
}

// patterns compiles a list of patterns, reporting errors at each one's line.
// Identical sources share one compiled pattern.
func (d *Detector) patterns(f yfile, c *compiler, n *yaml.Node, what string) ([]int32, error) {
	items, err := f.list(n, what)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, f.errf(n.Line, "%s: empty list", what)
	}
	var out []int32
	for _, it := range items {
		p, err := c.compile(it.Value)
		if err != nil {
			return nil, f.errf(it.Line, "%s pattern %q: %v", what, it.Value, err)
		}
		idx := -1
		for i, q := range d.pats {
			if q.src == p.src {
				idx = i
				break
			}
		}
		if idx < 0 {
			d.pats = append(d.pats, p)
			idx = len(d.pats) - 1
		}
		out = append(out, int32(idx))
	}
	return out, nil
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func sortRules(rs []rule) {
	order := func(r rule) int {
		if r.category == "" {
			return len(Categories())
		}
		return categoryIndex(r.category)
	}
	// Insertion sort: stable, and the list is short.
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && order(rs[j]) < order(rs[j-1]); j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}

// index builds the start-token index over all patterns.
func (d *Detector) index() {
	d.byFirst = make([][]int32, len(d.norm.vocab))
	d.prefFirst = map[string][]int32{}
	for i, p := range d.pats {
		d.maxStates = max(d.maxStates, len(p.states))
		switch {
		case p.re != nil:
			d.regexes = append(d.regexes, int32(i))
		case p.firstAny:
			d.anyFirst = append(d.anyFirst, int32(i))
		default:
			for id := range p.firstByID {
				d.byFirst[id] = append(d.byFirst[id], int32(i))
			}
			if p.firstNum {
				d.numFirst = append(d.numFirst, int32(i))
			}
			for _, pre := range p.firstPref {
				k := pre[:3]
				if !slices.Contains(d.prefFirst[k], int32(i)) {
					d.prefFirst[k] = append(d.prefFirst[k], int32(i))
				}
			}
		}
	}
}

// Assess looks for crisis signals and content requests in text. It is a
// pure function of the text and the loaded rules.
func (d *Detector) Assess(text string) Assessment {
	a := d.assess(text).Assessment
	// One split into words serves the learned layer and the language guess.
	maxRunes := learn.DefaultFeatures().MaxRunes
	if d.model != nil {
		maxRunes = d.model.danger.Features.MaxRunes
	}
	words := learn.Words(text, maxRunes)
	d.applyModel(words, &a)
	a.Lang = detectLang(words)
	return a
}

// result is Assess's full answer; the extra fields are for tests (which
// request rule fired, and the matcher's step count, to prove the work stays
// linear in the input).
type result struct {
	Assessment
	requestRules []string
	steps        int
}

// scratch is the per-call working memory of assess, pooled because a
// fresh one per message would be most of Assess's allocation.
type scratch struct {
	spans   [][]span // per pattern
	touched []int32  // patterns with spans, to reset
	tried   []int32  // tried[pi] == i+1: pattern pi already tried at token i
	// present has a bit set for each literal id in the message; poss
	// caches pattern.possible per pattern (0 unknown, 1 yes, 2 no).
	present []uint64
	poss    []uint8
	m       matcher
}

func (d *Detector) getScratch() *scratch {
	if sc, ok := d.pool.Get().(*scratch); ok {
		return sc
	}
	return &scratch{
		spans:   make([][]span, len(d.pats)),
		tried:   make([]int32, len(d.pats)),
		present: make([]uint64, (len(d.norm.vocab)+63)/64),
		poss:    make([]uint8, len(d.pats)),
		m:       matcher{seen: make([]uint32, d.maxStates)},
	}
}

func (d *Detector) putScratch(sc *scratch) {
	for _, pi := range sc.touched {
		sc.spans[pi] = sc.spans[pi][:0]
	}
	sc.touched = sc.touched[:0]
	clear(sc.tried)
	clear(sc.poss)
	for _, t := range sc.m.toks {
		if t.id >= 0 && int(t.id>>6) < len(sc.present) {
			sc.present[t.id>>6] = 0
		}
	}
	sc.m.toks, sc.m.steps = nil, 0
	d.pool.Put(sc)
}

func (d *Detector) assess(text string) result {
	toks := d.norm.tokenize(text)
	sc := d.getScratch()
	defer d.putScratch(sc)
	spans, tried, m := sc.spans, sc.tried, &sc.m
	m.toks = toks
	for _, t := range toks {
		if t.id >= 0 && int(t.id>>6) < len(sc.present) {
			sc.present[t.id>>6] |= 1 << (t.id & 63)
		}
	}
	try := func(pi int32, i int) {
		if len(spans[pi]) >= maxSpans || tried[pi] == int32(i+1) {
			return
		}
		tried[pi] = int32(i + 1)
		switch sc.poss[pi] {
		case 0:
			sc.poss[pi] = 2
			if d.pats[pi].possible(sc.present) {
				sc.poss[pi] = 1
			} else {
				return
			}
		case 2:
			return
		}
		if e := m.matchAt(d.pats[pi], i); e >= 0 {
			if len(spans[pi]) == 0 {
				sc.touched = append(sc.touched, pi)
			}
			spans[pi] = append(spans[pi], span{int32(i), int32(e)})
		}
	}
	for i := range toks {
		if id := toks[i].id; id >= 0 {
			for _, pi := range d.byFirst[id] {
				try(pi, i)
			}
		}
		if toks[i].num >= 0 {
			for _, pi := range d.numFirst {
				try(pi, i)
			}
		}
		if len(d.prefFirst) > 0 && len(toks[i].text) >= 3 {
			for _, pi := range d.prefFirst[toks[i].text[:3]] {
				try(pi, i)
			}
		}
		for _, pi := range d.anyFirst {
			try(pi, i)
		}
	}
	if len(d.regexes) > 0 && len(toks) > 0 {
		d.matchRegexes(toks, sc)
	}

	var res result
	a := &res.Assessment
	for ri := range d.rules {
		r := &d.rules[ri]
		if !r.fires(spans) {
			continue
		}
		if r.category == "" {
			a.Request = true
			res.requestRules = append(res.requestRules, r.id)
			continue
		}
		a.Signals = append(a.Signals, Signal{Category: r.category, Kind: r.kind, Tier: r.tier, Rule: r.id, Soft: r.soft})
	}
	a.fromSignals()
	res.steps = m.steps
	return res
}

// matchRegexes runs the regex patterns over the normalised text and maps
// their byte spans back to token spans.
func (d *Detector) matchRegexes(toks []token, sc *scratch) {
	spans := sc.spans
	var b strings.Builder
	starts := make([]int, len(toks))
	for i, t := range toks {
		if i > 0 {
			if t.sentStart == int32(i) {
				b.WriteByte('\n')
			} else {
				b.WriteByte(' ')
			}
		}
		starts[i] = b.Len()
		b.WriteString(t.text)
	}
	text := b.String()
	for _, pi := range d.regexes {
		for _, loc := range d.pats[pi].re.FindAllStringIndex(text, maxSpans) {
			s := tokenAt(starts, toks, loc[0], false)
			e := tokenAt(starts, toks, loc[1], true)
			if s < e {
				if len(spans[pi]) == 0 {
					sc.touched = append(sc.touched, pi)
				}
				spans[pi] = append(spans[pi], span{int32(s), int32(e)})
			}
		}
	}
}

// tokenAt maps a byte offset to a token index: the first token ending after
// off (for a start) or one past the last token starting before off (for an
// end).
func tokenAt(starts []int, toks []token, off int, end bool) int {
	lo, hi := 0, len(starts)
	for lo < hi {
		mid := (lo + hi) / 2
		if end {
			if starts[mid] < off {
				lo = mid + 1
			} else {
				hi = mid
			}
		} else {
			if starts[mid]+len(toks[mid].text) <= off {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
	}
	return lo
}

// fires reports whether the rule has an unguarded match and every also group
// matches somewhere in the message.
func (r *rule) fires(spans [][]span) bool {
	found := false
	for _, pi := range r.match {
		for _, s := range spans[pi] {
			if !r.guarded(s, spans) {
				found = true
				break
			}
		}
		if found {
			break
		}
	}
	if !found {
		return false
	}
	for _, g := range r.also {
		ok := false
		for _, pi := range g {
			if len(spans[pi]) > 0 {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// guarded reports whether an unless pattern matches within near tokens of s
// (near 0: overlapping it). A guard is local on purpose: "this dry spell is
// killing me, and I want to kill myself" must still fire.
func (r *rule) guarded(s span, spans [][]span) bool {
	lo, hi := s.start-int32(r.near), s.end+int32(r.near)
	for _, pi := range r.unless {
		for _, g := range spans[pi] {
			if g.start < hi && g.end > lo {
				return true
			}
		}
	}
	return false
}

// String is for debugging and test failures.
func (s Signal) String() string { return fmt.Sprintf("%s/%s", s.Category, s.Rule) }
