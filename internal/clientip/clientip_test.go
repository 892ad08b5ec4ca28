package clientip

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAddr(t *testing.T) {
	tests := []struct {
		name, trusted, remote string
		xff                   []string
		want                  string
	}{
		{"no proxy trusted: the header is ignored", "", "203.0.113.9:5000", []string{"198.51.100.1"}, "203.0.113.9"},
		{"untrusted peer cannot forge", "10.0.0.0/8", "203.0.113.9:5000", []string{"198.51.100.1"}, "203.0.113.9"},
		{"trusted proxy", "10.0.0.0/8", "10.1.2.3:443", []string{"198.51.100.1"}, "198.51.100.1"},
		{"a forged entry left of the client is ignored", "10.0.0.0/8", "10.1.2.3:443", []string{"1.2.3.4, 198.51.100.1"}, "198.51.100.1"},
		{"two trusted proxies", "10.0.0.0/8, 127.0.0.1", "127.0.0.1:80", []string{"198.51.100.1, 10.0.0.5"}, "198.51.100.1"},
		{"several headers", "10.0.0.0/8", "10.1.2.3:443", []string{"1.2.3.4", "198.51.100.7"}, "198.51.100.7"},
		{"garbage stops the walk at the last trusted hop", "10.0.0.0/8", "10.1.2.3:443", []string{"198.51.100.1, <script>"}, "10.1.2.3"},
		{"empty header", "10.0.0.0/8", "10.1.2.3:443", nil, "10.1.2.3"},
		{"all trusted", "10.0.0.0/8", "10.1.2.3:443", []string{"10.9.9.9"}, "10.9.9.9"},
		{"IPv6 and mapped IPv4", "::1, 10.0.0.0/8", "[::1]:80", []string{"::ffff:198.51.100.1"}, "198.51.100.1"},
		{"oversized header", "10.0.0.0/8", "10.1.2.3:443", []string{strings.Repeat("x", 10000)}, "10.1.2.3"},
		{"remote without port", "", "203.0.113.9", nil, "203.0.113.9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Parse(tt.trusted)
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			if got := r.Addr(req); got != tt.want {
				t.Errorf("Addr = %q, want %q", got, tt.want)
			}
		})
	}
	var nilR *Resolver
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = "10.1.2.3:1"
	req.Header.Set("X-Forwarded-For", "198.51.100.1")
	if got := nilR.Addr(req); got != "10.1.2.3" {
		t.Errorf("nil resolver: %q", got)
	}
}

func TestParseErrors(t *testing.T) {
	for _, bad := range []string{"proxy.example.org", "10.0.0.0/33", "1.2.3", "10.0.0.1;rm"} {
		if _, err := Parse(bad); err == nil || !strings.Contains(err.Error(), "CIDR") {
			t.Errorf("Parse(%q) = %v, want an error that names the format", bad, err)
		}
	}
	if r, err := Parse(" , "); err != nil || len(r.trusted) != 0 {
		t.Errorf("blank list: %v %v", r, err)
	}
}
