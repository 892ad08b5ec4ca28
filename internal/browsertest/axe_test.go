package browsertest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestAxeFindsViolations: the check is real: a page with an unlabelled
// field, a nameless button and unreadable contrast has serious violations;
// a plain page has none.
func TestAxeFindsViolations(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/bad" {
			w.Write([]byte(`<!doctype html><html><head><title>x</title></head><body><main><input type="text"><button></button><p style="color:#eee;background:#fff">faint</p></main></body></html>`))
			return
		}
		w.Write([]byte(`<!doctype html><html lang="en"><head><title>ok</title></head><body><main><h1>Hello</h1><label for="q">Question</label><input id="q" type="text"><button>Send</button></main></body></html>`))
	}))
	defer srv.Close()
	bctx := New(t)
	ctx, cancel := context.WithTimeout(bctx, 60*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Navigate(srv.URL+"/bad")); err != nil {
		t.Fatal(err)
	}
	bad := strings.Join(Axe(t, ctx), "\n")
	for _, rule := range []string{"label", "button-name", "color-contrast"} {
		if !strings.Contains(bad, rule) {
			t.Errorf("axe did not report %s:\n%s", rule, bad)
		}
	}
	if _, err := chromedp.Run(ctx, chromedp.Navigate(srv.URL+"/good")); err != nil {
		t.Fatal(err)
	}
	if good := Axe(t, ctx); len(good) != 0 {
		t.Errorf("a plain page has violations: %v", good)
	}
}
