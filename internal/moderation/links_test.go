package moderation

import (
	"strings"
	"testing"

	"github.com/candid-app/candid/internal/markup"
)

func TestDefangLinks(t *testing.T) {
	const booking = "https://clinic.example/book"
	tests := []struct {
		in, want string
		removed  int
	}{
		{"[Book here](http://evil.example/pay)", "Book here [link removed: http://evil.example/pay]", 1},
		{"See [our booking page](https://clinic.example/book?x=1).", "See [our booking page](https://clinic.example/book?x=1).", 0},
		{"[a](https://CLINIC.example/other) and [b](https://clinic.example.evil.test/)", "[a](https://CLINIC.example/other) and b [link removed: https://clinic.example.evil.test/]", 1},
		{"[mail](mailto:x@evil.example)", "mail [link removed: mailto:x@evil.example]", 1},
		{"not a link [x](javascript:alert(1))", "not a link [x](javascript:alert(1))", 0}, // never rendered as a link
		{"no links at all", "no links at all", 0},
		{"[unclosed](http://evil.example", "[unclosed](http://evil.example", 0},
		{"", "", 0},
		// A label across lines renders as one link once the lines are joined.
		{"[Book\nhere](http://evil.example)", "Book\nhere [link removed: http://evil.example]", 1},
		// Removing one link must not leave another formed from its remains.
		{"[a [b](http://evil.example) c](http://evil2.example)", "a b [link removed: http://evil.example] c [link removed: http://evil2.example]", 2},
		{"[a](http://evil.example)(http://evil2.example)", "a link removed: http://evil.example [link removed: http://evil2.example]", 2},
	}
	for _, tt := range tests {
		got, n := defangLinks(tt.in, booking)
		if got != tt.want || n != tt.removed {
			t.Errorf("defangLinks(%q) = %q, %d; want %q, %d", tt.in, got, n, tt.want, tt.removed)
		}
		// Whatever it returns renders with no link outside the booking host.
		for _, b := range markup.Parse(got) {
			for _, it := range b.Items {
				for _, sp := range markup.Inline(it) {
					if sp.URL != "" && !strings.HasPrefix(strings.ToLower(sp.URL), "https://clinic.example/") {
						t.Errorf("%q still renders a link to %q", got, sp.URL)
					}
				}
			}
		}
	}
	// Without a booking URL every link goes.
	if got, n := defangLinks("[x](https://clinic.example/book)", ""); n != 1 || strings.Contains(got, "](") {
		t.Errorf("no booking URL: %q %d", got, n)
	}
	// Hostile, oversized input stays linear and link-free.
	big := strings.Repeat("[a](http://evil.example/", 20000)
	if got, _ := defangLinks(big, booking); len(got) != len(big) {
		t.Errorf("unclosed links changed length")
	}
}
