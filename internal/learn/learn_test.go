package learn

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func toyData() []Sample {
	var ss []Sample
	pos := []string{"i took all the pills tonight", "the pills are ready, goodbye", "i want to end it with pills", "goodbye everyone tonight"}
	neg := []string{"how do i last longer in bed", "is it normal to last two minutes", "what lube is best", "how to talk about sex with my partner"}
	for w := range 4 {
		for i, p := range pos {
			ss = append(ss, Sample{Text: p + fmt.Sprint(" ", w), Label: 1, Group: fmt.Sprint("w", (i+w)%4)})
		}
		for i, n := range neg {
			ss = append(ss, Sample{Text: n + fmt.Sprint(" ", w), Label: 0, Group: fmt.Sprint("w", (i+w)%4)})
		}
	}
	return ss
}

func TestTrainLearnsAndRoundTrips(t *testing.T) {
	opt := TrainOptions{Classes: []string{"none", "danger"}, DataHash: "abc", Meta: map[string]float64{"t": 0.5}, MinCount: 1}
	m, err := Train(toyData(), opt)
	if err != nil {
		t.Fatal(err)
	}
	if p := m.Predict("saved the pills for tonight", nil, nil); p[1] < 0.5 {
		t.Errorf("danger = %.2f for a danger-like message, want > 0.5", p[1])
	}
	if p := m.Predict("what lube lasts longer", nil, nil); p[1] > 0.5 {
		t.Errorf("danger = %.2f for an ordinary message, want < 0.5", p[1])
	}
	var a, b bytes.Buffer
	if _, err := m.WriteTo(&a); err != nil {
		t.Fatal(err)
	}
	m2, err := Train(toyData(), opt)
	if err != nil {
		t.Fatal(err)
	}
	m2.WriteTo(&b)
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("training twice on the same data gave different files: go generate would not be reproducible")
	}
	r, err := Read(bytes.NewReader(a.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if r.DataHash != "abc" || r.Meta["t"] != 0.5 {
		t.Errorf("header did not round-trip: %+v", r.Header)
	}
	for _, q := range []string{"saved the pills for tonight", "what lube", ""} {
		p1, p2 := m.Predict(q, nil, nil), r.Predict(q, nil, nil)
		if fmt.Sprintf("%.6f", p1) != fmt.Sprintf("%.6f", p2) {
			t.Errorf("%q: %v before writing, %v after reading", q, p1, p2)
		}
	}
}

func TestReadRejectsDamagedFiles(t *testing.T) {
	m, err := Train(toyData(), TrainOptions{Classes: []string{"none", "danger"}, MinCount: 1})
	if err != nil {
		t.Fatal(err)
	}
	var good bytes.Buffer
	m.WriteTo(&good)
	for name, b := range map[string][]byte{
		"empty":     nil,
		"not gzip":  []byte("hello"),
		"truncated": good.Bytes()[:good.Len()/2],
	} {
		if _, err := Read(bytes.NewReader(b)); err == nil || !strings.Contains(err.Error(), "go generate") {
			t.Errorf("%s: err = %v, want an error that says how to retrain", name, err)
		}
	}
}

func TestCrossValidateGroupsByWriter(t *testing.T) {
	ss := toyData()
	oof, err := CrossValidate(ss, TrainOptions{Classes: []string{"none", "danger"}, MinCount: 1}, 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(oof) != len(ss) || oof[0] == nil {
		t.Fatalf("got %d out-of-fold predictions for %d samples", len(oof), len(ss))
	}
	if _, err := CrossValidate(ss, TrainOptions{Classes: []string{"none", "danger"}}, 9); err == nil {
		t.Error("9 folds over 4 writers: want an error")
	}
}

func TestWordsFoldAccentsAndBoundLength(t *testing.T) {
	if got := strings.Join(Words("Está  MUY   mal, don't!", 0), " "); got != "esta muy mal dont" {
		t.Errorf("Words = %q", got)
	}
	long := strings.Repeat("a ", 10000)
	if n := len(Words(long, 2000)); n > 1000 {
		t.Errorf("%d words from a text cut at 2000 runes", n)
	}
}

// FuzzPredict: any input gives probabilities that sum to one.
func FuzzPredict(f *testing.F) {
	m, err := Train(toyData(), TrainOptions{Classes: []string{"none", "danger"}, MinCount: 1})
	if err != nil {
		f.Fatal(err)
	}
	f.Add("i took the pills")
	f.Add("\xff\xfe")
	f.Fuzz(func(t *testing.T, s string) {
		p := m.Predict(s, nil, nil)
		if sum := p[0] + p[1]; sum < 0.999 || sum > 1.001 {
			t.Fatalf("probabilities sum to %v", sum)
		}
	})
}

// TestReadBoundsMemory: a header that asks for more weights than any real
// model needs is refused before anything is allocated.
func TestReadBoundsMemory(t *testing.T) {
	m, err := Train(toyData(), TrainOptions{Classes: []string{"none", "danger"}, MinCount: 1})
	if err != nil {
		t.Fatal(err)
	}
	m.Classes = make([]string, 64)
	m.Bias = make([]float32, 64)
	m.Features.Bits = 22
	m.w = make([]int8, 0)
	var b bytes.Buffer
	if _, err := m.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(&b); err == nil || !strings.Contains(err.Error(), "inconsistent") {
		t.Errorf("err = %v, want the header refused", err)
	}
}
