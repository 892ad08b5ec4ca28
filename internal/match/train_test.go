package match

// Offline training of the calibration model and the decision thresholds
// (and, with -search, the lexical fusion weights). Run it after the
// ranker (go generate ./faq), and after changing the FAQ, the lexicon or
// the matcher:
//
//	go generate ./internal/match   # = go test . -run TestTrain -count=1 -update
//
// Data it may use, and how:
//   - the topic corpus (../../corpus/topics): every line is ranked with the
//     ranker's out-of-fold probabilities (folds grouped by writer, so a
//     writer's questions are scored by a ranker that never saw that
//     writer), which is how the ranker will see a new asker's words; its
//     none lines teach what out of scope looks like;
//   - leave-one-out over the FAQ itself (each text held out, the index
//     rebuilt without it), with the ranker's out-of-fold probabilities;
//   - ../shared/eval/dev.jsonl, with the shipped ranker (it never trains on
//     dev).
//
// eval/own.jsonl, eval/fresh*.jsonl and eval/heldout.jsonl are held-out
// test sets: they are never read here.

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/candid-app/candid/internal/evaluate"
	"github.com/candid-app/candid/internal/faq"
	"github.com/candid-app/candid/internal/learn"
)

var (
	update = flag.Bool("update", false, "retrain and rewrite calibration.json (TestTrain)")
	search = flag.Bool("search", false, "with -update: also search the fusion weights again (otherwise the shipped ones are kept)")
)

const l2 = 1.0 // ridge penalty on the standardised coefficients

// sample is one training question: its ranking and what is right.
type sample struct {
	set    string // "corpus", "neg", "loo", "dev"
	writer string
	q      string
	expect []string
	r      ranking
}

// looCatalog returns cat with text k of entry e held out.
func looCatalog(cat *faq.Catalog, e, k int) *faq.Catalog {
	entries := slices.Clone(cat.Entries)
	cp := *entries[e]
	texts := cp.Texts()
	texts = append(texts[:k:k], texts[k+1:]...)
	cp.Question, cp.Paraphrases = texts[0], texts[1:]
	entries[e] = &cp
	return &faq.Catalog{Locale: cat.Locale, Entries: entries}
}

// weightGrid is the search space for the fusion weights and BM25 params.
func weightGrid() []Weights {
	var g []Weights
	for _, ng := range []float64{0, 0.25, 0.5} {
		for _, meta := range []float64{0.5, 0.75, 1} {
			for _, pool := range []float64{0.7, 1, 1.5, 2} {
				for _, k1 := range []float64{1.6, 2.0, 2.5} {
					for _, b := range []float64{0.75, 0.9} {
						g = append(g, Weights{BM25: 1, NGram: ng, Meta: meta, Multi: 0.1, Pool: pool, K1: k1, B: b})
					}
				}
			}
		}
	}
	return g
}

func TestTrain(t *testing.T) {
	if !*update {
		t.Skip("training runs only with -update (go generate ./internal/match)")
	}
	start := time.Now()
	cat, lex := loadReal(t)
	dev := loadCases(t, devCasesPath)

	// The shipped ranker must be fresh: calibration reads its verdicts.
	rk, err := LoadRanker(os.DirFS(faqRoot))
	if err != nil {
		t.Fatal(err)
	}
	lines, corpusHash, err := ReadTopicCorpus(os.DirFS(corpusRoot))
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckRankerFresh(rk, RankerHash(cat, lex, corpusHash)); err != nil {
		t.Fatalf("%v (run go generate ./faq first)", err)
	}
	// Out-of-fold probabilities for every ranker sample, keyed by label
	// and text.
	featm, err := New(cat, lex, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rsamples, classes, _ := RankerData(cat, lines, featm.RankerFeatures)
	ropt := rankerOptions()
	ropt.Classes = classes
	oof, err := learn.CrossValidate(rsamples, ropt, rankerFolds)
	if err != nil {
		t.Fatal(err)
	}
	oofOf := map[string][]float64{}
	writerOf := map[string]string{}
	for i, s := range rsamples {
		k := classes[s.Label] + "\x00" + s.Text
		oofOf[k], writerOf[k] = oof[i], s.Group
	}
	t.Logf("ranker: %d samples, out-of-fold probabilities in %v", len(rsamples), time.Since(start).Round(time.Second))

	// The fusion weights are kept as shipped unless -search: the grid's
	// optimum is flat, and a near-tie flip would hide what a content change
	// did. A calibration file of another feature set still gives them.
	grid := weightGrid()
	var shipped struct {
		Weights Weights `json:"weights"`
	}
	if err := json.Unmarshal(calibrationJSON, &shipped); err == nil && shipped.Weights.K1 > 0 && !*search {
		grid = []Weights{shipped.Weights}
	}
	d := len(featureNames)
	scale := make([]float64, d)
	for i := range scale {
		scale[i] = 1
	}
	base := &Calibration{Features: slices.Clone(featureNames), Mean: make([]float64, d), Scale: scale,
		Coef: make([]float64, d), Weights: grid[0], Thresholds: Thresholds{Answer: 0.5, Suggest: 0.5}}

	// 1. Lexical fusion weights (only with -search): leave-one-out over
	// the FAQ and dev, by top-1 and MRR of the lexical ranking alone.
	full, err := New(cat, lex, Options{Calibration: base, Ranker: rk})
	if err != nil {
		t.Fatal(err)
	}
	lexical, err := New(cat, lex, Options{Calibration: base})
	if err != nil {
		t.Fatal(err)
	}
	forEachHeldOut := func(f func(m *Matcher, q, id string)) {
		for e, en := range cat.Entries {
			texts := en.Texts()
			if len(texts) < 3 {
				continue
			}
			for k, text := range texts {
				m, err := New(looCatalog(cat, e, k), lex, Options{Calibration: base, Ranker: rk})
				if err != nil {
					t.Fatal(err)
				}
				f(m, text, en.ID)
			}
		}
	}
	bestW := grid[0]
	if len(grid) > 1 {
		top1 := func(m *Matcher, q string, w Weights, expect []string) (hit, mrr float64) {
			r := m.rankWith(q, w, nil)
			for i, c := range r.cands[:min(len(r.cands), candidatePool)] {
				if slices.Contains(expect, m.ix.ids[c.entry]) {
					if i == 0 {
						hit = 1
					}
					return hit, 1 / float64(i+1)
				}
			}
			return 0, 0
		}
		looAcc, looMRR := make([]float64, len(grid)), make([]float64, len(grid))
		nLOO := 0
		forEachHeldOut(func(m *Matcher, q, id string) {
			nLOO++
			m.rk = nil // the lexical ranking alone
			for gi, w := range grid {
				h, r := top1(m, q, w, []string{id})
				looAcc[gi], looMRR[gi] = looAcc[gi]+h, looMRR[gi]+r
			}
		})
		bestObj := -1.0
		for gi, w := range grid {
			var devAcc, devMRR, nd float64
			for _, c := range dev {
				if c.Kind() == "topic" {
					h, r := top1(lexical, c.Q, w, c.Expect)
					devAcc, devMRR, nd = devAcc+h, devMRR+r, nd+1
				}
			}
			nl := float64(nLOO)
			obj := (looAcc[gi]/nl+devAcc/nd)/2 + 0.1*(looMRR[gi]/nl+devMRR/nd)/2
			if obj > bestObj+1e-9 {
				bestObj, bestW = obj, w
			}
		}
		t.Logf("weights: %+v (objective %.4f over %d settings)", bestW, bestObj, len(grid))
	}

	// 2. Samples: every corpus line, the FAQ's texts held out one by one,
	// and dev.
	var samples []sample
	for _, l := range lines {
		if l.Topic != evaluate.LabelNone && cat.Entry(l.Topic) == nil {
			continue // no entry yet
		}
		k := l.Topic + "\x00" + l.Q
		probs, ok := oofOf[k]
		if !ok || writerOf[k] != l.Writer {
			continue // a duplicate of a line already taken
		}
		set := "corpus"
		if l.Topic == evaluate.LabelNone {
			set = "neg"
		}
		samples = append(samples, sample{set: set, writer: l.Writer, q: l.Q, expect: []string{l.Topic}, r: full.rankWith(l.Q, bestW, probs)})
	}
	forEachHeldOut(func(m *Matcher, q, id string) {
		probs, ok := oofOf[id+"\x00"+q]
		if !ok {
			return // the same words as another text, already taken
		}
		samples = append(samples, sample{set: "loo", writer: faqWriter, q: q, expect: []string{id}, r: m.rankWith(q, bestW, probs)})
	})
	for _, c := range dev {
		if c.Kind() != evaluate.LabelCrisis {
			samples = append(samples, sample{set: "dev", writer: "dev", q: c.Q, expect: c.Expect, r: full.rankWith(c.Q, bestW, nil)})
		}
	}
	ids := full.ix.ids
	t.Logf("samples ranked: %d in %v", len(samples), time.Since(start).Round(time.Second))

	// 3. The logistic model. Corpus lines are the closest to real
	// questions and the most numerous; held-out paraphrases are skewed
	// toward neighbouring topics by design and weigh little; none lines
	// and dev weigh more per line, being fewer. One line in seven is also
	// seen with the ranker's verdict removed, so that calibration knows
	// what lexical evidence alone is worth: an entry added after the
	// ranker was trained is matched that way until it is retrained.
	setWeight := map[string]float64{"loo": 0.1, "corpus": 1, "neg": 3, "dev": 3}
	var X [][]float64
	var y, sw []float64
	addRows := func(s sample, r ranking, w float64) {
		for i := 0; i < r.short; i++ {
			X = append(X, features(r, i, nil))
			label := 0.0
			if slices.Contains(s.expect, ids[r.cands[i].entry]) {
				label = 1
			}
			y = append(y, label)
			sw = append(sw, w)
		}
	}
	for i, s := range samples {
		addRows(s, s.r, setWeight[s.set])
		if i%7 == 3 {
			addRows(s, lexical.rankWith(s.q, bestW, nil), setWeight[s.set])
		}
	}
	cal := fitLogistic(X, y, sw, l2)
	cal.Weights = bestW
	t.Logf("model: %d rows, fitted in %v", len(y), time.Since(start).Round(time.Second))

	// 4. Thresholds by expected utility, smoothed by a bootstrap over
	// writers.
	raw := make([]Result, len(samples))
	for i, s := range samples {
		raw[i] = decide(cal, Thresholds{Answer: 1, Suggest: 1}, ids, s.r, false)
	}
	var pts []utilityPoint
	for i, s := range samples {
		if s.set == "loo" || s.r.a.offTopic {
			continue // held-out paraphrases are not questions; off-topic requests are out of scope whatever the confidence
		}
		res := raw[i]
		p := utilityPoint{conf: res.Confidence, writer: s.writer, none: slices.Contains(s.expect, evaluate.LabelNone),
			lexicalNone: s.r.a.domain == 0 && (s.r.rv.probs == nil || s.r.rv.none >= outOfScopeNone)}
		for j, c := range res.Candidates {
			if slices.Contains(s.expect, c.ID) {
				p.right = p.right || j == 0
				p.top3 = p.top3 || j < 3
			}
		}
		pts = append(pts, p)
	}
	// The dev set, written as real askers write and the closest to them,
	// has as much say as the whole corpus: the corpus's out-of-fold
	// verdicts come from rankers that never saw a fifth of the writers,
	// so alone they make the matcher more timid than a shipped ranker
	// needs to be (answering 0.49 of dev, with no wrong answer at all).
	var nCorpus, nDev float64
	for _, p := range pts {
		switch p.writer {
		case "dev":
			nDev++
		default:
			nCorpus++
		}
	}
	for i := range pts {
		if pts[i].writer == "dev" && nDev > 0 {
			pts[i].weight = nCorpus / nDev
		}
	}
	th, spread := chooseThresholds(pts, 200, 20261207)
	cal.Thresholds = th
	// Stability: the thresholds another bootstrap would have chosen, and
	// what they would do to answer accuracy on the same points.
	answered := func(th Thresholds) float64 {
		n := 0.0
		for _, p := range pts {
			if p.conf >= th.Answer && p.right && !p.none {
				n++
			}
		}
		return n / float64(len(pts))
	}
	worst := 0.0
	for seed := uint64(1); seed <= 5; seed++ {
		other, _ := chooseThresholds(pts, 200, seed)
		worst = max(worst, math.Abs(answered(other)-answered(th)))
		t.Logf("bootstrap seed %d: answer %.2f, suggest %.2f", seed, other.Answer, other.Suggest)
	}
	t.Logf("stability: other bootstrap seeds move answer accuracy on the training points by at most %.4f", worst)
	t.Logf("thresholds: answer %.3f, suggest %.3f (bootstrap interquartile range: answer %.3f, suggest %.3f)", th.Answer, th.Suggest, spread.Answer, spread.Suggest)

	// 5. Report what was learnt, per set, and write the file.
	stats := map[string]any{}
	for _, set := range []string{"corpus", "neg", "loo", "dev"} {
		var n, ans, ok, sugg, none int
		for _, s := range samples {
			if s.set != set {
				continue
			}
			n++
			res := decide(cal, cal.Thresholds, ids, s.r, false)
			if slices.Contains(s.expect, evaluate.LabelNone) {
				none++
			}
			switch res.Decision {
			case Answer:
				ans++
				if slices.Contains(s.expect, res.Candidates[0].ID) {
					ok++
				}
			case Suggest:
				for _, c := range res.Candidates[:min(3, len(res.Candidates))] {
					if slices.Contains(s.expect, c.ID) {
						sugg++
						break
					}
				}
			}
		}
		stats[set] = map[string]int{"questions": n, "answered": ans, "answered_right": ok, "suggested_right": sugg, "none": none}
		t.Logf("%s: %d questions, %d answered, %d right, %d more right within the suggestions", set, n, ans, ok, sugg)
	}
	cal.Version = 2
	cal.Training = map[string]any{
		"date":           time.Now().UTC().Format(time.DateOnly),
		"entries":        len(cat.Entries),
		"utility":        map[string]float64{"right": utilRight, "suggested": utilSuggested, "wrong": utilWrong, "none_suggested": utilNoneSuggested, "told_out_of_scope": utilToldOut},
		"bootstrap_iqr":  spread,
		"seed_stability": worst,
		"l2":             l2,
		"rows":           len(y),
		"sets":           stats,
		"ranker_hash":    rk.DataHash,
		"command":        "go generate ./internal/match",
	}
	data, err := json.MarshalIndent(cal, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("calibration.json", append(data, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote calibration.json in %v", time.Since(start).Round(time.Millisecond))
}

// fitLogistic fits an L2-regularised logistic regression on standardised
// features by Newton's method (IRLS): a dozen features and a few thousand
// rows converge in a few iterations, exactly and deterministically.
func fitLogistic(X [][]float64, y, sw []float64, lambda float64) *Calibration {
	d := len(featureNames)
	mean, scale := make([]float64, d), make([]float64, d)
	for _, x := range X {
		for j := range d {
			mean[j] += x[j]
		}
	}
	for j := range d {
		mean[j] /= float64(len(X))
	}
	for _, x := range X {
		for j := range d {
			scale[j] += (x[j] - mean[j]) * (x[j] - mean[j])
		}
	}
	for j := range d {
		scale[j] = math.Sqrt(scale[j] / float64(len(X)))
		if scale[j] < 1e-9 {
			scale[j] = 1
		}
	}
	Z := make([][]float64, len(X))
	for i, x := range X {
		z := make([]float64, d+1)
		for j := range d {
			z[j] = (x[j] - mean[j]) / scale[j]
		}
		z[d] = 1 // bias
		Z[i] = z
	}
	w := make([]float64, d+1)
	for iter := 0; iter < 50; iter++ {
		H := make([][]float64, d+1)
		for i := range H {
			H[i] = make([]float64, d+1)
		}
		g := make([]float64, d+1)
		for i, z := range Z {
			s := 0.0
			for j := range z {
				s += w[j] * z[j]
			}
			p := 1 / (1 + math.Exp(-s))
			for j := range z {
				g[j] += sw[i] * (p - y[i]) * z[j]
				for k := range z {
					H[j][k] += sw[i] * p * (1 - p) * z[j] * z[k]
				}
			}
		}
		for j := range d { // no penalty on the bias
			g[j] += lambda * w[j]
			H[j][j] += lambda
		}
		step := solve(H, g)
		change := 0.0
		for j := range w {
			w[j] -= step[j]
			change = max(change, math.Abs(step[j]))
		}
		if change < 1e-8 {
			break
		}
	}
	return &Calibration{Features: slices.Clone(featureNames), Mean: mean, Scale: scale, Coef: w[:d], Bias: w[d]}
}

// solve returns x with A·x = b by Gaussian elimination with partial pivoting.
func solve(A [][]float64, b []float64) []float64 {
	n := len(b)
	M := make([][]float64, n)
	for i := range A {
		M[i] = append(slices.Clone(A[i]), b[i])
	}
	for c := 0; c < n; c++ {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(M[r][c]) > math.Abs(M[p][c]) {
				p = r
			}
		}
		M[c], M[p] = M[p], M[c]
		if math.Abs(M[c][c]) < 1e-12 {
			continue
		}
		for r := c + 1; r < n; r++ {
			f := M[r][c] / M[c][c]
			for k := c; k <= n; k++ {
				M[r][k] -= f * M[c][k]
			}
		}
	}
	x := make([]float64, n)
	for r := n - 1; r >= 0; r-- {
		s := M[r][n]
		for k := r + 1; k < n; k++ {
			s -= M[r][k] * x[k]
		}
		if math.Abs(M[r][r]) > 1e-12 {
			x[r] = s / M[r][r]
		}
	}
	return x
}

var _ = fmt.Sprint
