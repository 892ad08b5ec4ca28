package safety

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"

	"github.com/candid-app/candid/internal/learn"
)

// The learned layer lives in two files in the FAQ folder: one says whether
// a message tells of a danger, the other which kind. Two heads rather than
// one softmax over none and the kinds, because with one, a message unlike
// anything seen in training spreads its probability over the nine kinds
// and so looks dangerous; the binary head's uncertainty stays with none.
const (
	ModelFile     = "safety/danger.model"
	KindModelFile = "safety/kind.model"
)

// Model is the learned second layer behind the rules: classifiers over
// hashed words, n-grams and concept families that give, for a message, the
// probability that it tells of a danger and of each kind. It decides only
// where no rule decided a higher tier; see docs/safety.md.
type Model struct {
	danger   *learn.Model // classes: none, danger
	kind     *learn.Model // classes: the kinds
	kinds    []Kind       // by class index of kind
	urgent   float64
	concern  float64
	soften   float64 // below this danger, a soft rule's urgent is concern (0: never)
	concepts conceptIndex
}

// Model decision settings, stored in the danger model file's meta.
const (
	metaUrgent  = "urgent_threshold"
	metaConcern = "concern_threshold"
	metaSoften  = "soften_threshold"
)

// LoadModel reads the learned layer from the FAQ folder fsys.
func LoadModel(fsys fs.FS) (*Model, error) {
	var ms [2]*learn.Model
	for i, path := range []string{ModelFile, KindModelFile} {
		f, err := fsys.Open(path)
		if err != nil {
			return nil, fmt.Errorf("safety: open model: %w (train it with `go generate ./faq`)", err)
		}
		ms[i], err = learn.Read(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("safety: %s: %w", path, err)
		}
	}
	return newModel(ms[0], ms[1])
}

func newModel(danger, kind *learn.Model) (*Model, error) {
	if len(danger.Classes) != 2 || danger.Classes[0] != classNone {
		return nil, errors.New("safety: the danger model must have the classes none and danger: retrain it with `go generate ./faq`")
	}
	if danger.DataHash != kind.DataHash {
		return nil, errors.New("safety: the danger and kind models were trained on different data: retrain them with `go generate ./faq`")
	}
	m := &Model{danger: danger, kind: kind, concepts: newConceptIndex()}
	for _, c := range kind.Classes {
		k, ok := ParseKind(c)
		if !ok {
			return nil, fmt.Errorf("safety: model class %q is not a kind this build knows: retrain it", c)
		}
		m.kinds = append(m.kinds, k)
	}
	var ok1, ok2 bool
	m.urgent, ok1 = danger.Meta[metaUrgent]
	m.concern, ok2 = danger.Meta[metaConcern]
	if !ok1 || !ok2 || m.concern <= 0 || m.concern > m.urgent || m.urgent >= 1 {
		return nil, errors.New("safety: model has no valid thresholds: retrain it with `go generate ./faq`")
	}
	m.soften = danger.Meta[metaSoften]
	if m.soften < 0 || m.soften > m.concern {
		return nil, errors.New("safety: model has an invalid soften threshold: retrain it with `go generate ./faq`")
	}
	return m, nil
}

// classNone is the danger model's class for a message without danger.
const classNone = "none"

// DataHash is the hash of the corpus the model was trained on.
func (m *Model) DataHash() string { return m.danger.DataHash }

// verdict is what the model says of one message.
type verdict struct {
	danger float64
	kind   Kind
	tier   Tier
}

// assess scores words (learn.Words with the model's MaxRunes).
func (m *Model) assess(words []string) verdict {
	var ex [12]string
	extra := m.concepts.concepts(words, ex[:0])
	var buf [16]float64
	probs := m.danger.PredictWords(words, extra, buf[:0])
	v := verdict{danger: probs[1], tier: TierNone}
	switch {
	case v.danger >= m.urgent:
		v.tier = TierUrgent
	case v.danger >= m.concern:
		v.tier = TierConcern
	default:
		return v
	}
	probs = m.kind.PredictWords(words, extra, probs[:0])
	best := -1.0
	for c, p := range probs {
		if p > best {
			best, v.kind = p, m.kinds[c]
		}
	}
	return v
}

// WithModel returns a detector that consults m behind its rules (nil: the
// rules alone). The rules are shared, not copied.
func (d *Detector) WithModel(m *Model) *Detector {
	c := *d
	c.model = m
	return &c
}

// applyModel lets the model raise the tier where the rules did not: the
// rules stay first (precise, explainable) and the model catches the wording
// they were not written for.
//
// The one thing the model may lower is the urgent of soft rules alone (a
// rule marked soft in crisis.yaml: its words also come up in questions
// about the danger, pasts told as background, hyperbole), and only to
// concern, when the model is confident there is no danger (below the soften
// threshold, chosen in training so that almost no emergency a soft rule
// caught is softened). The person still gets the resources for the kind and
// a ticket; what changes is that an essay "killing me" does not open with
// hotlines. A firm rule is never softened.
func (d *Detector) applyModel(words []string, a *Assessment) {
	if d.model == nil {
		return
	}
	v := d.model.assess(words)
	a.Score = v.danger
	if a.Tier == TierUrgent && v.danger < d.model.soften && onlySoftUrgent(a.Signals) {
		a.Tier, a.Crisis, a.Softened = TierConcern, false, true
		return
	}
	if v.tier.rank() > a.Tier.rank() {
		a.Tier, a.Kind, a.Why = v.tier, v.kind, "model"
		a.Kinds = slices.Insert(slices.DeleteFunc(a.Kinds, func(k Kind) bool { return k == v.kind }), 0, v.kind)
		a.Crisis = a.Tier == TierUrgent
	} else if v.tier != TierNone && !slices.Contains(a.Kinds, v.kind) {
		a.Kinds = append(a.Kinds, v.kind)
	}
}

// onlySoftUrgent reports whether every urgent signal comes from a soft rule.
func onlySoftUrgent(sigs []Signal) bool {
	for _, s := range sigs {
		if s.Tier == TierUrgent && !s.Soft {
			return false
		}
	}
	return true
}
