package safety

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Phrase patterns match a sequence of normalised tokens inside one sentence.
// The syntax, for curators (faq/safety/README.md says the same):
//
//	word        the word, normalised like the text ("don't" matches "dont", "do not")
//	word*       any word starting with "word" ("cutt*" matches "cutting", "cutter")
//	*           any one word
//	..  ..N     a gap of up to 3 (or N, at most 10) words
//	(a|b c)     one of the alternatives; an alternative may be several words
//	[a b]       optional; "(a|b)?" and "word?" too
//	@name       one of the phrases of the set "name"
//	<n:5-17>    a number from 5 to 17, in digits or words ("13", "thirteen");
//	            <n> any number, <n:3-> 3 or more
//	^  $        the start, the end of a sentence
//	!w  !(a|b)  the next word is not w (or the sentence ends here)
//
// A pattern written "re:EXPR" is a Go RE2 regular expression, matched against
// the normalised text: tokens joined by one space, sentences by a newline.

const (
	defaultGap   = 3
	maxGap       = 10
	maxStates    = 4096 // per pattern, after expanding sets and gaps
	maxPatternSz = 2000 // bytes of source text
	maxSetDepth  = 8
)

type predKind uint8

const (
	predLit predKind = iota
	predPrefix
	predAny
	predNum
)

type stateOp uint8

const (
	opTok stateOp = iota
	opSplit
	opMatch
	opStart // assertion: at the start of a sentence
	opEnd   // assertion: at the end of a sentence
	opNot   // assertion: the next token is not one of not
)

// nstate is a Thompson NFA state. Patterns have no loops, so the NFA is a DAG
// and every run is bounded by the pattern's longest match.
type nstate struct {
	op      stateOp
	kind    predKind
	lit     int32
	lo, hi  int32
	str     string
	not     []int32
	out     int32
	out1    int32
	notPref []string
}

// pattern is one compiled phrase pattern or regex.
type pattern struct {
	src    string
	states []nstate
	start  int32
	re     *regexp.Regexp
	// The token states a match can begin with, found once at compile time:
	// a pattern that starts with a set of fifty phrases would otherwise walk
	// all fifty at every attempt. Without initAssert, an attempt at a token
	// only visits the states that token can enter.
	firstByID  map[int32][]int32 // literal id → initial token states
	firstOther []int32           // initial prefix, number and any states
	initAssert bool              // an assertion (^ $ !) comes before the first token
	firstNum   bool              // a number can begin a match
	firstPref  []string          // prefixes that can begin a match
	firstAny   bool              // any token can begin a match
	// need is what every match must contain: one literal of each clause.
	// assess skips a pattern whose clauses the message cannot meet, which
	// on a long message saves most of the NFA work (a pattern that starts
	// at a common word such as "have" would otherwise walk its gaps to the
	// end of every sentence).
	need [][]int32
}

// node is the parsed form of a phrase pattern.
type node struct {
	kind nodeKind
	word string // lit: a normalised token; prefix: the stem
	lo   int32
	hi   int32
	gap  int
	kids []*node // seq, alt
	nots []*node // not: literal or prefix nodes
}

type nodeKind uint8

const (
	nLit nodeKind = iota
	nPrefix
	nAny
	nNum
	nGap
	nSeq
	nAlt
	nOpt
	nStart
	nEnd
	nNot
)

// compiler turns pattern sources into NFAs, interning literals into the
// normaliser's vocabulary.
type compiler struct {
	norm     *normaliser
	sets     map[string]string // name → source ("a | b c | ...")
	setNodes map[string]*node
	active   map[string]bool
}

func (c *compiler) intern(w string) int32 {
	if id, ok := c.norm.vocab[w]; ok {
		return id
	}
	id := int32(len(c.norm.vocab))
	c.norm.vocab[w] = id
	return id
}

func (c *compiler) compile(src string) (*pattern, error) {
	if strings.TrimSpace(src) == "" {
		return nil, fmt.Errorf("empty pattern")
	}
	if len(src) > maxPatternSz {
		return nil, fmt.Errorf("pattern longer than %d bytes", maxPatternSz)
	}
	if expr, ok := strings.CutPrefix(src, "re:"); ok {
		expr = strings.TrimSpace(expr)
		if expr == "" {
			return nil, fmt.Errorf("empty regex")
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, fmt.Errorf("invalid regex: %v", err)
		}
		if re.MatchString("") {
			return nil, fmt.Errorf("regex %q matches the empty string", expr)
		}
		return &pattern{src: src, re: re}, nil
	}
	n, err := c.parse(src, 0)
	if err != nil {
		return nil, err
	}
	if minWidth(n) == 0 {
		return nil, fmt.Errorf("pattern can match no words at all")
	}
	if err := checkEdges(n); err != nil {
		return nil, err
	}
	p := &pattern{src: src}
	p.states = append(p.states, nstate{op: opMatch})
	p.start = c.emit(p, n, 0)
	if len(p.states) > maxStates {
		return nil, fmt.Errorf("pattern too complex (%d states, limit %d)", len(p.states), maxStates)
	}
	p.computeFirst()
	p.need = c.clauses(n)
	return p, nil
}

// clauses returns literals that every match of n must contain, as a
// conjunction of clauses, each met by any one of its literals. It is sound
// but not complete: a prefix, a number, a gap, an optional part or an
// assertion promises no literal, so it adds no clause.
func (c *compiler) clauses(n *node) [][]int32 {
	switch n.kind {
	case nLit:
		return [][]int32{{c.intern(n.word)}}
	case nSeq:
		var out [][]int32
		for _, k := range n.kids {
			out = append(out, c.clauses(k)...)
		}
		return out
	case nAlt:
		// Whichever branch matches contains one literal of each of its own
		// clauses, so the union of one clause per branch is a clause.
		var u []int32
		for _, k := range n.kids {
			cl := c.clauses(k)
			if len(cl) == 0 {
				return nil
			}
			best := cl[0]
			for _, x := range cl[1:] {
				if len(x) < len(best) {
					best = x
				}
			}
			u = append(u, best...)
		}
		slices.Sort(u)
		return [][]int32{slices.Compact(u)}
	}
	return nil
}

// possible reports whether a message whose literal ids are the set bits of
// present can hold a match of p.
func (p *pattern) possible(present []uint64) bool {
	for _, cl := range p.need {
		ok := false
		for _, id := range cl {
			if int(id>>6) < len(present) && present[id>>6]&(1<<(id&63)) != 0 {
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

// checkEdges rejects a gap at either end: unanchored search makes it
// meaningless, and a curator who writes one likely meant something else.
func checkEdges(n *node) error {
	if n.kind != nSeq || len(n.kids) == 0 {
		return nil
	}
	if n.kids[0].kind == nGap || n.kids[len(n.kids)-1].kind == nGap {
		return fmt.Errorf("a gap (..) cannot start or end a pattern")
	}
	return nil
}

func minWidth(n *node) int {
	switch n.kind {
	case nLit, nPrefix, nAny, nNum:
		return 1
	case nSeq:
		w := 0
		for _, k := range n.kids {
			w += minWidth(k)
		}
		return w
	case nAlt:
		m := -1
		for _, k := range n.kids {
			if w := minWidth(k); m < 0 || w < m {
				m = w
			}
		}
		return max(m, 0)
	}
	return 0
}

// parse parses a phrase pattern (or a set's alternatives) into a node.
func (c *compiler) parse(src string, depth int) (*node, error) {
	lx, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{c: c, toks: lx, depth: depth}
	n, err := p.alt()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, fmt.Errorf("unexpected %q", p.toks[p.pos])
	}
	return n, nil
}

func lex(src string) ([]string, error) {
	var out []string
	for i := 0; i < len(src); {
		ch := src[i]
		switch {
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r':
			i++
		case strings.IndexByte("()[]|^$?", ch) >= 0:
			out = append(out, src[i:i+1])
			i++
		case ch == '<':
			j := strings.IndexByte(src[i:], '>')
			if j < 0 {
				return nil, fmt.Errorf("unclosed <")
			}
			out = append(out, src[i:i+j+1])
			i += j + 1
		default:
			j := i
			for j < len(src) && strings.IndexByte(" \t\n\r()[]|<>^$?", src[j]) < 0 {
				j++
			}
			out = append(out, src[i:j])
			i = j
		}
	}
	return out, nil
}

type parser struct {
	c     *compiler
	toks  []string
	pos   int
	depth int
}

func (p *parser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *parser) alt() (*node, error) {
	var alts []*node
	for {
		s, err := p.seq()
		if err != nil {
			return nil, err
		}
		alts = append(alts, s)
		if p.peek() != "|" {
			break
		}
		p.pos++
	}
	if len(alts) == 1 {
		return alts[0], nil
	}
	for _, a := range alts {
		if minWidth(a) == 0 && !isAssertOnly(a) {
			return nil, fmt.Errorf("empty alternative; use [ ] for an optional part")
		}
	}
	return &node{kind: nAlt, kids: alts}, nil
}

func isAssertOnly(n *node) bool {
	if n.kind == nStart || n.kind == nEnd || n.kind == nNot {
		return true
	}
	if n.kind == nSeq && len(n.kids) > 0 {
		for _, k := range n.kids {
			if !isAssertOnly(k) {
				return false
			}
		}
		return true
	}
	return false
}

func (p *parser) seq() (*node, error) {
	s := &node{kind: nSeq}
	for p.pos < len(p.toks) {
		t := p.toks[p.pos]
		switch t {
		case "|", ")", "]":
			return s, nil
		case "?":
			return nil, fmt.Errorf("? must follow a word or a group")
		}
		p.pos++
		before := len(s.kids)
		switch {
		case t == "(" || t == "[":
			inner, err := p.alt()
			if err != nil {
				return nil, err
			}
			want := ")"
			if t == "[" {
				want = "]"
			}
			if p.peek() != want {
				return nil, fmt.Errorf("missing %q", want)
			}
			p.pos++
			if t == "[" {
				inner = &node{kind: nOpt, kids: []*node{inner}}
			}
			s.kids = append(s.kids, inner)
		case t == "^":
			s.kids = append(s.kids, &node{kind: nStart})
		case t == "$":
			s.kids = append(s.kids, &node{kind: nEnd})
		case t == "*":
			s.kids = append(s.kids, &node{kind: nAny})
		case strings.HasPrefix(t, ".."):
			g := defaultGap
			if rest := t[2:]; rest != "" {
				v, err := strconv.Atoi(rest)
				if err != nil || v < 1 || v > maxGap {
					return nil, fmt.Errorf("bad gap %q: want .. or ..N with N from 1 to %d", t, maxGap)
				}
				g = v
			}
			s.kids = append(s.kids, &node{kind: nGap, gap: g})
		case strings.HasPrefix(t, "<"):
			n, err := parseNum(t)
			if err != nil {
				return nil, err
			}
			s.kids = append(s.kids, n)
		case strings.HasPrefix(t, "@"):
			n, err := p.c.set(t[1:], p.depth)
			if err != nil {
				return nil, err
			}
			s.kids = append(s.kids, n)
		case strings.HasPrefix(t, "!"):
			n, err := p.not(t[1:])
			if err != nil {
				return nil, err
			}
			s.kids = append(s.kids, n)
		default:
			n, err := p.c.word(t)
			if err != nil {
				return nil, err
			}
			s.kids = append(s.kids, n)
		}
		// A postfix ? makes the item optional: "(me)?" is "[me]".
		if p.peek() == "?" && len(s.kids) == before+1 {
			p.pos++
			s.kids[before] = &node{kind: nOpt, kids: []*node{s.kids[before]}}
		}
	}
	return s, nil
}

// not parses "!w" or "!(a|b)": a lookahead over single words.
func (p *parser) not(w string) (*node, error) {
	var words []string
	if w != "" {
		words = []string{w}
	} else {
		if p.peek() != "(" {
			return nil, fmt.Errorf("! must be followed by a word or (a|b)")
		}
		p.pos++
		for {
			t := p.peek()
			if t == "" || strings.IndexAny(t, "()[]|<>^$@!") >= 0 {
				return nil, fmt.Errorf("!( ) takes single words separated by |")
			}
			words = append(words, t)
			p.pos++
			if p.peek() == ")" {
				p.pos++
				break
			}
			if p.peek() != "|" {
				return nil, fmt.Errorf("!( ) takes single words separated by |")
			}
			p.pos++
		}
	}
	n := &node{kind: nNot}
	for _, w := range words {
		k, err := p.c.word(w)
		if err != nil {
			return nil, err
		}
		if k.kind == nSeq {
			if len(k.kids) != 1 {
				return nil, fmt.Errorf("!%s: %q normalises to several words", w, w)
			}
			k = k.kids[0]
		}
		n.nots = append(n.nots, k)
	}
	return n, nil
}

func parseNum(t string) (*node, error) {
	body := strings.TrimSuffix(strings.TrimPrefix(t, "<"), ">")
	n := &node{kind: nNum, lo: 0, hi: maxNumber}
	if body == "n" {
		return n, nil
	}
	spec, ok := strings.CutPrefix(body, "n:")
	if !ok {
		return nil, fmt.Errorf("bad number %q: want <n>, <n:LO-HI> or <n:LO->", t)
	}
	lo, hi, ok := strings.Cut(spec, "-")
	if !ok {
		return nil, fmt.Errorf("bad number %q: want <n>, <n:LO-HI> or <n:LO->", t)
	}
	l, err := strconv.Atoi(lo)
	if err != nil || l < 0 || l > maxNumber {
		return nil, fmt.Errorf("bad number %q: want <n>, <n:LO-HI> or <n:LO->", t)
	}
	n.lo = int32(l)
	if hi != "" {
		h, err := strconv.Atoi(hi)
		if err != nil || h < l || h > maxNumber {
			return nil, fmt.Errorf("bad number %q: want <n>, <n:LO-HI> or <n:LO->", t)
		}
		n.hi = int32(h)
	}
	return n, nil
}

// word normalises a pattern word exactly as message text is normalised, so a
// curator can write "don't" or "kms" and match what the text becomes.
func (c *compiler) word(w string) (*node, error) {
	if stem, ok := strings.CutSuffix(w, "*"); ok {
		toks := c.norm.tokenize(stem)
		if len(toks) != 1 || strings.ContainsAny(stem, "*") {
			return nil, fmt.Errorf("prefix %q must be one plain word followed by *", w)
		}
		if len(toks[0].text) < 3 {
			return nil, fmt.Errorf("prefix %q is too short (at least 3 letters)", w)
		}
		return &node{kind: nPrefix, word: toks[0].text}, nil
	}
	if strings.ContainsAny(w, "*.") {
		return nil, fmt.Errorf("unexpected %q (a gap is written .. and a wildcard * stands alone)", w)
	}
	toks := c.norm.tokenize(w)
	if len(toks) == 0 {
		return nil, fmt.Errorf("%q has no letters or digits", w)
	}
	s := &node{kind: nSeq}
	for _, t := range toks {
		c.intern(t.text)
		s.kids = append(s.kids, &node{kind: nLit, word: t.text})
	}
	if len(s.kids) == 1 {
		return s.kids[0], nil
	}
	return s, nil
}

// set returns the parsed alternatives of a named set. Sets may use other
// sets; a cycle is an error.
func (c *compiler) set(name string, depth int) (*node, error) {
	if n, ok := c.setNodes[name]; ok {
		return n, nil
	}
	src, ok := c.sets[name]
	if !ok {
		return nil, fmt.Errorf("unknown set @%s", name)
	}
	if c.active[name] || depth >= maxSetDepth {
		return nil, fmt.Errorf("set @%s refers to itself", name)
	}
	c.active[name] = true
	defer delete(c.active, name)
	n, err := c.parse(src, depth+1)
	if err != nil {
		return nil, fmt.Errorf("in set @%s: %v", name, err)
	}
	c.setNodes[name] = n
	return n, nil
}

// emit compiles n backwards: the returned state leads, through n, to next.
func (c *compiler) emit(p *pattern, n *node, next int32) int32 {
	add := func(s nstate) int32 {
		p.states = append(p.states, s)
		return int32(len(p.states) - 1)
	}
	switch n.kind {
	case nLit:
		return add(nstate{op: opTok, kind: predLit, lit: c.intern(n.word), out: next})
	case nPrefix:
		return add(nstate{op: opTok, kind: predPrefix, str: n.word, out: next})
	case nAny:
		return add(nstate{op: opTok, kind: predAny, out: next})
	case nNum:
		return add(nstate{op: opTok, kind: predNum, lo: n.lo, hi: n.hi, out: next})
	case nGap:
		cur := next
		for i := 0; i < n.gap; i++ {
			any := add(nstate{op: opTok, kind: predAny, out: cur})
			cur = add(nstate{op: opSplit, out: any, out1: next})
		}
		return cur
	case nSeq:
		cur := next
		for i := len(n.kids) - 1; i >= 0; i-- {
			cur = c.emit(p, n.kids[i], cur)
		}
		return cur
	case nAlt:
		cur := c.emit(p, n.kids[len(n.kids)-1], next)
		for i := len(n.kids) - 2; i >= 0; i-- {
			k := c.emit(p, n.kids[i], next)
			cur = add(nstate{op: opSplit, out: k, out1: cur})
		}
		return cur
	case nOpt:
		k := c.emit(p, n.kids[0], next)
		return add(nstate{op: opSplit, out: k, out1: next})
	case nStart:
		return add(nstate{op: opStart, out: next})
	case nEnd:
		return add(nstate{op: opEnd, out: next})
	case nNot:
		s := nstate{op: opNot, out: next}
		for _, k := range n.nots {
			if k.kind == nPrefix {
				s.notPref = append(s.notPref, k.word)
			} else {
				s.not = append(s.not, c.intern(k.word))
			}
		}
		return add(s)
	}
	panic("safety: unknown node kind")
}

// computeFirst finds the token states a match can begin with, so that
// Assess only tries a pattern where its first token occurs, and starts it
// without walking its whole first alternation.
func (p *pattern) computeFirst() {
	seen := make([]bool, len(p.states))
	p.firstByID = map[int32][]int32{}
	var walk func(s int32)
	walk = func(s int32) {
		if seen[s] {
			return
		}
		seen[s] = true
		st := &p.states[s]
		switch st.op {
		case opTok:
			switch st.kind {
			case predLit:
				p.firstByID[st.lit] = append(p.firstByID[st.lit], s)
			case predNum:
				p.firstNum = true
				p.firstOther = append(p.firstOther, s)
			case predPrefix:
				p.firstPref = append(p.firstPref, st.str)
				p.firstOther = append(p.firstOther, s)
			default:
				p.firstAny = true
				p.firstOther = append(p.firstOther, s)
			}
		case opSplit:
			walk(st.out)
			walk(st.out1)
		case opStart, opEnd, opNot:
			p.initAssert = true
			walk(st.out)
		}
	}
	walk(p.start)
}

// matcher runs NFAs over a token slice. It is per call, never shared.
type matcher struct {
	toks   []token
	seen   []uint32
	gen    uint32
	clist  []int32
	nlist  []int32
	steps  int // state visits, to prove bounded work in tests
	hitEnd bool
}

// bump starts a new generation of the seen marks; clearing them instead
// would cost a pass over every state for every token.
func (m *matcher) bump() {
	m.gen++
	if m.gen == 0 {
		clear(m.seen)
		m.gen = 1
	}
}

func (m *matcher) tokMatches(st *nstate, t *token) bool {
	switch st.kind {
	case predLit:
		return t.id == st.lit
	case predPrefix:
		return strings.HasPrefix(t.text, st.str)
	case predAny:
		return true
	case predNum:
		return t.num >= st.lo && t.num <= st.hi
	}
	return false
}

// add follows splits and assertions from s at token position pos and adds
// the token-consuming states it reaches to list.
func (m *matcher) add(p *pattern, list []int32, s int32, pos, ss, se int) []int32 {
	for {
		if m.seen[s] == m.gen {
			return list
		}
		m.seen[s] = m.gen
		m.steps++
		st := &p.states[s]
		switch st.op {
		case opMatch:
			m.hitEnd = true
			return list
		case opTok:
			return append(list, s)
		case opSplit:
			list = m.add(p, list, st.out, pos, ss, se)
			s = st.out1
		case opStart:
			if pos != ss {
				return list
			}
			s = st.out
		case opEnd:
			if pos != se {
				return list
			}
			s = st.out
		case opNot:
			if pos < se && m.notHit(st, &m.toks[pos]) {
				return list
			}
			s = st.out
		}
	}
}

func (m *matcher) notHit(st *nstate, t *token) bool {
	for _, id := range st.not {
		if t.id == id {
			return true
		}
	}
	for _, pre := range st.notPref {
		if strings.HasPrefix(t.text, pre) {
			return true
		}
	}
	return false
}

// matchAt runs p anchored at token i and returns the end of the shortest
// match, or -1.
func (m *matcher) matchAt(p *pattern, i int) int {
	if len(m.seen) < len(p.states) {
		m.seen = make([]uint32, len(p.states))
		m.gen = 0
	}
	ss, se := int(m.toks[i].sentStart), int(m.toks[i].sentEnd)
	m.bump()
	m.hitEnd = false
	t := &m.toks[i]
	m.nlist = m.nlist[:0]
	if p.initAssert {
		// Rare (patterns starting with ^ or !): the general path.
		m.clist = m.add(p, m.clist[:0], p.start, i, ss, se)
		m.bump()
		for _, s := range m.clist {
			m.steps++
			if st := &p.states[s]; m.tokMatches(st, t) {
				m.nlist = m.add(p, m.nlist, st.out, i+1, ss, se)
			}
		}
	} else {
		for _, s := range p.firstByID[t.id] {
			m.steps++
			m.nlist = m.add(p, m.nlist, p.states[s].out, i+1, ss, se)
		}
		for _, s := range p.firstOther {
			m.steps++
			if st := &p.states[s]; m.tokMatches(st, t) {
				m.nlist = m.add(p, m.nlist, st.out, i+1, ss, se)
			}
		}
	}
	if m.hitEnd {
		return i + 1
	}
	m.clist, m.nlist = m.nlist, m.clist
	for pos := i + 1; pos < se && len(m.clist) > 0; pos++ {
		m.bump()
		m.hitEnd = false
		m.nlist = m.nlist[:0]
		t := &m.toks[pos]
		for _, s := range m.clist {
			st := &p.states[s]
			m.steps++
			if m.tokMatches(st, t) {
				m.nlist = m.add(p, m.nlist, st.out, pos+1, ss, se)
			}
		}
		if m.hitEnd {
			return pos + 1
		}
		m.clist, m.nlist = m.nlist, m.clist
	}
	return -1
}
