//go:build bleve

package match

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/candid-app/candid/internal/evaluate"
)

// The same evaluation as quality_test.go, for bleve's BM25 over the same
// documents: the baseline the matcher must beat. Report only.
func TestBleveBaselineQuality(t *testing.T) {
	cat, _ := loadReal(t)
	b, err := NewBleveBaseline(cat)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, path := range []string{devCasesPath, ownCasesPath} {
		t.Run(path, func(t *testing.T) {
			cases := loadCases(t, path)
			rep := evaluate.Run(cases, func(q string) evaluate.Outcome { return outcome(b.Match(q)) },
				evaluate.Options{IgnoreCrisis: true})
			t.Logf("bleve BM25 on %s:\n%s", path, rep)
		})
	}
}

// BenchmarkVsBleve runs the same queries on the Matcher and on bleve at
// each size and reports both latencies, the speed-up and the memory ratio.
func BenchmarkVsBleve(b *testing.B) {
	for _, size := range sizes() {
		b.Run(size, func(b *testing.B) {
			cat, lex, qs := benchCatalog(b, size)
			start := time.Now()
			mHeap, mv := heapDelta(func() any {
				m, err := New(cat, lex, Options{})
				if err != nil {
					b.Fatal(err)
				}
				return m
			})
			mBuild := time.Since(start)
			m := mv.(*Matcher)
			start = time.Now()
			bHeap, bv := heapDelta(func() any {
				bl, err := NewBleveBaseline(cat)
				if err != nil {
					b.Fatal(err)
				}
				return bl
			})
			bBuild := time.Since(start)
			bl := bv.(*BleveBaseline)
			defer bl.Close()
			// Interleave so that both see the same machine load.
			n := max(b.N, 2*len(qs))
			mLat, bLat := make([]time.Duration, 0, n), make([]time.Duration, 0, n)
			for _, q := range qs {
				m.Match(q)
				bl.Rank(q)
			}
			b.ResetTimer()
			for i := 0; i < n; i++ {
				q := qs[i%len(qs)]
				t0 := time.Now()
				m.Match(q)
				t1 := time.Now()
				bl.Rank(q)
				t2 := time.Now()
				mLat, bLat = append(mLat, t1.Sub(t0)), append(bLat, t2.Sub(t1))
			}
			b.StopTimer()
			mp50, mp99 := quantiles(mLat)
			bp50, bp99 := quantiles(bLat)
			b.ReportMetric(float64(mp50.Nanoseconds()), "match-p50-ns")
			b.ReportMetric(float64(mp99.Nanoseconds()), "match-p99-ns")
			b.ReportMetric(float64(bp50.Nanoseconds()), "bleve-p50-ns")
			b.ReportMetric(float64(bp99.Nanoseconds()), "bleve-p99-ns")
			b.ReportMetric(float64(bp50)/float64(mp50), "speedup-p50")
			b.ReportMetric(float64(bp99)/float64(mp99), "speedup-p99")
			b.ReportMetric(float64(mHeap)/float64(len(cat.Entries)), "match-heap-B/entry")
			b.ReportMetric(float64(bHeap)/float64(len(cat.Entries)), "bleve-heap-B/entry")
			b.ReportMetric(float64(bHeap)/float64(max(mHeap, 1)), "mem-ratio")
			b.ReportMetric(float64(bBuild)/float64(mBuild), "build-ratio")
			runtime.KeepAlive(m)
			b.Logf("%s: build matcher %v, bleve %v", size, mBuild.Round(time.Millisecond), bBuild.Round(time.Millisecond))
		})
	}
}

func quantiles(lat []time.Duration) (p50, p99 time.Duration) {
	s := append([]time.Duration(nil), lat...)
	sortDurations(s)
	return s[len(s)*50/100], s[min(len(s)-1, len(s)*99/100)]
}

var _ = fmt.Sprint
