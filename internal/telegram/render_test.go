package telegram

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/candid-app/candid/internal/telegram/telegramtest"
)

// allSpecials is every character that is special in Telegram's HTML or
// MarkdownV2 (and in Markdown), plus quotes.
const allSpecials = `_*[]()~` + "`" + `>#+-=|{}.!<&"'\`

func TestRenderHTML(t *testing.T) {
	tests := []struct {
		name string
		md   string
		want string
	}{
		{"plain", "Hello there.", "Hello there."},
		{"html specials", `a < b > c & d "e"`, `a &lt; b &gt; c &amp; d &quot;e&quot;`},
		{"entity-looking text", "&amp; &lt;b&gt; &#60;", "&amp;amp; &amp;lt;b&amp;gt; &amp;#60;"},
		{"tags in text", "<b>not bold</b> <script>x</script>", "&lt;b&gt;not bold&lt;/b&gt; &lt;script&gt;x&lt;/script&gt;"},
		{"markdownv2 specials", "_ [ ] ( ) ~ ` # + - = | { } . !", "_ [ ] ( ) ~ ` # + - = | { } . !"},
		{"bold", "a **bold** b", "a <b>bold</b> b"},
		{"italic", "a *it* b", "a <i>it</i> b"},
		{"bold inside italic", "*it **bold** it*", "<i>it </i><b><i>bold</i></b><i> it</i>"},
		{"italic inside bold", "**b *i* b**", "<b>b </b><b><i>i</i></b><b> b</b>"},
		{"link", "see [the NHS](https://www.nhs.uk/a?b=1&c=2) now", `see <a href="https://www.nhs.uk/a?b=1&amp;c=2">the NHS</a> now`},
		{"bold link", "**[x](https://e.org)**", `<a href="https://e.org"><b>x</b></a>`},
		{"link text with specials", "[a<b>&c](https://e.org)", `<a href="https://e.org">a&lt;b&gt;&amp;c</a>`},
		{"javascript link is text", "[x](javascript:alert(1))", "[x](javascript:alert(1))"},
		{"relative link is text", "[x](/path)", "[x](/path)"},
		{"tg link is text", "[x](tg://user?id=1)", "[x](tg://user?id=1)"},
		{"mailto link", "[mail](mailto:a@e.org)", `<a href="mailto:a@e.org">mail</a>`},
		{"quote in href", `[x](https://e.org/"onclick)`, `<a href="https://e.org/%22onclick">x</a>`},
		{"unclosed bold", "a **b", "a **b"},
		{"unclosed italic", "a *b", "a *b"},
		{"lone stars", "5 * 3 * 2 = 30", "5 * 3 * 2 = 30"},
		{"empty bold", "****", "****"},
		{"bracket only", "[not a link] (x)", "[not a link] (x)"},
		{"bullets", "Causes:\n\n- one\n- **two**", "Causes:\n\n• one\n• <b>two</b>"},
		{"star bullets", "* one\n* *two*", "• one\n• <i>two</i>"},
		{"line breaks kept", "Call 999\nText 85258", "Call 999\nText 85258"},
		{"paragraphs", "p1\n\n\n\np2", "p1\n\np2"},
		{"crlf", "a\r\nb\r\n\r\nc", "a\nb\n\nc"},
		{"invalid utf8", "a\xffb", "a\uFFFDb"},
		{"emoji", "🙂 ok", "🙂 ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := renderHTML(tt.md, MaxMessageLength)
			if len(got) != 1 {
				t.Fatalf("got %d chunks: %q", len(got), got)
			}
			if got[0] != tt.want {
				t.Errorf("renderHTML(%q)\n got %q\nwant %q", tt.md, got[0], tt.want)
			}
			if _, err := telegramtest.ParseHTML(got[0]); err != nil {
				t.Errorf("Telegram would refuse %q: %v", got[0], err)
			}
		})
	}
}

func TestRenderEmpty(t *testing.T) {
	for _, md := range []string{"", "   ", "\n\n\n", " \t \n "} {
		if got := renderHTML(md, MaxMessageLength); len(got) != 0 {
			t.Errorf("renderHTML(%q) = %q, want nothing", md, got)
		}
	}
}

// TestRenderEverySpecialCharacter checks that each special character, alone
// and in every markup context, reaches the asker exactly as written.
func TestRenderEverySpecialCharacter(t *testing.T) {
	for _, c := range allSpecials {
		s := string(c)
		for _, md := range []string{
			s, "x" + s + "y", "**b" + s + "b**", "*i" + s + "i*", "[l" + s + "l](https://e.org/)",
			s + s + s, "- " + s,
		} {
			chunks := renderHTML(md, MaxMessageLength)
			if len(chunks) != 1 {
				t.Fatalf("%q: %d chunks", md, len(chunks))
			}
			vis, err := telegramtest.ParseHTML(chunks[0])
			if err != nil {
				t.Fatalf("%q rendered as %q, which Telegram refuses: %v", md, chunks[0], err)
			}
			if !strings.Contains(vis, s) {
				t.Errorf("%q: visible text %q lost %q", md, vis, s)
			}
		}
	}
	// All together, in one line, with markup around.
	md := "**" + allSpecials + "** " + allSpecials + " *" + allSpecials + "x*"
	vis, err := telegramtest.ParseHTML(renderHTML(md, MaxMessageLength)[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(vis, allSpecials) {
		t.Errorf("visible %q does not contain %q", vis, allSpecials)
	}
}

func TestRenderSplit(t *testing.T) {
	para := strings.Repeat("word ", 150) + "end." // ~750 characters
	long := strings.Repeat(para+"\n\n", 12)       // ~9000 characters
	tests := []struct {
		name      string
		md        string
		limit     int
		minChunks int
	}{
		{"paragraphs", long, MaxMessageLength, 3},
		{"one long paragraph of lines", strings.Repeat("line of text that goes on\n", 400), MaxMessageLength, 3},
		{"one long line of words", strings.Repeat("**bold** [link](https://e.org) plain & <b> ", 400), MaxMessageLength, 3},
		{"one enormous word", strings.Repeat("x", 9000), MaxMessageLength, 3},
		{"enormous bold word", "**" + strings.Repeat("y", 9000) + "**", MaxMessageLength, 3},
		{"escapes at the edge", strings.Repeat("&", 9000), MaxMessageLength, 3},
		{"emoji at the edge", strings.Repeat("🙂", 5000), MaxMessageLength, 3},
		{"small limit", "Hello **world**, this is [a link](https://e.org) & more.\n\n- a\n- b", 7, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chunks := renderHTML(tt.md, tt.limit)
			if len(chunks) < tt.minChunks {
				t.Fatalf("got %d chunks, want at least %d", len(chunks), tt.minChunks)
			}
			var all strings.Builder
			for i, c := range chunks {
				vis, err := telegramtest.ParseHTML(c)
				if err != nil {
					t.Fatalf("chunk %d refused: %v\n%q", i, err, c)
				}
				if n := utf16Len(vis); n > tt.limit || n == 0 {
					t.Fatalf("chunk %d has %d visible characters (limit %d)", i, n, tt.limit)
				}
				if !utf8.ValidString(vis) {
					t.Fatalf("chunk %d is not valid UTF-8 (split inside a character)", i)
				}
				all.WriteString(vis)
			}
			// Nothing but separators is lost.
			strip := func(s string) string { return strings.NewReplacer(" ", "", "\n", "", "•", "").Replace(s) }
			want, _ := telegramtest.ParseHTML(strings.Join(renderHTML(tt.md, 1<<30), ""))
			if strip(all.String()) != strip(want) {
				t.Errorf("split lost or changed text")
			}
		})
	}
}

func TestRenderSplitPrefersParagraphs(t *testing.T) {
	p := strings.Repeat("a", 3000)
	chunks := renderHTML(p+"\n\n"+p+"\n\n"+p, MaxMessageLength)
	if len(chunks) != 3 {
		t.Fatalf("got %d chunks, want 3 (one per paragraph)", len(chunks))
	}
	for i, c := range chunks {
		if c != p {
			t.Errorf("chunk %d is not exactly paragraph %d", i, i)
		}
	}
	small := strings.Repeat("b", 1000)
	chunks = renderHTML(small+"\n\n"+small+"\n\n"+small+"\n\n"+small+"\n\n"+small, MaxMessageLength)
	if len(chunks) != 2 || chunks[0] != strings.Join([]string{small, small, small, small}, "\n\n") {
		t.Errorf("paragraphs were not packed greedily: %d chunks", len(chunks))
	}
}

func TestStripTags(t *testing.T) {
	md := "**a** & <b> [x](https://e.org/?a=1&b=2) \"q\""
	got := stripTags(renderHTML(md, MaxMessageLength)[0])
	if want := `a & <b> x "q"`; got != want {
		t.Errorf("stripTags = %q, want %q", got, want)
	}
}

func FuzzRender(f *testing.F) {
	for _, s := range []string{"", "**a**", "*a*", "[a](https://b)", allSpecials, "- x\n- y\n\nz", "**[*x*](https://e.org)**", "&amp;"} {
		f.Add(s, 50)
	}
	f.Fuzz(func(t *testing.T, md string, limit int) {
		if limit < 2 || limit > 5000 {
			limit = 2 + (limit%5000+5000)%5000
		}
		for i, c := range renderHTML(md, limit) {
			vis, err := telegramtest.ParseHTML(c)
			if err != nil {
				t.Fatalf("chunk %d of %q refused: %v\n%q", i, md, err, c)
			}
			if n := utf16Len(vis); n > limit || n == 0 {
				t.Fatalf("chunk %d: %d visible characters, limit %d", i, n, limit)
			}
		}
	})
}
