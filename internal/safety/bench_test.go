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

func BenchmarkAssess(b *testing.B) {
	d := shipped(b)
	for _, q := range benchQuestions {
		b.Run(strings.Join(strings.Fields(q)[:3], "_"), func(b *testing.B) {
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
