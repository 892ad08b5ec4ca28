package llm

import "github.com/candid-app/candid/internal/faq"

// FAQ gives the drafter the curated entries the matcher suggested for a
// ticket, so that the draft is grounded in the clinic's reviewed answers
// rather than in whatever the model remembers.
type FAQ interface {
	// Curated returns the entry's question and its answer rendered with
	// the clinic's variables; ok is false for an unknown ID.
	Curated(id string) (question, answer string, ok bool)
}

// EntrySource is what a loaded catalog offers: *faq.Catalog and
// *content.Live both have this method.
type EntrySource interface {
	Entry(id string) *faq.Entry
}

// EntriesFAQ adapts an EntrySource and the clinic's template variables to
// FAQ. Pass content.Live so that a reload is seen by the next draft.
func EntriesFAQ(src EntrySource, vars faq.Vars) FAQ {
	return entriesFAQ{src: src, vars: vars}
}

type entriesFAQ struct {
	src  EntrySource
	vars faq.Vars
}

func (e entriesFAQ) Curated(id string) (string, string, bool) {
	if e.src == nil {
		return "", "", false
	}
	entry := e.src.Entry(id)
	if entry == nil {
		return "", "", false
	}
	answer, err := entry.Render(e.vars)
	if err != nil {
		return "", "", false
	}
	return entry.Question, answer, true
}
