package markup

import (
	"strings"
	"testing"
)

func TestHTML(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Hello", "<p>Hello</p>"},
		{"a **b** *c*", "<p>a <strong>b</strong> <em>c</em></p>"},
		{"line one\nline two\n\nnext", "<p>line one line two</p><p>next</p>"},
		{"- one\n- two", "<ul><li>one</li><li>two</li></ul>"},
		{"see [NHS](https://www.nhs.uk/)", `<p>see <a href="https://www.nhs.uk/" rel="noopener noreferrer" target="_blank">NHS</a></p>`},
		{"<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"},
		{"[x](javascript:alert(1))", "<p>[x](javascript:alert(1))</p>"},
		{`[x](https://a.b/"onmouseover=1)`, `<p><a href="https://a.b/&#34;onmouseover=1" rel="noopener noreferrer" target="_blank">x</a></p>`},
		{"**unclosed", "<p>**unclosed</p>"},
		{"5 * 3 = 15", "<p>5 * 3 = 15</p>"},
		{"snake_case_word", "<p>snake_case_word</p>"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := HTML(tt.in); got != tt.want {
			t.Errorf("HTML(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPlain(t *testing.T) {
	got := Plain("**Hi** [NHS](https://nhs.uk)\n\n- a\n- b")
	want := "Hi NHS (https://nhs.uk)\n\n• a\n• b"
	if got != want {
		t.Fatalf("Plain = %q, want %q", got, want)
	}
}

func FuzzHTML(f *testing.F) {
	for _, s := range []string{"**a**", "[x](https://y)", "- a\n- b", "<b>", "*_*_"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := HTML(s)
		// Whatever the input, no tag other than ours may appear.
		rest := out
		for _, tag := range []string{"<p>", "</p>", "<ul>", "</ul>", "<li>", "</li>", "<strong>", "</strong>", "<em>", "</em>", "</a>"} {
			rest = strings.ReplaceAll(rest, tag, "")
		}
		for {
			i := strings.Index(rest, `<a href="`)
			if i < 0 {
				break
			}
			j := strings.Index(rest[i:], `target="_blank">`)
			if j < 0 {
				t.Fatalf("broken anchor in %q", out)
			}
			rest = rest[:i] + rest[i+j+len(`target="_blank">`):]
		}
		if strings.ContainsAny(rest, "<>") {
			t.Fatalf("unescaped markup from %q: %q", s, out)
		}
	})
}

// TestRewriteLinks: links are found as HTML renders them; kept ones are
// copied unchanged, and what replace returns is read again until no
// refused link is left.
func TestRewriteLinks(t *testing.T) {
	text := "See [a](https://ok.example/x) and [b](https://bad.example/y).\n\n- [c\nd](https://bad.example/z)"
	keep := func(u string) bool { return strings.HasPrefix(u, "https://ok.example/") }
	got, n := RewriteLinks(text, keep, func(label, _ string) string { return label })
	if want := "See [a](https://ok.example/x) and b.\n\n- c\nd"; got != want || n != 2 {
		t.Errorf("RewriteLinks = %q, %d; want %q, 2", got, n, want)
	}
	if got, n := RewriteLinks(text, func(string) bool { return true }, nil); got != text || n != 0 {
		t.Errorf("keeping every link changed the text: %q, %d", got, n)
	}
	if got, n := RewriteLinks("[x](javascript:alert(1)) [y](", keep, nil); n != 0 || got != "[x](javascript:alert(1)) [y](" {
		t.Errorf("not links: %q, %d", got, n)
	}
}
