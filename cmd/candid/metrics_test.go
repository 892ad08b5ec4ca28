package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestMetricsAccess: on the main address /metrics needs the bearer token
// and is off without one; the private address serves it, asking for the
// token when one is set.
func TestMetricsAccess(t *testing.T) {
	const token = "0123456789abcdef0123"
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "candid_tickets_open 3\n") })
	tests := []struct {
		name    string
		token   string
		private bool
		auth    string
		want    int
	}{
		{"main, no token configured", "", false, "", http.StatusNotFound},
		{"main, no token configured, one sent", "", false, "Bearer " + token, http.StatusNotFound},
		{"main, none sent", token, false, "", http.StatusUnauthorized},
		{"main, wrong", token, false, "Bearer " + token + "x", http.StatusUnauthorized},
		{"main, not bearer", token, false, "Basic " + token, http.StatusUnauthorized},
		{"main, empty bearer", token, false, "Bearer ", http.StatusUnauthorized},
		{"main, oversized", token, false, "Bearer " + strings.Repeat("a", 10000), http.StatusUnauthorized},
		{"main, right", token, false, "Bearer " + token, http.StatusOK},
		{"private, no token configured", "", true, "", http.StatusOK},
		{"private, token configured, none sent", token, true, "", http.StatusUnauthorized},
		{"private, right", token, true, "Bearer " + token, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := metricsAccess{token: tt.token, h: inner}
			h := m.public()
			if tt.private {
				h = m.private()
			}
			r := httptest.NewRequest("GET", "/metrics", nil)
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.want, w.Body)
			}
			if got := strings.Contains(w.Body.String(), "candid_tickets_open"); got != (tt.want == http.StatusOK) {
				t.Errorf("metrics in the body: %v, status %d", got, w.Code)
			}
		})
	}
	// The private address serves nothing else.
	w := httptest.NewRecorder()
	metricsAccess{h: inner}.private().ServeHTTP(w, httptest.NewRequest("GET", "/console/", nil))
	if w.Code != http.StatusNotFound {
		t.Errorf("private address served /console/: %d", w.Code)
	}
}
