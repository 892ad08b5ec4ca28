package safety

import (
	"strings"
	"testing"
)

var benchQuestions = []string{
	"how long should an erection last",
	"I'm 16 is it normal to masturbate",
	"my erection won't go away, it's been 5 hours and it hurts",
	"is it normal for sex to hurt the first time? we used lube but it still hurts a lot",
	"i dont want to live anymore",
}

// benchLong is a 2,000-character message with no danger in it: the most
// words the engine passes to matching.
var benchLong = strings.Repeat("we have been together six years and lately things are hard, ", 40)[:2000]

func benchName(q string) string {
	if q == benchLong {
		return "2000_chars"
	}
	return strings.Join(strings.Fields(q)[:3], "_")
}

// BenchmarkAssess is the rule layer alone.
func BenchmarkAssess(b *testing.B) {
	d := shipped(b)
	for _, q := range append(benchQuestions, benchLong) {
		b.Run(benchName(q), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				d.Assess(q)
			}
		})
	}
}

// BenchmarkAssessWithModel is Assess as the service runs it: the rules,
// then the learned layer, on the same questions and on a 2,000-character
// message (the budget: p99 200 µs).
func BenchmarkAssessWithModel(b *testing.B) {
	d := shippedDetector(b)
	for _, q := range append(benchQuestions, benchLong) {
		b.Run(benchName(q), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				d.Assess(q)
			}
		})
	}
}

func BenchmarkAssess1MB(b *testing.B) {
	d := shipped(b)
	in := strings.Repeat("is it normal for sex to hurt the first time? ", (1<<20)/45)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		d.Assess(in)
	}
}

func BenchmarkScrub(b *testing.B) {
	q := "call me on +44 20 7946 0958 or mail jane@example.com, I'm 16 and it's been 5 hours"
	b.ReportAllocs()
	for b.Loop() {
		Scrub(q)
	}
}

func BenchmarkScrub1MB(b *testing.B) {
	in := strings.Repeat("call me on +44 20 7946 0958 or mail jane@example.com, I'm 16. ", (1<<20)/64)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		Scrub(in)
	}
}

func BenchmarkLoadDetector(b *testing.B) {
	for b.Loop() {
		if _, err := loadShippedFresh(); err != nil {
			b.Fatal(err)
		}
	}
}
