package match

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/candid-app/candid/internal/faq"
	"github.com/candid-app/candid/internal/learn"
)

// Decision is what the conversation should do with a question.
type Decision string

const (
	// Answer: the top entry is right with high confidence; show it.
	Answer Decision = "answer"
	// Suggest: one of the top candidates is probably right; offer them as
	// "did you mean" choices.
	Suggest Decision = "suggest"
	// Queue: in scope but no entry fits well enough; offer a therapist.
	Queue Decision = "queue"
	// OutOfScope: nothing in the question is about sexual health,
	// relationships or this service, and no entry fits.
	OutOfScope Decision = "out_of_scope"
)

// Candidate is one ranked entry. Score is the calibrated probability that
// this entry is the right answer to the question, in [0,1].
type Candidate struct {
	ID    string  `json:"id"`
	Score float64 `json:"score"`
}

// Result is the matcher's verdict on one question.
type Result struct {
	Decision Decision `json:"decision"`
	// Candidates are ranked best first, at most MaxCandidates.
	Candidates []Candidate `json:"candidates"`
	// Also is a second entry that the message asks about, when it asks
	// two things and the second is confidently another entry; the
	// conversation offers it as a button under the answer.
	Also string `json:"also,omitempty"`
	// Confidence is the top candidate's Score (0 when there is none); the
	// thresholds apply to it.
	Confidence float64 `json:"confidence"`
	// Features are the calibration inputs for the top candidate plus a few
	// counts, for debugging; only Explain fills them. They never contain
	// query text.
	Features map[string]float64 `json:"features,omitempty"`
}

// MaxCandidates is the most candidates a Result carries.
const MaxCandidates = 5

// Thresholds turn Confidence into a decision: answer at or above Answer,
// suggest at or above Suggest, otherwise queue (or out_of_scope when the
// question has no domain vocabulary). Config keys: match.answer_threshold
// and match.suggest_threshold.
type Thresholds struct {
	Answer  float64 `json:"answer"`
	Suggest float64 `json:"suggest"`
}

// Weights are the fusion weights and BM25 parameters. The zero value means
// "the tuned defaults from calibration.json".
type Weights struct {
	BM25  float64 `json:"bm25"`  // best document's normalised BM25
	NGram float64 `json:"ngram"` // best document's character n-gram cosine
	Meta  float64 `json:"meta"`  // normalised BM25 on the tags + answer field
	Multi float64 `json:"multi"` // second-best document of the same entry
	Pool  float64 `json:"pool"`  // normalised BM25 on all the entry's texts as one document
	K1    float64 `json:"k1"`
	B     float64 `json:"b"`
}

// Options configure a Matcher. The zero value uses the calibrated defaults.
type Options struct {
	// Thresholds; a zero field takes its calibrated default
	// (DefaultThresholds). To answer always, give a tiny positive Answer.
	Thresholds Thresholds
	// Weights; zero means the tuned defaults.
	Weights Weights
	// Calibration replaces the embedded calibration (tests, training).
	Calibration *Calibration
	// MaxQueryBytes caps the bytes of a query that are looked at; zero
	// means DefaultMaxQueryBytes.
	MaxQueryBytes int
	// Logger gets build statistics; never query text. Nil discards.
	Logger *slog.Logger
	// Previous is the Matcher this one replaces on a reload, if any. Its
	// stem cache is reused (a stem depends only on the word), which saves
	// most of the stemming, the largest single cost of a rebuild. It is
	// only read, so it may go on serving queries meanwhile.
	Previous *Matcher
	// Ranker is the learned ranker (LoadRanker); nil matches lexically.
	// Its classes are entry IDs: entries it was not trained on are matched
	// lexically, and its verdict joins the lexical one in calibration.
	Ranker *learn.Model
	// Embeddings, when set, add an embedding cosine to the fused score
	// (see embed.go). Off by default; Match then makes a network call.
	Embeddings *EmbedOptions
}

// candidatePool is how many entries, chosen by BM25 (with the meta field),
// are re-scored with the n-gram cosine and fused; a fixed pool keeps a
// query's re-scoring cost independent of the catalog's size. Measured over
// the 1,510 questions of dev, own, fresh, the negatives and the synthetic
// queries: the top three candidates and every decision are the same with a
// pool of 8 as with 24 except for 4 questions (19 with 6); 16 keeps twice
// that margin and re-scores a third fewer documents than 24 did (only
// candidates 4-5 of 4 questions, all scored below 0.001, differ).
const candidatePool = 16

// Matcher matches questions against one catalog. It is immutable after New
// and safe for concurrent use.
type Matcher struct {
	ix   *index
	an   *analyzer
	w    Weights
	th   Thresholds
	cal  *Calibration
	log  *slog.Logger
	pool sync.Pool // *scratch
	size int
	emb  *embedIndex // nil: lexical only
	rk   *ranker     // nil: no learned ranker
	// exhaustive re-scores the whole short list, without the bound that
	// skips entries which cannot reach the top (tests compare the two).
	exhaustive bool
}

// New builds the index for cat. lex may be nil (no slang rewriting, and
// only the catalog's vocabulary then counts as a domain signal... which is
// none: pass a lexicon in production).
func New(cat *faq.Catalog, lex *Lexicon, opts Options) (*Matcher, error) {
	if cat == nil || len(cat.Entries) == 0 {
		return nil, errors.New("match: empty catalog")
	}
	start := time.Now()
	cal := opts.Calibration
	if cal == nil {
		var err error
		if cal, err = DefaultCalibration(); err != nil {
			return nil, err
		}
	}
	if err := cal.validate(); err != nil {
		return nil, err
	}
	w := opts.Weights
	if w == (Weights{}) {
		w = cal.Weights
	}
	if w.K1 <= 0 || w.B < 0 || w.B > 1 || w.BM25 < 0 || w.NGram < 0 || w.Meta < 0 || w.Multi < 0 || w.Pool < 0 {
		return nil, fmt.Errorf("match: invalid weights %+v (need k1 > 0, 0 ≤ b ≤ 1, weights ≥ 0)", w)
	}
	// Each threshold left at zero takes its calibrated default, so the
	// config keys match.answer_threshold and match.suggest_threshold can be
	// set independently. A defaulted Suggest never exceeds a given Answer.
	th := opts.Thresholds
	if th.Answer == 0 {
		th.Answer = cal.Thresholds.Answer
	}
	if th.Suggest == 0 {
		th.Suggest = min(cal.Thresholds.Suggest, th.Answer)
	}
	if !(th.Suggest >= 0 && th.Suggest <= th.Answer && th.Answer <= 1) {
		return nil, fmt.Errorf("match: thresholds need 0 ≤ suggest (%g) ≤ answer (%g) ≤ 1", th.Suggest, th.Answer)
	}
	maxBytes := opts.MaxQueryBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxQueryBytes
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cl := compileLexicon(nil)
	if lex != nil {
		cl = lex.compiled
		if cl == nil { // a Lexicon built by hand rather than loaded
			cl = compileLexicon(lex)
		}
	}
	stems := map[string]string{}
	if opts.Previous != nil {
		stems = maps.Clone(opts.Previous.an.stems)
	}
	an := &analyzer{lex: cl, stems: stems, building: true, maxBytes: maxBytes}
	var prevIx *index
	prevWords := 0
	if p := opts.Previous; p != nil {
		prevIx, prevWords = p.ix, len(p.an.spell.known)
	}
	ix, words, spell := buildIndex(cat, an, cl.words, prevIx, prevWords)
	if len(ix.term) >= maxTerms {
		<-spell
		return nil, fmt.Errorf("match: the catalog has %d distinct terms, more than the index supports (%d): split it", len(ix.term), maxTerms-1)
	}
	for w := range words {
		an.stem(w)
	}
	an.building = false
	an.spell = <-spell
	m := &Matcher{ix: ix, an: an, w: w, th: th, cal: cal, log: log, size: len(cat.Entries), rk: newRanker(opts.Ranker, ix.ids)}
	if m.rk != nil {
		if n := m.rk.covered(); n < len(ix.ids) {
			log.Warn("match: the ranker was trained before some entries existed; they match lexically until it is retrained (go generate ./faq)",
				"entries", len(ix.ids), "ranked", n)
		}
	}
	if opts.Embeddings != nil {
		var texts []string
		for _, e := range cat.Entries {
			texts = append(texts, e.Texts()...)
		}
		ei, err := buildEmbedIndex(context.Background(), texts, *opts.Embeddings)
		if err != nil {
			// The service must start: lexical matching still works.
			log.Warn("match: embeddings unavailable, matching lexically", "err", err)
		} else {
			m.emb = ei
		}
	}
	m.pool.New = func() any { return newScratch(ix) }
	log.Info("match: index built", "entries", len(ix.ids), "documents", len(ix.docEntry),
		"terms", ix.vocabSize(), "took", time.Since(start).Round(time.Microsecond))
	return m, nil
}

// Thresholds returns the thresholds in force.
func (m *Matcher) Thresholds() Thresholds { return m.th }

// RankerFeatures returns the extra features the learned ranker reads for
// text, as it reads them when matching: the text's analysed terms (stems
// after the lexicon's rewriting, so "boner" and "hard-on" both say
// "erection", and negation markers). Training calls it on every sample.
func (m *Matcher) RankerFeatures(text string) []string {
	ix := m.ix
	known := func(s string) bool { _, ok := ix.terms[s]; return ok }
	return m.an.analyze(text, true, known).terms
}

// Weights returns the fusion weights in force.
func (m *Matcher) Weights() Weights { return m.w }

// Len is the number of entries indexed.
func (m *Matcher) Len() int { return m.size }

// scratch is one query's working memory, pooled so that a query allocates
// little. Dense arrays indexed by document, entry, term and n-gram; each is
// reset through its touched list, never cleared whole.
type scratch struct {
	acc      []float32 // BM25 per document
	touched  []uint32
	ebest    []float32 // best document BM25 per entry
	emeta    []float32 // meta BM25 per entry
	epool    []float32 // pooled-texts BM25 per entry
	etouched []uint32
	eseen    []bool

	qw     []float32 // query n-gram weights
	gtouch []uint32
	tdot   []float32 // per-term dot product with the query n-grams, 0 elsewhere
	ttouch []uint32  // terms whose tdot is set

	text    textScratch
	heap    entryHeap // the short list under selection
	qts     []qterm
	cands   []scored
	feats   []float64 // decide's calibration inputs
	spare   []entryPre
	inShort []bool    // per entry: in the short list (set only while completing it)
	probs   []float64 // the ranker's class probabilities
	rtop    []int     // the ranker's best entries
}

func newScratch(ix *index) *scratch {
	docs, entries := len(ix.docEntry), len(ix.ids)
	return &scratch{acc: make([]float32, docs), ebest: make([]float32, entries),
		emeta: make([]float32, entries), epool: make([]float32, entries), eseen: make([]bool, entries), inShort: make([]bool, entries),
		qw: make([]float32, len(ix.ngramIDF)), tdot: make([]float32, len(ix.term)), ttouch: make([]uint32, 0, len(ix.term)+1)}
}

func (s *scratch) reset() {
	for _, g := range s.gtouch {
		s.qw[g] = 0
	}
	s.gtouch = s.gtouch[:0]
	for _, t := range s.ttouch {
		s.tdot[t] = 0
	}
	s.ttouch = s.ttouch[:0]
	for _, d := range s.touched {
		s.acc[d] = 0
	}
	for _, e := range s.etouched {
		s.ebest[e], s.emeta[e], s.epool[e], s.eseen[e] = 0, 0, 0, false
	}
	s.touched, s.etouched = s.touched[:0], s.etouched[:0]
}

// qterm is one distinct query term.
type qterm struct {
	id    int32 // -1: not in the index
	s     string
	n     int // occurrences in the query
	idf   float32
	midf  float32
	pidf  float32
	isNeg bool
}

// scored is one candidate entry with its raw signals.
type scored struct {
	entry  int
	fused  float64
	bm25   float64 // best document, normalised
	cos    float64 // best document
	meta   float64 // normalised
	pool   float64 // normalised
	second float64 // fused score of the entry's second-best document
	cov    float64 // share of the query's IDF mass in the best document
	ecov   float64 // share of the query's IDF mass anywhere in the entry
	miss   float64 // IDF of the weightiest query word the entry lacks, / max IDF

	bestDoc int // the document that gave fused, or -1
}

// ranking is everything Match computes before calibration.
type ranking struct {
	a        analysis
	embedded bool // the embedding signal was used
	// anchor is 1 when the query has a word that many entries share (the
	// "sex", "partner", "therapist" of this domain): a question made only of
	// words that single entries use ("premature baby care tips") is usually
	// about something else that happens to share a topic word.
	anchor float64
	cands  []scored // by fused score, best first, then the ranker's additions
	// short is how many of cands are calibrated: the lexical top
	// MaxCandidates and the ranker's best entries.
	short int
	rv    rankerView // the learned ranker's verdict (zero: none)
}

// rank scores the query against the index with weights w. It is the whole
// of matching except calibration, and is what tuning calls.
func (m *Matcher) rank(query string, w Weights) ranking {
	return m.rankWith(query, w, nil)
}

// rankWith is rank with the ranker's class probabilities given (training
// passes out-of-fold ones); nil computes them.
func (m *Matcher) rankWith(query string, w Weights, probs []float64) ranking {
	s := m.pool.Get().(*scratch)
	defer func() { s.reset(); m.pool.Put(s) }()
	r := m.rankIn(s, query, w, probs)
	r.cands = slices.Clone(r.cands) // they live in s
	r.rv.probs = slices.Clone(r.rv.probs)
	r.rv.top = slices.Clone(r.rv.top)
	return r
}

// rankIn is rank in the scratch s: the ranking's candidates live in s and
// are valid until s is reset. probs are the ranker's class probabilities
// (nil: computed here when there is a ranker).
func (m *Matcher) rankIn(s *scratch, query string, w Weights, probs []float64) ranking {
	ix := m.ix
	known := func(s string) bool { _, ok := ix.terms[s]; return ok }
	a := m.an.analyzeWith(query, true, known, &s.text)
	r := ranking{a: a}
	r.a.terms = nil // they live in s; only this function reads them
	if m.rk != nil {
		if probs == nil {
			s.probs = m.rk.model.Predict(capText(query, m.an.maxBytes), a.terms, s.probs[:0])
			probs = s.probs
		}
		r.rv = m.rk.view(probs, s.rtop)
		s.rtop = r.rv.top
	}
	if len(a.terms) == 0 {
		r.cands, r.short = mergeShortList(s.cands[:0], r.rv.top)
		s.cands = r.cands[:0]
		return r
	}
	// Distinct query terms and the query's IDF mass.
	qts := s.qts[:0]
	defer func() { s.qts = qts[:0] }()
	var mass, mmass, pmass float64
	for _, t := range a.terms {
		if i := slices.IndexFunc(qts, func(q qterm) bool { return q.s == t }); i >= 0 {
			qts[i].n++
			continue
		}
		q := qterm{id: -1, s: t, n: 1, isNeg: t[0] == negPrefix[0]}
		if id, ok := ix.terms[t]; ok {
			q.id = int32(id)
			q.idf, q.midf, q.pidf = ix.term[id].idf, ix.term[id].midf, ix.term[id].pidf
		} else if !q.isNeg {
			// An unseen word is unmatched content: full weight. An
			// unseen negation marker is only a missed bonus: none.
			q.idf, q.midf, q.pidf = ix.maxIDF, ix.maxMIDF, ix.maxMIDF
		}
		qts = append(qts, q)
		mass += float64(q.idf)
		mmass += float64(q.midf)
		pmass += float64(q.pidf)
	}
	if mass == 0 {
		r.cands, r.short = mergeShortList(s.cands[:0], r.rv.top)
		s.cands = r.cands[:0]
		return r
	}
	anchorDF := uint32(max(3, len(ix.ids)/5))
	for _, q := range qts {
		if q.id >= 0 && !q.isNeg {
			if ti := &ix.term[q.id]; ti.q1-ti.q0 >= anchorDF {
				r.anchor = 1
				break
			}
		}
	}

	k1, b := float32(w.K1), float32(w.B)
	bm := func(idf, tf, lenN float32) float32 { return idf * tf * (k1 + 1) / (tf + k1*(1-b+b*lenN)) }
	touchE := func(e uint32) {
		if !s.eseen[e] {
			s.eseen[e] = true
			s.etouched = append(s.etouched, e)
		}
	}
	// Two phases, in the spirit of MaxScore: terms found in very many
	// documents (the "want", "sex", "partner" of this domain) are not
	// walked; they only add to the documents and entries that the selective
	// terms reached. Their long posting lists would dominate the cost at
	// 100k entries, and a document that has nothing but them is no match.
	// When every term is common, all are walked.
	// "Very many" is 1/32 of the documents (or entries, for the entry-level
	// fields), and never fewer than 256 documents or 64 entries, so a catalog
	// the size of the real FAQ is always scored exhaustively.
	commonDocs := uint32(max(256, len(ix.docEntry)/32))
	commonEnts := uint32(max(64, len(ix.ids)/32))
	isCommon := func(q qterm) bool { ti := &ix.term[q.id]; return ti.p1-ti.p0 > commonDocs }
	prune := false
	for _, q := range qts {
		if q.id >= 0 && !isCommon(q) {
			prune = true
			break
		}
	}
	for _, q := range qts {
		if q.id < 0 {
			continue
		}
		ti := &ix.term[q.id]
		if !prune || !isCommon(q) {
			docs, tfs := ix.docsOf(uint32(q.id))
			for i, d := range docs {
				if s.acc[d] == 0 {
					s.touched = append(s.touched, d)
				}
				s.acc[d] += bm(q.idf, float32(tfs[i]), ix.docLenN[d])
			}
		}
		if !prune || ti.q1-ti.q0 <= commonEnts {
			pents, ptfs := ix.poolOf(uint32(q.id))
			for i, e := range pents {
				touchE(e)
				s.epool[e] += bm(q.pidf, float32(ptfs[i]), ix.poolLenN[e])
			}
		}
		if !prune || ti.m1-ti.m0 <= commonEnts {
			ents, mtfs := ix.metaOf(uint32(q.id))
			for i, e := range ents {
				touchE(e)
				s.emeta[e] += bm(q.midf, float32(mtfs[i]), ix.metaLenN[e])
			}
		}
	}
	if prune {
		for _, q := range qts {
			if q.id < 0 || !isCommon(q) {
				continue
			}
			t := uint32(q.id)
			for _, d := range s.touched {
				for k := ix.fwdStart[d]; k < ix.fwdStart[d+1]; k++ {
					if ix.fwdTerm[k] == t {
						s.acc[d] += bm(q.idf, float32(ix.fwdTF[k]), ix.docLenN[d])
						break
					}
				}
			}
		}
	}
	for _, d := range s.touched {
		e := ix.docEntry[d]
		touchE(e)
		if s.acc[d] > s.ebest[e] {
			s.ebest[e] = s.acc[d]
		}
	}
	if len(s.etouched) == 0 {
		r.cands, r.short = mergeShortList(s.cands[:0], r.rv.top)
		s.cands = r.cands[:0]
		return r
	}
	// Pre-select by BM25 alone (the cheap signals), then re-score.
	invM, invMM, invPM := 1/mass, 1/max(mmass, 1e-9), 1/max(pmass, 1e-9)
	pre := func(e uint32) float64 {
		return w.BM25*float64(s.ebest[e])*invM + w.Meta*float64(s.emeta[e])*invMM + w.Pool*float64(s.epool[e])*invPM
	}
	pool := candidatePool
	if prune {
		pool *= 2 // slack for the common terms' entry-level scores, added next
	}
	h := &s.heap
	*h = (*h)[:0]
	for _, e := range s.etouched {
		h.offer(entryPre{e, pre(e)}, pool)
	}
	if prune {
		// The common terms' pool and meta scores, for the short list only:
		// by binary search of each short-listed entry in a long posting
		// list, or, when the list is at most 24 times the short list, by
		// one pass over it: sequential reads beat the searches' scattered
		// ones up to there (measured at 1k; at 100k the lists are longer).
		for _, ep := range *h {
			s.inShort[ep.e] = true
		}
		add := func(list []uint32, tfs []uint8, idf float32, lenN, dst []float32) {
			tfs = tfs[:len(list)]
			if len(list) <= 24*len(*h) {
				for i, e := range list {
					if s.inShort[e] {
						dst[e] += bm(idf, float32(tfs[i]), lenN[e])
					}
				}
				return
			}
			for _, ep := range *h {
				if i, ok := findPosting(list, ep.e); ok {
					dst[ep.e] += bm(idf, float32(tfs[i]), lenN[ep.e])
				}
			}
		}
		for _, q := range qts {
			if q.id < 0 {
				continue
			}
			ti := &ix.term[q.id]
			if ti.q1-ti.q0 > commonEnts {
				pents, ptfs := ix.poolOf(uint32(q.id))
				add(pents, ptfs, q.pidf, ix.poolLenN, s.epool)
			}
			if ti.m1-ti.m0 > commonEnts {
				ents, mtfs := ix.metaOf(uint32(q.id))
				add(ents, mtfs, q.midf, ix.metaLenN, s.emeta)
			}
		}
		for _, ep := range *h {
			s.inShort[ep.e] = false
		}
		// Keep the candidatePool best by the completed scores: a second
		// heap in the same buffer's tail would alias, so the kept ones are
		// re-offered from a copy in the scratch.
		s.spare = append(s.spare[:0], *h...)
		*h = (*h)[:0]
		for _, ep := range s.spare {
			h.offer(entryPre{ep.e, pre(ep.e)}, candidatePool)
		}
	}

	qv := m.queryVector(qts, s)
	var qe []float32
	if m.emb != nil {
		qe = m.emb.query(query) // nil on error or timeout: lexical only
		r.embedded = qe != nil
	}
	r.cands = s.cands[:0]
	defer func() { s.cands = r.cands[:0] }()
	// Only the best MaxCandidates by fused score are ever used, and fused
	// is at most pre + NGram + Multi·(BM25·bm + NGram) (a cosine is at
	// most 1, the second document at most the best). Taking the short
	// list by pre, best first, an entry whose bound is below the fifth
	// fused score so far cannot reach the top and is not re-scored: on
	// the real FAQ that skips most of the short list, whose documents are
	// most of a query's cost. Results are exactly those of scoring all.
	bounded := qe == nil && w.BM25 >= 0 && w.NGram >= 0 && w.Multi >= 0 && !m.exhaustive
	sortByPre(*h)
	var top [MaxCandidates]float64 // the best fused scores so far, descending
	ntop := 0
	for _, ep := range *h {
		e := ep.e
		// The ranker's best entries are always scored: they join the
		// calibrated list whatever their lexical rank.
		if bounded && ntop == len(top) && !slices.Contains(r.rv.top, int(e)) {
			ub := ep.pre + w.NGram + w.Multi*(w.BM25*float64(s.ebest[e])*invM+w.NGram)
			if ub+1e-9 < top[len(top)-1] {
				continue
			}
		}
		c := scored{entry: int(e), meta: float64(s.emeta[e]) * invMM, pool: float64(s.epool[e]) * invPM}
		best, second := -1.0, 0.0
		bestDoc := -1
		for d := ix.docStart[e]; d < ix.docStart[e+1]; d++ {
			bm := float64(s.acc[d]) * invM
			// The n-gram cosine, written out here: it runs for every
			// document of every short-listed entry, and a call cost as
			// much as the arithmetic.
			cs := 0.0
			if n := ix.docNorm[d]; qv.norm != 0 && n != 0 {
				k0, k1 := ix.fwdStart[d], ix.fwdStart[d+1]
				cs = min(float64(dot(s.tdot, ix.fwdTerm[k0:k1], ix.fwdTF[k0:k1])/(qv.norm*n)), 1)
			}
			f := w.BM25*bm + w.NGram*cs
			if qe != nil {
				f += m.emb.opts.Weight * m.emb.cosine(qe, d)
			}
			if f > best {
				second = max(best, 0)
				best, bestDoc = f, int(d)
				c.bm25, c.cos = bm, cs
			} else if f > second {
				second = f
			}
		}
		c.second = second
		c.fused = best + w.Multi*second + w.Meta*c.meta + w.Pool*c.pool
		c.bestDoc = bestDoc
		r.cands = append(r.cands, c)
		// Insert c.fused into top.
		j := min(ntop, len(top)-1)
		if ntop < len(top) {
			ntop++
		} else if c.fused <= top[j] {
			continue
		}
		for ; j > 0 && top[j-1] < c.fused; j-- {
			top[j] = top[j-1]
		}
		top[j] = c.fused
	}
	// Best first (ties: lower entry first). By hand: at most 16, and the
	// comparator's calls cost more than the moves.
	for i := 1; i < len(r.cands); i++ {
		c := r.cands[i]
		j := i
		for ; j > 0 && (r.cands[j-1].fused < c.fused || r.cands[j-1].fused == c.fused && r.cands[j-1].entry > c.entry); j-- {
			r.cands[j] = r.cands[j-1]
		}
		r.cands[j] = c
	}
	// Coverage, for the short list only (only it is calibrated). The
	// entry-level one matters because paraphrases are diverse by design,
	// so a right entry often covers the question only across several of
	// its texts; a wrong one leaves a weighty word unmatched.
	r.cands, r.short = mergeShortList(r.cands, r.rv.top)
	for i := 0; i < r.short; i++ {
		c := &r.cands[i]
		c.cov = coverage(ix, c.bestDoc, qts) / mass
		var got, miss float64
		for _, q := range qts {
			if q.isNeg || q.idf == 0 {
				continue
			}
			if q.id >= 0 && ix.entryHas(uint32(q.id), uint32(c.entry)) {
				got += float64(q.idf)
			} else {
				miss = max(miss, float64(q.idf))
			}
		}
		c.ecov, c.miss = got/mass, miss/float64(ix.maxIDF)
	}
	return r
}

// sortByPre sorts the short list by pre-score, best first (ties: lower
// entry first).
func sortByPre(h []entryPre) {
	for i := 1; i < len(h); i++ {
		x := h[i]
		j := i
		for ; j > 0 && weaker(h[j-1], x); j-- {
			h[j] = h[j-1]
		}
		h[j] = x
	}
}

// entryHas reports whether any document or the meta field of entry e
// contains term t (binary search: postings are sorted).
func (ix *index) entryHas(t, e uint32) bool {
	docs, _ := ix.docsOf(t)
	lo, hi := ix.docStart[e], ix.docStart[e+1]
	if i, _ := findPosting(docs, lo); i < len(docs) && docs[i] < hi {
		return true
	}
	ents, _ := ix.metaOf(t)
	_, found := findPosting(ents, e)
	return found
}

// findPosting is slices.BinarySearch for posting lists, without branches in the
// loop: which half holds x is as good as random, so a branch on it is
// mispredicted half the time, and these searches run hundreds of times
// per query.
func findPosting(a []uint32, x uint32) (int, bool) {
	lo, n := 0, len(a)
	for n > 1 {
		half := n / 2
		if a[lo+half-1] < x { // compiled to a conditional move
			lo += half
		}
		n -= half
	}
	if n == 1 && a[lo] < x {
		lo++
	}
	return lo, lo < len(a) && a[lo] == x
}

// coverage is the IDF mass of the query's terms that document d contains.
func coverage(ix *index, d int, qts []qterm) float64 {
	if d < 0 {
		return 0
	}
	var c float64
	for k := ix.fwdStart[d]; k < ix.fwdStart[d+1]; k++ {
		for _, q := range qts {
			if q.id == int32(ix.fwdTerm[k]) {
				c += float64(q.idf)
				break
			}
		}
	}
	return c
}

type entryPre struct {
	e   uint32
	pre float64
}

// entryHeap is a min-heap on pre, so the root is the weakest kept entry.
// It lives in the query's scratch and is sifted by hand: container/heap
// boxes every pushed value, an allocation per candidate.
type entryHeap []entryPre

// weaker reports whether a ranks below b (ties: the higher entry number
// is weaker, so selection is deterministic).
func weaker(a, b entryPre) bool {
	if a.pre != b.pre {
		return a.pre < b.pre
	}
	return a.e > b.e
}

// offer keeps x if the heap holds fewer than k entries or x beats the
// weakest kept one.
func (h *entryHeap) offer(x entryPre, k int) {
	q := *h
	if len(q) < k {
		q = append(q, x)
		for i := len(q) - 1; i > 0; { // sift up
			p := (i - 1) / 2
			if !weaker(q[i], q[p]) {
				break
			}
			q[i], q[p] = q[p], q[i]
			i = p
		}
		*h = q
		return
	}
	if !weaker(q[0], x) {
		return
	}
	q[0] = x
	for i := 0; ; { // sift down
		l, m := 2*i+1, i
		if l < len(q) && weaker(q[l], q[m]) {
			m = l
		}
		if r := l + 1; r < len(q) && weaker(q[r], q[m]) {
			m = r
		}
		if m == i {
			break
		}
		q[i], q[m] = q[m], q[i]
		i = m
	}
}

// qvector is the query's n-gram TF-IDF vector, held in the scratch, with
// each index term's dot product with it (tdot).
type qvector struct {
	s    *scratch
	norm float32
}

func (m *Matcher) queryVector(qts []qterm, s *scratch) qvector {
	ix := m.ix
	var n2 float32
	for _, q := range qts {
		if q.isNeg || q.s == "not" {
			continue
		}
		n := float32(q.n)
		if q.id >= 0 {
			for _, id := range ix.termGram[ix.termGramStart[q.id]:ix.termGramStart[q.id+1]] {
				if s.qw[id] == 0 {
					s.gtouch = append(s.gtouch, id)
				}
				s.qw[id] += n * ix.ngramIDF[id]
			}
			n2 += n * n * ix.term[q.id].ngN2 // the same norm documents use
			continue
		}
		var t2 float32
		forNgrams(q.s, func(g string) {
			if id, ok := ix.ngramIDs[hashString(g)]; ok {
				wt := n * ix.ngramIDF[id]
				if s.qw[id] == 0 {
					s.gtouch = append(s.gtouch, id)
				}
				s.qw[id] += wt
				t2 += wt * wt
			} else {
				// n-grams no index term has only lengthen the vector.
				wt := n * ix.maxNgIDF
				t2 += wt * wt
			}
		})
		n2 += t2
	}
	// Dot products of the query with every term sharing an n-gram. An
	// n-gram found in very many terms ("ing", "^co") says little and
	// costs most: it is skipped (it still counts in the query's norm), which
	// bounds the work per query at any vocabulary size.
	limit := uint32(max(64, len(ix.term)/64))
	tt := s.ttouch[:cap(s.ttouch)] // as long as the vocabulary: see newScratch
	nt := len(s.ttouch)
	for _, g := range s.gtouch {
		if ix.gramStart[g+1]-ix.gramStart[g] > limit {
			continue
		}
		qw, idf := s.qw[g], ix.ngramIDF[g]
		for _, p := range ix.gramPost[ix.gramStart[g]:ix.gramStart[g+1]] {
			// Record t the first time (tdot is still +0) without a
			// branch: whether a term was reached before is as good as
			// random, and a mispredicted branch per step cost a third of
			// this loop. The slot is always written, and kept only then.
			t := p & gramTermMask
			v := s.tdot[t]
			tt[nt] = t
			if math.Float32bits(v) == 0 {
				nt++
			}
			s.tdot[t] = v + qw*(float32(p>>gramTermBits)*idf) // as built: count·IDF
		}
	}
	s.ttouch = tt[:nt]
	return qvector{s: s, norm: float32(math.Sqrt(float64(n2)))}
}

// dot is Σ tfs[k]·tdot[terms[k]], branch-free: tdot is 0 for every term
// the query does not reach.
func dot(tdot []float32, terms []uint32, tfs []uint8) float32 {
	tfs = tfs[:len(terms)]
	var sum float32
	for k, t := range terms {
		sum += float32(tfs[k]) * tdot[t]
	}
	return sum
}

// Match ranks the catalog for query and decides what to do. It is pure and
// safe for concurrent use; its work is bounded by MaxQueryBytes and
// MaxQueryTokens whatever the input.
func (m *Matcher) Match(query string) Result {
	return m.matchLong(query, m.match(query, false), false)
}

func (m *Matcher) match(query string, explain bool) Result {
	s := m.pool.Get().(*scratch)
	defer func() { s.reset(); m.pool.Put(s) }()
	return decideIn(s, m.cal, m.th, m.ix.ids, m.rankIn(s, query, m.w, nil), explain)
}

// Explain is Match with Result.Features filled in, for debugging and
// tests; Match leaves them out, since building them costs as much as a
// tenth of a query.
func (m *Matcher) Explain(query string) Result {
	return m.matchLong(query, m.match(query, true), true)
}

// decide calibrates the short list of r and applies the thresholds; ids
// maps entry numbers to IDs. explain fills Result.Features.
func decide(cal *Calibration, th Thresholds, ids []string, r ranking, explain bool) Result {
	return decideIn(nil, cal, th, ids, r, explain)
}

// decideIn is decide with its working memory in s (nil: allocated).
func decideIn(s *scratch, cal *Calibration, th Thresholds, ids []string, r ranking, explain bool) Result {
	var res Result
	if explain {
		res.Features = map[string]float64{
			"content_words": float64(r.a.content),
			"domain_words":  float64(r.a.domain),
			"unknown_words": float64(r.a.unknown),
			"corrected":     float64(r.a.corrected),
			"off_topic":     b2f(r.a.offTopic),
			"embedding":     b2f(r.embedded),
		}
	}
	n := r.short
	var buf []float64
	if s != nil {
		buf = s.feats[:0]
	}
	buf = slices.Grow(buf, n*len(featureNames)) // one allocation for all, at most
	res.Candidates = make([]Candidate, n)
	first := 0 // the top candidate's features: buf[first:]
	for i := 0; i < n; i++ {
		f := features(r, i, buf[len(buf):len(buf)])
		res.Candidates[i] = Candidate{ID: ids[r.cands[i].entry], Score: cal.predict(f)}
		buf = buf[:len(buf)+len(f)]
	}
	// Re-rank the short list by calibrated probability: it weighs margin
	// and coverage, which the fused score alone does not. Stable, so ties
	// keep the fused order; by hand, since n ≤ MaxCandidates.
	top := 0
	for i := 1; i < n; i++ {
		c := res.Candidates[i]
		j := i
		for ; j > 0 && res.Candidates[j-1].Score < c.Score; j-- {
			res.Candidates[j] = res.Candidates[j-1]
		}
		res.Candidates[j] = c
		if j == 0 {
			top = i
		}
	}
	if s != nil {
		s.feats = buf[:0]
	}
	if len(res.Candidates) > MaxCandidates {
		res.Candidates = res.Candidates[:MaxCandidates]
	}
	if n > 0 {
		res.Confidence = res.Candidates[0].Score
		if explain {
			first = top * len(featureNames)
			for i, name := range baseFeatures {
				res.Features[name] = buf[first+i]
			}
		}
	}
	switch {
	case r.a.offTopic:
		// A request for content (erotica, sexting, role-play) is out of
		// scope whatever it matches: its words are the domain's words.
		res.Decision = OutOfScope
	case n > 0 && res.Confidence >= th.Answer:
		res.Decision = Answer
	case n > 0 && res.Confidence >= th.Suggest:
		// Suggested even without a domain word: the lexicon cannot list
		// every word of the field ("girth", "dental dam"), and "did you
		// mean" is a cheap mistake where "out of scope" is a rude one.
		res.Decision = Suggest
	case r.a.domain == 0 && (r.rv.probs == nil || r.rv.none >= outOfScopeNone):
		// Out of scope only when plainly so: no word of the domain, and
		// the ranker (when there is one) agrees that nothing here fits.
		res.Decision = OutOfScope
	default:
		res.Decision = Queue
	}
	return res
}

// baseFeatures are the calibration model's raw inputs, in order.
var baseFeatures = []string{"score", "margin", "bm25", "cos", "coverage", "entry_coverage", "missing", "meta", "pool", "qlen", "domain", "domain_any", "unknown", "top", "anchor",
	"p", "p_margin", "p_top", "p_none", "ranked"}

// interacting are the raw features whose pairwise products the model also
// sees: a linear model cannot express "a high score means little when the
// question's weightiest word is missing", a product can.
var interacting = []int{0, 1, 5, 6, 8, 9, 10, 15, 16}

// featureNames are all the model's inputs: the raw ones, then the products.
var featureNames = func() []string {
	names := append([]string(nil), baseFeatures...)
	for i, a := range interacting {
		for _, b := range interacting[i:] {
			names = append(names, baseFeatures[a]+"*"+baseFeatures[b])
		}
	}
	return names
}()

// features computes the calibration inputs for candidate i of r, appended
// to dst (nil is fine).
func features(r ranking, i int, dst []float64) []float64 {
	c := r.cands[i]
	other := 0.0
	if i == 0 {
		if len(r.cands) > 1 {
			other = r.cands[1].fused
		}
	} else {
		other = r.cands[0].fused
	}
	a := r.a
	content := float64(max(a.content, 1))
	domAny, top := 0.0, 0.0
	if a.domain > 0 {
		domAny = 1
	}
	if i == 0 {
		top = 1
	}
	f := append(dst,
		c.fused,
		c.fused-other,
		c.bm25,
		c.cos,
		c.cov,
		c.ecov,
		c.miss,
		c.meta,
		c.pool,
		math.Log1p(float64(a.content)),
		float64(a.domain)/content,
		domAny,
		float64(a.unknown)/content,
		top,
		r.anchor,
	)
	// The ranker's verdict: this entry's probability, its lead over the
	// best other entry, whether it is the ranker's first, and how sure the
	// ranker is that no entry fits. All zero for an entry the ranker does
	// not know (ranked 0), which calibration learns to read as "lexical
	// evidence only".
	var p, pm, pt, pn, known float64
	if r.rv.probs != nil {
		if cl := r.rv.classOf[c.entry]; cl >= 0 {
			known = 1
			p = r.rv.probs[cl]
			pm = p - r.rv.max
			if len(r.rv.top) > 0 && r.rv.top[0] == c.entry {
				pt = 1
				if len(r.rv.top) > 1 {
					pm = p - r.rv.probs[r.rv.classOf[r.rv.top[1]]]
				}
			}
		}
		pn = r.rv.none
	}
	f = append(f, p, pm, pt, pn, known)
	for i, x := range interacting {
		for _, y := range interacting[i:] {
			f = append(f, f[x]*f[y])
		}
	}
	return f
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
