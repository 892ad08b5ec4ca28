package safety

import (
	"os"
	"strings"
	"testing"
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

func BenchmarkAssess2000(b *testing.B) {
	d := shippedDetector(b)
	msg := strings.Repeat("we have been together six years and lately things are hard, ", 40)[:2000]
	b.ReportAllocs()
	for b.Loop() {
		d.Assess(msg)
	}
}
