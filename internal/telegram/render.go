package telegram

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxMessageLength is Telegram's limit for one message: 4096 characters of
// text after entity parsing, counted in UTF-16 code units (an emoji outside
// the Basic Multilingual Plane counts twice). Tags do not count; an escaped
// "&lt;" counts as one.
const MaxMessageLength = 4096

// span is a run of text with one style. Text is plain (unescaped).
type span struct {
	text   string
	bold   bool
	italic bool
	href   string // a vetted http(s) URL, or ""
}

// piece is a rendered, self-contained fragment: every tag it opens it also
// closes, so pieces can be joined or sent separately without breaking the
// HTML.
type piece struct {
	html string
	n    int // visible length in UTF-16 code units
}

// renderHTML converts the engine's Markdown subset (paragraphs, "- " bullets,
// **bold**, *italic*, [text](https://url)) to Telegram HTML and splits it
// into messages of at most limit visible characters: on paragraph
// boundaries first, then lines, then words, and only as a last resort inside
// a word (never inside a tag, an entity or a UTF-16 surrogate pair).
//
// Everything that is not markup is escaped, so "<", ">", "&" and MarkdownV2's
// specials (_*[]()~`>#+-=|{}.!) reach the asker exactly as written.
func renderHTML(md string, limit int) []string {
	if limit <= 0 {
		limit = MaxMessageLength
	}
	md = strings.ToValidUTF8(md, "\uFFFD")
	md = strings.ReplaceAll(md, "\r\n", "\n")
	md = strings.ReplaceAll(md, "\r", "\n")

	var chunks []string
	var cur []string // rendered paragraphs of the current chunk
	curN := 0
	flush := func() {
		if len(cur) > 0 {
			chunks = append(chunks, strings.Join(cur, "\n\n"))
			cur, curN = nil, 0
		}
	}
	for _, para := range paragraphs(md) {
		lines := make([][]span, len(para))
		for i, l := range para {
			lines[i] = parseLine(l)
		}
		p := joinPieces(renderLines(lines), "\n")
		if p.n > limit {
			// Too long for one message: it gets messages of its own.
			flush()
			for _, c := range splitParagraph(lines, limit) {
				chunks = append(chunks, c.html)
			}
			continue
		}
		sep := 0
		if len(cur) > 0 {
			sep = 2
		}
		if curN+sep+p.n > limit {
			flush()
			sep = 0
		}
		cur = append(cur, p.html)
		curN += sep + p.n
	}
	flush()
	return chunks
}

// paragraphs splits text at blank lines; each paragraph is its lines with
// trailing blanks trimmed.
func paragraphs(md string) [][]string {
	var out [][]string
	var cur []string
	for _, l := range strings.Split(md, "\n") {
		l = strings.TrimRight(l, " \t")
		if strings.TrimSpace(l) == "" {
			if len(cur) > 0 {
				out = append(out, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, l)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// parseLine turns one line into spans: a leading "- " (or "* ", as
// internal/markup accepts) becomes a bullet, since Telegram has no list
// markup; the rest is inline markup. Unlike internal/markup's web rendering,
// line breaks inside a paragraph are kept: in a chat they are what the
// author meant (crisis numbers one per line).
func parseLine(line string) []span {
	trimmed := strings.TrimLeft(line, " \t")
	if strings.HasPrefix(trimmed, "- ") || strings.HasPrefix(trimmed, "* ") {
		return append([]span{{text: "• "}}, parseInline(strings.TrimLeft(trimmed[2:], " "), false, false, "")...)
	}
	return parseInline(line, false, false, "")
}

// parseInline parses **bold**, *italic* and [text](url) with nesting. An
// opener without its closer is plain text, so no input can produce
// unbalanced tags.
func parseInline(s string, bold, italic bool, href string) []span {
	var out []span
	var plain strings.Builder
	emit := func() {
		if plain.Len() > 0 {
			out = append(out, span{text: plain.String(), bold: bold, italic: italic, href: href})
			plain.Reset()
		}
	}
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "**") && !bold:
			if end := strings.Index(window(s[i+2:]), "**"); end > 0 && flanked(s[i+2:i+2+end]) {
				emit()
				out = append(out, parseInline(s[i+2:i+2+end], true, italic, href)...)
				i += 2 + end + 2
				continue
			}
		case s[i] == '*' && !italic && !strings.HasPrefix(s[i:], "**"):
			if end := closingStar(window(s[i+1:])); end > 0 && flanked(s[i+1:i+1+end]) {
				emit()
				out = append(out, parseInline(s[i+1:i+1+end], bold, true, href)...)
				i += 1 + end + 1
				continue
			}
		case s[i] == '[' && href == "":
			if text, target, n, ok := parseLink(window(s[i:])); ok {
				emit()
				if u, ok := safeURL(target); ok && text != "" {
					out = append(out, parseInline(text, bold, italic, u)...)
				} else {
					// Not a link we will send: keep what the author wrote.
					plain.WriteString(s[i : i+n])
				}
				i += n
				continue
			}
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		plain.WriteString(s[i : i+size])
		i += size
	}
	emit()
	return out
}

// maxSpan bounds how far an opener looks for its closer. Real emphasis and
// links are short; without a bound, text full of unmatched "*" or "[" would
// take quadratic time.
const maxSpan = 1024

func window(s string) string {
	if len(s) > maxSpan {
		return s[:maxSpan]
	}
	return s
}

// flanked reports whether emphasis content hugs its markers, as in
// Markdown: "5 * 3 * 2" is arithmetic, not italics.
func flanked(content string) bool {
	first, _ := utf8.DecodeRuneInString(content)
	last, _ := utf8.DecodeLastRuneInString(content)
	return !unicode.IsSpace(first) && !unicode.IsSpace(last)
}

// closingStar finds the single "*" that closes an italic run (not part of
// "**"), or -1.
func closingStar(s string) int {
	for j := 0; j < len(s); j++ {
		if s[j] != '*' {
			continue
		}
		if j+1 < len(s) && s[j+1] == '*' {
			j++ // skip a bold marker inside the italic run
			continue
		}
		return j
	}
	return -1
}

// parseLink parses "[text](target)" at the start of s and returns its parts
// and its length in bytes.
func parseLink(s string) (text, target string, n int, ok bool) {
	closeText := strings.Index(s, "](")
	if closeText < 1 || strings.Contains(s[1:closeText], "\n") {
		return "", "", 0, false
	}
	closeURL := strings.IndexByte(s[closeText+2:], ')')
	if closeURL < 0 {
		return "", "", 0, false
	}
	target = s[closeText+2 : closeText+2+closeURL]
	if strings.ContainsAny(target, " \n\t") {
		return "", "", 0, false
	}
	return s[1:closeText], target, closeText + 2 + closeURL + 1, true
}

// safeURL accepts absolute http(s) and mailto/tel links only: a link is a
// suggestion to the asker, and javascript: or tg: schemes are never one.
func safeURL(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		if u.Host == "" {
			return "", false
		}
	case "mailto", "tel":
		if u.Opaque == "" {
			return "", false
		}
	default:
		return "", false
	}
	return u.String(), true
}

// escapeHTML escapes what Telegram's HTML parser treats specially. Only
// these four matter; MarkdownV2's characters are plain text in HTML mode.
var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")

func escapeHTML(s string) string { return htmlEscaper.Replace(s) }

// utf16Len is the length Telegram counts.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += runeLen16(r)
	}
	return n
}

// runeLen16 is a rune's length in UTF-16 code units; input has been made
// valid UTF-8 first, so the fallback is only for safety.
func runeLen16(r rune) int {
	if n := utf16.RuneLen(r); n > 0 {
		return n
	}
	return 2
}

// renderSpans renders spans as one piece. Adjacent spans are closed and
// reopened independently: simple, and always balanced.
func renderSpans(spans []span) piece {
	var b strings.Builder
	n := 0
	for _, s := range spans {
		if s.text == "" {
			continue
		}
		if s.href != "" {
			b.WriteString(`<a href="` + escapeHTML(s.href) + `">`)
		}
		if s.bold {
			b.WriteString("<b>")
		}
		if s.italic {
			b.WriteString("<i>")
		}
		b.WriteString(escapeHTML(s.text))
		if s.italic {
			b.WriteString("</i>")
		}
		if s.bold {
			b.WriteString("</b>")
		}
		if s.href != "" {
			b.WriteString("</a>")
		}
		n += utf16Len(s.text)
	}
	return piece{html: b.String(), n: n}
}

func renderLines(lines [][]span) []piece {
	out := make([]piece, len(lines))
	for i, l := range lines {
		out[i] = renderSpans(l)
	}
	return out
}

func joinPieces(ps []piece, sep string) piece {
	var b strings.Builder
	n := 0
	for i, p := range ps {
		if i > 0 {
			b.WriteString(sep)
			n += utf16Len(sep)
		}
		b.WriteString(p.html)
		n += p.n
	}
	return piece{html: b.String(), n: n}
}

// pack greedily joins pieces with sep into groups of at most limit visible
// characters. A piece longer than limit is passed to split.
func pack(ps []piece, sep string, limit int, split func(i int) []piece) []piece {
	var out []piece
	var cur []piece
	curN := 0
	sepN := utf16Len(sep)
	flush := func() {
		if len(cur) > 0 {
			out = append(out, joinPieces(cur, sep))
			cur, curN = nil, 0
		}
	}
	for i, p := range ps {
		if p.n > limit {
			flush()
			out = append(out, split(i)...)
			continue
		}
		add := p.n
		if len(cur) > 0 {
			add += sepN
		}
		if curN+add > limit {
			flush()
			add = p.n
		}
		cur = append(cur, p)
		curN += add
	}
	flush()
	return out
}

func splitParagraph(lines [][]span, limit int) []piece {
	return pack(renderLines(lines), "\n", limit, func(i int) []piece {
		return splitLine(lines[i], limit)
	})
}

// splitLine splits a line at spaces into words (a word may cross styles:
// "**bold**," is one word) and packs them.
func splitLine(line []span, limit int) []piece {
	var words [][]span
	var cur []span
	for _, s := range line {
		rest := s.text
		for {
			i := strings.IndexByte(rest, ' ')
			if i < 0 {
				break
			}
			if i > 0 {
				cur = append(cur, span{text: rest[:i], bold: s.bold, italic: s.italic, href: s.href})
			}
			if len(cur) > 0 {
				words = append(words, cur)
				cur = nil
			}
			rest = rest[i+1:]
		}
		if rest != "" {
			cur = append(cur, span{text: rest, bold: s.bold, italic: s.italic, href: s.href})
		}
	}
	if len(cur) > 0 {
		words = append(words, cur)
	}
	ps := make([]piece, len(words))
	for i, w := range words {
		ps[i] = renderSpans(w)
	}
	return pack(ps, " ", limit, func(i int) []piece {
		return splitWord(words[i], limit)
	})
}

// splitWord cuts a word that alone exceeds the limit at rune boundaries.
func splitWord(word []span, limit int) []piece {
	var out []piece
	var cur []span
	curN := 0
	flush := func() {
		if len(cur) > 0 {
			out = append(out, renderSpans(cur))
			cur, curN = nil, 0
		}
	}
	for _, s := range word {
		var b strings.Builder
		for _, r := range s.text {
			rn := runeLen16(r)
			if curN+rn > limit {
				if b.Len() > 0 {
					cur = append(cur, span{text: b.String(), bold: s.bold, italic: s.italic, href: s.href})
					b.Reset()
				}
				flush()
			}
			b.WriteRune(r)
			curN += rn
		}
		if b.Len() > 0 {
			cur = append(cur, span{text: b.String(), bold: s.bold, italic: s.italic, href: s.href})
		}
	}
	flush()
	return out
}

// plainText renders the Markdown subset as plain text (no parse mode): the
// fallback when Telegram refuses our HTML, so that an answer still arrives.
func plainText(md string, limit int) []string {
	chunks := renderHTML(md, limit)
	out := make([]string, len(chunks))
	for i, c := range chunks {
		out[i] = stripTags(c)
	}
	return out
}

// stripTags removes our own tags and unescapes our own entities; it only
// has to understand what renderSpans writes.
func stripTags(h string) string {
	var b strings.Builder
	for i := 0; i < len(h); {
		if h[i] == '<' {
			if j := strings.IndexByte(h[i:], '>'); j >= 0 {
				i += j + 1
				continue
			}
		}
		b.WriteByte(h[i])
		i++
	}
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&quot;", `"`, "&amp;", "&").Replace(b.String())
}
