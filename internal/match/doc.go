// Package match owns FAQ matching: it turns a free-text question into a ranked
// list of FAQ entries and a decision (answer, suggest, queue or out_of_scope)
// with a calibrated confidence.
//
// It is local, pure Go and needs no network. The pipeline, in order:
//
//   - normalise (normalize.go): NFKC, case folding, zero-width/bidi removal,
//     contractions (including apostrophe-less "cant", "dont", "im"), typo
//     correction of unknown words, the curated slang/synonym lexicon
//     (lexicon.go, faq/lexicon.yaml), a stop list that keeps negations and
//     question words, negation markers, Snowball English stemming;
//   - index (index.go): every canonical question and paraphrase is its own
//     document; tags and the answer form a lower-weight per-entry field;
//   - score (match.go): the project's own BM25 with raw scores, character
//     3–5-gram TF-IDF cosine on the best candidates, weighted fusion;
//   - decide (calibration.go): a logistic model, trained offline
//     (train_test.go, calibration.json), predicts "this entry is right" from
//     score, margin, IDF coverage and domain features; thresholds on that
//     confidence give the decision.
//
// internal/content holds the current Matcher and hot-swaps a rebuilt one.
// See docs/matcher.md for the design, the features and how to retrain.
package match

//go:generate go test . -run TestTrain -count=1 -timeout 30m -update
