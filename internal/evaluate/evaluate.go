// Package evaluate owns matcher evaluation: it reads labelled question sets
// (JSON Lines, one {"q": …, "expect": […]} a line), runs each question
// through a caller-given function (in production: safety first, then the
// matcher — the same path as `candid match`), and computes the quality
// metrics, the report with its misses, and the floors CI enforces.
//
// It knows nothing about how an Outcome is produced, so the same code scores
// the matcher, the bleve baseline or any future variant.
package evaluate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
)

// Labels with a special meaning in Case.Expect.
const (
	LabelNone   = "none"   // out of scope: must not be answered
	LabelCrisis = "crisis" // the safety detector must fire
)

// Decisions an Outcome may carry ("crisis" comes from safety, the others
// from the matcher).
const (
	DecisionCrisis     = "crisis"
	DecisionAnswer     = "answer"
	DecisionSuggest    = "suggest"
	DecisionQueue      = "queue"
	DecisionOutOfScope = "out_of_scope"
)

// MaxLineBytes bounds one JSONL line; a case is a question of a few hundred
// bytes, so a longer line is a broken file, reported with its line number.
const MaxLineBytes = 64 << 10

// Case is one labelled question.
type Case struct {
	Q      string   `json:"q"`
	Expect []string `json:"expect"`
	// Writer is who wrote the case, where known (sets written by several
	// independent writers).
	Writer string `json:"writer,omitempty"`
	Line   int    `json:"-"` // 1-based line in the file
}

// Kind classifies a case by its labels.
func (c Case) Kind() string {
	switch {
	case slices.Contains(c.Expect, LabelCrisis):
		return LabelCrisis
	case slices.Contains(c.Expect, LabelNone):
		return LabelNone
	default:
		return "topic"
	}
}

// ReadCases parses JSONL cases from r; name is used in error messages
// (name:line: problem). Blank lines are skipped; an empty file, a malformed
// or oversized line, unknown keys, an empty question or an empty expect
// list are errors.
func ReadCases(r io.Reader, name string) ([]Case, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLineBytes)
	var cases []Case
	var errs []string
	line := 0
	for sc.Scan() {
		line++
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		var c Case
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		switch err := dec.Decode(&c); {
		case err != nil:
			errs = append(errs, fmt.Sprintf("%s:%d: not a case (want {\"q\": \"…\", \"expect\": [\"id\"]}): %v", name, line, err))
		case dec.More():
			errs = append(errs, fmt.Sprintf("%s:%d: more than one JSON value on the line", name, line))
		case strings.TrimSpace(c.Q) == "":
			errs = append(errs, fmt.Sprintf("%s:%d: empty \"q\"", name, line))
		case len(c.Expect) == 0:
			errs = append(errs, fmt.Sprintf("%s:%d: empty \"expect\": give a topic id, %q or %q", name, line, LabelNone, LabelCrisis))
		default:
			c.Line = line
			cases = append(cases, c)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			// The scanner cannot skip the line and go on; stop here.
			errs = append(errs, fmt.Sprintf("%s:%d: line longer than %d bytes", name, line+1, MaxLineBytes))
		} else {
			errs = append(errs, fmt.Sprintf("%s:%d: %v", name, line+1, err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.New(strings.Join(errs, "\n"))
	}
	if len(cases) == 0 {
		return nil, fmt.Errorf("%s: no cases: the file is empty", name)
	}
	return cases, nil
}

// LoadCases reads a JSONL case file.
func LoadCases(path string) ([]Case, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadCases(f, path)
}

// Outcome is what the system under test did with one question.
type Outcome struct {
	Decision   string   `json:"decision"`
	FAQID      string   `json:"faq_id"` // the answered entry; empty unless Decision is answer
	Candidates []string `json:"candidates"`
}

// Miss is one case the system got wrong (or did not answer).
type Miss struct {
	Case    Case
	Outcome Outcome
	Why     string // "wrong answer", "not answered", "none answered", "crisis missed", "false crisis"
}

// Report holds the metrics; each rate's numerator and denominator are
// kept so that a reader can check the arithmetic.
//
// Definitions (crisis cases are those labelled "crisis"; topic cases carry
// topic ids; none cases carry "none"):
//
//   - AnswerAccuracy = topic cases answered with an expected id / topic cases.
//   - WrongAnswerRate = non-crisis cases (topic or none) answered with an id
//     that is not expected / non-crisis cases, answered or not. An answer to a
//     none case is a wrong answer.
//   - Top1Accuracy = topic cases whose first candidate is expected, answered
//     or not / topic cases: the ranking's accuracy before abstention.
//   - Top3Recall = topic cases with an expected id among the first three
//     candidates (whatever the decision) / topic cases.
//   - NoneAbstention = none cases not answered / none cases; NoneAnswered
//     counts the failures (the floor is zero).
//   - CrisisRecall = crisis cases with decision crisis / crisis cases.
//   - FalseCrisisRate = non-crisis cases with decision crisis / non-crisis cases.
type Report struct {
	Cases, Topic, None, Crisis, NonCrisis int

	Correct, Wrong, Top1, Top3, NoneAnswered, CrisisHit, FalseCrisis int
	Decisions                                                        map[string]int

	AnswerAccuracy, WrongAnswerRate, Top1Accuracy, Top3Recall, NoneAbstention, CrisisRecall, FalseCrisisRate float64

	Misses []Miss
}

// Options tune Run.
type Options struct {
	// IgnoreCrisis skips crisis-labelled cases entirely, for scoring a
	// matcher without the safety detector in front of it.
	IgnoreCrisis bool
}

// Run scores fn on cases.
func Run(cases []Case, fn func(q string) Outcome, opts Options) Report {
	r := Report{Decisions: map[string]int{}}
	for _, c := range cases {
		kind := c.Kind()
		if kind == LabelCrisis && opts.IgnoreCrisis {
			continue
		}
		o := fn(c.Q)
		r.Cases++
		r.Decisions[o.Decision]++
		answered := o.Decision == DecisionAnswer
		right := answered && slices.Contains(c.Expect, o.FAQID)
		miss := func(why string) { r.Misses = append(r.Misses, Miss{Case: c, Outcome: o, Why: why}) }
		switch kind {
		case LabelCrisis:
			r.Crisis++
			if o.Decision == DecisionCrisis {
				r.CrisisHit++
			} else {
				miss("crisis missed")
			}
			continue
		case LabelNone:
			r.None++
			if answered {
				r.NoneAnswered++
				r.Wrong++
				miss("none answered")
			}
		default:
			r.Topic++
			if len(o.Candidates) > 0 && slices.Contains(c.Expect, o.Candidates[0]) {
				r.Top1++
			}
			top := o.Candidates[:min(3, len(o.Candidates))]
			for _, id := range top {
				if slices.Contains(c.Expect, id) {
					r.Top3++
					break
				}
			}
			switch {
			case right:
				r.Correct++
			case answered:
				r.Wrong++
				miss("wrong answer")
			case o.Decision == DecisionCrisis:
				miss("false crisis")
			default:
				miss("not answered")
			}
		}
		r.NonCrisis++
		if o.Decision == DecisionCrisis {
			r.FalseCrisis++
			if kind == LabelNone {
				miss("false crisis")
			}
		}
	}
	r.AnswerAccuracy = ratio(r.Correct, r.Topic)
	r.WrongAnswerRate = ratio(r.Wrong, r.NonCrisis)
	r.Top1Accuracy = ratio(r.Top1, r.Topic)
	r.Top3Recall = ratio(r.Top3, r.Topic)
	r.NoneAbstention = ratio(r.None-r.NoneAnswered, r.None)
	r.CrisisRecall = ratio(r.CrisisHit, r.Crisis)
	r.FalseCrisisRate = ratio(r.FalseCrisis, r.NonCrisis)
	return r
}

// ratio is n/d, or 0 for an empty denominator (reported as "n/a").
func ratio(n, d int) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

// WriteTo prints the metrics and then every miss.
func (r Report) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	rate := func(name string, v float64, n, d int) {
		if d == 0 {
			fmt.Fprintf(&b, "%-18s n/a\n", name)
			return
		}
		fmt.Fprintf(&b, "%-18s %.3f  (%d/%d)\n", name, v, n, d)
	}
	fmt.Fprintf(&b, "cases              %d (topic %d, none %d, crisis %d)\n", r.Cases, r.Topic, r.None, r.Crisis)
	rate("answer accuracy", r.AnswerAccuracy, r.Correct, r.Topic)
	rate("wrong-answer rate", r.WrongAnswerRate, r.Wrong, r.NonCrisis)
	rate("top-1 accuracy", r.Top1Accuracy, r.Top1, r.Topic)
	rate("top-3 recall", r.Top3Recall, r.Top3, r.Topic)
	rate("none abstention", r.NoneAbstention, r.None-r.NoneAnswered, r.None)
	rate("crisis recall", r.CrisisRecall, r.CrisisHit, r.Crisis)
	rate("false-crisis rate", r.FalseCrisisRate, r.FalseCrisis, r.NonCrisis)
	keys := make([]string, 0, len(r.Decisions))
	for k := range r.Decisions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b.WriteString("decisions         ")
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%d", k, r.Decisions[k])
	}
	b.WriteString("\n")
	if len(r.Misses) > 0 {
		fmt.Fprintf(&b, "\nmisses (%d):\n", len(r.Misses))
		for _, m := range r.Misses {
			got := m.Outcome.Decision
			if m.Outcome.FAQID != "" {
				got += " " + m.Outcome.FAQID
			}
			fmt.Fprintf(&b, "  line %d: %s: expected %s, got %s, candidates %s\n    %q\n",
				m.Case.Line, m.Why, strings.Join(m.Case.Expect, "|"), got,
				strings.Join(m.Outcome.Candidates[:min(3, len(m.Outcome.Candidates))], ","), m.Case.Q)
		}
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

func (r Report) String() string {
	var b strings.Builder
	r.WriteTo(&b)
	return b.String()
}

// Summary is the metrics alone, without the misses.
func (r Report) Summary() string {
	r.Misses = nil
	return r.String()
}

// Floors are the minimum quality a run must reach. Min fields fail when the
// metric is below them, Max fields when it is above; NoFloors() disables
// every check, DefaultFloors() is the matcher issue's floor.
type Floors struct {
	MinAnswerAccuracy  float64
	MaxWrongAnswerRate float64
	MinTop3Recall      float64
	MinCrisisRecall    float64
	MaxFalseCrisisRate float64
	// NoneNeverAnswered fails the run when any none case is answered.
	NoneNeverAnswered bool
}

// DefaultFloors: answer accuracy ≥ 0.65, wrong answers ≤ 0.03, top-3
// recall ≥ 0.97, crisis recall = 1, no false crisis, none never answered.
//
// The answer-accuracy floor was 0.90 until the thresholds were chosen by
// expected utility (2026-12-07): with a wrong answer worth -4 against +1
// for a right one and +0.5 for a right suggestion, answering pays only
// above about 90% confidence, so the matcher now suggests (one tap) much
// of what it used to answer, and answers with fewer wrong answers. The
// floor guards against a collapse, not the target; the wrong-answer
// ceiling is the one that protects askers.
func DefaultFloors() Floors {
	return Floors{MinAnswerAccuracy: 0.65, MaxWrongAnswerRate: 0.03, MinTop3Recall: 0.97,
		MinCrisisRecall: 1, MaxFalseCrisisRate: 0, NoneNeverAnswered: true}
}

// NoFloors checks nothing.
func NoFloors() Floors {
	return Floors{MaxWrongAnswerRate: 1, MaxFalseCrisisRate: 1}
}

// Check returns nil when r meets every floor, or an error naming each
// failed one. Metrics with an empty denominator (no crisis cases, say) are
// not checked.
func (f Floors) Check(r Report) error {
	var fails []string
	lo := func(name string, v, floor float64, d int) {
		if d > 0 && v < floor {
			fails = append(fails, fmt.Sprintf("%s %.3f is below the floor %.3f", name, v, floor))
		}
	}
	hi := func(name string, v, ceil float64, d int) {
		if d > 0 && v > ceil {
			fails = append(fails, fmt.Sprintf("%s %.3f is above the ceiling %.3f", name, v, ceil))
		}
	}
	lo("answer accuracy", r.AnswerAccuracy, f.MinAnswerAccuracy, r.Topic)
	hi("wrong-answer rate", r.WrongAnswerRate, f.MaxWrongAnswerRate, r.NonCrisis)
	lo("top-3 recall", r.Top3Recall, f.MinTop3Recall, r.Topic)
	lo("crisis recall", r.CrisisRecall, f.MinCrisisRecall, r.Crisis)
	hi("false-crisis rate", r.FalseCrisisRate, f.MaxFalseCrisisRate, r.NonCrisis)
	if f.NoneNeverAnswered && r.NoneAnswered > 0 {
		fails = append(fails, fmt.Sprintf("%d out-of-scope (none) question(s) answered; none may be", r.NoneAnswered))
	}
	if len(fails) > 0 {
		return fmt.Errorf("quality floor not met: %s", strings.Join(fails, "; "))
	}
	return nil
}
