package evaluate

import (
	"strings"
	"testing"
)

func TestReadCasesErrors(t *testing.T) {
	cases := map[string]struct{ in, want string }{
		"empty":        {"", "t.jsonl: no cases: the file is empty"},
		"blank only":   {"\n\n  \n", "no cases"},
		"malformed":    {`{"q": "a", "expect": ["x"]}` + "\n{not json}\n", "t.jsonl:2: not a case"},
		"unknown key":  {`{"q": "a", "expect": ["x"], "extra": 1}`, "t.jsonl:1: not a case"},
		"empty q":      {`{"q": " ", "expect": ["x"]}`, `t.jsonl:1: empty "q"`},
		"empty expect": {`{"q": "a", "expect": []}`, `t.jsonl:1: empty "expect"`},
		"two values":   {`{"q": "a", "expect": ["x"]} {"q": "b", "expect": ["y"]}`, "t.jsonl:1: more than one JSON value"},
		"oversized":    {`{"q": "a", "expect": ["x"]}` + "\n" + `{"q": "` + strings.Repeat("a", MaxLineBytes) + `", "expect": ["x"]}`, "t.jsonl:2: line longer than"},
	}
	for name, c := range cases {
		_, err := ReadCases(strings.NewReader(c.in), "t.jsonl")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
	cs, err := ReadCases(strings.NewReader("{\"q\": \"a\", \"expect\": [\"x\"]}\n\n{\"q\": \"b\", \"expect\": [\"none\"]}"), "t.jsonl")
	if err != nil || len(cs) != 2 || cs[1].Line != 3 {
		t.Fatalf("%v %+v", err, cs)
	}
}

func TestRunMetrics(t *testing.T) {
	cases := []Case{
		{Q: "right", Expect: []string{"a"}},
		{Q: "wrong", Expect: []string{"a"}},
		{Q: "top3", Expect: []string{"a"}},
		{Q: "either", Expect: []string{"a", "b"}},
		{Q: "none-ok", Expect: []string{"none"}},
		{Q: "none-answered", Expect: []string{"none"}},
		{Q: "crisis-hit", Expect: []string{"crisis"}},
		{Q: "crisis-miss", Expect: []string{"crisis"}},
		{Q: "false-crisis", Expect: []string{"a"}},
	}
	out := map[string]Outcome{
		"right":         {Decision: "answer", FAQID: "a", Candidates: []string{"a"}},
		"wrong":         {Decision: "answer", FAQID: "c", Candidates: []string{"c", "d", "e", "a"}},
		"top3":          {Decision: "suggest", Candidates: []string{"c", "d", "a"}},
		"either":        {Decision: "answer", FAQID: "b", Candidates: []string{"b"}},
		"none-ok":       {Decision: "out_of_scope"},
		"none-answered": {Decision: "answer", FAQID: "a", Candidates: []string{"a"}},
		"crisis-hit":    {Decision: "crisis"},
		"crisis-miss":   {Decision: "answer", FAQID: "a", Candidates: []string{"a"}},
		"false-crisis":  {Decision: "crisis"},
	}
	r := Run(cases, func(q string) Outcome { return out[q] }, Options{})
	// topic: right, wrong, top3, either, false-crisis = 5; correct 2.
	check := func(name string, got, want float64) {
		if got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("answer accuracy", r.AnswerAccuracy, 2.0/5)
	check("wrong-answer rate", r.WrongAnswerRate, 2.0/7) // wrong + none-answered over 7 non-crisis
	check("top-3 recall", r.Top3Recall, 3.0/5)
	check("top-1 accuracy", r.Top1Accuracy, 2.0/5) // right, either
	check("none abstention", r.NoneAbstention, 0.5)
	check("crisis recall", r.CrisisRecall, 0.5)
	check("false-crisis rate", r.FalseCrisisRate, 1.0/7)
	if r.NoneAnswered != 1 {
		t.Errorf("none answered %d", r.NoneAnswered)
	}
	text := r.String()
	for _, want := range []string{"answer accuracy    0.400  (2/5)", "crisis missed", "none answered", "false crisis", `"wrong"`} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
	err := DefaultFloors().Check(r)
	for _, want := range []string{"answer accuracy", "wrong-answer rate", "top-3 recall", "crisis recall", "false-crisis rate", "none"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("floor error lacks %q: %v", want, err)
		}
	}
	if err := NoFloors().Check(r); err != nil {
		t.Errorf("NoFloors: %v", err)
	}
	ign := Run(cases, func(q string) Outcome { return out[q] }, Options{IgnoreCrisis: true})
	if ign.Crisis != 0 || ign.Cases != 7 {
		t.Errorf("IgnoreCrisis: %+v", ign)
	}
}
