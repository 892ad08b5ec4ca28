package match

import (
	"bytes"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Limits on the lexicon file. A hand-curated lexicon is tens of KB; these
// bounds turn a mistake (a pasted word list, a generated file) into a clear
// error instead of a slow start.
const (
	MaxLexiconSize     = 1 << 20 // bytes
	MaxLexiconTerms    = 5000
	MaxVariantsPerTerm = 200
	MaxPhraseWords     = 6
)

// Lexicon is the curated slang/synonym list (faq/lexicon.yaml): each variant
// (one or more words) is rewritten to its canonical term before indexing and
// matching, so that "hard-on", "boner" and "stiffy" all become "erection".
// Every term and every domain word marks a question as being about the
// service's domain, which the out-of-scope decision uses.
//
// A *Lexicon is immutable once loaded and may be shared.
type Lexicon struct {
	File   string
	Terms  []LexTerm
	Domain []DomainWord
	// OutOfScope are phrases that ask the service to do what it does not
	// do (write erotica, sext, role-play); see Decision OutOfScope.
	OutOfScope []DomainWord

	compiled *compiledLexicon // built once at load; read-only
}

// LexTerm is one canonical term and the words people use for it.
type LexTerm struct {
	Term     string
	Variants []string
	Line     int // line of `term:` in the file
	vlines   []int
}

// DomainWord is a word (or, in OutOfScope, a phrase) with its line. A
// domain word is a single word that, on its own, says a question is about
// sexual health, relationships or this service, without being rewritten.
type DomainWord struct {
	Word string
	Line int
}

// lexiconFile is the YAML schema; see docs/matcher.md.
type lexiconFile struct {
	Version    int            `yaml:"version"`
	Terms      []lexTermYAML  `yaml:"terms"`
	Domain     []string       `yaml:"domain"`
	OutOfScope []string       `yaml:"out_of_scope"`
	Meta       map[string]any `yaml:"meta"`
}

type lexTermYAML struct {
	Term     string   `yaml:"term"`
	Variants []string `yaml:"variants"`
	Note     string   `yaml:"note"`
}

// LexiconError lists every problem found in a lexicon file, each as
// file:line: message, so a curator fixes them all in one pass.
type LexiconError struct {
	Problems []string
}

func (e *LexiconError) Error() string { return strings.Join(e.Problems, "\n") }

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

// LoadLexicon reads and validates a lexicon file from fsys. Errors carry
// file:line positions. An empty path is an error; callers that run without a
// lexicon pass a nil *Lexicon to New instead.
func LoadLexicon(fsys fs.FS, path string) (*Lexicon, error) {
	if path == "" {
		return nil, fmt.Errorf("lexicon: no path given")
	}
	st, err := fs.Stat(fsys, path)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot read lexicon: %w", path, err)
	}
	if st.Size() > MaxLexiconSize {
		return nil, fmt.Errorf("%s: lexicon is %d bytes; at most %d are allowed (is this a generated word list?)", path, st.Size(), MaxLexiconSize)
	}
	data, err := fs.ReadFile(fsys, path)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot read lexicon: %w", path, err)
	}
	return ParseLexicon(path, data)
}

// ParseLexicon validates lexicon YAML held in memory; name is used in errors.
func ParseLexicon(name string, data []byte) (*Lexicon, error) {
	if len(data) > MaxLexiconSize {
		return nil, fmt.Errorf("%s: lexicon is %d bytes; at most %d are allowed", name, len(data), MaxLexiconSize)
	}
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%s: not valid UTF-8: save the lexicon as UTF-8", name)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%s:1: empty lexicon: expected `version: 1` and a `terms:` list", name)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s:%d: not valid YAML: %s", name, errLine(err), strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(root.Content) != 1 || root.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:1: a lexicon must be a mapping with `version:` and `terms:`", name)
	}
	var lf lexiconFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&lf); err != nil {
		return nil, fmt.Errorf("%s:%d: %s (allowed keys: version, terms, domain, out_of_scope, meta; in a term: term, variants, note)",
			name, errLine(err), strings.TrimPrefix(strings.TrimPrefix(err.Error(), "yaml: "), "unmarshal errors:\n  "))
	}

	// Line numbers come from the node tree, which mirrors lf.
	termLines, variantLines, domainLines, oosLines := lexiconLines(root.Content[0])

	var probs []string
	add := func(line int, format string, args ...any) {
		probs = append(probs, fmt.Sprintf("%s:%d: %s", name, line, fmt.Sprintf(format, args...)))
	}
	if lf.Version != 0 && lf.Version != 1 {
		add(1, "version %d is not supported: use `version: 1`", lf.Version)
	}
	if len(lf.Terms) == 0 {
		add(1, "no terms: add a `terms:` list of `- term: …` / `variants: […]`")
	}
	if len(lf.Terms) > MaxLexiconTerms {
		add(1, "%d terms; at most %d are allowed", len(lf.Terms), MaxLexiconTerms)
	}

	lex := &Lexicon{File: name}
	type seenAt struct {
		term string
		line int
	}
	seen := map[string]seenAt{} // normalised variant key → first use
	for i, t := range lf.Terms {
		line := at(termLines, i)
		term := strings.TrimSpace(t.Term)
		if term == "" {
			add(line, "term %d has no `term:`", i+1)
			continue
		}
		if len(tokenize(cleanText(term, 0))) == 0 {
			add(line, "term %q has no letters or digits", term)
			continue
		}
		if len(t.Variants) == 0 {
			add(line, "term %q has no variants: list the words people use for it, or move it to `domain:`", term)
			continue
		}
		if len(t.Variants) > MaxVariantsPerTerm {
			add(line, "term %q has %d variants; at most %d are allowed", term, len(t.Variants), MaxVariantsPerTerm)
			continue
		}
		lt := LexTerm{Term: term, Line: line}
		for j, v := range t.Variants {
			vline := line
			if i < len(variantLines) {
				vline = at(variantLines[i], j)
			}
			v = strings.TrimSpace(v)
			words := expandContractions(tokenize(cleanText(v, 0)))
			switch {
			case v == "":
				add(vline, "term %q: empty variant", term)
				continue
			case len(words) == 0:
				add(vline, "term %q: variant %q has no letters or digits", term, v)
				continue
			case len(words) > MaxPhraseWords:
				add(vline, "term %q: variant %q has %d words; at most %d are allowed", term, v, len(words), MaxPhraseWords)
				continue
			}
			key := strings.Join(stemAll(words), " ")
			if prev, ok := seen[key]; ok {
				if prev.term != term {
					add(vline, "variant %q of %q is already a variant of %q (line %d): a phrase can map to one term only", v, term, prev.term, prev.line)
				}
				continue
			}
			seen[key] = seenAt{term, vline}
			lt.Variants = append(lt.Variants, v)
			lt.vlines = append(lt.vlines, vline)
		}
		lex.Terms = append(lex.Terms, lt)
	}
	for i, d := range lf.Domain {
		line := at(domainLines, i)
		d = strings.TrimSpace(d)
		words := tokenize(cleanText(d, 0))
		if len(words) != 1 {
			add(line, "domain word %q must be exactly one word (use a term with variants for phrases)", d)
			continue
		}
		lex.Domain = append(lex.Domain, DomainWord{Word: d, Line: line})
	}
	for i, p := range lf.OutOfScope {
		line := at(oosLines, i)
		words := expandContractions(tokenize(cleanText(p, 0)))
		if len(words) == 0 || len(words) > MaxPhraseWords {
			add(line, "out_of_scope phrase %q must have 1 to %d words", p, MaxPhraseWords)
			continue
		}
		lex.OutOfScope = append(lex.OutOfScope, DomainWord{Word: strings.TrimSpace(p), Line: line})
	}
	if len(probs) > 0 {
		return nil, &LexiconError{Problems: probs}
	}
	lex.compiled = compileLexicon(lex)
	return lex, nil
}

func at(lines []int, i int) int {
	if i < len(lines) {
		return lines[i]
	}
	return 0
}

// lexiconLines walks the YAML node tree for the line of each term, each
// variant and each domain word.
func lexiconLines(m *yaml.Node) (terms []int, variants [][]int, domain, oos []int) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		switch k.Value {
		case "terms":
			for _, item := range v.Content {
				terms = append(terms, item.Line)
				var vl []int
				for j := 0; item.Kind == yaml.MappingNode && j+1 < len(item.Content); j += 2 {
					if item.Content[j].Value == "variants" {
						for _, vv := range item.Content[j+1].Content {
							vl = append(vl, vv.Line)
						}
					}
				}
				variants = append(variants, vl)
			}
		case "domain":
			for _, item := range v.Content {
				domain = append(domain, item.Line)
			}
		case "out_of_scope":
			for _, item := range v.Content {
				oos = append(oos, item.Line)
			}
		}
	}
	return
}

func errLine(err error) int {
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		n := 0
		fmt.Sscan(m[1], &n)
		return n
	}
	return 1
}

// phrase is one compiled lexicon variant: the stems to match and the
// canonical words that replace them.
type phrase struct {
	stems []string
	out   []string
}

// compiledLexicon is the lookup structure built from a Lexicon: phrases keyed
// by their first stem, longest first so that matching is greedy.
type compiledLexicon struct {
	byFirst map[string][]phrase
	domain  map[string]bool     // stems that mark the domain
	oos     map[string][]phrase // out-of-scope request phrases
	// words are every surface word of the lexicon (terms, variants, domain
	// and out-of-scope words): the speller knows them even when no FAQ
	// text uses them.
	words []string
}

func compileLexicon(lex *Lexicon) *compiledLexicon {
	c := &compiledLexicon{byFirst: map[string][]phrase{}, domain: map[string]bool{}, oos: map[string][]phrase{}}
	if lex == nil {
		return c
	}
	for _, t := range lex.Terms {
		out := expandContractions(tokenize(cleanText(t.Term, 0)))
		c.words = append(c.words, out...)
		for _, w := range out {
			if !isStop(w) && !isNegation(w) {
				c.domain[stem(w)] = true
			}
		}
		for _, v := range t.Variants {
			words := expandContractions(tokenize(cleanText(v, 0)))
			c.words = append(c.words, words...)
			stems := stemAll(words)
			c.byFirst[stems[0]] = append(c.byFirst[stems[0]], phrase{stems: stems, out: out})
		}
	}
	for _, d := range lex.Domain {
		for _, w := range tokenize(cleanText(d.Word, 0)) {
			c.domain[stem(w)] = true
		}
		c.words = append(c.words, expandContractions(tokenize(cleanText(d.Word, 0)))...)
	}
	for _, p := range lex.OutOfScope {
		words := expandContractions(tokenize(cleanText(p.Word, 0)))
		c.words = append(c.words, words...)
		stems := stemAll(words)
		c.oos[stems[0]] = append(c.oos[stems[0]], phrase{stems: stems})
	}
	for k, ps := range c.byFirst {
		sort.SliceStable(ps, func(i, j int) bool { return len(ps[i].stems) > len(ps[j].stems) })
		c.byFirst[k] = ps
	}
	return c
}

// lookup returns the longest phrase that matches stems at position i.
func (c *compiledLexicon) lookup(stems []string, i int) (phrase, bool) {
	return lookupIn(c.byFirst, stems, i)
}

// outOfScope reports whether an out-of-scope request phrase occurs.
func (c *compiledLexicon) outOfScope(stems []string) bool {
	if len(c.oos) == 0 {
		return false
	}
	for i := range stems {
		if _, ok := lookupIn(c.oos, stems, i); ok {
			return true
		}
	}
	return false
}

func lookupIn(m map[string][]phrase, stems []string, i int) (phrase, bool) {
	for _, p := range m[stems[i]] {
		if i+len(p.stems) > len(stems) {
			continue
		}
		ok := true
		for k, s := range p.stems {
			if stems[i+k] != s {
				ok = false
				break
			}
		}
		if ok {
			return p, true
		}
	}
	return phrase{}, false
}
