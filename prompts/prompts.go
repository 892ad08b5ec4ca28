// Package prompts embeds the prompt templates Candid sends to an LLM, so that
// they are reviewed and versioned like code and built into the binary.
//
// Each template is a text/template file whose first line declares its
// version, for example {{/* version: 1 */}}. The templates of one prompt (for
// the draft answer: draft.system.tmpl and draft.user.tmpl) carry the same
// version, and a draft records it ("gpt-4o-mini+draft.v1"), so that staff and
// auditors can tell which wording produced a draft. Change the wording, bump
// the version in both files. See docs/llm.md.
//
// The package exists because code under internal/ cannot //go:embed files
// from a parent folder; internal/llm reads the templates from FS.
package prompts

import "embed"

// FS holds the *.tmpl files of this folder as shipped.
//
//go:embed *.tmpl
var FS embed.FS
