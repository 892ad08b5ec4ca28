package learn

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Sample is one labelled line of a training corpus.
type Sample struct {
	Text  string
	Extra []string // the caller's own features
	Label int      // index into TrainOptions.Classes
	// Weight scales the sample's loss (1 when zero).
	Weight float64
	// Group is the writer: cross-validation never puts one writer's lines
	// on both sides of a split.
	Group string
}

// TrainOptions configure Train. The zero value of a field means its
// default.
type TrainOptions struct {
	Features Features
	Classes  []string
	Epochs   int     // passes over the data (default 12)
	Rate     float64 // AdaGrad learning rate (default 0.5)
	L2       float64 // weight decay per update on the weights it touches (default 1e-5)
	// MinCount: a feature seen in fewer samples is not learned, which
	// keeps the file small and one-off n-grams from being memorised
	// (default 2).
	MinCount int
	Seed     uint64
	DataHash string
	Meta     map[string]float64
}

func (o *TrainOptions) defaults() {
	if o.Features.Bits == 0 {
		o.Features = DefaultFeatures()
	}
	if o.Epochs == 0 {
		o.Epochs = 12
	}
	if o.Rate == 0 {
		o.Rate = 0.5
	}
	if o.L2 == 0 {
		o.L2 = 1e-5
	}
	if o.MinCount == 0 {
		o.MinCount = 2
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
}

type prepared struct {
	feats  []uint32
	label  int
	weight float64
}

// Train fits a multinomial logistic regression with AdaGrad. It is
// deterministic: the same samples and options give the same model.
func Train(samples []Sample, opt TrainOptions) (*Model, error) {
	opt.defaults()
	k := len(opt.Classes)
	if k < 2 {
		return nil, errors.New("learn: need at least two classes")
	}
	if len(samples) == 0 {
		return nil, errors.New("learn: no samples")
	}
	f := opt.Features
	buckets := 1 << f.Bits
	data := make([]prepared, len(samples))
	df := make([]uint16, buckets)
	groups := map[string]bool{}
	for i, s := range samples {
		if s.Label < 0 || s.Label >= k {
			return nil, fmt.Errorf("learn: sample %d has label %d, want 0..%d", i, s.Label, k-1)
		}
		w := s.Weight
		if w == 0 {
			w = 1
		}
		feats := f.Extract(nil, s.Text, s.Extra)
		data[i] = prepared{feats: feats, label: s.Label, weight: w}
		u := slices.Clone(feats)
		slices.Sort(u)
		for _, b := range slices.Compact(u) {
			if df[b] < math.MaxUint16 {
				df[b]++
			}
		}
		groups[s.Group] = true
	}
	keep := make([]bool, buckets)
	for b, n := range df {
		keep[b] = int(n) >= opt.MinCount
	}

	w := make([]float64, buckets*k)
	g2 := make([]float64, buckets*k)
	bias := make([]float64, k)
	bg2 := make([]float64, k)
	order := make([]int, len(data))
	for i := range order {
		order[i] = i
	}
	rng := opt.Seed
	next := func() uint64 { // xorshift64*: deterministic, no global state
		rng ^= rng >> 12
		rng ^= rng << 25
		rng ^= rng >> 27
		return rng * 2685821657736338717
	}
	p := make([]float64, k)
	const eps = 1e-8
	for range opt.Epochs {
		for i := len(order) - 1; i > 0; i-- {
			j := int(next() % uint64(i+1))
			order[i], order[j] = order[j], order[i]
		}
		for _, idx := range order {
			s := &data[idx]
			if len(s.feats) == 0 {
				continue
			}
			x := 1 / math.Sqrt(float64(len(s.feats)))
			copy(p, bias)
			for _, b := range s.feats {
				if !keep[b] {
					continue
				}
				row := w[int(b)*k : int(b)*k+k]
				for c := range k {
					p[c] += row[c] * x
				}
			}
			softmax(p)
			for c := range k {
				g := p[c]
				if c == s.label {
					g -= 1
				}
				g *= s.weight
				p[c] = g
				bg2[c] += g * g
				bias[c] -= opt.Rate * g / math.Sqrt(bg2[c]+eps)
			}
			for _, b := range s.feats {
				if !keep[b] {
					continue
				}
				base := int(b) * k
				for c := range k {
					gr := p[c]*x + opt.L2*w[base+c]
					g2[base+c] += gr * gr
					w[base+c] -= opt.Rate * gr / math.Sqrt(g2[base+c]+eps)
				}
			}
		}
	}
	mx := 0.0
	for _, v := range w {
		mx = max(mx, math.Abs(v))
	}
	scale := mx / 127
	if scale == 0 {
		scale = 1
	}
	m := &Model{Header: Header{
		Format: formatVersion, Classes: slices.Clone(opt.Classes), Features: f, DataHash: opt.DataHash,
		Samples: len(samples), Groups: len(groups), Meta: opt.Meta, Scale: float32(scale), Bias: make([]float32, k),
	}, w: make([]int8, buckets*k)}
	for c := range k {
		m.Bias[c] = float32(bias[c])
	}
	for i, v := range w {
		m.w[i] = int8(math.Round(v / scale))
	}
	return m, nil
}

// CrossValidate trains on all groups but one fold at a time and returns,
// for every sample, the class probabilities from the model that did not see
// its writer. Groups are dealt to folds in sorted order, round robin, so
// the split is deterministic.
func CrossValidate(samples []Sample, opt TrainOptions, folds int) ([][]float64, error) {
	var names []string
	seen := map[string]bool{}
	for _, s := range samples {
		if !seen[s.Group] {
			seen[s.Group] = true
			names = append(names, s.Group)
		}
	}
	slices.Sort(names)
	if folds < 2 || len(names) < folds {
		return nil, fmt.Errorf("learn: %d writers cannot make %d folds", len(names), folds)
	}
	fold := map[string]int{}
	for i, n := range names {
		fold[n] = i % folds
	}
	out := make([][]float64, len(samples))
	for f := range folds {
		var train []Sample
		var test []int
		for i, s := range samples {
			if fold[s.Group] == f {
				test = append(test, i)
			} else {
				train = append(train, s)
			}
		}
		m, err := Train(train, opt)
		if err != nil {
			return nil, err
		}
		for _, i := range test {
			out[i] = m.Predict(samples[i].Text, samples[i].Extra, nil)
		}
	}
	return out, nil
}
