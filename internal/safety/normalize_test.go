package safety

import (
	"strings"
	"testing"
	"testing/fstest"
)

// testNormaliser has the shipped rules' vocabulary and rewrites.
func tokensOf(t *testing.T, text string) string {
	t.Helper()
	d := shipped(t)
	var out []string
	for _, tk := range d.norm.tokenize(text) {
		out = append(out, tk.text)
	}
	return strings.Join(out, " ")
}

func TestTokenize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"I don't want to live", "i do not want to live"},
		{"i dont want to live", "i do not want to live"},
		{"I’m scared", "i am scared"}, // curly apostrophe
		{"I've been", "i have been"},
		{"he's gone, she'll go, we'd go, they're here", "he is gone she will go we would go they are here"},
		{"can't won't CANNOT", "can not will not can not"},
		{"my partner's friend", "my partner friend"},
		{"kms", "kill myself"},
		{"im gonna unalive myself", "i am going to kill myself"},
		{"k1ll mys3lf", "kill myself"},
		{"r@ped", "raped"},
		{"ｋｉｌｌ", "kill"},                           // full-width (NFKC)
		{"ki\u200bll my\u00adself", "kill myself"}, // zero-width space, soft hyphen
		{"\u202ekill\u202c", "kill"},               // bidi override
		{"kіll", "kill"},                           // Cyrillic і
		{"sùicidé", "suicide"},                     // diacritics
		{"z̸a̸l̸g̸o̸", "zalgo"},                    // combining marks
		{"killlll myselfff", "kill myself"},
		{"diiiie", "die"},
		{"sooooo", "so"},      // "so" is in the vocabulary
		{"helllllo", "hello"}, // not in it: runs become two letters
		{"13yo", "13 yo"},
		{"(14f)", "14 f"},
		{"5hrs", "5 hours"},
		{"4.5 hours", "4.5 hours"},
		{"2nite", "tonight"},
		{"self-harm", "self harm"},
		{"", ""},
		{"\xff\xfe", ""}, // invalid bytes become U+FFFD, which is no word
	}
	for _, tc := range tests {
		if got := tokensOf(t, tc.in); got != tc.want {
			t.Errorf("tokenize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTokenizeSentencesAndNumbers(t *testing.T) {
	d := shipped(t)
	toks := d.norm.tokenize("I'm thirteen. It hurts! 4.5 hours")
	// i am thirteen | it hurts | 4.5 hours
	wantSent := []int32{0, 0, 0, 3, 3, 5, 5}
	if len(toks) != len(wantSent) {
		t.Fatalf("got %d tokens", len(toks))
	}
	for i, tk := range toks {
		if tk.sentStart != wantSent[i] {
			t.Errorf("token %d %q: sentence starts at %d, want %d", i, tk.text, tk.sentStart, wantSent[i])
		}
	}
	if toks[2].num != 13 || toks[5].num != 4 || toks[0].num != -1 {
		t.Errorf("numbers: %d %d %d", toks[2].num, toks[5].num, toks[0].num)
	}
}

// TestPatternSyntax exercises the pattern language on a small rule file.
func TestPatternSyntax(t *testing.T) {
	tests := []struct {
		pattern string
		yes, no []string
	}{
		{"kill myself", []string{"I could kill myself", "KILL MYSELF"}, []string{"kill him myself", "myself kill"}},
		{"want to .. die", []string{"want to die", "want to just really die"}, []string{"want to a b c d die"}},
		{"want to ..1 die", []string{"want to die", "want to just die"}, []string{"want to just really die"}},
		{"(cut|burn) myself", []string{"cut myself", "burn myself"}, []string{"hurt myself"}},
		{"(end it all|end my life)", []string{"end my life", "end it all"}, []string{"end it"}},
		{"i am [so] sad", []string{"i am sad", "im so sad"}, []string{"i am very sad"}},
		{"(me)? alone", []string{"leave me alone", "alone"}, nil},
		{"cutt* again", []string{"cutting again", "cutt again"}, []string{"cut again"}},
		{"i am <n:5-17>", []string{"i am 13", "im thirteen", "i'm 17"}, []string{"i am 18", "i am 4", "i am sad"}},
		{"<n:3-> hours", []string{"5 hours", "3 hours", "4.5 hours"}, []string{"2 hours"}},
		{"^ send nudes", []string{"send nudes", "ok. send nudes"}, []string{"please send nudes", "should i send nudes"}},
		{"send nudes $", []string{"send nudes", "send nudes. now"}, []string{"send nudes now"}},
		{"i am <n> !(weeks|days)", []string{"i am 13", "i am 13 and"}, []string{"i am 13 weeks"}},
		{"kill * self", []string{"kill my self"}, []string{"kill self"}},
		{"dying", []string{"i am dying"}, []string{"die"}},
		{"re:\\bkill(ing)? m[yi]self\\b", []string{"killing myself", "kill miself"}, []string{"skill myself"}},
		{"@s hurt", []string{"he hurt", "my partner hurt"}, []string{"hurt"}},
	}
	for _, tc := range tests {
		file := "sets:\n  s: [he, \"my partner\"]\ncategories:\n  self_harm:\n    - id: r\n      match: [" + quoteYAML(tc.pattern) + "]\n"
		d, err := LoadDetector(fstest.MapFS{"c.yaml": {Data: []byte(file)}}, "c.yaml")
		if err != nil {
			t.Errorf("pattern %q: %v", tc.pattern, err)
			continue
		}
		for _, s := range tc.yes {
			if !d.Assess(s).Crisis {
				t.Errorf("pattern %q does not match %q", tc.pattern, s)
			}
		}
		for _, s := range tc.no {
			if d.Assess(s).Crisis {
				t.Errorf("pattern %q matches %q", tc.pattern, s)
			}
		}
	}
}

func quoteYAML(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// TestGuardsAreLocal: a guard cancels only the match near it.
func TestGuardsAreLocal(t *testing.T) {
	file := `categories:
  self_harm:
    - id: r
      match: ["kill*"]
      unless: ["(killing|kills) (me|it)"]
      near: 1
`
	d, err := LoadDetector(fstest.MapFS{"c.yaml": {Data: []byte(file)}}, "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if d.Assess("this is killing me").Crisis {
		t.Error("guard did not cancel its match")
	}
	if !d.Assess("this is killing me and i will kill").Crisis {
		t.Error("guard cancelled a match far from it")
	}
}

// TestAlsoGroups: every also group must match somewhere in the message.
func TestAlsoGroups(t *testing.T) {
	file := `categories:
  medical_emergency:
    - id: r
      match: ["erection .. not go down"]
      also:
        - ["<n:3-> hours", "hurts"]
        - ["help"]
`
	d, err := LoadDetector(fstest.MapFS{"c.yaml": {Data: []byte(file)}}, "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for s, want := range map[string]bool{
		"my erection will not go down":                          false,
		"my erection will not go down, 5 hours":                 false,
		"help. my erection will not go down. it's been 5 hours": true,
		"my erection won't go down and it hurts, help":          true,
	} {
		if got := d.Assess(s).Crisis; got != want {
			t.Errorf("Assess(%q).Crisis = %v, want %v", s, got, want)
		}
	}
}
