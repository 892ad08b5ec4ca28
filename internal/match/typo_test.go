package match

import (
	"math/rand"
	"testing"
	"unicode/utf8"
)

// The speller's candidate filters (prefix filtering over trigram lists, a
// bag-of-letters lower bound) must never lose the word a brute-force scan
// over the whole vocabulary finds, when that word shares at least
// (trigrams − 3·maxd) trigrams with the typo (the bound every word within
// maxd Levenshtein edits meets). Outside that zone the speller may find a
// word or not, but what it finds must be within the distance.
func TestSpellerMatchesBruteForce(t *testing.T) {
	cat, _ := synthetic(300)
	m, err := New(cat, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sp := m.an.spell
	// brute returns the best candidate within maxd edits over the whole
	// vocabulary, and whether it meets the trigram bound (the zone where
	// the speller guarantees to find it).
	brute := func(w string) (string, bool) {
		n := utf8.RuneCountInString(w)
		if n < minCorrectRunes {
			return "", true
		}
		maxd := 1
		if n >= longWordRunes {
			maxd = 2
		}
		wt := map[string]int{}
		grams := 0
		forTrigrams(w, func(g string) { wt[g]++; grams++ })
		best, bestD, bestF := -1, maxd+1, int32(-1)
		for id, c := range sp.cands {
			d := editDistance(w, c, maxd)
			if d > maxd {
				continue
			}
			if d < bestD || d == bestD && (sp.freq[id] > bestF || sp.freq[id] == bestF && id < best) {
				best, bestD, bestF = id, d, sp.freq[id]
			}
		}
		if best < 0 {
			return "", true
		}
		shared, ct := 0, map[string]bool{}
		forTrigrams(sp.cands[best], func(g string) { ct[g] = true })
		for g, k := range wt {
			if ct[g] {
				shared += k
			}
		}
		return sp.cands[best], shared >= max(grams-3*maxd, 1)
	}
	rng := rand.New(rand.NewSource(1))
	letters := "abcdefghijklmnopqrstuvwxyz"
	for i := 0; i < 2000; i++ {
		w := []byte(sp.cands[rng.Intn(len(sp.cands))])
		for e := rng.Intn(3); e >= 0 && len(w) > 1; e-- {
			k := rng.Intn(len(w))
			switch rng.Intn(4) {
			case 0: // substitute
				w[k] = letters[rng.Intn(26)]
			case 1: // delete
				w = append(w[:k], w[k+1:]...)
			case 2: // insert
				w = append(w[:k], append([]byte{letters[rng.Intn(26)]}, w[k:]...)...)
			case 3: // transpose
				if k+1 < len(w) {
					w[k], w[k+1] = w[k+1], w[k]
				}
			}
		}
		got := ""
		if rep := sp.fix(string(w), nil); rep != nil {
			got = rep[0]
		}
		want, guaranteed := brute(string(w))
		switch {
		case guaranteed && got != want:
			t.Fatalf("fix(%q) = %q, brute force finds %q", w, got, want)
		case got != "" && editDistance(string(w), got, 2) > 2:
			t.Fatalf("fix(%q) = %q, which is not within 2 edits", w, got)
		}
	}
}
