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
