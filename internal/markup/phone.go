package markup

import (
	"html"
	"regexp"
	"strings"
)

// Phone numbers in a crisis reply are links a person can tap to call or
// text, on the web chat. They are found in the reply's plain text, which is
// curated (faq/safety/resources.yaml), so a simple rule is enough: a run of
// at least three digits, possibly grouped by single spaces or hyphens and
// led by "+", that is not a count of something ("72 hours"). A number right
// after "text" or "SMS" (a word to send may sit between: "text SHOUT to
// 85258") opens the messaging app instead. Telegram and Slack get the
// numbers as text: their apps make phone numbers tappable themselves, and
// neither API promises to accept tel: links.

var (
	phoneRE = regexp.MustCompile(`\+?\d(?:[ -]?\d){2,14}`)
	// countAfter: "72 hours", "116 123 minutes" would not be numbers to call.
	countAfter = regexp.MustCompile(`^\s*(?:hours?|days?|minutes?|weeks?|years?|%|h\b|am\b|pm\b)`)
	smsBefore  = regexp.MustCompile(`(?i)\b(?:text|sms|txt|envía|envia|manda)\b(?:\s+(?:[A-Z0-9]{2,12}|la palabra\s+\S+))?(?:\s+(?:to|al|a))?\s*$`)
)

// HTMLPhones is HTML with phone numbers in the text (not in links) as tel:
// or sms: links.
func HTMLPhones(text string) string { return render(text, true) }

// linkPhones escapes s and links the phone numbers in it.
func linkPhones(s string, before string) string {
	var b strings.Builder
	last := 0
	for _, m := range phoneRE.FindAllStringIndex(s, -1) {
		start, end := m[0], m[1]
		num := s[start:end]
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' || r == '+' {
				return r
			}
			return -1
		}, num)
		if len(digits) < 3 || countAfter.MatchString(s[end:]) || start > 0 && isWord(s[start-1]) || end < len(s) && (isWord(s[end]) || s[end] == '/') {
			continue
		}
		scheme := "tel:"
		if smsBefore.MatchString(before + s[:start]) {
			scheme = "sms:"
		}
		b.WriteString(html.EscapeString(s[last:start]))
		b.WriteString(`<a class="phone" href="` + scheme + digits + `">` + html.EscapeString(num) + `</a>`)
		last = end
	}
	b.WriteString(html.EscapeString(s[last:]))
	return b.String()
}
