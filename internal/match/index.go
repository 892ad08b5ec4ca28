package match

import (
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/candid-app/candid/internal/faq"
)

// index is the lexical index of one catalog. It is built once by New and is
// read-only afterwards, so any number of goroutines may search it.
//
// Layout (compact on purpose: the target is under 1 KB per entry):
//   - documents: every question and paraphrase; docEntry maps a document
//     to its entry, documents of an entry are contiguous;
//   - a forward list of each document's distinct terms with their counts,
//     for the n-gram cosine and the IDF-coverage feature;
//   - per term: BM25 postings over documents and over the entries' meta
//     field (tags + answer), and the term's character n-grams.
type index struct {
	ids      []string // entry IDs, in catalog order
	docStart []uint32 // entry e owns documents docStart[e]:docStart[e+1]

	docEntry []uint32
	docLenN  []float32 // document length / average length
	docNorm  []float32 // n-gram vector norm
	fwdStart []uint32  // document d's terms are fwdTerm[fwdStart[d]:fwdStart[d+1]]
	fwdTerm  []uint32
	fwdTF    []uint8

	metaLenN []float32 // per entry
	poolLenN []float32 // per entry: all its texts as one document

	terms map[string]uint32
	term  []termInfo
	// Postings and n-grams of all terms, flattened: one allocation each
	// instead of five slices per term (which cost 120 bytes a term in
	// headers alone).
	postDoc []uint32
	postTF  []uint8
	metaEnt []uint32
	metaTF  []uint8
	poolEnt []uint32
	poolTF  []uint8
	// n-gram → the terms that contain it, with IDF·count weights
	// (gramPost[gramStart[g]:gramStart[g+1]], see gramPosting), so a query reaches
	// the terms that share its n-grams without scanning any others.
	gramStart []uint32
	gramPost  []uint32 // gramPosting: term and count in 4 bytes
	// term → its n-gram ids, an id repeated when the n-gram recurs
	// ("anana"): a query word the index knows reaches its n-grams without
	// hashing them (termGram[termGramStart[t]:termGramStart[t+1]]).
	termGramStart []uint32
	termGram      []uint32
	ngramIDs      map[uint64]uint32 // FNV-1a hash of an n-gram → id
	ngramIDF      []float32
	maxIDF        float32 // the IDF of a term no document has
	maxMIDF       float32
	maxNgIDF      float32
}

type termInfo struct {
	p0, p1 uint32 // postDoc/postTF[p0:p1]: documents with the term
	m0, m1 uint32 // metaEnt/metaTF[m0:m1]: entries whose meta field has it
	q0, q1 uint32 // poolEnt/poolTF[q0:q1]: entries whose texts, pooled, have it
	idf    float32
	midf   float32
	pidf   float32
	ngN2   float32 // squared norm of its n-gram vector
}

func (ix *index) docsOf(t uint32) ([]uint32, []uint8) {
	ti := &ix.term[t]
	return ix.postDoc[ti.p0:ti.p1], ix.postTF[ti.p0:ti.p1]
}

func (ix *index) poolOf(t uint32) ([]uint32, []uint8) {
	ti := &ix.term[t]
	return ix.poolEnt[ti.q0:ti.q1], ix.poolTF[ti.q0:ti.q1]
}

func (ix *index) metaOf(t uint32) ([]uint32, []uint8) {
	ti := &ix.term[t]
	return ix.metaEnt[ti.m0:ti.m1], ix.metaTF[ti.m0:ti.m1]
}

// termBuild holds a term's lists while indexing, before flattening.
type termBuild struct {
	docs  []uint32
	tfs   []uint8
	mdocs []uint32
	mtfs  []uint8
	pents []uint32
	ptfs  []uint8
}

// hashString is 64-bit FNV-1a: n-grams are keyed by hash so the index keeps
// no n-gram strings (a 64-bit collision among a few hundred thousand
// n-grams is vanishingly unlikely, and would only blur one similarity).
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// A gram posting packs a term id (low 26 bits) and how often the n-gram
// occurs in the term (high 6 bits: a term has at most maxWordBytes bytes, so
// at most 40 n-grams of one size). Its weight is count·IDF, computed when
// read; storing the float doubled the table, which is a tenth of the index
// at 10k entries.
const (
	gramTermBits = 26
	gramTermMask = 1<<gramTermBits - 1
	maxTerms     = 1 << gramTermBits
)

func gramPosting(term uint32, count float32) uint32 { return term | uint32(count)<<gramTermBits }

type ngramW struct {
	id    uint32
	w     float32 // the count while building, then count·IDF
	count float32
}

func bm25IDF(n, df int) float32 {
	return float32(math.Log(1 + (float64(n)-float64(df)+0.5)/(float64(df)+0.5)))
}

// metaRepeatTags: tags are written to be matched, the answer is prose, so
// tags count more within the meta field.
const metaRepeatTags = 2

// buildIndex indexes cat. extra are more known words (the lexicon's). It
// returns the index, every known surface word, and the speller over them,
// which is built on another CPU while the n-gram tables are.
//
// prev, when not nil, is the index being replaced: its sizes pre-size the
// maps and slices, which then never rehash or regrow.
func buildIndex(cat *faq.Catalog, an *analyzer, extra []string, prev *index, prevWords int) (*index, map[string]int32, <-chan *speller) {
	var nTerms, nGrams int
	if prev != nil {
		nTerms, nGrams = len(prev.term), len(prev.ngramIDF)
	}
	ix := &index{terms: make(map[string]uint32, nTerms), ngramIDs: make(map[uint64]uint32, nGrams)}
	tb := make([]termBuild, 0, nTerms)
	wordFreq := make(map[string]int32, prevWords) // surface words, for the speller
	an.words = wordFreq                           // analyze counts them while indexing
	termID := func(s string) uint32 {
		if id, ok := ix.terms[s]; ok {
			return id
		}
		id := uint32(len(tb))
		ix.terms[s] = id
		tb = append(tb, termBuild{})
		return id
	}
	var totalLen, totalMeta, totalPool float64
	docLen := []int{}
	metaLen := []int{}
	poolLen := []int{}
	// Terms become ids once per text; the pool and meta fields then count
	// ids, in a dense array reset through order (no map per field).
	var pool, meta, ids []uint32
	var counts []int32
	order := []uint32{}
	toIDs := func(dst []uint32, terms []string) []uint32 {
		for _, t := range terms {
			dst = append(dst, termID(t))
		}
		return dst
	}
	collect := func(ids []uint32) {
		for _, id := range order {
			counts[id] = 0
		}
		order = order[:0]
		if n := len(tb); len(counts) < n {
			counts = append(counts, make([]int32, n-len(counts))...)
		}
		for _, id := range ids {
			if counts[id] == 0 {
				order = append(order, id)
			}
			counts[id]++
		}
	}
	analysed := analyzeCatalog(cat, an)
	for e, en := range cat.Entries {
		ix.ids = append(ix.ids, en.ID)
		ix.docStart = append(ix.docStart, uint32(len(ix.docEntry)))
		pool = pool[:0]
		at := &analysed[e]
		for _, terms := range at.texts {
			ids = toIDs(ids[:0], terms)
			pool = append(pool, ids...)
			d := uint32(len(ix.docEntry))
			ix.docEntry = append(ix.docEntry, uint32(e))
			ix.fwdStart = append(ix.fwdStart, uint32(len(ix.fwdTerm)))
			collect(ids)
			for _, id := range order {
				tf := min(counts[id], 255)
				ix.fwdTerm = append(ix.fwdTerm, id)
				ix.fwdTF = append(ix.fwdTF, uint8(tf))
				ti := &tb[id]
				ti.docs = append(ti.docs, d)
				ti.tfs = append(ti.tfs, uint8(tf))
			}
			docLen = append(docLen, len(terms))
			totalLen += float64(len(terms))
		}
		// The pool field: all the entry's texts as one document, so that a
		// question combining words from different paraphrases still
		// matches the entry as a whole.
		collect(pool)
		for _, id := range order {
			ti := &tb[id]
			ti.pents = append(ti.pents, uint32(e))
			ti.ptfs = append(ti.ptfs, uint8(min(counts[id], 255)))
		}
		poolLen = append(poolLen, len(pool))
		totalPool += float64(len(pool))
		// The meta field: tags (counted twice) and the answer.
		meta = meta[:0]
		for _, terms := range at.tags {
			for range metaRepeatTags {
				meta = toIDs(meta, terms)
			}
		}
		meta = toIDs(meta, at.answer)
		collect(meta)
		for _, id := range order {
			ti := &tb[id]
			ti.mdocs = append(ti.mdocs, uint32(e))
			ti.mtfs = append(ti.mtfs, uint8(min(counts[id], 255)))
		}
		metaLen = append(metaLen, len(meta))
		totalMeta += float64(len(meta))
	}
	ix.docStart = append(ix.docStart, uint32(len(ix.docEntry)))
	ix.fwdStart = append(ix.fwdStart, uint32(len(ix.fwdTerm)))
	an.words = nil
	for _, w := range extra {
		wordFreq[w] += 0
	}
	spell := make(chan *speller, 1)
	go func() { spell <- newSpeller(wordFreq) }() // reads wordFreq only

	nd, ne := len(ix.docEntry), len(ix.ids)
	avg := max(totalLen/float64(max(nd, 1)), 1)
	ix.docLenN = make([]float32, nd)
	for d, l := range docLen {
		ix.docLenN[d] = float32(float64(l) / avg)
	}
	mavg := max(totalMeta/float64(max(ne, 1)), 1)
	ix.metaLenN = make([]float32, ne)
	for e, l := range metaLen {
		ix.metaLenN[e] = float32(float64(l) / mavg)
	}
	pavg := max(totalPool/float64(max(ne, 1)), 1)
	ix.poolLenN = make([]float32, ne)
	for e, l := range poolLen {
		ix.poolLenN[e] = float32(float64(l) / pavg)
	}
	ix.maxIDF = bm25IDF(nd, 0)
	ix.maxMIDF = bm25IDF(ne, 0)

	// Character n-grams of every term. The document frequency of an n-gram
	// is estimated as the sum of its terms' document frequencies, capped at
	// the number of documents: exact counts would need a pass over every
	// document's n-gram set, which dominates build time at 100k entries.
	ngDF := []float64{}
	ix.term = make([]termInfo, len(tb))
	termGrams := make([][]ngramW, len(ix.term))
	names := make([]string, len(ix.term))
	for s, id := range ix.terms {
		names[id] = s
	}
	for id, s := range names {
		ti := &ix.term[id]
		ti.idf = bm25IDF(nd, len(tb[id].docs))
		ti.midf = bm25IDF(ne, len(tb[id].mdocs))
		ti.pidf = bm25IDF(ne, len(tb[id].pents))
		if s == "" || s[0] == negPrefix[0] || s == "not" {
			continue // markers are not words: no n-grams
		}
		forNgrams(s, func(g string) {
			h := hashString(g)
			gid, ok := ix.ngramIDs[h]
			if !ok {
				gid = uint32(len(ngDF))
				ix.ngramIDs[h] = gid
				ngDF = append(ngDF, 0)
			}
			tg := termGrams[id]
			for i := range tg {
				if tg[i].id == gid {
					tg[i].w++
					return
				}
			}
			termGrams[id] = append(tg, ngramW{id: gid, w: 1})
			ngDF[gid] += float64(len(tb[id].docs))
		})
	}
	ix.ngramIDF = make([]float32, len(ngDF))
	for g, df := range ngDF {
		ix.ngramIDF[g] = float32(math.Log(1 + float64(nd)/(1+min(df, float64(nd)))))
	}
	ix.maxNgIDF = float32(math.Log(1 + float64(nd)))
	nPost, nMeta, nPool := 0, 0, 0
	for id := range tb {
		nPost += len(tb[id].docs)
		nMeta += len(tb[id].mdocs)
		nPool += len(tb[id].pents)
	}
	ix.poolEnt, ix.poolTF = make([]uint32, 0, nPool), make([]uint8, 0, nPool)
	ix.postDoc, ix.postTF = make([]uint32, 0, nPost), make([]uint8, 0, nPost)
	ix.metaEnt, ix.metaTF = make([]uint32, 0, nMeta), make([]uint8, 0, nMeta)
	gramCount := make([]uint32, len(ngDF)+1)
	nTG := 0
	for id := range termGrams {
		for _, g := range termGrams[id] {
			nTG += int(g.w)
		}
	}
	ix.termGramStart, ix.termGram = make([]uint32, 0, len(ix.term)+1), make([]uint32, 0, nTG)
	for id := range ix.term {
		ti := &ix.term[id]
		var n2 float32
		ix.termGramStart = append(ix.termGramStart, uint32(len(ix.termGram)))
		for i := range termGrams[id] {
			g := &termGrams[id][i]
			for range int(g.w) {
				ix.termGram = append(ix.termGram, g.id)
			}
			g.count = g.w
			g.w *= ix.ngramIDF[g.id]
			n2 += g.w * g.w
			gramCount[g.id+1]++
		}
		ti.ngN2 = n2
		ti.p0 = uint32(len(ix.postDoc))
		ix.postDoc, ix.postTF = append(ix.postDoc, tb[id].docs...), append(ix.postTF, tb[id].tfs...)
		ti.p1 = uint32(len(ix.postDoc))
		ti.m0 = uint32(len(ix.metaEnt))
		ix.metaEnt, ix.metaTF = append(ix.metaEnt, tb[id].mdocs...), append(ix.metaTF, tb[id].mtfs...)
		ti.m1 = uint32(len(ix.metaEnt))
		ti.q0 = uint32(len(ix.poolEnt))
		ix.poolEnt, ix.poolTF = append(ix.poolEnt, tb[id].pents...), append(ix.poolTF, tb[id].ptfs...)
		ti.q1 = uint32(len(ix.poolEnt))
	}
	ix.termGramStart = append(ix.termGramStart, uint32(len(ix.termGram)))
	// Invert term → n-grams into n-gram → terms (a counting sort).
	for g := 1; g < len(gramCount); g++ {
		gramCount[g] += gramCount[g-1]
	}
	ix.gramStart = gramCount
	fill := slices.Clone(gramCount[:len(gramCount)-1])
	total := gramCount[len(gramCount)-1]
	ix.gramPost = make([]uint32, total)
	for id := range termGrams {
		for _, g := range termGrams[id] {
			k := fill[g.id]
			ix.gramPost[k] = gramPosting(uint32(id), g.count)
			fill[g.id]++
		}
	}
	// A document's n-gram norm, treating its terms' n-gram sets as
	// disjoint (cross-term overlap is rare and small): |d|² ≈ Σ tf²·|t|².
	ix.docNorm = make([]float32, nd)
	for d := 0; d < nd; d++ {
		var n2 float32
		for k := ix.fwdStart[d]; k < ix.fwdStart[d+1]; k++ {
			tf := float32(ix.fwdTF[k])
			n2 += tf * tf * ix.term[ix.fwdTerm[k]].ngN2
		}
		ix.docNorm[d] = float32(math.Sqrt(float64(n2)))
	}
	// Trim slice capacity: append leaves up to 2× slack.
	ix.fwdTerm, ix.fwdTF = clip(ix.fwdTerm), clip(ix.fwdTF)
	ix.docEntry, ix.fwdStart = clip(ix.docEntry), clip(ix.fwdStart)
	return ix, wordFreq, spell
}

// entryTerms is one entry's texts after analysis.
type entryTerms struct {
	texts  [][]string // question, then paraphrases
	tags   [][]string
	answer []string
}

// analyzeCatalog analyses every text of cat, on all CPUs: analysis is most
// of the build time, and entries are independent. Each worker has its own
// stem cache and word counts, merged into an's afterwards, so the result
// is the same as a sequential pass.
func analyzeCatalog(cat *faq.Catalog, an *analyzer) []entryTerms {
	out := make([]entryTerms, len(cat.Entries))
	one := func(a *analyzer, lo, hi int) {
		// One set of buffers per worker; the terms, which the index
		// keeps, are copied out at their exact size.
		var ts textScratch
		terms := func(text string) []string {
			return slices.Clip(slices.Clone(a.analyzeWith(text, false, nil, &ts).terms))
		}
		for e := lo; e < hi; e++ {
			en := cat.Entries[e]
			texts := en.Texts()
			et := entryTerms{texts: make([][]string, len(texts)), tags: make([][]string, len(en.Tags))}
			for i, t := range texts {
				et.texts[i] = terms(t)
			}
			for i, t := range en.Tags {
				et.tags[i] = terms(t)
			}
			et.answer = terms(en.Answer)
			out[e] = et
		}
	}
	// Below some 32 KB of text a goroutine costs more than it saves.
	size := 0
	for _, en := range cat.Entries {
		size += len(en.Answer) + len(en.Question)
		for _, p := range en.Paraphrases {
			size += len(p)
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(cat.Entries), size/(32<<10))
	if workers <= 1 {
		one(an, 0, len(cat.Entries))
		return out
	}
	locals := make([]*analyzer, workers)
	var wg sync.WaitGroup
	for w := range workers {
		// an.stems is only read until the merge below.
		la := &analyzer{lex: an.lex, stems: map[string]string{}, base: an.stems, building: true, maxBytes: an.maxBytes}
		if an.words != nil {
			la.words = map[string]int32{}
		}
		locals[w] = la
		lo, hi := w*len(cat.Entries)/workers, (w+1)*len(cat.Entries)/workers
		wg.Go(func() { one(la, lo, hi) })
	}
	wg.Wait()
	for _, la := range locals {
		for w, st := range la.stems {
			an.stems[w] = st
		}
		for w, n := range la.words {
			an.words[w] += n
		}
	}
	return out
}

func clip[T any](s []T) []T {
	if cap(s) == len(s) {
		return s
	}
	return append(make([]T, 0, len(s)), s...)
}

// forNgrams calls f with each character 3-, 4- and 5-gram of "^s$", as
// substrings (no allocation per n-gram). Terms are at most maxWordBytes.
func forNgrams(s string, f func(string)) {
	p := "^" + s + "$"
	var starts [maxWordBytes + 3]int
	n := 0
	for i := range p {
		if n == len(starts) {
			p = p[:i]
			break
		}
		starts[n] = i
		n++
	}
	for size := 3; size <= 5; size++ {
		for i := 0; i+size <= n; i++ {
			end := len(p)
			if i+size < n {
				end = starts[i+size]
			}
			f(p[starts[i]:end])
		}
	}
}

// vocabSize is the number of distinct terms, for logs and tests.
func (ix *index) vocabSize() int { return len(ix.term) }
