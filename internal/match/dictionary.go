package match

import (
	_ "embed"
	"strings"
)

// words.txt is the lower-case English words of 4 letters or more from SCOWL
// (size 35, the Debian package wamerican-small; copyright and licence in
// words.LICENSE), one a line in byte order. The speller only corrects words
// it does not know: without a dictionary, a correctly spelt word the FAQ
// never uses looks exactly like a typo, and "we fight about it" became
// "we right about it". A real word is unmatched content, not a misspelling.
//
//go:embed words.txt
var englishWords string

// isEnglishWord reports whether w is in words.txt, by binary search over
// the embedded text itself (no table is built, nothing is allocated).
func isEnglishWord(w string) bool {
	if w == "" || strings.IndexByte(w, '\n') >= 0 {
		return false
	}
	lo, hi := 0, len(englishWords) // search over byte offsets of line starts
	for lo < hi {
		mid := (lo + hi) / 2
		// The line that holds byte mid.
		start := strings.LastIndexByte(englishWords[:mid], '\n') + 1
		end := strings.IndexByte(englishWords[mid:], '\n')
		if end < 0 {
			end = len(englishWords)
		} else {
			end += mid
		}
		switch line := englishWords[start:end]; {
		case line == w:
			return true
		case line < w:
			lo = end + 1
		default:
			hi = start
		}
	}
	return false
}
