package match

import (
	"slices"
	"strings"
	"testing"
)

func TestMarkAges(t *testing.T) {
	tests := []struct {
		in   string
		want bool // olderTerm added
	}{
		{"is sex still possible at 70", true},
		{"we are in our 60s", true},
		{"we are in our 60's", true},
		{"my wife is 66 and i am 71", true},
		{"she is 75 years old", true},
		{"a 70yo man", true},
		{"sex in our seventies", true},
		{"im 28 and still a virgin", false},
		{"i last 50 minutes", false},
		{"after 50 years together", false},
		{"we are in our 65s", false}, // not a decade
		{"i took 100 mg", false},
		{"150 reasons", false},
		{"", false},
	}
	for _, tt := range tests {
		words := tokenize(cleanText(tt.in, 0))
		got := markAges(words)
		if has := slices.Contains(got, olderTerm); has != tt.want {
			t.Errorf("markAges(%q) = %q: has %q = %v, want %v", tt.in, strings.Join(got, " "), olderTerm, has, tt.want)
		}
		if !tt.want && len(got) != len(words) {
			t.Errorf("markAges(%q) changed the words: %q", tt.in, got)
		}
	}
}
