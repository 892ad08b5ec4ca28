package match

import (
	"math"
	"slices"
)

// Choosing the decision thresholds by expected utility. Each outcome of a
// question has a value for the asker: a right answer at once is worth 1, a
// "did you mean" whose three choices hold the right entry 0.5 (one tap
// more), a queue ticket 0 (a person answers, later), and a wrong answer -4
// (a confident wrong answer to an anxious person is the worst outcome, and
// it ends the conversation: most askers do not ask again). Suggestions to
// a question that no entry answers cost a little (noise), and an on-topic
// question told "I can't help with that one" costs more than a ticket.
const (
	utilRight         = 1.0
	utilSuggested     = 0.5
	utilWrong         = -4.0
	utilNoneSuggested = -0.25
	utilToldOut       = -1.0
)

// outOfScopeNone: a question with no domain word is told it is out of
// scope only when the ranker (if there is one) also finds it more likely
// to be about nothing in the catalog than about something.
const outOfScopeNone = 0.5

// utilityPoint is one training question's calibrated outcome before any
// threshold.
type utilityPoint struct {
	conf   float64
	writer string
	right  bool // the top candidate is right
	top3   bool // one of the first three is
	none   bool // no entry answers it
	// lexicalNone: below the suggest threshold it would be told out of
	// scope, not queued.
	lexicalNone bool
	// weight scales the point's utility (0 means 1).
	weight float64
}

// utility of p under thresholds th.
func (p utilityPoint) utility(answer, suggest float64) float64 {
	switch {
	case p.conf >= answer:
		if p.none || !p.right {
			return utilWrong
		}
		return utilRight
	case p.conf >= suggest:
		if p.none {
			return utilNoneSuggested
		}
		if p.top3 {
			return utilSuggested
		}
		return 0
	case p.lexicalNone && !p.none:
		return utilToldOut
	}
	return 0
}

// thresholdGrid is the step of the thresholds searched.
const thresholdGrid = 0.01

// chooseThresholds returns the thresholds that maximise the mean utility
// of pts, smoothed: the data are resampled by writer (B times, with
// replacement, deterministically from seed), the best thresholds found in
// each resample, and the median of each taken. A writer's questions move
// together (one writer's style), so resampling writers shows how much the
// choice depends on who happened to write the corpus; the median does not
// jump when one writer's lines are added or removed. It also returns the
// interquartile range of each over the resamples.
func chooseThresholds(pts []utilityPoint, b int, seed uint64) (Thresholds, Thresholds) {
	var writers []string
	byWriter := map[string][]int{}
	for i, p := range pts {
		if _, ok := byWriter[p.writer]; !ok {
			writers = append(writers, p.writer)
		}
		byWriter[p.writer] = append(byWriter[p.writer], i)
	}
	slices.Sort(writers)
	steps := int(math.Round(1 / thresholdGrid))
	rng := seed | 1
	next := func() uint64 {
		rng ^= rng >> 12
		rng ^= rng << 25
		rng ^= rng >> 27
		return rng * 2685821657736338717
	}
	var as, ss []float64
	mult := make([]float64, len(pts))
	for round := range b {
		clear(mult)
		if round == 0 {
			for i := range mult {
				mult[i] = 1
			}
		} else {
			for range writers {
				for _, i := range byWriter[writers[next()%uint64(len(writers))]] {
					mult[i]++
				}
			}
		}
		a, s := bestThresholds(pts, mult, steps)
		if round > 0 {
			as, ss = append(as, a), append(ss, s)
		}
	}
	if len(as) == 0 {
		a, s := bestThresholds(pts, nil, steps)
		return Thresholds{Answer: a, Suggest: s}, Thresholds{}
	}
	q := func(v []float64, f float64) float64 {
		v = slices.Clone(v)
		slices.Sort(v)
		return v[int(f*float64(len(v)-1))]
	}
	th := Thresholds{Answer: q(as, 0.5), Suggest: q(ss, 0.5)}
	th.Suggest = min(th.Suggest, th.Answer)
	return th, Thresholds{Answer: q(as, 0.75) - q(as, 0.25), Suggest: q(ss, 0.75) - q(ss, 0.25)}
}

// bestThresholds finds the grid thresholds with the highest utility of
// pts, each weighted by mult (nil: 1). Utilities are summed per bin of
// confidence, so each threshold pair costs O(1) after O(len(pts)).
func bestThresholds(pts []utilityPoint, mult []float64, steps int) (answer, suggest float64) {
	// bin i holds confidences in [i/steps, (i+1)/steps); answering at
	// threshold a/steps takes bins ≥ a.
	ans := make([]float64, steps+2)
	sug := make([]float64, steps+2)
	low := make([]float64, steps+2)
	for i, p := range pts {
		w := 1.0
		if mult != nil {
			w = mult[i]
		}
		if p.weight > 0 {
			w *= p.weight
		}
		if w == 0 {
			continue
		}
		bin := min(int(p.conf*float64(steps)), steps)
		ans[bin] += w * p.utility(0, 0)
		sug[bin] += w * p.utility(2, 0)
		low[bin] += w * p.utility(2, 2)
	}
	// Prefix sums: X[i] = sum of bins < i.
	prefix := func(v []float64) []float64 {
		out := make([]float64, len(v)+1)
		for i, x := range v {
			out[i+1] = out[i] + x
		}
		return out
	}
	A, S, L := prefix(ans), prefix(sug), prefix(low)
	n := steps + 2
	best := math.Inf(-1)
	bestA, bestS := steps, steps
	// Thresholds run from the top down, so that among equal utilities the
	// higher (more careful) one wins.
	for a := steps; a >= 1; a-- {
		for s := a; s >= 1; s-- {
			u := (A[n] - A[a]) + (S[a] - S[s]) + L[s]
			if u > best+1e-9 {
				best, bestA, bestS = u, a, s
			}
		}
	}
	return float64(bestA) / float64(steps), float64(bestS) / float64(steps)
}
