// Package markup owns the Markdown subset that FAQ answers and replies are
// written in (paragraphs, "- " bullets, **bold**, *italic*, [text](url)) and
// its safe rendering to HTML and plain text. Everything else in the input is
// text: raw HTML is escaped, and only http(s) and mailto links survive.
package markup

import (
	"html"
	"net/url"
	"strings"
)

// Block is a paragraph or a bullet list.
type Block struct {
	Items []string // one for a paragraph; one per bullet for a list
	List  bool
}

// Parse splits text into blocks. Lines starting with "- " or "* " form a list;
// a blank line ends a block. Lines are collected and joined once per item, so
// the work is linear in the input.
func Parse(text string) []Block {
	var blocks []Block
	var items [][]string // lines of each item of the current block
	list, open := false, false
	flush := func() {
		if open {
			b := Block{List: list}
			for _, it := range items {
				b.Items = append(b.Items, strings.Join(it, " "))
			}
			blocks = append(blocks, b)
		}
		items, open = nil, false
	}
	for _, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		t := strings.TrimSpace(line)
		if t == "" {
			flush()
			continue
		}
		item, isBullet := strings.CutPrefix(t, "- ")
		if !isBullet {
			item, isBullet = strings.CutPrefix(t, "* ")
		}
		switch {
		case isBullet:
			if !open || !list {
				flush()
				list, open = true, true
			}
			items = append(items, []string{item})
		case open && list && strings.HasPrefix(line, "  "):
			items[len(items)-1] = append(items[len(items)-1], t) // continuation of a bullet
		case open && !list:
			items[0] = append(items[0], t)
		default:
			flush()
			list, open = false, true
			items = [][]string{{t}}
		}
	}
	flush()
	return blocks
}

// Span is a run of inline text with its style.
type Span struct {
	Text   string
	Bold   bool
	Italic bool
	URL    string // a link when not empty
}

// Inline parses **bold**, *italic* and [text](url) in one line. Unclosed
// markers are kept as text.
func Inline(s string) []Span {
	var out []Span
	var b strings.Builder
	emit := func(sp Span) {
		if b.Len() > 0 {
			out = append(out, Span{Text: b.String()})
			b.Reset()
		}
		out = append(out, sp)
	}
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "**"):
			if j := strings.Index(s[i+2:], "**"); j > 0 {
				emit(Span{Text: s[i+2 : i+2+j], Bold: true})
				i += j + 4
				continue
			}
		case s[i] == '*' || s[i] == '_':
			m := s[i : i+1]
			if j := strings.Index(s[i+1:], m); j > 0 && !strings.HasPrefix(s[i+1:], " ") && (i == 0 || !isWord(s[i-1])) {
				emit(Span{Text: s[i+1 : i+1+j], Italic: true})
				i += j + 2
				continue
			}
		case s[i] == '[':
			if label, link, end, ok := linkAt(s, i); ok {
				emit(Span{Text: label, URL: link})
				i = end
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	if b.Len() > 0 {
		out = append(out, Span{Text: b.String()})
	}
	return out
}

// linkAt reads the link that starts at s[i] ('['), as HTML renders one:
// the first "](" after it, then the first ')', with a SafeURL between.
// end is the index just after the ')'.
func linkAt(s string, i int) (label, link string, end int, ok bool) {
	j := strings.Index(s[i:], "](")
	if j <= 0 {
		return "", "", 0, false
	}
	k := strings.IndexByte(s[i+j+2:], ')')
	if k <= 0 {
		return "", "", 0, false
	}
	label, link = s[i+1:i+j], s[i+j+2:i+j+2+k]
	if !SafeURL(link) {
		return "", "", 0, false
	}
	return label, link, i + j + 3 + k, true
}

// RewriteLinks replaces every link in text that keep refuses with what
// replace returns for its label and URL, and reports how many it replaced.
// It reads links exactly as HTML renders them (linkAt), across line breaks
// too (an item's lines are joined before rendering), and repeats until a
// pass replaces nothing: a replacement can join a '[' before it to a "]("
// after it into a new link, and that one must go as well. replace must not
// return a link keep refuses, or the loop would not end.
func RewriteLinks(text string, keep func(url string) bool, replace func(label, url string) string) (string, int) {
	total := 0
	for {
		var b strings.Builder
		n := 0
		for i := 0; i < len(text); {
			if text[i] == '[' {
				if label, link, end, ok := linkAt(text, i); ok {
					if keep(link) {
						b.WriteString(text[i:end])
					} else {
						b.WriteString(replace(label, link))
						n++
					}
					i = end
					continue
				}
			}
			b.WriteByte(text[i])
			i++
		}
		if n == 0 {
			return text, total
		}
		text, total = b.String(), total+n
	}
}

func isWord(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// SafeURL accepts only absolute http(s) and mailto links.
func SafeURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "https", "http":
		return u.Host != ""
	case "mailto":
		return u.Opaque != ""
	}
	return false
}

// HTML renders text as safe HTML: <p>, <ul><li>, <strong>, <em>, <a>.
func HTML(text string) string { return render(text, false) }

// render is HTML, with phone numbers linked when phones is set.
func render(text string, phones bool) string {
	var b strings.Builder
	for _, blk := range Parse(text) {
		if blk.List {
			b.WriteString("<ul>")
			for _, it := range blk.Items {
				b.WriteString("<li>")
				writeInline(&b, it, phones)
				b.WriteString("</li>")
			}
			b.WriteString("</ul>")
			continue
		}
		b.WriteString("<p>")
		writeInline(&b, blk.Items[0], phones)
		b.WriteString("</p>")
	}
	return b.String()
}

func writeInline(b *strings.Builder, s string, phones bool) {
	var before string // the item's text so far, for "text … to NUMBER"
	for _, sp := range Inline(s) {
		t := html.EscapeString(sp.Text)
		if phones && sp.URL == "" {
			t = linkPhones(sp.Text, before)
		}
		before += sp.Text
		if sp.Bold {
			t = "<strong>" + t + "</strong>"
		}
		if sp.Italic {
			t = "<em>" + t + "</em>"
		}
		if sp.URL != "" {
			t = `<a href="` + html.EscapeString(sp.URL) + `" rel="noopener noreferrer" target="_blank">` + t + "</a>"
		}
		b.WriteString(t)
	}
}

// Plain renders text without markup (links as "text (url)").
func Plain(text string) string {
	var parts []string
	for _, blk := range Parse(text) {
		var lines []string
		for _, it := range blk.Items {
			var b strings.Builder
			for _, sp := range Inline(it) {
				b.WriteString(sp.Text)
				if sp.URL != "" && sp.URL != sp.Text {
					b.WriteString(" (" + sp.URL + ")")
				}
			}
			if blk.List {
				lines = append(lines, "• "+b.String())
			} else {
				lines = append(lines, b.String())
			}
		}
		parts = append(parts, strings.Join(lines, "\n"))
	}
	return strings.Join(parts, "\n\n")
}
