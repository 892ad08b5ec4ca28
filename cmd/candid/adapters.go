package main

import (
	"context"
	"net/http"

	"github.com/candid-app/candid/internal/console"
	"github.com/candid-app/candid/internal/content"
	"github.com/candid-app/candid/internal/faq"
)

// adapters starts the platform adapters that are configured.
func (a *app) adapters(ctx context.Context, mux *http.ServeMux) error {
	return nil
}

// consoleFAQ lists the entries for the console (candidates, one-click answers).
func consoleFAQ(lib *content.Live, vars faq.Vars) []console.FAQEntry {
	var out []console.FAQEntry
	for _, e := range lib.Current().Catalog.Entries {
		text, err := e.Render(vars)
		if err != nil {
			continue
		}
		out = append(out, console.FAQEntry{ID: e.ID, Question: e.Question, Answer: text})
	}
	return out
}
