package safety

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzAssessAndScrub: no panics, valid UTF-8 out, no run of 7 or more
// digits left by Scrub, and Assess's work bounded by the input's length.
func FuzzAssessAndScrub(f *testing.F) {
	for _, tc := range crisisPositives[:10] {
		f.Add(tc.text)
	}
	for _, s := range crisisNegatives[:10] {
		f.Add(s)
	}
	for _, s := range []string{
		"", "\xff\xfe\xfd", "a@b.co +1 (555) 123-4567 www.x.org @h 1.2.3.4 [::1]",
		"kill\u200b myself \u202e", "((((", "'''", "1-2-3-4-5-6-7-8-9", "@@@@", "://",
		"i am 13 and my 30 yo bf", "ｋｍｓ", "r*pe r@pe s*icide",
	} {
		f.Add(s)
	}
	d := shipped(f)
	f.Fuzz(func(t *testing.T, s string) {
		res := d.assess(s)
		if res.Crisis != (len(res.Signals) > 0) {
			t.Fatalf("Crisis %v with signals %v", res.Crisis, res.Signals)
		}
		// Every token can start a bounded number of attempts, each bounded
		// by the largest pattern: a generous linear bound.
		if limit := 100_000 + 200*len(s); res.steps > limit {
			t.Fatalf("assess took %d steps on %d bytes", res.steps, len(s))
		}
		out, st := Scrub(s)
		if !utf8.ValidString(out) {
			t.Fatalf("Scrub output not valid UTF-8: %q", out)
		}
		if st.Total() < 0 || st.Total() > len(s) {
			t.Fatalf("stats %+v for %d bytes", st, len(s))
		}
		// No long digit run survives, whatever surrounds it.
		run := 0
		for i := 0; i < len(out); i++ {
			if out[i] >= '0' && out[i] <= '9' {
				if run++; run >= minLongDigits {
					t.Fatalf("Scrub left a %d-digit run: %q → %q", run, s, out)
				}
			} else {
				run = 0
			}
		}
	})
}

// TestAssessBoundedWork runs Assess on hostile 1 MB inputs: near-misses of
// many patterns, one long sentence, no spaces. Steps must stay linear.
func TestAssessBoundedWork(t *testing.T) {
	d := shipped(t)
	units := []string{
		"i am i want to kill ", // near misses of many patterns
		"my step dad .. my uncle touches ",
		"kill myself ",
		"(((( ",
		"a",
		"erection erection hours hours ",
		"i am 13 ",
	}
	size := 1 << 20
	if raceEnabled {
		size = 1 << 17 // the bound is per byte; a smaller input proves it too
	}
	for _, u := range units {
		in := strings.Repeat(u, size/len(u))
		start := time.Now()
		res := d.assess(in)
		el := time.Since(start)
		per := float64(res.steps) / float64(len(in))
		t.Logf("%q ×%d: %v, %d steps (%.1f per byte)", u, size/len(u), el, res.steps, per)
		if per > 150 {
			t.Errorf("%q: %.0f steps per byte", u, per)
		}
		if !raceEnabled && el > 10*time.Second {
			t.Errorf("%q: 1 MB took %v", u, el)
		}
	}
}
