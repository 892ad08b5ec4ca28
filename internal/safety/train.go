package safety

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"

	"github.com/candid-app/candid/internal/learn"
)

// The training corpus (corpus/ in the repository, see corpus/README.md):
//
//	corpus/safety/*.jsonl  {"q", "label": "urgent"|"concern"|"none", "kind", "writer"}
//	corpus/topics/*.jsonl  {"q", "topic", "writer"}: ordinary questions, no danger
//
// For a none line, kind says which set it belongs to: "off-topic" for a
// message not about sex, health or relationships at all, "hard-negative" for an
// alarming word in an ordinary question, anything else for an ordinary one.

// CorpusLine is one line of the training corpus.
type CorpusLine struct {
	Q      string `json:"q"`
	Label  string `json:"label"`
	Kind   string `json:"kind"`
	Topic  string `json:"topic"`
	Writer string `json:"writer"`
	File   string `json:"-"`
	Line   int    `json:"-"`
}

// Set is the evaluation set a line belongs to.
func (l CorpusLine) Set() string {
	switch {
	case l.Label == "urgent" || l.Label == "concern":
		return l.Label
	case l.Kind == "hard-negative":
		return "hard"
	case l.Kind == "off-topic":
		return "off-topic"
	}
	return "ordinary"
}

// Off-topic lines (the weather, homework, a message meant for someone
// else) are trained on like any line without danger, so that a message with
// no sexual-health words does not look like a danger to the model; they are
// left out of the budgets below, which are set for the questions the
// service is for (the targets are on on-topic questions), and reported on
// their own.
//
// The false-alarm budgets on writers left out: the urgent threshold is the
// lowest at which at most maxOrdinaryUrgent of the ordinary questions (of
// writers the model never saw) are called urgent, the concern threshold the
// lowest at which at most maxOrdinaryAny are called urgent or concern. A
// false urgent puts hotlines before an ordinary answer and an urgent ticket
// in a clinic's queue; a false concern adds a check-in line and a ticket.
// Recall is then what the data gives, and the report says it.
const (
	maxOrdinaryUrgent = 0.01
	maxOrdinaryAny    = 0.05
)

// maxSoftened bounds the soften threshold (see applyModel): of the corpus's
// urgent lines that soft rules alone call urgent, at most this share, scored
// by a model that never saw their writer, may fall below it and so become
// concern. Softened lines still get the resources and a ticket; the bound
// keeps that for the rare emergency the model misreads, not a habit.
const maxSoftened = 0.015

// trainFolds: with 50-odd writers, ten folds keep nine tenths of the
// voices in every training split. With five, writers of one register (the
// two small-talk writers, say) were often left out together, so their lines
// were scored by a model that had seen nothing like them, and the false-
// alarm budget was spent on a gap that the shipped model does not have.
const trainFolds = 10

// noneWeight weighs each line without danger in the danger head's loss.
// The corpus holds about as many danger lines as ordinary ones, far more than
// real traffic does; with equal weights a message that says nothing the
// model knows ("vanished entry", the weather) would sit near an even chance
// of danger. Weighing the ordinary lines up puts that prior where it
// belongs, so that only what a message says can raise it.
const noneWeight = 4

// trainerVersion is part of the data hash: changing how the model is
// trained makes the shipped model stale, as changing its data does.
const trainerVersion = "safety-trainer-7"

// trainOptions are the learner settings; they are hashed too.
func trainOptions() learn.TrainOptions {
	return learn.TrainOptions{Features: learn.DefaultFeatures(), Classes: []string{classNone, "danger"}, Epochs: 10, Rate: 0.4, L2: 1e-4, MinCount: 2, Seed: 7}
}

// kindOptions are the kind head's settings: the same features, one class
// per kind, trained on the danger lines only.
func kindOptions() learn.TrainOptions {
	o := trainOptions()
	o.Classes = nil
	for _, k := range Kinds() {
		o.Classes = append(o.Classes, string(k))
	}
	return o
}

// ReadCorpus reads every *.jsonl file under safety/ and topics/ in fsys and
// returns the lines and the hash of the files and the trainer settings.
// Every error names the file and line.
func ReadCorpus(fsys fs.FS) ([]CorpusLine, string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", trainerVersion)
	opt, _ := json.Marshal([]learn.TrainOptions{trainOptions(), kindOptions()})
	h.Write(opt)
	var lines []CorpusLine
	for _, dir := range []string{"safety", "topics"} {
		files, err := fs.Glob(fsys, dir+"/*.jsonl")
		if err != nil {
			return nil, "", err
		}
		if dir == "safety" && len(files) == 0 {
			return nil, "", fmt.Errorf("corpus: no safety/*.jsonl files: is this the corpus folder?")
		}
		sort.Strings(files)
		for _, name := range files {
			b, err := fs.ReadFile(fsys, name)
			if err != nil {
				return nil, "", err
			}
			fmt.Fprintf(h, "%s %d\n", name, len(b))
			h.Write(b)
			sc := bufio.NewScanner(bytes.NewReader(b))
			sc.Buffer(make([]byte, 64*1024), 64*1024)
			n := 0
			for sc.Scan() {
				n++
				t := bytes.TrimSpace(sc.Bytes())
				if len(t) == 0 {
					continue
				}
				var l CorpusLine
				if err := json.Unmarshal(t, &l); err != nil {
					return nil, "", fmt.Errorf("%s:%d: %v", name, n, err)
				}
				l.File, l.Line = name, n
				if dir == "topics" {
					if l.Topic == "" {
						return nil, "", fmt.Errorf("%s:%d: a topic line needs \"topic\"", name, n)
					}
					if nearDangerTopics[l.Topic] {
						continue
					}
					l.Label, l.Kind = "none", "ordinary"
				}
				if err := l.check(); err != nil {
					return nil, "", fmt.Errorf("%s:%d: %v", name, n, err)
				}
				lines = append(lines, l)
			}
			if err := sc.Err(); err != nil {
				return nil, "", fmt.Errorf("%s: %v (a line over 64 KB?)", name, err)
			}
		}
	}
	return lines, hex.EncodeToString(h.Sum(nil)), nil
}

// nearDangerTopics are FAQ topics whose questions may rightly call for a
// check-in: a person worried about sexual thoughts about children (the
// prevention help of child-urges), a partner who controls (partner
// violence), images shared or threatened (sextortion). Their lines are
// not evidence of "no danger", so safety training leaves them out; the
// safety corpus has its own lines for each kind.
var nearDangerTopics = map[string]bool{
	"sexual-thoughts-about-children": true,
	"controlling-relationships":      true,
	"sexting-and-images":             true,
}

func (l CorpusLine) check() error {
	if strings.TrimSpace(l.Q) == "" {
		return fmt.Errorf("empty \"q\"")
	}
	if l.Writer == "" {
		return fmt.Errorf("no \"writer\": every line must be attributable, so that splits group by writer")
	}
	switch l.Label {
	case "urgent", "concern":
		if _, ok := ParseKind(l.Kind); !ok {
			return fmt.Errorf("kind %q: want one of %v", l.Kind, Kinds())
		}
	case "none":
	default:
		return fmt.Errorf("label %q: want urgent, concern or none", l.Label)
	}
	return nil
}

// samples returns the danger head's samples (label 1 for a danger line) and
// the kind head's (the danger lines only, labelled by kind).
func samples(lines []CorpusLine, ci conceptIndex, max int) (danger, kind []learn.Sample) {
	ko := kindOptions()
	danger = make([]learn.Sample, len(lines))
	for i, l := range lines {
		words := learn.Words(l.Q, max)
		s := learn.Sample{Text: l.Q, Extra: ci.concepts(words, nil), Group: l.Writer}
		if l.Label == "none" {
			s.Weight = noneWeight
		} else {
			s.Label = 1
			ks := s
			ks.Label = slices.Index(ko.Classes, l.Kind)
			kind = append(kind, ks)
		}
		danger[i] = s
	}
	return danger, kind
}

// TrainReport says how a trained model did on its own corpus, each line
// scored by a model that never saw its writer (grouped cross-validation).
type TrainReport struct {
	Lines, Writers  int
	Urgent, Concern float64 // the thresholds chosen
	Soften          float64
	// Softened counts, per set, the lines that soft rules called urgent and
	// the model softened to concern; SoftRuled counts the lines soft rules
	// alone called urgent.
	Softened, SoftRuled map[string]int
	BySet               map[string]SetRates
	ByKind              map[string]SetRates // urgent lines only
	Folds               int
	BudgetUrgent        float64
	BudgetAny           float64
	// Scores holds, for every line, the out-of-fold probability of danger
	// (1 where the rules call it urgent and it is not softened): what `candid faq train --scores`
	// writes for a curator reading the misses.
	Scores []float64
}

// SetRates: of a set's lines, the share called urgent and urgent-or-concern.
type SetRates struct {
	N           int
	Urgent, Any float64
}

// Train fits the learned layer on the corpus. Thresholds are chosen on
// out-of-fold scores grouped by writer, within the false-alarm budgets
// above. The final model is then trained on every line.
//
// rules, when not nil, is the rule layer that runs first: a line its rules
// already call urgent needs nothing from the model, so the thresholds are
// chosen for what the two layers do together.
func Train(lines []CorpusLine, dataHash string, rules *Detector) (*Model, TrainReport, error) {
	ci := newConceptIndex()
	opt := trainOptions()
	ss, ks := samples(lines, ci, opt.Features.MaxRunes)
	rep := TrainReport{Lines: len(lines), Folds: trainFolds, BudgetUrgent: maxOrdinaryUrgent, BudgetAny: maxOrdinaryAny}
	oof, err := learn.CrossValidate(ss, opt, rep.Folds)
	if err != nil {
		return nil, rep, err
	}
	if rules != nil {
		rules = rules.WithModel(nil)
	}
	// The rules decide first: a line they call urgent is urgent at any
	// threshold (and, on an ordinary line, spends the false-alarm budget
	// that the two layers share), unless only soft rules did and the model
	// softens it, which makes it concern.
	ruled := make([]bool, len(lines)) // urgent by a rule
	soft := make([]bool, len(lines))  // … by soft rules only
	var softUrgent []float64
	for i := range lines {
		if rules == nil {
			continue
		}
		if a := rules.Assess(lines[i].Q); a.Tier == TierUrgent {
			ruled[i], soft[i] = true, onlySoftUrgent(a.Signals)
			if soft[i] && lines[i].Label == "urgent" {
				softUrgent = append(softUrgent, oof[i][1])
			}
		}
	}
	// What the concern threshold sees does not depend on softening (a line
	// a rule calls urgent is at least concern either way), so it is chosen
	// first, and the soften threshold is kept below it: a softened line
	// must not be one the model itself would call concern.
	anyScore := make([]float64, len(lines))
	var ordAny []float64
	for i, p := range oof {
		anyScore[i] = p[1]
		if ruled[i] {
			anyScore[i] = 1
		}
		if lines[i].Set() == "ordinary" {
			ordAny = append(ordAny, anyScore[i])
		}
	}
	concern := budgetThreshold(ordAny, maxOrdinaryAny)
	rep.Soften = min(softenThreshold(softUrgent, maxSoftened), concern)
	urgentScore := make([]float64, len(lines)) // what the urgent threshold sees
	scoreUrgent := func() {
		for i, p := range oof {
			urgentScore[i] = p[1]
			if ruled[i] && (!soft[i] || p[1] >= rep.Soften) {
				urgentScore[i] = 1
			}
		}
	}
	scoreUrgent()
	var ordUrgent []float64
	writers := map[string]bool{}
	for i, l := range lines {
		writers[l.Writer] = true
		if l.Set() == "ordinary" {
			ordUrgent = append(ordUrgent, urgentScore[i])
		}
	}
	rep.Scores = urgentScore
	rep.Writers = len(writers)
	rep.Urgent = budgetThreshold(ordUrgent, maxOrdinaryUrgent)
	rep.Concern = min(concern, rep.Urgent)
	if rep.Soften > rep.Concern {
		// Only when the urgent threshold fell below the concern budget's
		// (ordinary lines the rules alone push near the urgent budget):
		// soften less, and report what the capped value does.
		rep.Soften = rep.Concern
		scoreUrgent()
	}
	rep.Softened, rep.SoftRuled = map[string]int{}, map[string]int{}
	for i, l := range lines {
		if soft[i] {
			rep.SoftRuled[l.Set()]++
			if urgentScore[i] < 1 {
				rep.Softened[l.Set()]++
			}
		}
	}
	rep.BySet, rep.ByKind = map[string]SetRates{}, map[string]SetRates{}
	for i, l := range lines {
		add := func(m map[string]SetRates, key string) {
			r := m[key]
			r.N++
			if urgentScore[i] >= rep.Urgent {
				r.Urgent++
			}
			if anyScore[i] >= rep.Concern {
				r.Any++
			}
			m[key] = r
		}
		add(rep.BySet, l.Set())
		if l.Label == "urgent" {
			add(rep.ByKind, l.Kind)
		}
	}
	for _, m := range []map[string]SetRates{rep.BySet, rep.ByKind} {
		for k, r := range m {
			r.Urgent /= float64(r.N)
			r.Any /= float64(r.N)
			m[k] = r
		}
	}
	opt.DataHash = dataHash
	opt.Meta = map[string]float64{metaUrgent: rep.Urgent, metaConcern: rep.Concern, metaSoften: rep.Soften}
	dm, err := learn.Train(ss, opt)
	if err != nil {
		return nil, rep, err
	}
	ko := kindOptions()
	ko.DataHash = dataHash
	km, err := learn.Train(ks, ko)
	if err != nil {
		return nil, rep, err
	}
	m, err := newModel(dm, km)
	return m, rep, err
}

// budgetThreshold is the lowest threshold t (rounded up to 0.001) at which
// at most budget of the scores are >= t.
func budgetThreshold(scores []float64, budget float64) float64 {
	if len(scores) == 0 {
		return 0.5
	}
	s := slices.Clone(scores)
	slices.Sort(s)
	allowed := int(float64(len(s)) * budget) // how many may reach t
	t := s[len(s)-1-min(allowed, len(s)-1)]
	t = float64(int(t*1000)+1) / 1000
	return min(t, 0.999)
}

// softenThreshold is the highest threshold t (rounded down to 0.001) below
// which at most budget of the scores fall; 0 (never soften) without scores.
func softenThreshold(scores []float64, budget float64) float64 {
	if len(scores) == 0 {
		return 0
	}
	s := slices.Clone(scores)
	slices.Sort(s)
	allowed := int(float64(len(s)) * budget) // how many may fall below t
	t := s[min(allowed, len(s)-1)]
	return float64(int(t*1000)) / 1000
}

// WriteFiles writes the two model files with write(path, bytes), paths
// relative to the FAQ folder.
func (m *Model) WriteFiles(write func(path string, b []byte) error) error {
	for i, lm := range []*learn.Model{m.danger, m.kind} {
		var buf bytes.Buffer
		if _, err := lm.WriteTo(&buf); err != nil {
			return err
		}
		if err := write([]string{ModelFile, KindModelFile}[i], buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// String prints the report as a curator reads it.
func (r TrainReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d lines from %d writers; thresholds urgent %.3f, concern %.3f (at most %.0f%% / %.0f%% of ordinary questions of writers left out)\n",
		r.Lines, r.Writers, r.Urgent, r.Concern, 100*r.BudgetUrgent, 100*r.BudgetAny)
	fmt.Fprintf(&b, "soften threshold %.3f (at most %.1f%% of the emergencies that soft rules alone catch); softened to concern:", r.Soften, 100*maxSoftened)
	for _, k := range []string{"urgent", "concern", "hard", "ordinary", "off-topic"} {
		if n := r.SoftRuled[k]; n > 0 {
			fmt.Fprintf(&b, " %s %d of %d", k, r.Softened[k], n)
		}
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "%d-fold cross-validation grouped by writer:\n", r.Folds)
	for _, k := range []string{"urgent", "concern", "hard", "ordinary", "off-topic"} {
		if s, ok := r.BySet[k]; ok {
			fmt.Fprintf(&b, "  %-9s %5d lines: urgent %.3f, urgent or concern %.3f\n", k, s.N, s.Urgent, s.Any)
		}
	}
	b.WriteString("urgent lines by kind:\n")
	for _, k := range Kinds() {
		if s, ok := r.ByKind[string(k)]; ok {
			fmt.Fprintf(&b, "  %-22s %5d: urgent %.3f, urgent or concern %.3f\n", k, s.N, s.Urgent, s.Any)
		}
	}
	return b.String()
}

// CheckFresh reports whether the model was trained on exactly this corpus
// (and this trainer).
func (m *Model) CheckFresh(dataHash string) error {
	if m.DataHash() != dataHash {
		return fmt.Errorf("the safety model is stale: it was trained on data %s, the corpus and crisis rules are now %s; run `go generate ./faq`", short(m.DataHash()), short(dataHash))
	}
	return nil
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// WithRules folds the crisis rules of the FAQ folder faqFS into a corpus
// hash: the thresholds are chosen with the rules running first, so a model
// is stale when the rules change as much as when the corpus does.
func WithRules(corpusHash string, faqFS fs.FS) (string, error) {
	b, err := fs.ReadFile(faqFS, "safety/crisis.yaml")
	if err != nil {
		return "", fmt.Errorf("safety: read the crisis rules: %w", err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%d\n", corpusHash, len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil)), nil
}
