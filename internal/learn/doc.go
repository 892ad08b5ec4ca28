// Package learn owns the machinery that Candid's learned layers share: text
// features that carry across wording (hashed words, word pairs and character
// n-grams of accent-folded text), a multinomial logistic-regression trainer,
// grouped cross-validation, and the model file format, which records the
// hash of its training data so that a stale model is caught by lint.
//
// The safety detector and the matcher each own their labels, their extra
// features and their decisions; this package knows nothing of either. It is
// pure Go with no state outside the values it returns: a Model is immutable
// and safe for concurrent use, and training is deterministic (the same data
// gives the same file, byte for byte), so `go generate` reproduces it.
package learn
