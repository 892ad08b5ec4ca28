package learn

import (
	"slices"
	"strings"
)

// Near duplicates between corpora. A training line that is nearly an
// evaluation line makes the evaluation dishonest, and two nearly equal
// lines labelled differently teach a model noise; lint finds both.

// NearPair is a line of a and a line of b whose word sets are similar.
type NearPair struct {
	A, B       int
	Similarity float64 // Jaccard similarity of the word sets
}

// NearPairs returns every pair (i of a, j of b) whose word sets (Words, so
// case, accents and punctuation do not count) have a Jaccard similarity of
// at least threshold (0 < threshold ≤ 1). Sets of fewer than minWords
// words are compared only for equality: "is it normal" is near everything.
// When a and b are the same slice, pairs of a line with itself are left
// out and each pair is reported once (A < B).
//
// It uses prefix filtering: with the words of every set ordered rarest
// first, two sets with similarity ≥ t share a word within the first
// |x| - ⌈t·|x|⌉ + 1 words of each, so only those are indexed and probed.
func NearPairs(a, b []string, threshold float64, minWords int) []NearPair {
	same := len(a) > 0 && len(b) > 0 && &a[0] == &b[0] && len(a) == len(b)
	sets := func(lines []string) [][]string {
		out := make([][]string, len(lines))
		for i, l := range lines {
			w := Words(l, 4000)
			slices.Sort(w)
			out[i] = slices.Compact(w)
		}
		return out
	}
	sa := sets(a)
	sb := sa
	if !same {
		sb = sets(b)
	}
	df := map[string]int{}
	for _, s := range append(slices.Clone(sa), sb...) {
		for _, w := range s {
			df[w]++
		}
	}
	rarest := func(s []string) []string {
		r := slices.Clone(s)
		slices.SortFunc(r, func(x, y string) int {
			if df[x] != df[y] {
				return df[x] - df[y]
			}
			return strings.Compare(x, y)
		})
		return r
	}
	prefix := func(n int) int {
		if n < minWords {
			return n // all: equality needs a shared word anyway
		}
		k := 0
		for float64(k) < threshold*float64(n)-1e-9 {
			k++
		}
		return n - k + 1
	}
	index := map[string][]int{}
	for j, s := range sb {
		r := rarest(s)
		for _, w := range r[:min(len(r), prefix(len(r)))] {
			index[w] = append(index[w], j)
		}
	}
	var out []NearPair
	seen := map[int]bool{}
	for i, s := range sa {
		if len(s) == 0 {
			continue
		}
		clear(seen)
		r := rarest(s)
		for _, w := range r[:min(len(r), prefix(len(r)))] {
			for _, j := range index[w] {
				if seen[j] || same && j <= i {
					continue
				}
				seen[j] = true
				t := sb[j]
				if len(s) < minWords || len(t) < minWords {
					if slices.Equal(s, t) {
						out = append(out, NearPair{i, j, 1})
					}
					continue
				}
				if sim := jaccard(s, t); sim >= threshold {
					out = append(out, NearPair{i, j, sim})
				}
			}
		}
	}
	slices.SortFunc(out, func(x, y NearPair) int {
		if x.A != y.A {
			return x.A - y.A
		}
		return x.B - y.B
	})
	return out
}

// jaccard of two sorted, distinct word lists.
func jaccard(a, b []string) float64 {
	i, j, both := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch c := strings.Compare(a[i], b[j]); {
		case c == 0:
			both++
			i++
			j++
		case c < 0:
			i++
		default:
			j++
		}
	}
	return float64(both) / float64(len(a)+len(b)-both)
}
