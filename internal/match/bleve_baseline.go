//go:build bleve

package match

// The bleve baseline: a general-purpose search engine (bleve v2, BM25 on an
// in-memory scorch index, English analyzer) over the same documents as the
// Matcher, for comparing accuracy (`candid faq eval` built with -tags
// bleve) and speed and memory (the benchmarks). It is behind the bleve
// build tag so that the candid binary does not link bleve (about 20 modules
// and 25 MB).

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/search/query"

	"github.com/candid-app/candid/internal/faq"
)

// BleveBaseline is a bleve index over a catalog's documents.
type BleveBaseline struct {
	idx bleve.Index
	ids []string
	// metaBoost weighs the tags + answer field, as the Matcher's Meta
	// weight does.
	metaBoost float64
}

// bleveDoc is one indexed document: a question or paraphrase in Text, or
// an entry's tags and answer in Meta.
type bleveDoc struct {
	Text string `json:"text,omitempty"`
	Meta string `json:"meta,omitempty"`
}

// NewBleveBaseline indexes cat in memory with BM25 scoring. Close it when
// done.
func NewBleveBaseline(cat *faq.Catalog) (*BleveBaseline, error) {
	m := bleve.NewIndexMapping()
	m.DefaultAnalyzer = "en"
	// NewMemOnly silently falls back to TF-IDF; BM25 needs scorch.
	m.ScoringModel = "bm25"
	dm := bleve.NewDocumentMapping()
	for _, f := range []string{"text", "meta"} {
		fm := bleve.NewTextFieldMapping()
		fm.Analyzer = "en"
		fm.Store = false
		fm.IncludeTermVectors = false
		fm.IncludeInAll = false
		dm.AddFieldMappingsAt(f, fm)
	}
	m.DefaultMapping = dm
	idx, err := bleve.NewUsing("", m, scorch.Name, scorch.Name, nil)
	if err != nil {
		return nil, fmt.Errorf("bleve: %w", err)
	}
	b := &BleveBaseline{idx: idx, metaBoost: 0.3}
	batch := idx.NewBatch()
	flush := func() error {
		if err := idx.Batch(batch); err != nil {
			return fmt.Errorf("bleve: %w", err)
		}
		batch.Reset()
		return nil
	}
	for e, en := range cat.Entries {
		b.ids = append(b.ids, en.ID)
		for k, text := range en.Texts() {
			if err := batch.Index(strconv.Itoa(e)+"."+strconv.Itoa(k), bleveDoc{Text: text}); err != nil {
				return nil, err
			}
		}
		meta := strings.Join(en.Tags, " ") + "\n" + en.Answer
		if err := batch.Index(strconv.Itoa(e)+".m", bleveDoc{Meta: meta}); err != nil {
			return nil, err
		}
		if batch.Size() >= 5000 {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return b, nil
}

// Close releases the index.
func (b *BleveBaseline) Close() error { return b.idx.Close() }

// Rank returns up to MaxCandidates entries, each scored by its best
// document (as the Matcher does), best first. Scores are bleve's raw BM25.
func (b *BleveBaseline) Rank(q string) []Candidate {
	text := query.NewMatchQuery(q)
	text.SetField("text")
	meta := query.NewMatchQuery(q)
	meta.SetField("meta")
	meta.SetBoost(b.metaBoost)
	req := bleve.NewSearchRequestOptions(query.NewDisjunctionQuery([]query.Query{text, meta}), 50, 0, false)
	res, err := b.idx.Search(req)
	if err != nil || res == nil {
		return nil
	}
	best := map[int]float64{}
	for _, h := range res.Hits {
		dot := strings.IndexByte(h.ID, '.')
		e, err := strconv.Atoi(h.ID[:dot])
		if err != nil {
			continue
		}
		if h.Score > best[e] {
			best[e] = h.Score
		}
	}
	out := make([]Candidate, 0, len(best))
	for e, s := range best {
		out = append(out, Candidate{ID: b.ids[e], Score: s})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].ID < out[j].ID
	})
	return out[:min(len(out), MaxCandidates)]
}

// Match gives bleve's ranking as a Result. A search engine has no
// abstention: any hit is answered, no hit is queued. That is the point of
// the comparison: the wrong-answer rate shows what calibration buys.
func (b *BleveBaseline) Match(q string) Result {
	c := b.Rank(q)
	r := Result{Candidates: c, Decision: Queue}
	if len(c) > 0 {
		r.Decision = Answer
		r.Confidence = 1
	}
	return r
}
