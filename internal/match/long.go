package match

import (
	"strings"
	"unicode"
)

// Long messages. A story of several sentences often reaches its question
// only at the end ("we've been together six years... since the baby...
// is it normal that I don't want sex?"), and the story's words pull the
// ranking toward whatever it mentions on the way. Such a message is also
// matched on its asking sentences alone, and the more confident verdict
// wins. A message that asks two things gets the main answer, and the
// other, when it is confidently a different entry, as Result.Also.

// storySentences is how many sentences make a message a story.
const storySentences = 3

// maxAsking bounds the asking sentences matched on their own, so a long
// message costs at most a few short matches more.
const maxAsking = 3

// questionWords open a sentence that asks, when it has no question mark
// (many askers type none).
var questionWords = map[string]bool{
	"how": true, "what": true, "why": true, "when": true, "where": true, "who": true, "which": true,
	"is": true, "are": true, "am": true, "can": true, "could": true, "should": true, "would": true,
	"will": true, "do": true, "does": true, "did": true, "has": true, "have": true, "any": true,
	"anyone": true, "wondering": true, "help": true,
}

// leadIns may come before the question word: "and how...", "also, is...".
var leadIns = map[string]bool{"and": true, "also": true, "but": true, "so": true, "plus": true, "oh": true, "ok": true, "then": true}

// sentences splits text at sentence ends and line breaks; each keeps
// whether it ended with a question mark.
func sentences(text string) (out []string, asks []bool) {
	start := 0
	flush := func(end int, ask bool) {
		if s := strings.TrimSpace(text[start:end]); s != "" {
			out = append(out, s)
			asks = append(asks, ask)
		}
	}
	for i, r := range text {
		switch r {
		case '?', '.', '!', '\n':
			// "..." and "?!" end one sentence, not several.
			flush(i, r == '?' || strings.HasSuffix(strings.TrimSpace(text[start:i]), "?"))
			start = i + 1
		}
	}
	flush(len(text), false)
	return out, asks
}

// askingParts returns the sentences of text that ask, at most maxAsking
// (the last ones, where the question of a story usually is), and whether
// text is a story. It returns nil for a message of one or two sentences
// that asks at most once: matching it whole is all there is.
func askingParts(text string) (parts []string, story bool) {
	ss, qs := sentences(text)
	story = len(ss) >= storySentences
	for i, s := range ss {
		words := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && r != '\'' })
		if len(words) < 3 {
			continue
		}
		first := words[0]
		if leadIns[first] && len(words) > 1 {
			first = words[1]
		}
		if qs[i] || questionWords[first] {
			parts = append(parts, s)
		}
	}
	if len(parts) > maxAsking {
		parts = parts[len(parts)-maxAsking:]
	}
	if !story && len(parts) < 2 {
		return nil, false
	}
	if story && len(parts) == 0 {
		// A story with no sentence that asks: its last sentence is the
		// likeliest to hold what the person wants to know.
		parts = ss[len(ss)-1:]
	}
	return parts, story
}

// matchLong refines res, the verdict on the whole of query, for a story or
// a message that asks twice.
func (m *Matcher) matchLong(query string, res Result, explain bool) Result {
	parts, story := askingParts(capText(query, m.an.maxBytes))
	if parts == nil {
		return res
	}
	if story {
		if r := m.match(strings.Join(parts, " "), explain); r.Confidence > res.Confidence && r.Decision != OutOfScope {
			res = r
		}
	}
	if res.Decision != Answer || len(parts) < 2 {
		return res
	}
	main := res.Candidates[0].ID
	for _, p := range parts {
		r := m.match(p, false)
		if r.Decision == Answer && r.Candidates[0].ID != main {
			res.Also = r.Candidates[0].ID
			break
		}
	}
	return res
}
