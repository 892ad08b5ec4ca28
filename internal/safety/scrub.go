package safety

import (
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ScrubStats counts replacements by kind. It is for metrics: it never holds
// the values that were replaced.
type ScrubStats struct {
	Emails  int
	Phones  int
	Links   int
	Handles int
	IPs     int
	Numbers int
}

// Total is the number of replacements of every kind.
func (s ScrubStats) Total() int {
	return s.Emails + s.Phones + s.Links + s.Handles + s.IPs + s.Numbers
}

// The placeholders. They contain no digits, '@' or '.', so a later step can
// never mistake one for something to scrub.
const (
	tagEmail  = "[email]"
	tagPhone  = "[phone]"
	tagLink   = "[link]"
	tagHandle = "[handle]"
	tagIP     = "[ip]"
	tagNumber = "[number]"
)

// minLongDigits is the number of digits from which a run of digits is an
// identifier (a phone, a card, an account) rather than an age, a count, a
// duration or a year.
const minLongDigits = 7

// Scrub replaces identifiers in text with placeholders: e-mail addresses,
// phone numbers, URLs and bare domains, @handles, IP addresses, and long
// digit runs such as card numbers. Ages, durations, counts and years ("I'm
// 13", "5 hours", "in 2019", "24/7") are left alone. Invalid UTF-8 becomes
// U+FFFD and invisible format characters are dropped (they can hide an
// address from a pattern). The work is linear in the length of text.
func Scrub(text string) (string, ScrubStats) {
	var st ScrubStats
	text = strings.ToValidUTF8(text, "\uFFFD")
	if strings.IndexFunc(text, needsMapping) >= 0 {
		text = strings.Map(func(r rune) rune {
			if isInvisible(r) {
				return -1
			}
			return asciiDigit(r)
		}, text)
	}
	// Pass 1: whole words (split at white space) that are addresses.
	var b strings.Builder
	b.Grow(len(text))
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRuneInString(text[i:])
		if unicode.IsSpace(r) {
			b.WriteString(text[i : i+n])
			i += n
			continue
		}
		j := i
		for j < len(text) {
			r, n := utf8.DecodeRuneInString(text[j:])
			if unicode.IsSpace(r) {
				break
			}
			j += n
		}
		scrubWord(&b, text[i:j], &st)
		i = j
	}
	// Pass 2: phone numbers and long digit runs, which may span spaces.
	return scrubDigits(b.String(), &st), st
}

func needsMapping(r rune) bool { return isInvisible(r) || asciiDigit(r) != r }

// asciiDigit maps full-width and Arabic-Indic digits to ASCII, so a phone
// number typed in them is still found.
func asciiDigit(r rune) rune {
	switch {
	case r >= 0xFF10 && r <= 0xFF19:
		return '0' + r - 0xFF10
	case r >= 0x0660 && r <= 0x0669:
		return '0' + r - 0x0660
	case r >= 0x06F0 && r <= 0x06F9:
		return '0' + r - 0x06F0
	case r >= 0x0966 && r <= 0x096F:
		return '0' + r - 0x0966
	}
	return r
}

// scrubWord writes w with any address in it replaced.
func scrubWord(b *strings.Builder, w string, st *ScrubStats) {
	// Surrounding punctuation is kept: "(me@x.com)," → "([email]),".
	lo, hi := 0, len(w)
	for lo < hi && strings.IndexByte(`([{<"'`, w[lo]) >= 0 {
		lo++
	}
	for hi > lo && strings.IndexByte(`.,;:!?)]}>"'`, w[hi-1]) >= 0 {
		hi--
	}
	core := w[lo:hi]
	if core == "" {
		b.WriteString(w)
		return
	}
	ip := isIP(core)
	if ip && lo > 0 && w[lo-1] == '[' && strings.IndexByte(core, ']') >= 0 {
		lo-- // "[::1]:8080": the bracket belongs to the address
	}
	b.WriteString(w[:lo])
	switch {
	case ip:
		b.WriteString(tagIP)
		st.IPs++
	case isBareDomain(core):
		b.WriteString(tagLink)
		st.Links++
	default:
		scrubInWord(b, core, st)
	}
	b.WriteString(w[hi:])
}

// scrubInWord finds e-mail addresses, URLs and handles inside a word that is
// not as a whole an address ("email:me@x.com", "see:https://…").
func scrubInWord(b *strings.Builder, w string, st *ScrubStats) {
	// A URL runs to the end of the word.
	if k := urlStart(w); k >= 0 {
		scrubInWord(b, w[:k], st)
		b.WriteString(tagLink)
		st.Links++
		return
	}
	last := 0
	for i := 0; i < len(w); i++ {
		if w[i] != '@' {
			continue
		}
		if s, e, ok := emailAround(w, i); ok && s >= last {
			b.WriteString(w[last:s])
			b.WriteString(tagEmail)
			st.Emails++
			last, i = e, e-1
			continue
		}
		// A handle starts a word or follows punctuation; "x@y" and "…]@y"
		// (after a digit run that pass 2 will replace) are not handles.
		if e, ok := handleAt(w, i); ok && i >= last && (i == 0 || !isWordByte(w[i-1]) && w[i-1] != ']') {
			b.WriteString(w[last:i])
			b.WriteString(tagHandle)
			st.Handles++
			last, i = e, e-1
		}
	}
	b.WriteString(w[last:])
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c >= utf8.RuneSelf
}

func isLocalByte(c byte) bool {
	return isWordByte(c) || strings.IndexByte(".%+-", c) >= 0
}

func isDomainByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c >= utf8.RuneSelf
}

// emailAround returns the e-mail address around the '@' at at. Expansion is
// bounded by the RFC 5321 limits (64-byte local part, 255-byte domain), so a
// word made of many '@' stays linear.
func emailAround(w string, at int) (start, end int, ok bool) {
	start = at
	for start > 0 && at-start < 64 && isLocalByte(w[start-1]) {
		start--
	}
	for start < at && w[start] == '.' {
		start++
	}
	end = at + 1
	for end < len(w) && end-at <= 255 && isDomainByte(w[end]) {
		end++
	}
	for end > at+1 && (w[end-1] == '.' || w[end-1] == '-') {
		end--
	}
	if start == at || !validDomain(w[at+1:end], false) {
		return 0, 0, false
	}
	return start, end, true
}

// handleAt returns the end of an @handle starting at at: '@' then a letter or
// '_', then up to 30 letters, digits, '_' or '.'. "@5pm" is not a handle.
func handleAt(w string, at int) (int, bool) {
	i := at + 1
	if i >= len(w) || !(unicode.IsLetter(rune(w[i])) || w[i] == '_') {
		return 0, false
	}
	for i < len(w) && i-at <= 31 && (isWordByte(w[i]) && w[i] < utf8.RuneSelf || w[i] == '.') {
		i++
	}
	for i > at+1 && w[i-1] == '.' {
		i--
	}
	return i, true
}

// urlStart finds the start of a URL in w ("https://", "www."), or -1.
func urlStart(w string) int {
	if k := strings.Index(w, "://"); k > 0 {
		s := k
		for s > 0 && isSchemeByte(w[s-1]) {
			s--
		}
		if s < k && k+3 < len(w) {
			return s
		}
	}
	lw := w
	if len(lw) > 4 {
		for k := 0; k+4 <= len(lw); k++ {
			if (k == 0 || !isWordByte(lw[k-1]) && lw[k-1] != ']') && strings.EqualFold(lw[k:k+4], "www.") && k+4 < len(lw) {
				return k
			}
			k2 := strings.IndexAny(lw[k+1:], "wW")
			if k2 < 0 {
				break
			}
			k += k2
		}
	}
	return -1
}

func isSchemeByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'
}

// isIP reports IPv4 and IPv6 addresses, with an optional port or zone.
func isIP(w string) bool {
	if len(w) < 7 || len(w) > 64 || !strings.ContainsAny(w, ".:") {
		return false
	}
	// "[::1]:8080" reaches here as "::1]:8080" (the bracket is trimmed as
	// punctuation); the port does not matter.
	w = strings.TrimPrefix(w, "[")
	if k := strings.IndexByte(w, ']'); k >= 0 {
		w = w[:k]
	}
	if a, err := netip.ParseAddr(w); err == nil {
		return a.Is4() || strings.Count(w, ":") >= 2
	}
	if ap, err := netip.ParseAddrPort(w); err == nil {
		return ap.Addr().IsValid()
	}
	return false
}

// isBareDomain reports a host name with a known top-level domain, with an
// optional port and path: "example.com", "www.x.org", "bit.ly/abc". Only
// known TLDs count, so "e.g.", "3.5mm" and "file.txt" are left alone.
func isBareDomain(w string) bool {
	host := w
	if k := strings.IndexAny(w, "/?#"); k >= 0 {
		host = w[:k]
	}
	if k := strings.IndexByte(host, ':'); k >= 0 {
		port := host[k+1:]
		if port == "" || len(port) > 5 || strings.Trim(port, "0123456789") != "" {
			return false
		}
		host = host[:k]
	}
	return validDomain(host, true)
}

// validDomain checks labels and the TLD. An e-mail domain accepts any
// alphabetic TLD of two or more letters; a bare domain in prose must end in a
// known TLD.
func validDomain(h string, knownTLD bool) bool {
	if len(h) < 4 || len(h) > 253 || !strings.Contains(h, ".") {
		return false
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			if !isDomainByte(l[i]) || l[i] == '.' {
				return false
			}
		}
	}
	tld := strings.ToLower(labels[len(labels)-1])
	if len(tld) < 2 {
		return false
	}
	for i := 0; i < len(tld); i++ {
		if tld[i] < 'a' || tld[i] > 'z' {
			return false
		}
	}
	if knownTLD {
		return isKnownTLD(tld)
	}
	return true
}

// isKnownTLD lists the generic TLDs people write and the country codes most
// used for links. A bare "word.xx" with another ending stays text.
func isKnownTLD(t string) bool {
	switch t {
	case "com", "org", "net", "edu", "gov", "mil", "int", "info", "biz", "io", "co", "me", "ly", "gg",
		"app", "dev", "xyz", "tv", "to", "link", "site", "online", "store", "shop", "blog", "club", "live",
		"page", "chat", "social", "health", "clinic", "care", "help", "love", "sex", "porn", "xxx", "adult",
		"uk", "us", "ca", "au", "nz", "ie", "de", "fr", "nl", "be", "es", "pt", "it", "ch", "at", "se",
		"no", "dk", "fi", "pl", "cz", "ru", "ua", "eu", "in", "jp", "cn", "kr", "br", "mx", "ar", "za",
		"ng", "ke", "tk", "ml", "cc", "ai", "fm", "am", "ws", "su", "onion":
		return true
	}
	return false
}

// scrubDigits replaces phone numbers and long digit runs. A run is digits
// joined by separators (one to three spaces, or one of '-', '.', '/', '_',
// ',', '·', parentheses), optionally led by '+'. Runs shorter than minLongDigits digits, dates and lists of years
// are left alone.
func scrubDigits(s string, st *ScrubStats) string {
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		startsRun := isASCIIDigit(c) ||
			(c == '+' || c == '(') && i+1 < len(s) && isASCIIDigit(s[i+1])
		if !startsRun || (i > 0 && isASCIIDigit(s[i-1])) {
			i++
			continue
		}
		end, run := scanDigitRun(s, i)
		if kind := classifyRun(run); kind != "" {
			b.WriteString(s[last:i])
			b.WriteString(kind)
			if kind == tagPhone {
				st.Phones++
			} else {
				st.Numbers++
			}
			last = end
		}
		i = end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func isASCIIDigit(c byte) bool { return c >= '0' && c <= '9' }

// digitRun describes one run: its digit groups and what joined them.
type digitRun struct {
	plus     bool
	paren    bool
	groups   []int // digits per group (the first few)
	digits   int
	nGroups  int
	sepSpace bool // some groups are joined by a space
	onlySp   bool // every join is a plain space
	allYears bool // every group is a 4-digit year 1900–2099
	smallGrp bool // a one-digit group after the first
	maxGroup int  // the longest group
	// commaOnly: every join is a comma, so "1,500,000" may be an amount.
	commaOnly bool
}

// scanDigitRun reads a run starting at i and returns its end. Each byte is
// read at most twice, so a scan is linear.
func scanDigitRun(s string, i int) (int, digitRun) {
	r := digitRun{onlySp: true, allYears: true, commaOnly: true}
	if s[i] == '+' {
		r.plus = true
		r.onlySp = false
		i++
	}
	end := i
	for {
		if i+1 < len(s) && s[i] == '(' && isASCIIDigit(s[i+1]) {
			r.paren = true
			r.onlySp = false
			i++
		}
		g, v := 0, 0
		for i < len(s) && isASCIIDigit(s[i]) {
			if g < 5 {
				v = v*10 + int(s[i]-'0')
			}
			g++
			i++
		}
		if g == 0 {
			break
		}
		r.digits += g
		r.maxGroup = max(r.maxGroup, g)
		end = i
		r.nGroups++
		if len(r.groups) < 8 {
			r.groups = append(r.groups, g)
		}
		if g != 4 || v < 1900 || v > 2099 {
			r.allYears = false
		}
		if g == 1 && r.nGroups > 1 {
			r.smallGrp = true
		}
		// A join: ")" and/or one of " -.", then a digit or "(digit".
		j := i
		closed := false
		if j < len(s) && s[j] == ')' {
			closed = true
			j++
		}
		var sep byte
		switch {
		case j < len(s) && s[j] == ' ':
			// Up to three spaces: "555  123  4567" is a phone typed to
			// dodge a filter.
			sep = ' '
			for k := 0; k < 3 && j < len(s) && s[j] == ' '; k++ {
				j++
			}
		case j < len(s) && strings.IndexByte("-./_,", s[j]) >= 0:
			sep = s[j]
			j++
		case j+1 < len(s) && s[j] == 0xc2 && s[j+1] == 0xb7: // "·"
			sep = '*'
			j += 2
		}
		next := j < len(s) && (isASCIIDigit(s[j]) || s[j] == '(' && j+1 < len(s) && isASCIIDigit(s[j+1]))
		if j == i || !next {
			if closed && r.paren {
				end = i + 1
			}
			break
		}
		switch sep {
		case ' ':
			r.sepSpace = true
			r.commaOnly = false
		case ',':
			r.onlySp = false
		default:
			r.onlySp = false
			r.commaOnly = false
		}
		if closed {
			r.paren = true
			r.onlySp = false
		}
		i = j
	}
	return end, r
}

// classifyRun returns the placeholder for a run, or "" to keep it.
func classifyRun(r digitRun) string {
	if r.digits < minLongDigits {
		return ""
	}
	hasSep := r.nGroups > 1
	switch {
	case r.plus:
		return tagPhone
	case hasSep && r.allYears:
		return "" // "2019 2020 2021"
	case hasSep && r.commaOnly && isThousands(r):
		return "" // an amount: "1,500,000"
	case hasSep && isDate(r):
		return ""
	case hasSep && r.onlySp && !r.paren && r.smallGrp && r.maxGroup < minLongDigits:
		return "" // a list of counts: "1 2 3 4 5 6 7"
	case isCardLike(r):
		return tagNumber
	case r.paren:
		return tagPhone
	case hasSep && r.digits <= 15:
		return tagPhone
	case !hasSep && (r.digits == 10 || r.digits == 11):
		return tagPhone
	}
	return tagNumber
}

// isThousands reports a number grouped in thousands: 1–3 digits, then
// groups of three.
func isThousands(r digitRun) bool {
	if len(r.groups) == 0 || r.groups[0] > 3 || r.nGroups > len(r.groups) {
		return false
	}
	for _, g := range r.groups[1:] {
		if g != 3 {
			return false
		}
	}
	return true
}

// isDate reports runs shaped like dates: 2024-05-12, 12.05.2024.
func isDate(r digitRun) bool {
	if r.nGroups != 3 || r.sepSpace || len(r.groups) != 3 {
		return false
	}
	g := r.groups
	return g[0] == 4 && g[1] <= 2 && g[2] <= 2 || g[0] <= 2 && g[1] <= 2 && (g[2] == 4 || g[2] == 2)
}

// isCardLike reports payment-card shapes: 13–19 digits unseparated, or in
// groups of four (Amex: 4-6-5).
func isCardLike(r digitRun) bool {
	if r.digits < 13 || r.digits > 19 {
		return false
	}
	if r.nGroups == 1 {
		return true
	}
	if r.nGroups == 3 && len(r.groups) == 3 && r.groups[0] == 4 && r.groups[1] == 6 && r.groups[2] == 5 {
		return true
	}
	for k, g := range r.groups {
		if g != 4 && !(k == len(r.groups)-1 && g <= 4) {
			return false
		}
	}
	return true
}
