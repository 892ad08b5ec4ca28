package match

import "strconv"

// olderTerm is added after a mention of an age of 50 or more ("at 70", "in
// our 60s", "my wife is 66", "seventies"). Every age is a different number
// token, so without it "is sex still possible at 70" shares nothing with a
// paraphrase that says "at 80": the concept they share is being older.
// Documents and queries both get it, so the FAQ needs no special wording.
const olderTerm = "older"

// decadeWords are ages written as words.
var decadeWords = map[string]bool{
	"fifties": true, "sixties": true, "seventies": true, "eighties": true, "nineties": true,
}

// notAge are words after a number that make it a quantity, not an age:
// "after 60 minutes", "50 mg", "70 percent".
var notAge = map[string]bool{
	"second": true, "seconds": true, "sec": true, "secs": true, "min": true, "mins": true,
	"minute": true, "minutes": true, "hour": true, "hours": true, "hr": true, "hrs": true,
	"day": true, "days": true, "week": true, "weeks": true, "month": true, "months": true,
	"time": true, "times": true, "mg": true, "mcg": true, "ml": true, "kg": true, "lb": true,
	"lbs": true, "pounds": true, "percent": true, "pct": true, "dollars": true, "euros": true,
	"usd": true, "eur": true, "gbp": true, "session": true, "sessions": true, "partners": true,
	"people": true, "men": true, "women": true, "guys": true, "girls": true, "pills": true,
	"tablets": true, "cm": true, "mm": true, "inches": true, "inch": true, "miles": true,
	"km": true, "messages": true, "questions": true, "bpm": true, "degrees": true,
}

// markAges returns words with olderTerm inserted after each mention of an
// age of 50 to 119. A bare number counts unless a unit follows it, or
// "years" follows it without "old" ("after 50 years together").
func markAges(words []string) []string {
	var out []string
	for i, w := range words {
		if isOlderAge(words, i) {
			if out == nil {
				out = append(make([]string, 0, len(words)+2), words[:i]...)
			}
			out = append(out, w, olderTerm)
			continue
		}
		if out != nil {
			out = append(out, w)
		}
	}
	if out == nil {
		return words
	}
	return out
}

func isOlderAge(words []string, i int) bool {
	w := words[i]
	if decadeWords[w] {
		return true
	}
	if len(w) < 2 || w[0] < '0' || w[0] > '9' {
		return false
	}
	decade := false
	switch {
	case len(w) == 3 && w[2] == 's': // "60s"
		decade, w = true, w[:2]
	case len(w) == 4 && w[2] == '\'' && w[3] == 's': // "60's"
		decade, w = true, w[:2]
	case len(w) == 4 && (w[2:] == "yo" || w[2:] == "yr"): // "70yo"
		w = w[:2]
	}
	n, err := strconv.Atoi(w)
	if err != nil || n < 50 || n >= 120 {
		return false
	}
	if decade {
		return n%10 == 0
	}
	if i+1 < len(words) {
		next := words[i+1]
		if next == "s" { // "60's" is tokenised as "60", "s"
			return n%10 == 0
		}
		if notAge[next] {
			return false
		}
		if next == "year" || next == "years" || next == "yr" || next == "yrs" {
			return i+2 < len(words) && words[i+2] == "old"
		}
	}
	return true
}
