package safety

import (
	"io/fs"
	"os"
	"strings"
	"testing"
	"testing/fstest"
)

func shippedDetector(t testing.TB) *Detector {
	t.Helper()
	fsys := os.DirFS("../../faq")
	d, err := LoadDetector(fsys, "safety/crisis.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := LoadModel(fsys)
	if err != nil {
		t.Fatal(err)
	}
	return d.WithModel(m)
}

// TestShippedModelIsFresh: the model in faq/safety was trained on the
// corpus as it is (go generate ./faq after any corpus change).
func TestShippedModelIsFresh(t *testing.T) {
	_, hash, err := ReadCorpus(os.DirFS("../../corpus"))
	if err != nil {
		t.Fatal(err)
	}
	if hash, err = WithRules(hash, os.DirFS("../../faq")); err != nil {
		t.Fatal(err)
	}
	m, err := LoadModel(os.DirFS("../../faq"))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.CheckFresh(hash); err != nil {
		t.Fatal(err)
	}
	if err := m.CheckFresh("other"); err == nil || !strings.Contains(err.Error(), "go generate") {
		t.Errorf("a different hash: err = %v, want stale", err)
	}
}

// TestModelCatchesWhatRulesMiss: wording no rule was written for still
// gets help, and the tier, kind and reason are filled in. These lines are
// written for this test (not in the corpus or any evaluation set).
func TestModelCatchesWhatRulesMiss(t *testing.T) {
	d := shippedDetector(t)
	rules := d.WithModel(nil)
	cases := []struct {
		q    string
		kind Kind
	}{
		{"he has my passport and says i still owe him for the flight, i work every night and never see the money", KindTrafficking},
		{"someone from a game has my pictures and says he sends them to my school group chat at 9 unless i pay him", KindSextortion},
		{"estoy en el baño de la fiesta, no me acuerdo de nada y me duele todo, creo que me hicieron algo", KindAssault},
	}
	for _, c := range cases {
		a := d.Assess(c.q)
		if !a.NeedsHelp() {
			t.Errorf("%q: tier %s (score %.2f), want help", c.q, a.Tier, a.Score)
			continue
		}
		if !a.HasKind(c.kind) {
			t.Errorf("%q: kinds %v, want %s among them", c.q, a.Kinds, c.kind)
		}
		if a.Why == "" {
			t.Errorf("%q: no reason", c.q)
		}
		if r := rules.Assess(c.q); r.Tier == TierNone && a.Why != "model" {
			t.Errorf("%q: the rules found nothing, so the model decided; why = %q", c.q, a.Why)
		}
	}
	for _, q := range []string{"how long does the morning after pill work", "what's the weather tomorrow", "is it normal to last two minutes"} {
		if a := d.Assess(q); a.Tier == TierUrgent {
			t.Errorf("%q: urgent (%s), want not", q, a.Why)
		}
	}
	if a := d.Assess("quiero morirme esta noche, ya tengo las pastillas"); a.Lang != "es" || a.Tier != TierUrgent {
		t.Errorf("Spanish emergency: lang %s tier %s", a.Lang, a.Tier)
	}
}

func TestReadCorpusErrors(t *testing.T) {
	ok := `{"q": "a", "label": "none", "kind": "ordinary", "writer": "w"}` + "\n"
	tests := []struct {
		name  string
		files map[string]string
		msg   string
	}{
		{"no safety files", map[string]string{"topics/a.jsonl": `{"q": "a", "topic": "t", "writer": "w"}`}, "no safety/*.jsonl"},
		{"malformed", map[string]string{"safety/a.jsonl": ok + "{\"q\": \n"}, "safety/a.jsonl:2"},
		{"no writer", map[string]string{"safety/a.jsonl": `{"q": "a", "label": "none"}`}, `no "writer"`},
		{"bad label", map[string]string{"safety/a.jsonl": `{"q": "a", "label": "crisis", "writer": "w"}`}, `label "crisis"`},
		{"bad kind", map[string]string{"safety/a.jsonl": `{"q": "a", "label": "urgent", "kind": "rape", "writer": "w"}`}, `kind "rape"`},
		{"empty text", map[string]string{"safety/a.jsonl": `{"q": "  ", "label": "none", "writer": "w"}`}, `empty "q"`},
		{"topic without topic", map[string]string{"safety/a.jsonl": ok, "topics/b.jsonl": `{"q": "a", "writer": "w"}`}, `needs "topic"`},
		{"oversized line", map[string]string{"safety/a.jsonl": `{"q": "` + strings.Repeat("a", 70000) + `", "label": "none", "writer": "w"}`}, "over 64 KB"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for n, b := range tc.files {
				fsys[n] = &fstest.MapFile{Data: []byte(b)}
			}
			_, _, err := ReadCorpus(fsys)
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %v, want it to contain %q", err, tc.msg)
			}
		})
	}
	// The hash follows the data: one changed line makes the model stale.
	a := fstest.MapFS{"safety/a.jsonl": {Data: []byte(ok)}}
	b := fstest.MapFS{"safety/a.jsonl": {Data: []byte(strings.Replace(ok, `"a"`, `"b"`, 1))}}
	_, ha, _ := ReadCorpus(a)
	_, hb, _ := ReadCorpus(b)
	if ha == "" || ha == hb {
		t.Errorf("hashes %q and %q: want different, non-empty", ha, hb)
	}
}

func TestLoadModelErrors(t *testing.T) {
	real := os.DirFS("../../faq")
	danger, _ := fs.ReadFile(real, ModelFile)
	kind, _ := fs.ReadFile(real, KindModelFile)
	tests := []struct {
		name  string
		files fstest.MapFS
		msg   string
	}{
		{"missing", fstest.MapFS{}, "go generate ./faq"},
		{"damaged", fstest.MapFS{ModelFile: {Data: []byte("junk")}, KindModelFile: {Data: kind}}, "not a model file"},
		{"swapped", fstest.MapFS{ModelFile: {Data: kind}, KindModelFile: {Data: danger}}, "classes none and danger"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := LoadModel(tc.files); err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %v, want it to contain %q", err, tc.msg)
			}
		})
	}
}

// TestSoftRules: the model softens the urgent of soft rules alone, to
// concern and never lower, and never a firm rule's. The lines are written
// for this test (not in the corpus or any evaluation set).
func TestSoftRules(t *testing.T) {
	d := shippedDetector(t)
	const (
		hyperbole = "this stats essay is due at nine and honestly i want to die lol, how do people write 3000 words"
		plan      = "i want to die, i have counted out all my pills for tonight"
		firm      = "he put his hands round my neck last night and squeezed until i nearly passed out"
	)
	if a := d.WithModel(nil).Assess(hyperbole); a.Tier != TierUrgent || !onlySoftUrgent(a.Signals) {
		t.Fatalf("hyperbole: the rules alone give %s %v, want urgent from soft rules (the test needs a soft rule to fire)", a.Tier, a.Signals)
	}
	a := d.Assess(hyperbole)
	if a.Tier != TierConcern || !a.Softened || a.Crisis || a.Kind == KindNone {
		t.Errorf("hyperbole: tier %s softened %v kind %s (score %.3f), want a softened concern that keeps its kind", a.Tier, a.Softened, a.Kind, a.Score)
	}
	if a := d.Assess(plan); a.Tier != TierUrgent || a.Softened {
		t.Errorf("plan: tier %s softened %v (score %.3f), want urgent", a.Tier, a.Softened, a.Score)
	}

	// With a model that would soften anything, a firm rule still stands.
	m := *d.model
	m.soften = 1
	always := d.WithModel(&m)
	if a := always.Assess(firm); a.Tier != TierUrgent || a.Softened {
		t.Errorf("firm rule: tier %s softened %v, want urgent (%v)", a.Tier, a.Softened, a.Signals)
	}
	if a := always.Assess(plan); a.Tier == TierNone {
		t.Errorf("plan with an always-soften model: tier none, want concern at least")
	}
}
