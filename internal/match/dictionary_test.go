package match

import "testing"

// The speller leaves real words alone; the search must find the first and
// last lines and reject what is not a whole line.
func TestDictionary(t *testing.T) {
	for w, want := range map[string]bool{"fight": true, "fights": true, "menopause": true, "zucchinis": true, "éclairs": true, "éclair": true, "aardvark": true, "dysfuntion": false, "": false, "a\nb": false, "zzzz": false, "aaaa": false} {
		if got := isEnglishWord(w); got != want {
			t.Errorf("isEnglishWord(%q) = %v, want %v", w, got, want)
		}
	}
}
