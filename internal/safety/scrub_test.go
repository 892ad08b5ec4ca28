package safety

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestScrub(t *testing.T) {
	tests := []struct {
		in, want string
		stats    ScrubStats
	}{
		// e-mail
		{"mail me at jane.doe+x@example.co.uk please", "mail me at [email] please", ScrubStats{Emails: 1}},
		{"(JOHN_smith@Mail.COM),", "([email]),", ScrubStats{Emails: 1}},
		{"email:me@x.io", "email:[email]", ScrubStats{Emails: 1}},
		{"a@b.c is not one", "a@b.c is not one", ScrubStats{}},
		{"j\u200bane@example.com", "[email]", ScrubStats{Emails: 1}},
		// phones, international and local
		{"call +44 20 7946 0958 now", "call [phone] now", ScrubStats{Phones: 1}},
		{"+1 (555) 123-4567", "[phone]", ScrubStats{Phones: 1}},
		{"my number is (555) 123-4567.", "my number is [phone].", ScrubStats{Phones: 1}},
		{"555-123-4567", "[phone]", ScrubStats{Phones: 1}},
		{"555.123.4567", "[phone]", ScrubStats{Phones: 1}},
		// Shapes a red team used to get numbers past the scrubber.
		{"call 555/123/4567", "call [phone]", ScrubStats{Phones: 1}},
		{"call 555  123  4567 tonight", "call [phone] tonight", ScrubStats{Phones: 1}},
		{"555_123_4567", "[phone]", ScrubStats{Phones: 1}},
		{"555,123,4567", "[phone]", ScrubStats{Phones: 1}},
		{"555·123·4567", "[phone]", ScrubStats{Phones: 1}},
		// and what they must not swallow
		{"paid 1,500,000 pesos", "paid 1,500,000 pesos", ScrubStats{}},
		{"on 12/05/2024", "on 12/05/2024", ScrubStats{}},
		{"ages 18, 19, 20 and 21", "ages 18, 19, 20 and 21", ScrubStats{}},
		{"07700 900123", "[phone]", ScrubStats{Phones: 1}},
		{"5551234567", "[phone]", ScrubStats{Phones: 1}},
		{"text 555 1234", "text [phone]", ScrubStats{Phones: 1}},
		{"0049 30 1234567", "[phone]", ScrubStats{Phones: 1}},
		{"+33612345678", "[phone]", ScrubStats{Phones: 1}},
		{"１２３-４５６-７８９０", "[phone]", ScrubStats{Phones: 1}},
		// links and domains
		{"see https://example.com/a?b=c#d.", "see [link].", ScrubStats{Links: 1}},
		{"go to example.com/x now", "go to [link] now", ScrubStats{Links: 1}},
		{"www.x.org", "[link]", ScrubStats{Links: 1}},
		{"WWW.Example.ORG/path", "[link]", ScrubStats{Links: 1}},
		{"my onlyfans is onlyfans.com/jane", "my onlyfans is [link]", ScrubStats{Links: 1}},
		{"t.me/someone", "[link]", ScrubStats{Links: 1}},
		{"localhost:8080 and ftp://files.local/x", "localhost:8080 and [link]", ScrubStats{Links: 1}},
		// handles
		{"add me @jane_doe99 on insta", "add me [handle] on insta", ScrubStats{Handles: 1}},
		{"snap @Jane.Doe.", "snap [handle].", ScrubStats{Handles: 1}},
		{"meet @5pm", "meet @5pm", ScrubStats{}},
		// IPs
		{"from 192.168.1.20 today", "from [ip] today", ScrubStats{IPs: 1}},
		{"2001:db8::8a2e:370:7334", "[ip]", ScrubStats{IPs: 1}},
		{"[::1]:8080", "[ip]", ScrubStats{IPs: 1}},
		{"10.0.0.1:22", "[ip]", ScrubStats{IPs: 1}},
		// cards and long runs
		{"card 4111 1111 1111 1111 exp", "card [number] exp", ScrubStats{Numbers: 1}},
		{"4111111111111111", "[number]", ScrubStats{Numbers: 1}},
		{"3782 822463 10005", "[number]", ScrubStats{Numbers: 1}},
		{"order 1234567", "order [number]", ScrubStats{Numbers: 1}},
		{"ref abc12345678", "ref abc[number]", ScrubStats{Numbers: 1}},
		// things to leave alone
		{"I'm 13", "I'm 13", ScrubStats{}},
		{"it's been 5 hours", "it's been 5 hours", ScrubStats{}},
		{"3 times a week", "3 times a week", ScrubStats{}},
		{"in 2019", "in 2019", ScrubStats{}},
		{"24/7", "24/7", ScrubStats{}},
		{"between 2019 2020 and 2021", "between 2019 2020 and 2021", ScrubStats{}},
		{"on 2024-05-12 and 12.05.2024", "on 2024-05-12 and 12.05.2024", ScrubStats{}},
		{"rate 1 2 3 4 5 6 7", "rate 1 2 3 4 5 6 7", ScrubStats{}},
		{"1 2 1234567", "[phone]", ScrubStats{Phones: 1}},
		{"5.5 inches, 36-24-36, 120/80", "5.5 inches, 36-24-36, 120/80", ScrubStats{}},
		{"at 10:30, e.g. 3.5mm, file.txt, i.e. no", "at 10:30, e.g. 3.5mm, file.txt, i.e. no", ScrubStats{}},
		{"$1,000,000 and 100000", "$1,000,000 and 100000", ScrubStats{}},
		{"I'm 16, he's 25, we met 3 weeks ago", "I'm 16, he's 25, we met 3 weeks ago", ScrubStats{}},
		{"", "", ScrubStats{}},
		// invalid UTF-8 becomes U+FFFD
		{"bad \xff byte", "bad \uFFFD byte", ScrubStats{}},
		// several kinds
		{"me@x.com, +1 555 123 4567, x.com, @me, 8.8.8.8",
			"[email], [phone], [link], [handle], [ip]",
			ScrubStats{Emails: 1, Phones: 1, Links: 1, Handles: 1, IPs: 1}},
	}
	for _, tc := range tests {
		got, st := Scrub(tc.in)
		if got != tc.want || st != tc.stats {
			t.Errorf("Scrub(%q)\n got %q %+v\nwant %q %+v", tc.in, got, st, tc.want, tc.stats)
		}
	}
}

func TestScrubStatsTotal(t *testing.T) {
	_, st := Scrub("a@b.com b@c.org 555-123-4567")
	if st.Total() != 3 {
		t.Errorf("Total = %d, want 3 (%+v)", st.Total(), st)
	}
}

// TestScrubLinear checks hostile 1 MB inputs finish quickly and that doubling
// the input does not much more than double the time.
func TestScrubLinear(t *testing.T) {
	shapes := map[string]string{
		"ats":     "a@",
		"digits":  "1 ",
		"mixed":   "x@y.co 555-1234 @h http:// 1.2.3.4 www.",
		"nospace": "1-2.3(4)5+6",
	}
	for name, unit := range shapes {
		in1 := strings.Repeat(unit, (1<<20)/len(unit))
		in2 := in1 + in1
		d1 := timeScrub(in1)
		d2 := timeScrub(in2)
		if !raceEnabled && d1 > 2*time.Second {
			t.Errorf("%s: 1 MB took %v", name, d1)
		}
		if d2 > 4*d1+50*time.Millisecond {
			t.Errorf("%s: 1 MB %v, 2 MB %v: not linear", name, d1, d2)
		}
	}
}

func timeScrub(s string) time.Duration {
	best := time.Hour
	for i := 0; i < 2; i++ {
		start := time.Now()
		out, _ := Scrub(s)
		if !utf8.ValidString(out) {
			panic("invalid UTF-8")
		}
		best = min(best, time.Since(start))
	}
	return best
}
