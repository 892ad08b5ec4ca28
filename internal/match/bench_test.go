package match

// Benchmarks: match latency (p50/p99 over a fixed query set), allocations
// per query, index build time and heap per entry, over the real FAQ and
// synthetic catalogs of 1k, 10k and 100k entries. See docs/benchmarks.md
// for the commands and the figures. The 100k catalog is skipped with -short.

import (
	"flag"
	"fmt"
	"math/rand"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/candid-app/candid/internal/faq"
)

var benchSizes = flag.String("match.sizes", "faq,1k,10k,100k", "catalog sizes for the matcher benchmarks")

// synthetic builds a deterministic catalog of n entries with 5 texts each
// (a question and 4 paraphrases), tags and a 30-word answer, plus a fixed
// set of queries (mostly about an entry, some with a typo, some gibberish).
// Words follow a Zipf law over a made-up vocabulary, as real text does, so
// posting lists have realistic lengths.
func synthetic(n int) (*faq.Catalog, []string) {
	rng := rand.New(rand.NewSource(int64(n)))
	vocabSize := max(2000, n/2)
	syl := []string{"ka", "lo", "mi", "ne", "pu", "ra", "si", "to", "vu", "ze", "bri", "dra", "fen", "gol", "hab", "jin", "mor", "plo", "quen", "stu"}
	vocab := make([]string, 0, vocabSize)
	seen := map[string]bool{}
	for len(vocab) < vocabSize {
		var b strings.Builder
		for k := 2 + rng.Intn(3); k > 0; k-- {
			b.WriteString(syl[rng.Intn(len(syl))])
		}
		if w := b.String(); !seen[w] {
			seen[w] = true
			vocab = append(vocab, w)
		}
	}
	zipf := rand.NewZipf(rng, 1.1, 2, uint64(vocabSize-1))
	common := func() string { return vocab[zipf.Uint64()] }
	topicOf := make([][]string, n)
	entries := make([]*faq.Entry, n)
	for e := range n {
		topic := make([]string, 4)
		for i := range topic {
			topic[i] = vocab[200+rng.Intn(vocabSize-200)]
		}
		topicOf[e] = topic
		text := func() string {
			var ws []string
			for i := 0; i < 2+rng.Intn(2); i++ {
				ws = append(ws, topic[rng.Intn(len(topic))])
			}
			for i := 0; i < 3+rng.Intn(4); i++ {
				ws = append(ws, common())
			}
			rng.Shuffle(len(ws), func(i, j int) { ws[i], ws[j] = ws[j], ws[i] })
			return strings.Join(ws, " ")
		}
		var ans []string
		for i := 0; i < 30; i++ {
			if i%3 == 0 {
				ans = append(ans, topic[rng.Intn(len(topic))])
			} else {
				ans = append(ans, common())
			}
		}
		entries[e] = &faq.Entry{
			ID:          fmt.Sprintf("entry-%06d", e),
			Question:    text(),
			Paraphrases: []string{text(), text(), text(), text()},
			Tags:        topic[:3],
			Answer:      strings.Join(ans, " "),
		}
	}
	queries := make([]string, 200)
	for i := range queries {
		switch {
		case i%10 == 9: // gibberish: nothing matches
			queries[i] = fmt.Sprintf("xq%dzv wplk%d", i, i)
		default:
			t := topicOf[rng.Intn(n)]
			ws := []string{t[0], t[1], common(), common(), common()}
			if i%5 == 0 { // a typo in a topic word
				r := []byte(ws[0])
				r[len(r)/2] = 'y'
				ws[0] = string(r)
			}
			rng.Shuffle(len(ws), func(a, b int) { ws[a], ws[b] = ws[b], ws[a] })
			queries[i] = strings.Join(ws, " ")
		}
	}
	return &faq.Catalog{Locale: "en", Entries: entries}, queries
}

// benchCatalog returns the catalog and queries for a size name.
func benchCatalog(b *testing.B, size string) (*faq.Catalog, *Lexicon, []string) {
	b.Helper()
	var lex *Lexicon
	if l, err := LoadLexicon(os.DirFS(faqRoot), "lexicon.yaml"); err == nil {
		lex = l
	}
	switch size {
	case "faq":
		cat, lex := loadReal(b)
		var qs []string
		if cs, err := loadDevQuestions(); err == nil {
			qs = cs
		} else {
			for _, e := range cat.Entries {
				qs = append(qs, e.Paraphrases...)
			}
		}
		return cat, lex, qs
	case "1k", "10k", "100k":
		n := map[string]int{"1k": 1000, "10k": 10000, "100k": 100000}[size]
		if n >= 100000 && testing.Short() {
			b.Skip("100k catalog skipped in -short mode")
		}
		cat, qs := synthetic(n)
		return cat, lex, qs
	}
	b.Fatalf("unknown size %q", size)
	return nil, nil, nil
}

func loadDevQuestions() ([]string, error) {
	data, err := os.ReadFile(devCasesPath)
	if err != nil {
		return nil, err
	}
	var qs []string
	for _, line := range strings.Split(string(data), "\n") {
		if i := strings.Index(line, `"q": "`); i >= 0 {
			rest := line[i+6:]
			if j := strings.Index(rest, `", "expect"`); j > 0 {
				qs = append(qs, rest[:j])
			}
		}
	}
	return qs, nil
}

func sizes() []string { return strings.Split(*benchSizes, ",") }

func sortDurations(d []time.Duration) { slices.Sort(d) }

// percentiles reports p50 and p99 of the sampled latencies.
func percentiles(b *testing.B, lat []time.Duration) (p50, p99 time.Duration) {
	if len(lat) == 0 {
		return 0, 0
	}
	slices.Sort(lat)
	p50, p99 = lat[len(lat)*50/100], lat[min(len(lat)-1, len(lat)*99/100)]
	b.ReportMetric(float64(p50.Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(p99.Nanoseconds()), "p99-ns")
	return p50, p99
}

// heapDelta is the live heap added by build, measured after GC.
func heapDelta(build func() any) (uint64, any) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	v := build()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(v)
	if after.HeapAlloc < before.HeapAlloc {
		return 0, v
	}
	return after.HeapAlloc - before.HeapAlloc, v
}

func BenchmarkMatch(b *testing.B) {
	for _, size := range sizes() {
		b.Run(size, func(b *testing.B) {
			cat, lex, qs := benchCatalog(b, size)
			m, err := New(cat, lex, Options{Ranker: rankerFor(b, cat)})
			if err != nil {
				b.Fatal(err)
			}
			for _, q := range qs { // warm the scratch pool
				m.Match(q)
			}
			lat := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				m.Match(qs[i%len(qs)])
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			percentiles(b, lat)
		})
	}
}

func BenchmarkBuild(b *testing.B) {
	for _, size := range sizes() {
		b.Run(size, func(b *testing.B) {
			cat, lex, _ := benchCatalog(b, size)
			heap, _ := heapDelta(func() any {
				m, err := New(cat, lex, Options{Ranker: rankerFor(b, cat)})
				if err != nil {
					b.Fatal(err)
				}
				return m
			})
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := New(cat, lex, Options{Ranker: rankerFor(b, cat)}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(heap)/float64(len(cat.Entries)), "heap-B/entry")
		})
	}
}

// BenchmarkRebuild is the hot-reload path: the catalog changed on disk and
// content.Live builds the new Matcher with the one it replaces as Previous.
func BenchmarkRebuild(b *testing.B) {
	for _, size := range sizes() {
		b.Run(size, func(b *testing.B) {
			cat, lex, _ := benchCatalog(b, size)
			prev, err := New(cat, lex, Options{Ranker: rankerFor(b, cat)})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := New(cat, lex, Options{Ranker: rankerFor(b, cat), Previous: prev}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMatchLong is a 2,000-character message on the real FAQ with the
// ranker: a long story (dev questions run together as sentences, so the
// long-message path matches its asking sentences too) and random words.
func BenchmarkMatchLong(b *testing.B) {
	cat, lex := loadReal(b)
	m, err := New(cat, lex, Options{Ranker: rankerFor(b, cat)})
	if err != nil {
		b.Fatal(err)
	}
	var story strings.Builder
	for _, c := range loadCases(b, devCasesPath) {
		if story.Len() > 2000 {
			break
		}
		story.WriteString(c.Q + ". ")
	}
	rng := rand.New(rand.NewSource(1))
	words := strings.Fields("the a my partner and we when it feels like never always since after before really want know tried")
	var random strings.Builder
	for random.Len() < 2000 {
		random.WriteString(words[rng.Intn(len(words))] + " ")
	}
	for name, q := range map[string]string{"story": story.String()[:2000], "random": random.String()[:2000]} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				m.Match(q)
			}
		})
	}
}
