package slack

import (
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/candid-app/candid/internal/markup"
)

// Slack's limits that shape rendering.
const (
	// sectionLimit is the longest text a section block may hold (3000
	// characters); we stay a little below it so entity escaping and the
	// bullet glyphs never push a chunk over.
	sectionLimit = 2900
	// maxMessageBlocks is Slack's limit of blocks in one message.
	maxMessageBlocks = 50
	// buttonLabelLimit is the longest button or option text (75 characters).
	buttonLabelLimit = 75
)

// escape makes text safe for a mrkdwn field: Slack reads &, < and > as control
// characters ("<!channel>", "<@U123>", "<https://x|y>"), so an asker or FAQ
// text that contains them must not be able to mention people or fake links.
func escape(s string) string {
	if !strings.ContainsAny(s, "&<>") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// linkURL prepares a vetted URL for "<url|label>": "|" and ">" would end the
// URL early, so they are percent-encoded; "&" is entity-escaped as Slack
// expects.
func linkURL(u string) string {
	u = strings.NewReplacer("|", "%7C", "<", "%3C", ">", "%3E", " ", "%20").Replace(u)
	return strings.ReplaceAll(u, "&", "&amp;")
}

// mrkdwnInline renders one line of the Markdown subset as Slack mrkdwn.
func mrkdwnInline(line string) string {
	var b strings.Builder
	for _, sp := range markup.Inline(line) {
		text := escape(sp.Text)
		switch {
		case sp.URL != "":
			if _, err := url.Parse(sp.URL); err != nil || !markup.SafeURL(sp.URL) {
				b.WriteString(text)
				continue
			}
			label := strings.TrimSpace(text)
			if label == "" {
				label = escape(sp.URL)
			}
			b.WriteString("<" + linkURL(sp.URL) + "|" + strings.ReplaceAll(label, "|", "¦") + ">")
		case sp.Bold:
			b.WriteString(wrapStyle(text, "*"))
		case sp.Italic:
			b.WriteString(wrapStyle(text, "_"))
		default:
			b.WriteString(text)
		}
	}
	return b.String()
}

// wrapStyle wraps text in a mrkdwn marker. Slack only honours a marker that
// touches a word on the inside, so surrounding spaces are moved outside.
func wrapStyle(text, marker string) string {
	trimmed := strings.TrimSpace(text)
	if trimmed == "" {
		return text
	}
	lead := text[:len(text)-len(strings.TrimLeft(text, " \t"))]
	trail := text[len(strings.TrimRight(text, " \t")):]
	return lead + marker + trimmed + marker + trail
}

// mrkdwnBlocks renders the Markdown subset as mrkdwn paragraphs and bullet
// lists, one string per block (paragraph or list), in order.
func mrkdwnBlocks(md string) []string {
	md = strings.ToValidUTF8(md, "\uFFFD")
	var out []string
	for _, blk := range markup.Parse(md) {
		if !blk.List {
			out = append(out, mrkdwnInline(blk.Items[0]))
			continue
		}
		lines := make([]string, len(blk.Items))
		for i, it := range blk.Items {
			lines[i] = "• " + mrkdwnInline(it)
		}
		out = append(out, strings.Join(lines, "\n"))
	}
	return out
}

// mrkdwn renders the whole text as one mrkdwn string.
func mrkdwn(md string) string { return strings.Join(mrkdwnBlocks(md), "\n\n") }

// mrkdwnChunks renders md and packs it into chunks of at most limit
// characters (one section block each): whole paragraphs first, then lines,
// then words, and only as a last resort inside a word — never inside an
// entity or a link.
func mrkdwnChunks(md string, limit int) []string {
	if limit <= 0 {
		limit = sectionLimit
	}
	var chunks []string
	cur := ""
	push := func(piece, sep string) {
		switch {
		case cur == "":
			cur = piece
		case runeLen(cur)+runeLen(sep)+runeLen(piece) <= limit:
			cur += sep + piece
		default:
			chunks = append(chunks, cur)
			cur = piece
		}
	}
	for _, blk := range mrkdwnBlocks(md) {
		if runeLen(blk) <= limit {
			push(blk, "\n\n")
			continue
		}
		for _, line := range strings.Split(blk, "\n") {
			if runeLen(line) <= limit {
				push(line, "\n")
				continue
			}
			for _, part := range splitLong(line, limit) {
				push(part, " ")
			}
		}
	}
	if cur != "" {
		chunks = append(chunks, cur)
	}
	return chunks
}

// tokenRE matches the pieces of rendered mrkdwn that must not be split: an
// entity or a <link|label>.
var tokenRE = regexp.MustCompile(`&(?:amp|lt|gt);|<[^<>]*>`)

// splitLong cuts one over-long line into parts of at most limit runes, at
// spaces where it can, never inside an entity or a link.
func splitLong(line string, limit int) []string {
	// Units are words, with entities and links kept whole.
	var units []string
	for _, word := range strings.Split(line, " ") {
		if runeLen(word) <= limit {
			units = append(units, word)
			continue
		}
		// A single huge word: cut it, respecting tokens.
		locs := tokenRE.FindAllStringIndex(word, -1)
		start := 0
		var piece strings.Builder
		flush := func() {
			if piece.Len() > 0 {
				units = append(units, piece.String())
				piece.Reset()
			}
		}
		add := func(s string) {
			if runeLen(piece.String())+runeLen(s) > limit {
				flush()
			}
			piece.WriteString(s)
		}
		for _, loc := range locs {
			for _, r := range word[start:loc[0]] {
				add(string(r))
			}
			tok := word[loc[0]:loc[1]]
			if runeLen(tok) > limit { // a monstrous link: keep only its label
				tok = escape(strings.TrimSuffix(tok[strings.LastIndexByte(tok, '|')+1:], ">"))
				tok = truncateRunes(tok, limit)
			}
			add(tok)
			start = loc[1]
		}
		for _, r := range word[start:] {
			add(string(r))
		}
		flush()
	}
	var parts []string
	cur := ""
	for _, u := range units {
		switch {
		case cur == "":
			cur = u
		case runeLen(cur)+1+runeLen(u) <= limit:
			cur += " " + u
		default:
			parts = append(parts, cur)
			cur = u
		}
	}
	if cur != "" {
		parts = append(parts, cur)
	}
	return parts
}

func runeLen(s string) int { return utf8.RuneCountInString(s) }

// truncateRunes shortens s to at most n runes, marking the cut with "…".
func truncateRunes(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if runeLen(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// Slack's own markup in incoming text: "<@U123>", "<@U123|name>",
// "<#C123|general>", "<!here>", "<https://x|label>", "<mailto:a@b|a@b>".
var slackMarkupRE = regexp.MustCompile(`<([@#!]?)([^<>|]*)(?:\|([^<>]*))?>`)

// plainFromSlack turns a message as Slack delivers it into the text the
// asker typed: entities are decoded, links become their text, and mentions
// of people or channels lose their IDs (a user ID must never reach the
// engine, where it could be stored or shown to moderators).
func plainFromSlack(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = slackMarkupRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := slackMarkupRE.FindStringSubmatch(m)
		kind, target, label := sub[1], sub[2], sub[3]
		switch kind {
		case "@":
			return "@someone"
		case "#":
			if label != "" {
				return "#" + label
			}
			return "#channel"
		case "!":
			if strings.HasPrefix(target, "subteam^") {
				return "@group"
			}
			if strings.HasPrefix(target, "date^") && label != "" {
				return label
			}
			return "@" + target
		}
		if label != "" && label != target {
			return label + " (" + target + ")"
		}
		return target
	})
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}
