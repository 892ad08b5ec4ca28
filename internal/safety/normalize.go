package safety

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// token is one normalised word of a message.
type token struct {
	text string
	id   int32 // index in the detector's vocabulary, or -1: literals compare ids, not strings
	num  int32 // numeric value (digits or a number word), or -1
	// The sentence this token belongs to, as token indexes [sentStart, sentEnd):
	// a pattern never matches across a sentence break, which keeps gaps from
	// joining unrelated clauses ("... dying to try it. ... bleeding").
	sentStart, sentEnd int32
}

// maxNumber caps numeric token values; nothing we match needs more, and it
// keeps long digit runs from overflowing.
const maxNumber = 1_000_000

// normaliser turns text into tokens. It holds the curator's rewrites and the
// vocabulary of every literal the rules use; both are fixed after loading.
type normaliser struct {
	rewrites map[string][]string // one word → its normal form (already normalised words)
	vocab    map[string]int32
}

func (n *normaliser) id(w string) int32 {
	if id, ok := n.vocab[w]; ok {
		return id
	}
	return -1
}

// tokenize normalises text and splits it into tokens. The steps, in order:
// invalid UTF-8 → U+FFFD; drop format characters (zero-width, bidi controls,
// soft hyphen) that can hide a word from a matcher; NFKC (full-width and
// styled letters become plain ones); lower-case; drop combining marks and
// fold Latin diacritics and a few look-alike letters; then split into words
// and sentences, expand contractions, slang and misspellings, and collapse
// letters repeated for emphasis.
func (n *normaliser) tokenize(text string) []token {
	s := cleanText(text)
	toks := make([]token, 0, len(s)/5+4)
	sentStart := 0
	// The current word is s[ws:we], unless a character had to be mapped
	// ("r@ped"), in which case it is buf. Most words need no copy.
	ws, we := -1, -1
	var buf []byte
	mapped := false
	var last rune
	sawDigit, sawLetter := false, false

	flushWord := func() {
		if ws < 0 {
			return
		}
		w := s[ws:we]
		if mapped {
			w = string(buf)
		}
		toks = n.appendWord(toks, w, sawLetter && sawDigit)
		ws, mapped = -1, false
		sawDigit, sawLetter = false, false
	}
	add := func(r rune, i, size int) {
		if ws < 0 {
			ws = i
		}
		if mapped {
			buf = utf8.AppendRune(buf, r)
		}
		we, last = i+size, r
	}
	addMapped := func(r rune, i, size int) {
		if !mapped {
			buf = append(buf[:0], s[ws:i]...)
			mapped = true
		}
		buf = utf8.AppendRune(buf, r)
		we, last = i+size, r
	}
	endSentence := func() {
		flushWord()
		for i := sentStart; i < len(toks); i++ {
			toks[i].sentStart, toks[i].sentEnd = int32(sentStart), int32(len(toks))
		}
		sentStart = len(toks)
	}

	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		next := rune(-1)
		if j := i + size; j < len(s) {
			next = rune(s[j])
			if next >= utf8.RuneSelf {
				next, _ = utf8.DecodeRuneInString(s[j:])
			}
		}
		inWord := ws >= 0
		switch {
		case isDigit(r):
			add(r, i, size)
			sawDigit = true
		case isLetter(r):
			add(r, i, size)
			sawLetter = true
		case r == '\'' && inWord && isLetter(next):
			// An apostrophe inside a word belongs to it: "don't", "i'm".
			add(r, i, size)
		case (r == '.' || r == ',') && inWord && isDigit(last) && isDigit(next):
			// "4.5 hours", "1,000": one number, not a sentence break.
			add(r, i, size)
		case (r == '@' || r == '$' || r == '*') && inWord && isLetter(last) && isLetter(next):
			// Leet and self-censoring inside a word: "r@ped", "s*icide".
			switch r {
			case '@':
				addMapped('a', i, size)
			case '$':
				addMapped('s', i, size)
			default:
				add(r, i, size)
			}
		case r == '.' || r == '!' || r == '?' || r == ';' || r == '\n' || r == '\r':
			endSentence()
		default:
			flushWord()
		}
		i += size
	}
	endSentence()
	for i := range toks {
		toks[i].id = n.id(toks[i].text)
	}
	return toks
}

func isLetter(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
	}
	return unicode.IsLetter(r)
}

// cleanText applies the character-level steps of tokenize and returns a
// lower-case NFKC string without format characters or combining marks.
func cleanText(text string) string {
	text = strings.ToValidUTF8(text, "\uFFFD")
	// Format characters first: a zero-width joiner between two letters would
	// otherwise survive NFKC and split the word.
	if strings.IndexFunc(text, isInvisible) >= 0 {
		text = strings.Map(func(r rune) rune {
			if isInvisible(r) {
				return -1
			}
			return r
		}, text)
	}
	text = norm.NFKC.String(text)
	text = strings.ToLower(text)
	ascii := true
	for i := 0; i < len(text); i++ {
		if text[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return text
	}
	var b strings.Builder
	b.Grow(len(text))
	var buf [utf8.UTFMax]byte
	var dec []byte
	for _, r := range text {
		switch {
		case r < utf8.RuneSelf:
			b.WriteRune(r)
		case unicode.Is(unicode.Mn, r):
			// Combining marks (accents left uncomposed, "zalgo" text,
			// variation selectors) carry no meaning for matching.
		case isApostrophe(r):
			b.WriteByte('\'')
		default:
			if c, ok := confusable(r); ok {
				b.WriteRune(c)
				continue
			}
			if unicode.Is(unicode.Latin, r) {
				// Fold "é" to "e": decompose and keep an ASCII base letter.
				nb := utf8.EncodeRune(buf[:], r)
				dec = norm.NFD.Append(dec[:0], buf[:nb]...)
				if len(dec) > 0 && dec[0] < utf8.RuneSelf {
					b.WriteByte(dec[0])
					continue
				}
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

// isInvisible reports characters that render as nothing: format controls
// (zero-width space/joiners, bidi embeddings and isolates, BOM, soft hyphen)
// and the Mongolian vowel separator and Hangul fillers used as blanks.
func isInvisible(r rune) bool {
	if r < 0x80 {
		return false
	}
	switch r {
	case 0x180E, 0x115F, 0x1160, 0x3164, 0xFFA0, 0x034F:
		return true
	}
	return unicode.Is(unicode.Cf, r)
}

func isApostrophe(r rune) bool {
	switch r {
	case '\'', '\u2018', '\u2019', '\u02BC', '\u02BB', '\u0060', '\u00B4', '\u2032', '\uFF07':
		return true
	}
	return false
}

// confusable maps the Cyrillic and Greek letters that look like Latin ones;
// mixed-script words are a cheap way to slip past a word list.
func confusable(r rune) (rune, bool) {
	switch r {
	case 'а', 'α':
		return 'a', true
	case 'в':
		return 'b', true
	case 'с', 'ϲ':
		return 'c', true
	case 'ԁ':
		return 'd', true
	case 'е', 'ё', 'ε':
		return 'e', true
	case 'һ':
		return 'h', true
	case 'і', 'ї', 'ι':
		return 'i', true
	case 'ј':
		return 'j', true
	case 'к', 'κ':
		return 'k', true
	case 'м':
		return 'm', true
	case 'п', 'η':
		return 'n', true
	case 'о', 'ο', 'σ':
		return 'o', true
	case 'р', 'ρ':
		return 'p', true
	case 'ѕ':
		return 's', true
	case 'т', 'τ':
		return 't', true
	case 'υ':
		return 'u', true
	case 'ν':
		return 'v', true
	case 'ш', 'ω':
		return 'w', true
	case 'х', 'χ':
		return 'x', true
	case 'у', 'γ':
		return 'y', true
	}
	return 0, false
}

// leet maps a digit written inside a word back to the letter it stands for
// ("k1ll", "mys3lf"). Only digits with a letter on both sides are mapped, so
// "13yo", "2nite" and "b4" keep their digits.
func leet(r rune) rune {
	switch r {
	case '0':
		return 'o'
	case '1':
		return 'i'
	case '3':
		return 'e'
	case '4':
		return 'a'
	case '5':
		return 's'
	case '7':
		return 't'
	}
	return r
}

// appendWord normalises one raw word and appends the tokens it becomes.
func (n *normaliser) appendWord(toks []token, w string, mixed bool) []token {
	if mixed {
		w = unLeet(w)
		mixed = strings.IndexFunc(w, isLetter) >= 0 && strings.IndexFunc(w, isDigit) >= 0
	}
	if out, ok := n.lookup(w); ok {
		return appendWords(toks, out)
	}
	if !mixed {
		return n.appendPart(toks, w)
	}
	// "13yo", "5hrs", "2am": split where letters and digits meet.
	start := 0
	prevDigit := isDigit(rune(w[0]))
	for i, r := range w {
		if d := isDigit(r); d != prevDigit {
			toks = n.appendPart(toks, w[start:i])
			start, prevDigit = i, d
		}
	}
	return n.appendPart(toks, w[start:])
}

// unLeet maps digits that have a letter on both sides ("k1ll", "mys3lf").
func unLeet(w string) string {
	rs := []rune(w)
	changed := false
	for i := 1; i+1 < len(rs); i++ {
		if isDigit(rs[i]) && isLetter(rs[i-1]) && isLetter(rs[i+1]) {
			if l := leet(rs[i]); l != rs[i] {
				rs[i], changed = l, true
			}
		}
	}
	if !changed {
		return w
	}
	return string(rs)
}

func appendWords(toks []token, words []string) []token {
	for _, w := range words {
		toks = append(toks, newToken(w))
	}
	return toks
}

func newToken(w string) token {
	return token{text: w, id: -1, num: numberValue(w)}
}

// lookup finds a word in the curator's rewrites, then in the built-in
// contraction table.
func (n *normaliser) lookup(w string) ([]string, bool) {
	if out, ok := n.rewrites[w]; ok {
		return out, true
	}
	if c, ok := contractions[w]; ok {
		return strings.Fields(c), true
	}
	return nil, false
}

// appendPart normalises a word that is all letters (with apostrophes) or all
// digits.
func (n *normaliser) appendPart(toks []token, w string) []token {
	if w == "" {
		return toks
	}
	w = n.collapse(w)
	if out, ok := n.lookup(w); ok {
		return appendWords(toks, out)
	}
	if strings.IndexByte(w, '\'') >= 0 {
		stem, rest := splitContraction(w)
		if stem != "" {
			if out, ok := n.lookup(stem); ok {
				toks = appendWords(toks, out)
			} else {
				toks = append(toks, newToken(strings.ReplaceAll(stem, "'", "")))
			}
		}
		if rest != "" {
			toks = append(toks, newToken(rest))
		}
		return toks
	}
	return append(toks, newToken(w))
}

// splitContraction expands the regular English clitics. Irregular forms
// ("won't", "can't") are in the contractions table and never reach here.
func splitContraction(w string) (stem, rest string) {
	suffixes := [...]struct{ suf, full string }{
		{"n't", "not"}, {"'m", "am"}, {"'re", "are"}, {"'ve", "have"}, {"'ll", "will"}, {"'d", "would"},
	}
	for _, s := range suffixes {
		if strings.HasSuffix(w, s.suf) && len(w) > len(s.suf) {
			return w[:len(w)-len(s.suf)], s.full
		}
	}
	if stem, ok := strings.CutSuffix(w, "'s"); ok {
		if isPronounIs(stem) {
			return stem, "is"
		}
		return stem, "" // possessive: "partner's" → "partner"
	}
	return w, ""
}

func isPronounIs(w string) bool {
	switch w {
	case "it", "he", "she", "that", "there", "what", "who", "where", "here", "how", "this", "everyone", "nobody", "someone":
		return true
	}
	return false
}

// collapse undoes letters repeated for emphasis ("pleeease", "killlll",
// "diiie"). English has no letter three times in a row, so a run of three or
// more is emphasis; whether it stands for one or two letters is decided by
// the vocabulary: "killl" → "kill", "diiie" → "die", "sooo" → "so".
func (n *normaliser) collapse(w string) string {
	if !hasTripleRun(w) {
		return w
	}
	two := collapseRuns(w, 2)
	if _, ok := n.vocab[two]; ok {
		return two
	}
	one := collapseRuns(w, 1)
	if _, ok := n.vocab[one]; ok {
		return one
	}
	return two
}

func hasTripleRun(w string) bool {
	var a, b rune = -1, -2
	for _, r := range w {
		if r == a && r == b {
			return true
		}
		b, a = a, r
	}
	return false
}

// collapseRuns shortens every run of three or more equal runes to keep runes.
func collapseRuns(w string, keep int) string {
	rs := []rune(w)
	out := rs[:0:0]
	for i := 0; i < len(rs); {
		j := i
		for j < len(rs) && rs[j] == rs[i] {
			j++
		}
		k := j - i
		if k >= 3 {
			k = keep
		}
		for ; k > 0; k-- {
			out = append(out, rs[i])
		}
		i = j
	}
	return string(out)
}

// numberValue is the value of a digit word ("13", "4.5" → 4) or a number
// word ("thirteen"), or -1.
func numberValue(w string) int32 {
	if w == "" {
		return -1
	}
	if isDigit(rune(w[0])) {
		v := int32(0)
		for i := 0; i < len(w); i++ {
			c := w[i]
			if c == '.' {
				break
			}
			if c == ',' {
				continue
			}
			if !isDigit(rune(c)) {
				return -1
			}
			v = v*10 + int32(c-'0')
			if v > maxNumber {
				v = maxNumber
			}
		}
		return v
	}
	switch w {
	case "zero":
		return 0
	case "one":
		return 1
	case "two":
		return 2
	case "three":
		return 3
	case "four":
		return 4
	case "five":
		return 5
	case "six":
		return 6
	case "seven":
		return 7
	case "eight":
		return 8
	case "nine":
		return 9
	case "ten":
		return 10
	case "eleven":
		return 11
	case "twelve":
		return 12
	case "thirteen":
		return 13
	case "fourteen":
		return 14
	case "fifteen":
		return 15
	case "sixteen":
		return 16
	case "seventeen":
		return 17
	case "eighteen":
		return 18
	case "nineteen":
		return 19
	case "twenty":
		return 20
	case "thirty":
		return 30
	case "forty":
		return 40
	case "fifty":
		return 50
	}
	return -1
}

// contractions are the irregular and apostrophe-less forms of English
// contractions and chat spellings, which no suffix rule can recover. Curator
// rewrites (crisis.yaml) take precedence, so this table only holds the
// grammar every rule file needs.
var contractions = map[string]string{
	"can't": "can not", "cant": "can not", "cannot": "can not",
	"won't": "will not", "wont": "will not",
	"shan't": "shall not", "ain't": "am not", "aint": "am not",
	"let's": "let us", "lets": "let us",
	"y'all": "you all", "ya'll": "you all",
	"dont": "do not", "doesnt": "does not", "didnt": "did not",
	"isnt": "is not", "arent": "are not", "wasnt": "was not", "werent": "were not",
	"havent": "have not", "hasnt": "has not", "hadnt": "had not",
	"couldnt": "could not", "wouldnt": "would not", "shouldnt": "should not",
	"mustnt": "must not", "neednt": "need not", "mightnt": "might not",
	"im": "i am", "ive": "i have", "youre": "you are", "youve": "you have",
	"theyre": "they are", "theyve": "they have", "weve": "we have",
	"hes": "he is", "shes": "she is", "thats": "that is", "whats": "what is",
	"theres": "there is", "whos": "who is", "wheres": "where is",
	"itll": "it will", "youll": "you will", "theyll": "they will",
	"wanna": "want to", "gonna": "going to", "gotta": "got to", "hafta": "have to",
	"tryna": "trying to", "finna": "going to", "imma": "i am going to", "ima": "i am going to",
	"dunno": "do not know", "lemme": "let me", "gimme": "give me",
	"u": "you", "ur": "your", "r": "are", "ya": "you",
	"cuz": "because", "coz": "because", "cos": "because", "bc": "because", "bcuz": "because",
	"rn": "right now", "atm": "at the moment",
	"pls": "please", "plz": "please", "plez": "please",
	"tho": "though", "thru": "through", "w": "with",
}
