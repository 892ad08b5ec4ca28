package web

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestNoticeShowsOnlyKnownCodes: ?notice= carries a code. A link that puts
// text there (a fake crisis number, say) shows nothing on the clinic's page.
func TestNoticeShowsOnlyKnownCodes(t *testing.T) {
	f := newLimitFixture(t, 60, 10)
	tests := []struct {
		name, query, want, never string
	}{
		{"known code", "limited", limitedFormText, ""},
		{"free text", "Call 0900 123 456 now, our new crisis line", "", "0900 123 456"},
		{"markup", "<b>hi</b>", "", "<b>hi</b>"},
		{"empty", "", "", ""},
		{"oversized", strings.Repeat("x", 10000), "", "xxxxxxxx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := f.asker().Get(f.srv.URL + "/?notice=" + url.QueryEscape(tt.query))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			page := string(b)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if tt.want != "" && !strings.Contains(page, tt.want) {
				t.Errorf("the page does not show %q", tt.want)
			}
			if tt.want == "" && strings.Contains(page, `class="notice"`) {
				t.Error("the page shows a notice for an unknown code")
			}
			if tt.never != "" && strings.Contains(page, tt.never) {
				t.Errorf("the page shows text from its address: %q", tt.never)
			}
		})
	}
}

// TestFormObeysClientLimit: the form path is limited per client address like
// the API (fresh cookies from one address used to open a ticket each).
func TestFormObeysClientLimit(t *testing.T) {
	f := newLimitFixture(t, 60, 3)
	c := spendClient(t, f)
	resp := f.form(t, c, ordinary)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != noticeURL("limited") {
		t.Fatalf("form from a spent address: %d to %q, want the limit notice", resp.StatusCode, loc)
	}
	if page := f.page(t, c); strings.Contains(page, ordinary) {
		t.Error("a message over the address budget was handled")
	}
}

// TestCookieMustBeSigned: a cookie value this server did not sign (planted
// or guessed, or of the old unsigned shape) is never a session: the asker
// gets a new cookie and none of the planted session's history.
func TestCookieMustBeSigned(t *testing.T) {
	f := newLimitFixture(t, 60, 10)
	victim := f.asker()
	if resp := f.form(t, victim, ordinary); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("form: %d", resp.StatusCode)
	}
	u, _ := url.Parse(f.srv.URL)
	var signed string
	for _, ck := range victim.Jar.Cookies(u) {
		if ck.Name == CookieName {
			signed = ck.Value
		}
	}
	id, sig, ok := strings.Cut(signed, ".")
	if !ok || len(id) != 22 || len(sig) != 22 {
		t.Fatalf("cookie %q is not an ID and a signature", signed)
	}
	other := strings.Repeat("A", 22)
	for name, v := range map[string]string{
		"unsigned ID":          id,
		"signature of another": other + "." + sig,
		"tampered signature":   id + "." + strings.Repeat("A", 22),
		"hostile":              "<script>" + strings.Repeat("x", 5000),
		"empty":                "",
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", f.srv.URL+"/", nil)
			req.AddCookie(&http.Cookie{Name: CookieName, Value: v})
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(b), ordinary) {
				t.Error("a cookie the server did not sign opened the chat's history")
			}
			var fresh string
			for _, ck := range resp.Cookies() {
				if ck.Name == CookieName {
					fresh = ck.Value
				}
			}
			if fresh == "" || fresh == v {
				t.Errorf("no new cookie issued for %q", v)
			}
		})
	}
	// The signed cookie still opens its own history.
	if page := f.page(t, victim); !strings.Contains(page, ordinary) {
		t.Error("the signed cookie lost its history")
	}
}

// TestSecureCookieHostPrefix: with secure cookies the name has the __Host-
// prefix, which browsers let only this host set (no subdomain can plant it).
func TestSecureCookieHostPrefix(t *testing.T) {
	f := newFixture(t, Options{SecureCookies: true})
	resp, _ := f.post(t, "/api/v1/chat/messages", "application/json", `{"text":"hi"}`)
	var ck *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-"+CookieName {
			ck = c
		}
	}
	if ck == nil || !ck.Secure || ck.Path != "/" || ck.Domain != "" {
		t.Fatalf("cookies %v: want a Secure __Host-%s with Path=/ and no Domain", resp.Cookies(), CookieName)
	}
}
