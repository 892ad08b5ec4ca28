package match

import (
	"slices"
	"testing"

	"github.com/candid-app/candid/internal/evaluate"
)

// The quality floor of the matcher issue, on the dev set, without the
// safety detector: crisis cases are left out (safety handles them).
// eval/own.jsonl, a held-out set, is reported with no floor: the model is
// never trained on it (it did help choose the training set weights, see
// TestTrain), so its numbers are the honest ones.
func TestQualityFloorDev(t *testing.T) {
	rep := evaluateReal(t, devCasesPath)
	t.Logf("dev set (%s):\n%s", devCasesPath, rep)
	floors := evaluate.DefaultFloors()
	floors.MinCrisisRecall, floors.MaxFalseCrisisRate = 0, 1 // safety's job, not measured here
	// Every floor of the matcher issue is enforced as written. Note that
	// dev also trains the calibration, so these are not held-out figures:
	// TestQualityReportOwn and docs/matcher.md have those.
	if err := floors.Check(rep); err != nil {
		t.Error(err)
	}
}

func TestQualityReportOwn(t *testing.T) {
	rep := evaluateReal(t, ownCasesPath)
	// Report only: the held-out set has no floor here.
	t.Logf("own set (%s), held out, no floor:\n%s", ownCasesPath, rep)
}

// TestThresholdTradeoff reports, for dev, own, fresh and fresh2, what a
// clinic gets from other values of match.answer_threshold (the table in
// docs/matcher.md), and checks the trade-off is what the docs promise: raising the threshold
// never answers more, and never adds wrong answers.
func TestThresholdTradeoff(t *testing.T) {
	cat, lex := loadReal(t)
	for _, set := range []string{devCasesPath, ownCasesPath, "../../eval/fresh.jsonl", "../../eval/fresh2.jsonl"} {
		cases := loadCases(t, set)
		prevAcc, prevWrong := 2.0, 2.0
		ths := []float64{0.3, 0.4, 0.5, DefaultThresholds().Answer, 0.6, 0.7, 0.8, 0.9, 0.95}
		slices.Sort(ths)
		for _, th := range ths {
			m, err := New(cat, lex, Options{Ranker: rankerFor(t, cat), Thresholds: Thresholds{Answer: th, Suggest: min(th, 0.3)}})
			if err != nil {
				t.Fatal(err)
			}
			rep := evaluate.Run(cases, func(q string) evaluate.Outcome { return outcome(m.Match(q)) },
				evaluate.Options{IgnoreCrisis: true})
			t.Logf("%s threshold %.3f: answer accuracy %.3f, wrong-answer rate %.3f, none answered %d",
				set, th, rep.AnswerAccuracy, rep.WrongAnswerRate, rep.NoneAnswered)
			if rep.AnswerAccuracy > prevAcc+1e-9 || rep.WrongAnswerRate > prevWrong+1e-9 {
				t.Errorf("%s: threshold %.3f answers more (accuracy %.3f after %.3f, wrong %.3f after %.3f)",
					set, th, rep.AnswerAccuracy, prevAcc, rep.WrongAnswerRate, prevWrong)
			}
			prevAcc, prevWrong = rep.AnswerAccuracy, rep.WrongAnswerRate
		}
	}
}

// evaluateReal runs the cases of path against the real FAQ, crisis cases
// left out (they are the safety detector's).
func evaluateReal(t *testing.T, path string) evaluate.Report {
	t.Helper()
	cases := loadCases(t, path)
	cat, lex := loadReal(t)
	m := mustNew(t, cat, lex)
	return evaluate.Run(cases, func(q string) evaluate.Outcome { return outcome(m.Match(q)) },
		evaluate.Options{IgnoreCrisis: true})
}
