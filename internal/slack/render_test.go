package slack

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/candid-app/candid/internal/identity"
)

func TestMrkdwn(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "Hello there", "Hello there"},
		{"bold and italic", "**Yes.** It is *very* common.", "*Yes.* It is _very_ common."},
		{"link", "See [the clinic](https://example.org/a?b=1&c=2).", "See <https://example.org/a?b=1&amp;c=2|the clinic>."},
		{"link with pipe in URL", "[x](https://example.org/a|b)", "<https://example.org/a%7Cb|x>"},
		{"unsafe link stays text", "[click](javascript:alert(1))", "[click](javascript:alert(1))"},
		{"bullets", "Try:\n\n- one\n- two", "Try:\n\n• one\n• two"},
		{"escaping", "a < b & c > d", "a &lt; b &amp; c &gt; d"},
		{"hostile mention", "<!channel> <@U123> <https://evil.example|bank>", "&lt;!channel&gt; &lt;@U123&gt; &lt;https://evil.example|bank&gt;"},
		{"bold moves spaces outside", "** spaced ** word", " *spaced*  word"},
		{"invalid utf8", "a\xffb", "a\uFFFDb"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mrkdwn(tt.in); got != tt.want {
				t.Errorf("mrkdwn(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestMrkdwnChunks(t *testing.T) {
	para := strings.Repeat("word & more ", 200) // 2400 runes, grows with escaping
	long := strings.Repeat("x", 7000) + " [link](https://example.org/" + strings.Repeat("p", 10) + ") " + strings.Repeat("<&>", 1500)
	tests := []struct {
		name  string
		in    string
		limit int
	}{
		{"several paragraphs", para + "\n\n" + para + "\n\n" + para, sectionLimit},
		{"one huge word", long, 500},
		{"small limit", "- a\n- b\n- c\n\nd e f g h", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chunks := mrkdwnChunks(tt.in, tt.limit)
			if len(chunks) == 0 {
				t.Fatal("no chunks")
			}
			for i, c := range chunks {
				if n := utf8.RuneCountInString(c); n > tt.limit {
					t.Errorf("chunk %d has %d runes, limit %d", i, n, tt.limit)
				}
				// No chunk may start or end inside an entity.
				if strings.Count(c, "&") != strings.Count(c, "&amp;")+strings.Count(c, "&lt;")+strings.Count(c, "&gt;") {
					t.Errorf("chunk %d splits an entity: …%q", i, c[max(0, len(c)-8):])
				}
			}
		})
	}
	if got := mrkdwnChunks("", sectionLimit); len(got) != 0 {
		t.Errorf("empty text: %q", got)
	}
}

func TestPlainFromSlack(t *testing.T) {
	tests := []struct{ in, want string }{
		{"hi &amp; bye &lt;3 &gt;", "hi & bye <3 >"},
		{"ask <@U0ASKER01> and <@W123|bob>", "ask @someone and @someone"},
		{"in <#C123|general> or <#C999>", "in #general or #channel"},
		{"<!here> <!channel> <!subteam^S123|@mods>", "@here @channel @group"},
		{"see <https://example.org|this> and <https://x.org>", "see this (https://example.org) and https://x.org"},
		{"<mailto:a@b.org|a@b.org>", "a@b.org (mailto:a@b.org)"},
		{"<!date^1392734382^{date}|Feb 18, 2014>", "Feb 18, 2014"},
		{"unclosed <@U1 stays", "unclosed <@U1 stays"},
		{"bad \xff utf8", "bad \uFFFD utf8"},
	}
	for _, tt := range tests {
		if got := plainFromSlack(tt.in); got != tt.want {
			t.Errorf("plainFromSlack(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDMCommand(t *testing.T) {
	tests := []struct{ in, want string }{
		{"help", "/help"},
		{" Forget ", "/forget"},
		{"forget me", "/forget"},
		{"!privacy", "/privacy"},
		{"book.", "/book"},
		{"forget about my ex?", "forget about my ex?"},
		{"how do I help my partner", "how do I help my partner"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := dmCommand(tt.in); got != tt.want {
			t.Errorf("dmCommand(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSigner(t *testing.T) {
	s := signer{keys: identity.RandomKeys()}
	v := s.sign("p", "ask_therapist", "h_alice")
	if got, ok := s.verify("p", v, "h_alice"); !ok || got != "ask_therapist" {
		t.Fatalf("verify = %q, %v", got, ok)
	}
	for name, tc := range map[string]struct{ purpose, value, bind string }{
		"other handle":  {"p", v, "h_bob"},
		"other purpose": {"q", v, "h_alice"},
		"tampered":      {"p", strings.Replace(v, "ask_therapist", "forget", 1), "h_alice"},
		"no mac":        {"p", "ask_therapist", "h_alice"},
		"empty":         {"p", "", "h_alice"},
		"other key":     {"p", signer{keys: identity.RandomKeys()}.sign("p", "ask_therapist", "h_alice"), "h_alice"},
	} {
		if _, ok := s.verify(tc.purpose, tc.value, tc.bind); ok {
			t.Errorf("%s: verified", name)
		}
	}
}

func TestParseModerators(t *testing.T) {
	users, groups, err := parseModerators([]string{"U0MOD0001, S0MODGROUP", "W0GRID01"})
	if err != nil || !users["U0MOD0001"] || !users["W0GRID01"] || len(groups) != 1 || groups[0] != "S0MODGROUP" {
		t.Fatalf("got %v %v %v", users, groups, err)
	}
	for _, bad := range []string{"@jane", "C0CHANNEL1", "u0lower", "U0MOD0001;DROP"} {
		if _, _, err := parseModerators([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestKeyLock(t *testing.T) {
	var k keyLock
	unlockA := k.lock("a")
	done := make(chan struct{})
	go func() {
		defer close(done)
		k.lock("a")() // waits for the first holder
	}()
	k.lock("b")() // another key does not wait
	unlockA()
	<-done
	if len(k.locks) != 0 {
		t.Errorf("entries left: %d", len(k.locks))
	}
}
