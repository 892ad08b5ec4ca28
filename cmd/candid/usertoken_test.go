package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestUserTokenCLI: make a token with a lifetime, list it by ID, revoke it,
// with clear errors for bad input.
func TestUserTokenCLI(t *testing.T) {
	env := map[string]string{"CANDID_DATA": t.TempDir()}
	if code, _, errs := runCLI(t, "", env, "user", "add", "--role", "moderator", "bot"); code != 0 {
		t.Fatalf("add: %d %s", code, errs)
	}
	code, out, errs := runCLI(t, "", env, "user", "token", "--expires", "30d", "bot")
	if code != 0 || !strings.Contains(out, "valid until") {
		t.Fatalf("token: %d %q %s", code, out, errs)
	}
	id := regexp.MustCompile(`ID ([0-9a-f]{12})`).FindStringSubmatch(out)
	if id == nil {
		t.Fatalf("no token ID in %q", out)
	}
	code, out, _ = runCLI(t, "", env, "user", "token", "--list", "bot")
	if code != 0 || !strings.Contains(out, id[1]) || strings.Contains(out, "cnd_") {
		t.Fatalf("list: %d %q", code, out)
	}
	for _, bad := range [][]string{
		{"user", "token", "--expires", "forever", "bot"},
		{"user", "token", "--expires", "400d", "bot"},
		{"user", "token", "--expires"},
		{"user", "token", "--revoke", "000000000000", "bot"},
		{"user", "token", "--list", "nobody"},
	} {
		if code, _, errs := runCLI(t, "", env, bad...); code == 0 || errs == "" {
			t.Errorf("%v: exit %d, stderr %q; want an error", bad, code, errs)
		}
	}
	if code, out, errs := runCLI(t, "", env, "user", "token", "--revoke", id[1], "bot"); code != 0 || !strings.Contains(out, "Revoked") {
		t.Fatalf("revoke: %d %q %s", code, out, errs)
	}
	if _, out, _ = runCLI(t, "", env, "user", "token", "--list", "bot"); !strings.Contains(out, "no API tokens") {
		t.Errorf("after revoking: %q", out)
	}
}
