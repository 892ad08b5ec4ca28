package match

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kljensen/snowball/english"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Bounds on the work one query can cause. A real question is a few hundred
// bytes; a very long one is pasted text whose first few KB carry the
// question. Cutting before normalising keeps latency and memory bounded for
// any input (a 1 MB query costs the same as a 4 KB one), which the fuzz test
// checks.
const (
	DefaultMaxQueryBytes = 4096
	MaxQueryTokens       = 256
	// maxWordBytes: no real word is longer; longer runs (base64, a key
	// mash) are cut so that n-grams and edit distance stay cheap.
	maxWordBytes = 40
)

// cleanText makes text comparable: valid UTF-8, NFKC, case-folded, without
// format characters (zero-width, bidi controls), with apostrophe look-alikes
// unified. limit > 0 cuts the input to that many bytes first.
func cleanText(s string, limit int) string {
	if limit > 0 && len(s) > limit {
		s = s[:limit] // may split a rune; ToValidUTF8 removes the piece
	}
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		// NFKC and folding are the identity on ASCII except for case:
		// the fast path keeps the common query allocation-light.
		return strings.ToLower(s)
	}
	s = strings.ToValidUTF8(s, " ")
	s = norm.NFKC.String(s)
	if limit > 0 && len(s) > 4*limit {
		// NFKC can expand a character up to 18 times; keep the bound.
		s = strings.ToValidUTF8(s[:4*limit], " ")
	}
	s = cases.Fold().String(s) // a Caser is stateful: one per call
	return strings.Map(func(r rune) rune {
		switch r {
		case '\u2019', '\u2018', '\u02bc', '\u0060', '\u00b4', '\u2032':
			return '\''
		}
		if unicode.Is(unicode.Cf, r) {
			return -1 // zero-width joiners, bidi marks: invisible, so dropped
		}
		return r
	}, s)
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// tokenize splits cleaned text into words: runs of letters, digits and
// combining marks, with an apostrophe kept between two letters ("can't").
// Words are cut to maxWordBytes.
func tokenize(s string) []string { return tokenizeTo(nil, s) }

// tokenizeTo is tokenize appending to out.
func tokenizeTo(out []string, s string) []string {
	start := -1
	flush := func(end int) {
		if start >= 0 {
			w := s[start:end]
			if len(w) > maxWordBytes {
				w = strings.ToValidUTF8(w[:maxWordBytes], "")
			}
			out = append(out, w)
			start = -1
		}
	}
	for i, r := range s {
		if isWordRune(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if r == '\'' && start >= 0 {
			next, _ := utf8.DecodeRuneInString(s[i+1:])
			if unicode.IsLetter(next) {
				continue
			}
		}
		flush(i)
	}
	flush(len(s))
	return out
}

// contractions rewrites apostrophe-less forms people type in chat. Only
// unambiguous ones: "ill", "id", "were", "lets" and "its" are real words.
var contractions = map[string][]string{
	"cant": {"can", "not"}, "cannot": {"can", "not"}, "dont": {"do", "not"}, "doesnt": {"does", "not"},
	"didnt": {"did", "not"}, "isnt": {"is", "not"}, "arent": {"are", "not"}, "wasnt": {"was", "not"},
	"werent": {"were", "not"}, "havent": {"have", "not"}, "hasnt": {"has", "not"}, "hadnt": {"had", "not"},
	"wouldnt": {"would", "not"}, "shouldnt": {"should", "not"}, "couldnt": {"could", "not"},
	"wont": {"will", "not"}, "aint": {"is", "not"}, "mustnt": {"must", "not"}, "neednt": {"need", "not"},
	"im": {"i", "am"}, "ive": {"i", "have"}, "youre": {"you", "are"}, "theyre": {"they", "are"},
	"youve": {"you", "have"}, "theyve": {"they", "have"}, "weve": {"we", "have"}, "shes": {"she", "is"},
	"thats": {"that", "is"}, "whats": {"what", "is"}, "hows": {"how", "is"}, "whos": {"who", "is"},
	"theres": {"there", "is"}, "itll": {"it", "will"}, "youll": {"you", "will"}, "dunno": {"do", "not", "know"},
	"idk": {"i", "do", "not", "know"}, "wanna": {"want", "to"}, "gonna": {"going", "to"}, "gotta": {"got", "to"},
	"cuz": {"because"}, "coz": {"because"}, "u": {"you"}, "ur": {"your"}, "r": {"are"},
	"n't": {"not"},
}

// expandContractions rewrites "can't", "cant" and friends to their words and
// drops the possessive "'s", so "not" survives as a token of its own.
func expandContractions(words []string) []string { return expandTo(nil, words) }

// expandTo is expandContractions appending to out, which must not share
// memory with words.
func expandTo(out, words []string) []string {
	for _, w := range words {
		if exp, ok := contractions[w]; ok {
			out = append(out, exp...)
			continue
		}
		if i := strings.IndexByte(w, '\''); i > 0 {
			base, suf := w[:i], w[i:]
			switch suf {
			case "'t":
				if strings.HasSuffix(base, "n") {
					switch base {
					case "can", "ca":
						base = "can"
					case "won", "wo":
						base = "will"
					case "shan":
						base = "shall"
					case "ain":
						base = "is"
					default:
						base = strings.TrimSuffix(base, "n")
					}
					out = append(out, base, "not")
					continue
				}
			case "'s":
				out = append(out, base)
				continue
			case "'re":
				out = append(out, base, "are")
				continue
			case "'ve":
				out = append(out, base, "have")
				continue
			case "'ll":
				out = append(out, base, "will")
				continue
			case "'d":
				out = append(out, base, "would")
				continue
			case "'m":
				out = append(out, base, "am")
				continue
			}
			out = append(out, strings.ReplaceAll(w, "'", ""))
			continue
		}
		out = append(out, w)
	}
	return out
}

// negations are kept as tokens: a stock stop list drops "not" and turns "is
// it normal to not want sex" into "want sex".
var negations = map[string]bool{
	"not": true, "no": true, "never": true, "nor": true, "without": true, "none": true,
	"nothing": true, "neither": true, "nobody": true, "nowhere": true, "lack": true,
}

func isNegation(w string) bool { return negations[w] }

// stopWords are dropped: function words and chat filler. Unlike the usual
// English lists it keeps negations and words that change what a question
// asks: how, why, when, where, after, before, during, first, alone, again,
// too, more, less, often, long, only, same, other, out, off, down, over, under.
var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`
a an the i me my myself mine we us our ours ourselves you your yours yourself yourselves
he him his himself she her hers herself it its itself they them their theirs themselves
this that these those there here
is am are was were be been being have has had having do does did doing
will would shall should can could may might must
of to in on at by for with about from into onto up upon as than then so if or and but because while
just really actually like very quite pretty some any anyone someone somebody anybody something anything
also even still yet such much many lot lots bit
what which who whom whose
hi hello hey hiya please pls plz thanks thank thx ty lol lmao omg um umm uh uhh hmm ok okay yeah yes yep
honestly basically literally kinda sorta tbh ngl idk rn btw fyi im
s t d ll m re ve`) {
		m[w] = true
	}
	return m
}()

func isStop(w string) bool { return stopWords[w] }

// stem is Snowball English. It is applied to every word (stop words
// included) so that lexicon phrases match inflected forms: "boners",
// "coming out".
func stem(w string) string {
	if len(w) <= 2 {
		return w
	}
	for i := 0; i < len(w); i++ {
		if c := w[i]; c >= '0' && c <= '9' {
			return w // numbers and codes are not English words
		}
	}
	return english.Stem(w, true)
}

func stemAll(words []string) []string {
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = stem(w)
	}
	return out
}

// negPrefix marks the first content word after a negation: "not want" gives
// the terms "not", "want" and "!want", so a paraphrase that negates the
// same word scores above one that merely contains it.
const negPrefix = "!"

// negWindow is how many words after a negation may carry its marker.
const negWindow = 3

// analysis is a text after normalisation.
type analysis struct {
	terms     []string // content stems and negation markers, in order
	content   int      // content words (not stop words)
	domain    int      // content words from the lexicon or domain list
	unknown   int      // content words the index has never seen (queries only)
	corrected int      // words rewritten by typo correction (queries only)
	offTopic  bool     // an out-of-scope request phrase occurs (queries only)
}

// analyzer is the normalisation pipeline of one Matcher. It is immutable
// after New and safe for concurrent use.
type analyzer struct {
	lex      *compiledLexicon
	stems    map[string]string // filled while indexing, read-only after
	base     map[string]string // read-only stems shared by parallel workers
	building bool              // New is indexing: stem() may write the cache
	words    map[string]int32  // while indexing: surface word counts, for the speller
	spell    *speller          // nil while indexing
	maxBytes int
}

func (a *analyzer) stem(w string) string {
	if s, ok := a.stems[w]; ok {
		return s
	}
	if s, ok := a.base[w]; ok {
		return s
	}
	s := stem(w)
	if a.building {
		a.stems[w] = s
	}
	return s
}

// analyze runs the pipeline. Queries (query=true) are cut to maxBytes and
// MaxQueryTokens and get typo correction; documents are taken whole.
func (a *analyzer) analyze(text string, query bool, known func(string) bool) analysis {
	return a.analyzeWith(text, query, known, nil)
}

// textScratch is one query's reusable analysis buffers, pooled with the
// rest of its scratch so that analysing a query allocates little. The
// terms of an analysis made with it live in it: valid until its next use.
type textScratch struct {
	spell                spellScratch
	tokens, words, stems []string
	terms                []string
}

// analyzeWith is analyze with a query's pooled buffers (nil: fresh ones,
// which the result may keep).
func (a *analyzer) analyzeWith(text string, query bool, known func(string) bool, ts *textScratch) analysis {
	if ts == nil {
		ts = &textScratch{}
	}
	limit := 0
	if query {
		limit = a.maxBytes
	}
	ts.tokens = tokenizeTo(ts.tokens[:0], cleanText(text, limit))
	tokens := ts.tokens
	if query && len(tokens) > MaxQueryTokens {
		tokens = tokens[:MaxQueryTokens]
	}
	ts.words = expandTo(ts.words[:0], tokens)
	words := markAges(ts.words)
	if a.building && a.words != nil {
		for _, w := range words {
			a.words[w]++
		}
	}
	ts.stems = slices.Grow(ts.stems[:0], len(words))
	stems := ts.stems[:len(words)]
	for i, w := range words {
		stems[i] = a.stem(w)
	}
	var res analysis
	// Requests are recognised on the words as typed: correction could
	// turn an unknown word of a request into a domain word.
	if query && len(a.lex.oos) > 0 {
		res.offTopic = a.lex.outOfScope(stems)
	}
	if query && a.spell != nil {
		var fixed []string
		fixed, res.corrected = a.spell.correct(words, &ts.spell)
		switch {
		case res.corrected == 0:
		case len(fixed) == len(words): // words replaced one for one: restem those
			for i, w := range fixed {
				if w != words[i] {
					stems[i] = a.stem(w)
				}
			}
		default: // a word was split
			stems = make([]string, len(fixed))
			for i, w := range fixed {
				stems[i] = a.stem(w)
			}
		}
		words = fixed
	}
	res.terms = ts.terms[:0]
	// A lexicon phrase adds its canonical term and keeps its own words: the
	// canonical term joins "boner" and "stiffy", the kept words still match
	// a paraphrase that says it differently ("come way too fast"). The phrase
	// counts as one content word, and as a domain word.
	neg := 0
	addTerm := func(s string) {
		res.terms = append(res.terms, s)
		if neg > 0 {
			res.terms = append(res.terms, negPrefix+s)
			neg = 0
		}
	}
	for i := 0; i < len(words); {
		if p, ok := a.lex.lookup(stems, i); ok {
			res.content++
			res.domain++
			for _, w := range p.out {
				if isNegation(w) {
					res.terms = append(res.terms, "not")
					neg = negWindow
				} else if !isStop(w) {
					addTerm(a.stem(w))
				}
			}
			for k := i; k < i+len(p.stems); k++ {
				if w := words[k]; !isStop(w) && !isNegation(w) && stems[k] != "" {
					res.terms = append(res.terms, stems[k])
				}
			}
			i += len(p.stems)
			continue
		}
		w, s := words[i], stems[i]
		i++
		if isNegation(w) {
			res.terms = append(res.terms, "not")
			neg = negWindow
			continue
		}
		if isStop(w) {
			if neg > 0 {
				neg--
			}
			continue
		}
		res.content++
		if a.lex.domain[s] {
			res.domain++
		}
		if query && known != nil && !known(s) {
			res.unknown++
		}
		addTerm(s)
	}
	ts.terms = res.terms
	return res
}
