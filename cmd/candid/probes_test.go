package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestProbes: /healthz says the process is alive even when the store is
// gone (a liveness probe must not restart a replica for a Redis outage);
// /readyz says 503 then, so traffic goes elsewhere.
func TestProbes(t *testing.T) {
	a, srv := newApp(t, nil)
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	if code, body := get("/readyz"); code != http.StatusOK || !strings.Contains(body, `"ready"`) {
		t.Fatalf("readyz: %d %s", code, body)
	}
	a.store.Close() // the store fails from now on (bbolt after Close)
	if code, body := get("/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "unavailable") {
		t.Errorf("readyz with the store down: %d %s", code, body)
	}
	if code, body := get("/healthz"); code != http.StatusOK || !strings.Contains(body, `"ok"`) {
		t.Errorf("healthz with the store down: %d %s", code, body)
	}
}
