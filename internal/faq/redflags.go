package faq

import (
	"strings"
	"unicode"
)

// Red flags are for curators; askers read only the summary and the answer.
// A warning sign that needs a doctor must therefore be in the text askers
// read too. redFlagTraced is a deliberately loose check, a reminder rather
// than a proof: most of the flag's content words (by their first five
// letters, so "bleeding" finds "bleed" and "fevers" finds "fever") appear in
// the summary or the answer.
func redFlagTraced(flag string, text map[string]bool) bool {
	words := contentStems(flag)
	if len(words) < 2 {
		return true // one word is too little to look for (and lint reports non-text items itself)
	}
	found := 0
	for _, w := range words {
		if text[w] {
			found++
		}
	}
	return 2*found >= len(words)
}

// contentStems lower-cases s and returns the first five letters of each
// word of four letters or more that is not a common function word.
func contentStems(s string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if len([]rune(w)) < 4 || redFlagStop[w] {
			continue
		}
		if r := []rune(w); len(r) > 5 {
			w = string(r[:5])
		}
		out = append(out, w)
	}
	return out
}

func stemSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range contentStems(s) {
		m[w] = true
	}
	return m
}

// redFlagStop are words too common to show that a warning sign is in the
// answer.
var redFlagStop = map[string]bool{
	"with": true, "that": true, "than": true, "from": true, "this": true, "after": true, "more": true,
	"have": true, "your": true, "when": true, "what": true, "which": true, "there": true, "their": true,
	"they": true, "them": true, "been": true, "were": true, "will": true, "would": true, "could": true,
	"should": true, "about": true, "into": true, "over": true, "some": true, "other": true, "only": true,
	"very": true, "also": true, "like": true, "does": true, "doesn": true, "sign": true, "signs": true,
	"someone": true, "person": true, "partner": true, "days": true, "hours": true, "within": true,
}
