// Package safety owns everything Candid does to keep an asker safe before any
// other part of the engine sees a message:
//
//   - the crisis detector (Detector), which runs before the FAQ matcher and
//     whose signal wins over any FAQ score, and which also spots requests to
//     produce sexual content (Assessment.Request);
//   - the crisis resources by region (Resources) and the short reply that
//     lists them (Resources.Message);
//   - the PII scrubber (Scrub), which removes identifiers before text leaves
//     the engine for moderators, curators, the LLM or the logs.
//
// The rules and the resources are curator-editable data files
// (faq/safety/crisis.yaml and faq/safety/resources.yaml). Code in internal/
// cannot //go:embed files from faq/, so the loaders take an fs.FS; the binary
// decides where the files come from.
//
// Everything here is pure: no logging, no network, no package state other
// than constant tables. A loaded Detector or Resources is immutable and safe
// for concurrent use.
package safety
