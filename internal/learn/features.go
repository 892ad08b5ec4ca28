package learn

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Features says which features a model hashes. It is stored in the model
// file, so a model is always read with the features it was trained on.
type Features struct {
	// Bits is log2 of the number of hash buckets (10..22).
	Bits int `json:"bits"`
	// Words and Pairs add each word and each pair of neighbouring words.
	Words bool `json:"words"`
	Pairs bool `json:"pairs"`
	// CharMin..CharMax add the character n-grams of each word, padded with
	// a space at both ends ("pill" gives " pi", "pil", "ill", "ll "), which
	// carry across typos, plurals and inflections.
	CharMin int `json:"char_min"`
	CharMax int `json:"char_max"`
	// MaxRunes bounds the text that is read (longer text is cut), so a
	// message's cost is bounded whatever its length.
	MaxRunes int `json:"max_runes"`
}

// DefaultFeatures suits messages in English and Spanish. MaxRunes reaches
// well past the engine's 2,000-character question limit, because safety
// reads longer messages too (a long story with the danger near its end).
func DefaultFeatures() Features {
	return Features{Bits: 18, Words: true, Pairs: true, CharMin: 3, CharMax: 5, MaxRunes: 8000}
}

// Words returns the words of text as the features see them: lower-cased,
// accents removed ("está" and "esta" are one word), apostrophes dropped
// inside words ("don't" is "dont"), everything else that is not a letter or
// a digit a separator. Callers use it to add features of their own.
func Words(text string, maxRunes int) []string {
	return appendWords(nil, text, maxRunes)
}

func appendWords(out []string, text string, maxRunes int) []string {
	if maxRunes > 0 && len(text) > 4*maxRunes {
		text = text[:4*maxRunes]
	}
	text = strings.ToValidUTF8(text, " ")
	ascii := true
	for i := 0; i < len(text); i++ {
		if text[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if !ascii {
		text = norm.NFD.String(text)
	}
	var b strings.Builder
	b.Grow(len(text))
	n := 0
	flush := func() {
		if b.Len() > 0 {
			w := b.String()
			if len(w) > 30 { // no real word is longer: a key mash or a link
				w = w[:30]
			}
			out = append(out, w)
			b.Reset()
		}
	}
	for _, r := range text {
		n++
		if maxRunes > 0 && n > maxRunes {
			break
		}
		switch {
		case unicode.Is(unicode.Mn, r): // a combining accent, after NFD
		case r == '\'' || r == '\u2019' || r == '\u2018':
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
		default:
			flush()
		}
	}
	flush()
	return out
}

// hashing: FNV-1a over the feature's bytes, with a prefix byte per family so
// that the word "pill" and the n-gram "pill" fall in different buckets.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func hashBytes(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

func hashFamily(family byte) uint64 {
	h := uint64(fnvOffset)
	h ^= uint64(family)
	h *= fnvPrime
	return h
}

// Extract appends the bucket of every feature of text to dst (one entry per
// occurrence) and returns it. extra are feature strings the caller adds
// (concept features, say); they are hashed in their own family.
func (f Features) Extract(dst []uint32, text string, extra []string) []uint32 {
	return f.extractWords(dst, Words(text, f.MaxRunes), extra)
}

func (f Features) extractWords(dst []uint32, words, extra []string) []uint32 {
	mask := uint64(1)<<f.Bits - 1
	wordH, pairH, charH, extraH := hashFamily('w'), hashFamily('p'), hashFamily('c'), hashFamily('x')
	var padded [32 + 2]byte
	for i, w := range words {
		if f.Words {
			dst = append(dst, uint32(hashBytes(wordH, w)&mask))
		}
		if f.Pairs && i > 0 {
			h := hashBytes(pairH, words[i-1])
			h ^= ' '
			h *= fnvPrime
			dst = append(dst, uint32(hashBytes(h, w)&mask))
		}
		if f.CharMax > 0 {
			p := padded[:0]
			p = append(p, ' ')
			p = append(p, w...)
			p = append(p, ' ')
			for n := f.CharMin; n <= f.CharMax; n++ {
				if n > len(p) {
					break
				}
				for s := 0; s+n <= len(p); s++ {
					h := charH
					for _, c := range p[s : s+n] {
						h ^= uint64(c)
						h *= fnvPrime
					}
					// n-grams of different lengths are different features
					h ^= uint64(n)
					h *= fnvPrime
					dst = append(dst, uint32(h&mask))
				}
			}
		}
	}
	for _, x := range extra {
		dst = append(dst, uint32(hashBytes(extraH, x)&mask))
	}
	return dst
}
