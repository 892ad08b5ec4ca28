package match

import (
	"math/bits"
	"slices"
	"sort"
	"unicode/utf8"
)

// speller corrects words the index has never seen to a known word: trigram
// candidates, then an edit distance check (≤ 1 edit, ≤ 2 for words of 8
// runes or more). Transpositions count as one edit ("teh"), which is how
// people mistype on phones. Words of fewer than 4 runes are left alone: at
// that length one edit reaches too many unrelated words.
//
// Glued words ("sextherapy") are left to the character n-gram cosine:
// splitting them into two known words also splits real compounds
// ("football" → "foot ball"), which invents domain words.
type speller struct {
	known map[string]bool    // every word the matcher knows, stop words included
	cands []string           // correction targets: known content words
	freq  []int32            // how often each target occurs in the catalog
	runes []uint8            // each target's length in runes (≤ maxWordBytes)
	masks []uint64           // each target's set of ASCII letters and digits
	tri   map[uint64][]int32 // trigram hash → targets containing it
}

// spellScratch counts shared trigrams per target; pooled with the query's
// scratch so that a correction allocates nothing per candidate.
type spellScratch struct {
	counts  []uint16
	touched []int32
}

const (
	minCorrectRunes = 4
	longWordRunes   = 8
)

func newSpeller(freq map[string]int32) *speller {
	s := &speller{known: map[string]bool{}, tri: map[uint64][]int32{}}
	for w := range stopWords {
		s.known[w] = true
	}
	for w := range negations {
		s.known[w] = true
	}
	for w := range contractions {
		s.known[w] = true
	}
	words := make([]string, 0, len(freq))
	for w := range freq {
		s.known[w] = true
		words = append(words, w)
	}
	sort.Strings(words) // deterministic ids, so ties break the same way every build
	for _, w := range words {
		if isStop(w) || utf8.RuneCountInString(w) < 3 {
			continue
		}
		id := int32(len(s.cands))
		s.cands = append(s.cands, w)
		s.freq = append(s.freq, freq[w])
		s.runes = append(s.runes, uint8(min(utf8.RuneCountInString(w), 255)))
		s.masks = append(s.masks, letterMask(w))
		forTrigrams(w, func(g string) {
			h := hashString(g)
			l := s.tri[h]
			if len(l) == 0 || l[len(l)-1] != id {
				s.tri[h] = append(l, id)
			}
		})
	}
	return s
}

// forTrigrams calls f with each trigram of "^w$" (as substrings of one
// padded string, so no allocation per trigram).
func forTrigrams(w string, f func(string)) {
	p := "^" + w + "$"
	for i := 0; i < len(p); {
		_, n1 := utf8.DecodeRuneInString(p[i:])
		j := i + n1
		if j >= len(p) {
			break
		}
		_, n2 := utf8.DecodeRuneInString(p[j:])
		k := j + n2
		if k >= len(p) {
			break
		}
		_, n3 := utf8.DecodeRuneInString(p[k:])
		f(p[i : k+n3])
		i = j
	}
}

func hasDigit(w string) bool {
	for i := 0; i < len(w); i++ {
		if w[i] >= '0' && w[i] <= '9' {
			return true
		}
	}
	return false
}

// correct returns words with unknown ones corrected, and how many it changed.
func (s *speller) correct(words []string, sc *spellScratch) ([]string, int) {
	var out []string
	changed := 0
	for i, w := range words {
		if s.known[w] || hasDigit(w) || isEnglishWord(w) {
			if out != nil {
				out = append(out, w)
			}
			continue
		}
		rep := s.fix(w, sc)
		if rep == nil {
			if out != nil {
				out = append(out, w)
			}
			continue
		}
		if out == nil {
			out = append(make([]string, 0, len(words)+1), words[:i]...)
		}
		out = append(out, rep...)
		changed++
	}
	if out == nil {
		return words, 0
	}
	return out, changed
}

func (s *speller) fix(w string, sc *spellScratch) []string {
	n := utf8.RuneCountInString(w)
	if n < minCorrectRunes {
		return nil
	}
	maxd := 1
	if n >= longWordRunes {
		maxd = 2
	}
	// Candidates share at least (trigrams − 3·maxd) trigrams with w: every
	// word within maxd Levenshtein edits does, since an edit changes at most
	// three trigrams. The distance check then also allows transpositions
	// as one edit; a transposition changes up to four trigrams, so in a
	// short word it is found only when enough trigrams survive it.
	if sc == nil {
		sc = &spellScratch{}
	}
	if len(sc.counts) < len(s.cands) {
		sc.counts = make([]uint16, len(s.cands))
	}
	defer func() {
		for _, id := range sc.touched {
			sc.counts[id] = 0
		}
		sc.touched = sc.touched[:0]
	}()
	// Prefix filtering: a word within maxd edits shares at least need of
	// the query word's trigrams, so it appears in at least one of any
	// (grams - need + 1) of their lists. The need-1 longest lists (the
	// trigrams most words contain, like "ing") are skipped: every word in
	// one of the others is a candidate, and none within the bound is lost.
	// (sc.counts only marks the candidates already seen.)
	var lists [maxWordBytes + 2][]int32
	grams := 0
	forTrigrams(w, func(g string) {
		if grams < len(lists) {
			lists[grams] = s.tri[hashString(g)]
			grams++
		}
	})
	need := max(grams-3*maxd, 1)
	ls := lists[:grams]
	slices.SortFunc(ls, func(a, b []int32) int { return len(b) - len(a) })
	skipped := need - 1
	for _, ids := range ls[skipped:] {
		for _, id := range ids {
			if sc.counts[id] == 0 {
				sc.touched = append(sc.touched, id)
			}
			sc.counts[id]++
		}
	}
	// The best candidate: fewest edits, then the most frequent, then the
	// lowest id (ids follow sorted order), so ties break the same way on
	// every build and in every goroutine.
	wbag, wmask := letterBag(w), letterMask(w)
	best, bestD, bestF := -1, maxd+1, int32(-1)
	for _, id := range sc.touched {
		c := s.cands[id]
		cn := int(s.runes[id])
		if cn-n > maxd || n-cn > maxd {
			continue
		}
		// Cheap lower bounds first: letters one word has and the other
		// lacks entirely (two popcounts), then the same counted with
		// multiplicity.
		if bits.OnesCount64(wmask&^s.masks[id]) > maxd || bits.OnesCount64(s.masks[id]&^wmask) > maxd {
			continue
		}
		if bagDistance(&wbag, c) > maxd {
			continue // cheap lower bound: most candidates stop here
		}
		d := editDistance(w, c, maxd)
		if d > maxd {
			continue
		}
		if d < bestD || d == bestD && (s.freq[id] > bestF || s.freq[id] == bestF && int(id) < best) {
			best, bestD, bestF = int(id), d, s.freq[id]
		}
	}
	if best >= 0 {
		return []string{s.cands[best]}
	}
	return nil
}

// bag counts a word's ASCII letters and digits; other runes are left out,
// which keeps bagDistance a lower bound.
type bag [36]int8

func bagIndex(c byte) int {
	switch {
	case c >= 'a' && c <= 'z':
		return int(c - 'a')
	case c >= '0' && c <= '9':
		return 26 + int(c-'0')
	}
	return -1
}

// letterMask has bit k set when w contains the ASCII letter or digit k.
func letterMask(w string) uint64 {
	var m uint64
	for i := 0; i < len(w); i++ {
		if k := bagIndex(w[i]); k >= 0 {
			m |= 1 << k
		}
	}
	return m
}

func letterBag(w string) bag {
	var b bag
	for i := 0; i < len(w); i++ {
		if k := bagIndex(w[i]); k >= 0 {
			b[k]++
		}
	}
	return b
}

// bagDistance is a lower bound of the edit distance between the word whose
// bag is a and b: the larger of the counts of letters one has and the
// other lacks (as multisets); an edit changes at most one of each.
func bagDistance(a *bag, b string) int {
	h := *a
	for i := 0; i < len(b); i++ {
		if k := bagIndex(b[i]); k >= 0 {
			h[k]--
		}
	}
	pos, neg := 0, 0
	for _, v := range h {
		if v > 0 {
			pos += int(v)
		} else {
			neg -= int(v)
		}
	}
	return max(pos, neg)
}

// editDistance is the optimal-string-alignment distance (Levenshtein plus
// adjacent transpositions) over runes, giving up early once it must exceed
// maxd (it then returns maxd+1).
func editDistance(a, b string, maxd int) int {
	// Runes on the stack: words are at most maxWordBytes, so no query
	// allocates here (longer inputs are refused, as before).
	var bufA, bufB [maxWordBytes]rune
	ra, rb := bufA[:0], bufB[:0]
	for _, r := range a {
		if len(ra) == maxWordBytes {
			return maxd + 1
		}
		ra = append(ra, r)
	}
	for _, r := range b {
		if len(rb) == maxWordBytes {
			return maxd + 1
		}
		rb = append(rb, r)
	}
	n, m := len(ra), len(rb)
	var rows [3][maxWordBytes + 1]int
	prev2, prev, cur := rows[0][:m+1], rows[1][:m+1], rows[2][:m+1]
	for j := 0; j <= m; j++ {
		prev[j] = j
	}
	for i := 1; i <= n; i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= m; j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin > maxd {
			return maxd + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return min(prev[m], maxd+1)
}
