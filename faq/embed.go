// Package faq embeds the curated content shipped with Candid: the FAQ
// entries (en/*.yaml), the slang lexicon (lexicon.yaml) and the crisis rules
// and resources (safety/*.yaml). The binary serves this copy when no --faq
// folder is given, so `candid serve` runs from anywhere; curators edit the
// files and point --faq at the folder to see changes without a rebuild.
package faq

import "embed"

// FS holds this folder as shipped.
//
//go:embed *
var FS embed.FS
