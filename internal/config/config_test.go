package config

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "candid.yaml")
	os.WriteFile(file, []byte("listen: 127.0.0.1:1\nclinic:\n  name: From File\n  region: UK\nretention:\n  ticket_days: 7\n"), 0o600)
	c, rest, err := Load("serve", []string{"--config", file, "--listen", "127.0.0.1:3", "extra"},
		env(map[string]string{"CANDID_LISTEN": "127.0.0.1:2", "CANDID_CLINIC_NAME": "From Env"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:3" || c.ClinicName != "From Env" || c.Region != "UK" || c.TicketRetentionDays != 7 || c.RetentionDays != 30 {
		t.Fatalf("got %+v", c)
	}
	if len(rest) != 1 || rest[0] != "extra" {
		t.Fatalf("rest = %v", rest)
	}
}

func TestErrorsNameTheKey(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o600)
		return p
	}
	big := write("big.yaml", strings.Repeat("#", MaxFileSize+1))
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantKey string
		wantMsg string
	}{
		{"bad region env", nil, map[string]string{"CANDID_REGION": "MARS"}, "clinic.region", "one of US, UK, EU, ES, MX, INTL"},
		{"bad trusted proxy", nil, map[string]string{"CANDID_TRUSTED_PROXIES": "10.0.0.0/8, proxy.internal"}, "trusted_proxies", "CIDR range"},
		{"bad days flag", []string{"--retention-ticket-days", "0"}, nil, "retention.ticket_days", "from 1 to 365"},
		{"not a number", []string{"--retention-conversation-days", "ten"}, nil, "retention.conversation_days", "whole number"},
		{"bad url", nil, map[string]string{"CANDID_BOOKING_URL": "javascript:alert(1)"}, "clinic.booking_url", "http(s) URL"},
		{"threshold range", []string{"--match-answer-threshold", "1.5"}, nil, "match.answer_threshold", "between 0 and 1"},
		{"thresholds order", []string{"--match-answer-threshold", "0.5", "--match-suggest-threshold", "0.7"}, nil, "match.suggest_threshold", "not be above"},
		{"unknown file key", []string{"--config", write("u.yaml", "clinic:\n  nmae: x\n")}, nil, "clinic.nmae", "unknown key"},
		{"embeddings url", nil, map[string]string{"CANDID_EMBEDDINGS_BASE_URL": "file:///etc/passwd"}, "match.embeddings.base_url", "http(s) URL"},
		{"embeddings weight", []string{"--match-embeddings-weight", "2"}, nil, "match.embeddings.weight", "between 0 and 1"},
		{"embeddings timeout", []string{"--config", write("e.yaml", "match:\n  embeddings:\n    timeout_ms: 0\n")}, nil, "match.embeddings.timeout_ms", "from 10 to 10000"},
		{"bad store", []string{"--store", "mysql"}, nil, "store", "bolt, redis"},
		{"empty data", []string{"--data", ""}, nil, "data", "empty"},
		{"malformed yaml", []string{"--config", write("m.yaml", "listen: [unclosed\n")}, nil, "", "not valid YAML"},
		{"oversized file", []string{"--config", big}, nil, "", "at most"},
		{"missing file", []string{"--config", filepath.Join(dir, "nope.yaml")}, nil, "", "cannot read"},
		{"alias", []string{"--config", write("a.yaml", "a: &x 1\nb: *x\n")}, nil, "", "aliases"},
		{"unknown flag", []string{"--nope"}, nil, "", "not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Load("serve", tt.args, env(tt.env), io.Discard)
			if err == nil {
				t.Fatal("no error")
			}
			var ce *Error
			if tt.wantKey != "" && (!errors.As(err, &ce) || ce.Key != tt.wantKey) {
				t.Fatalf("error %q does not name key %s", err, tt.wantKey)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("error %q does not say %q", err, tt.wantMsg)
			}
		})
	}
}

func TestReferenceListsEveryKey(t *testing.T) {
	var b strings.Builder
	Reference(&b)
	for _, k := range Keys() {
		if !strings.Contains(b.String(), "`"+k+"`") {
			t.Errorf("reference misses %s", k)
		}
	}
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.Contains(line, "`telegram.token`") && !strings.Contains(line, "**Secret:**") {
			t.Errorf("the token is not marked secret: %s", line)
		}
	}
}
