package learn

import (
	"slices"
	"testing"
)

func TestNearPairs(t *testing.T) {
	a := []string{
		"Is it normal that sex hurts every time?",
		"is it NORMAL that sex hurts every single time",
		"how do I get tested for chlamydia",
		"cant get hard",
		"",
	}
	b := []string{
		"is it normal that sex hurts every time",
		"where can i get tested for chlamydia near me",
		"Can't get hard!",
		"something else entirely about cooking pasta",
	}
	got := NearPairs(a, b, 0.7, 4)
	want := []NearPair{{0, 0, 1}, {1, 0, 8.0 / 9}, {3, 2, 1}}
	if !slices.Equal(got, want) {
		t.Errorf("NearPairs = %+v, want %+v", got, want)
	}
	// Within one slice: each pair once, never a line with itself.
	self := NearPairs(a, a, 0.7, 4)
	if !slices.Equal(self, []NearPair{{0, 1, 8.0 / 9}}) {
		t.Errorf("NearPairs(a, a) = %+v", self)
	}
	if NearPairs(nil, b, 0.7, 4) != nil {
		t.Error("no lines, yet pairs")
	}
}
