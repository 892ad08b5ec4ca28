package match

import (
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// checkResult asserts the invariants every Result must keep.
func checkResult(t *testing.T, q string, r Result) {
	t.Helper()
	switch r.Decision {
	case Answer, Suggest, Queue, OutOfScope:
	default:
		t.Fatalf("query of %d bytes: decision %q", len(q), r.Decision)
	}
	if len(r.Candidates) > MaxCandidates {
		t.Fatalf("%d candidates", len(r.Candidates))
	}
	for _, c := range r.Candidates {
		if !(c.Score >= 0 && c.Score <= 1) {
			t.Fatalf("score %v", c.Score)
		}
	}
	if r.Decision == Answer && len(r.Candidates) == 0 {
		t.Fatal("answer without a candidate")
	}
}

func FuzzMatch(f *testing.F) {
	for _, s := range []string{
		"cant stay hard", "is it normal to not want sex", "", " ", "\xff\xfe\xfd",
		"se\u200bx\u200d th\u2060erapy", "\u202eevil\u202c \u2066bidi\u2069", "🍆💦🍑", "ＦＵＬＬＷＩＤＴＨ",
		strings.Repeat("a", 5000), strings.Repeat("sex ", 3000), "ﷺ ﷺ ﷺ", "i̇stanbul İ",
		"can't won't don't im ive", "r*pe", "hard-on hard on hardon",
	} {
		f.Add(s)
	}
	m := testMatcher(f)
	f.Fuzz(func(t *testing.T, q string) {
		start := time.Now()
		r := m.Match(q)
		checkResult(t, q, r)
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("query of %d bytes took %v", len(q), d)
		}
		// Normalisation is total: any input gives valid UTF-8 words.
		for _, w := range tokenize(cleanText(q, DefaultMaxQueryBytes)) {
			if !utf8.ValidString(w) || len(w) > maxWordBytes {
				t.Fatalf("bad token %q", w)
			}
		}
	})
}

// Hostile inputs cost about what a normal question costs: the query is cut
// to DefaultMaxQueryBytes before any work, so time and memory are bounded.
func TestHostileInputsBounded(t *testing.T) {
	m := testMatcher(t)
	mb := 1 << 20
	inputs := map[string]string{
		"1 MB of words":       strings.Repeat("why cant i get hard with my partner ", mb/36),
		"1 MB one word":       strings.Repeat("x", mb),
		"1 MB invalid UTF-8":  strings.Repeat("\xff\xc3", mb/2),
		"zero-width and bidi": strings.Repeat("s\u200be\u200dx\u202e \u2066", mb/16),
		"emoji only":          strings.Repeat("🍆💦", mb/8),
		"NFKC expanders":      strings.Repeat("ﷺ", mb/3),
		"long words":          strings.Repeat(strings.Repeat("masturbation", 20)+" ", mb/241),
	}
	for name, q := range inputs {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		r := m.Match(q)
		took := time.Since(start)
		runtime.ReadMemStats(&after)
		checkResult(t, q, r)
		alloc := after.TotalAlloc - before.TotalAlloc
		t.Logf("%-20s %8d bytes: %v, %d KB allocated, %s", name, len(q), took, alloc>>10, r.Decision)
		if took > 250*time.Millisecond {
			t.Errorf("%s: took %v", name, took)
		}
		if alloc > 4<<20 {
			t.Errorf("%s: allocated %d bytes", name, alloc)
		}
	}
}
