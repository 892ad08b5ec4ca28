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
			// Alternate whole passes over the queries, so that both see the
			// same machine load (this VM drifts by ±20% over minutes), with
			// a collection before each pass, so that neither pays for the
			// other's garbage: bleve allocates some 100 times more per
			// query, and when the two alternated query by query, its
			// collections landed on the matcher's queries (the "mixed"
			// metrics below keep that measure, for comparison).
			n := max(b.N, 2*len(qs))
			mLat, bLat := make([]time.Duration, 0, n+len(qs)), make([]time.Duration, 0, n+len(qs))
			for _, q := range qs {
				m.Match(q)
				bl.Rank(q)
			}
			// pass times one engine over every query, after a collection.
			pass := func(lat []time.Duration, run func(string)) []time.Duration {
				b.StopTimer()
				runtime.GC()
				b.StartTimer()
				for _, q := range qs {
					t0 := time.Now()
					run(q)
					lat = append(lat, time.Since(t0))
				}
				return lat
			}
			b.ResetTimer()
			for len(mLat) < n {
				mLat = pass(mLat, func(q string) { m.Match(q) })
				bLat = pass(bLat, func(q string) { bl.Rank(q) })
			}
			// Mixed: query by query, one then the other.
			mixM, mixB := make([]time.Duration, 0, n), make([]time.Duration, 0, n)
			for i := 0; i < n; i++ {
				q := qs[i%len(qs)]
				t0 := time.Now()
				m.Match(q)
				t1 := time.Now()
				bl.Rank(q)
				t2 := time.Now()
				mixM, mixB = append(mixM, t1.Sub(t0)), append(mixB, t2.Sub(t1))
			}
			b.StopTimer()
			xm50, _ := quantiles(mixM)
			xb50, _ := quantiles(mixB)
			b.ReportMetric(float64(xm50.Nanoseconds()), "mixed-match-p50-ns")
			b.ReportMetric(float64(xb50)/float64(xm50), "mixed-speedup-p50")
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
