package match

import (
	"slices"
	"strings"
	"testing"
)

func TestAskingParts(t *testing.T) {
	for _, tc := range []struct {
		text  string
		parts []string
		story bool
	}{
		{"cant get hard", nil, false},
		{"", nil, false},
		{"Is this normal? Thanks.", nil, false},
		// Two questions in two sentences: both ask.
		{"how do i last longer in bed? and where do i get tested for chlamydia", []string{"how do i last longer in bed", "and where do i get tested for chlamydia"}, false},
		// A story: only the sentence that asks.
		{"We have been together for six years. Since the baby we barely touch. I love him. Is it normal to not want sex anymore?",
			[]string{"Is it normal to not want sex anymore"}, true},
		// A story that never asks: its last sentence.
		{"We have been together six years. Since the baby we barely touch. I just want to feel close again.",
			[]string{"I just want to feel close again"}, true},
		// Hostile: many question marks, no words.
		{strings.Repeat("?", 5000), nil, false},
	} {
		parts, story := askingParts(tc.text)
		if !slices.Equal(parts, tc.parts) || story != tc.story {
			t.Errorf("askingParts(%.60q) = %q, %v; want %q, %v", tc.text, parts, story, tc.parts, tc.story)
		}
	}
	// At most maxAsking parts, however many questions.
	many := strings.Repeat("how do i ask this question? ", 100)
	if parts, _ := askingParts(many); len(parts) > maxAsking {
		t.Errorf("%d parts, want at most %d", len(parts), maxAsking)
	}
}
