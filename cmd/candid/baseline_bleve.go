//go:build bleve

package main

// Built only with -tags bleve, so the shipped binary never carries bleve:
// `go run -tags bleve ./cmd/candid faq eval --cases FILE` adds bleve's BM25
// as a baseline on the same catalogue and cases.

import (
	"github.com/candid-app/candid/internal/content"
	"github.com/candid-app/candid/internal/evaluate"
	"github.com/candid-app/candid/internal/match"
)

func init() {
	baseline = func(set *content.Set) (func(q string) evaluate.Outcome, error) {
		b, err := match.NewBleveBaseline(set.Catalog)
		if err != nil {
			return nil, err
		}
		return func(q string) evaluate.Outcome {
			r := b.Match(q)
			o := evaluate.Outcome{Decision: string(r.Decision)}
			for _, c := range r.Candidates {
				o.Candidates = append(o.Candidates, c.ID)
			}
			if r.Decision == match.Answer && len(r.Candidates) > 0 {
				o.FAQID = r.Candidates[0].ID
			}
			return o
		}, nil
	}
}
