// Package faq embeds the curated content shipped with Candid: the FAQ
// entries (en/*.yaml), the slang lexicon (lexicon.yaml) and the crisis rules
// and resources (safety/*.yaml). The binary serves this copy when no --faq
// folder is given, so `candid serve` runs from anywhere; curators edit the
// files and point --faq at the folder to see changes without a rebuild.
package faq

// The safety detector's learned layer (safety/danger.model, safety/kind.model)
// is trained from ../corpus; `candid faq lint` fails when it is stale.
//
//go:generate go run ../cmd/candid faq train --corpus ../corpus --faq .

import "embed"

// FS holds this folder as shipped.
//
//go:embed *
var FS embed.FS
