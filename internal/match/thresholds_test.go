package match

import (
	"fmt"
	"testing"
)

func TestChooseThresholds(t *testing.T) {
	var pts []utilityPoint
	for i := range 40 {
		w := fmt.Sprint("w", i%8)
		// Confident and right: worth answering.
		pts = append(pts, utilityPoint{conf: 0.9, writer: w, right: true, top3: true})
		// Middling and wrong but in the top three: worth suggesting only.
		pts = append(pts, utilityPoint{conf: 0.5, writer: w, top3: true})
		// Low, out of scope: neither.
		pts = append(pts, utilityPoint{conf: 0.2, writer: w, none: true})
	}
	th, iqr := chooseThresholds(pts, 50, 7)
	if th.Answer != 0.9 || th.Suggest != 0.5 {
		t.Errorf("thresholds %+v, want answer 0.9 and suggest 0.5", th)
	}
	if iqr.Answer != 0 || iqr.Suggest != 0 {
		t.Errorf("the data leave no doubt, yet the spread is %+v", iqr)
	}
	// A wrong answer costs four right ones: at 80% right, answering at
	// 0.6 loses (8 - 4·2 = 0 < suggesting's 5), so the band is suggested.
	var mixed []utilityPoint
	for i := range 10 {
		mixed = append(mixed, utilityPoint{conf: 0.6, writer: "w", right: i < 8, top3: true})
	}
	if th, _ := chooseThresholds(mixed, 0, 1); th.Answer <= 0.6 || th.Suggest > 0.6 {
		t.Errorf("at 80%% precision: %+v, want the 0.6 band suggested, not answered", th)
	}
	// Utilities of single outcomes.
	for _, tc := range []struct {
		p    utilityPoint
		want float64
	}{
		{utilityPoint{conf: 0.9, right: true}, utilRight},
		{utilityPoint{conf: 0.9}, utilWrong},
		{utilityPoint{conf: 0.9, none: true, right: true}, utilWrong},
		{utilityPoint{conf: 0.5, top3: true}, utilSuggested},
		{utilityPoint{conf: 0.5, none: true}, utilNoneSuggested},
		{utilityPoint{conf: 0.1, lexicalNone: true}, utilToldOut},
		{utilityPoint{conf: 0.1, lexicalNone: true, none: true}, 0},
	} {
		if got := tc.p.utility(0.8, 0.4); got != tc.want {
			t.Errorf("%+v: utility %g, want %g", tc.p, got, tc.want)
		}
	}
}
