package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/candid-app/candid/internal/logtest"
)

func TestSecureDataDir(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T) string
		want    os.FileMode
		warned  bool
		errText string
	}{
		{"missing is made owner-only", func(t *testing.T) string { return filepath.Join(t.TempDir(), "a", "data") }, 0o700, false, ""},
		{"owner-only is kept", func(t *testing.T) string {
			d := filepath.Join(t.TempDir(), "d")
			os.Mkdir(d, 0o700)
			return d
		}, 0o700, false, ""},
		{"world-readable is tightened", func(t *testing.T) string {
			d := filepath.Join(t.TempDir(), "d")
			os.Mkdir(d, 0o755)
			os.Chmod(d, 0o755)
			return d
		}, 0o700, true, ""},
		{"group-writable is tightened", func(t *testing.T) string {
			d := filepath.Join(t.TempDir(), "d")
			os.Mkdir(d, 0o770)
			os.Chmod(d, 0o770)
			return d
		}, 0o700, true, ""},
		{"a file is refused", func(t *testing.T) string {
			f := filepath.Join(t.TempDir(), "f")
			os.WriteFile(f, nil, 0o600)
			return f
		}, 0, false, "set --data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.setup(t)
			var logs logtest.Buffer
			err := secureDataDir(dir, true, slog.New(slog.NewTextHandler(&logs, nil)))
			if tt.errText != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("err %v, want %q", err, tt.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			st, err := os.Stat(dir)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != tt.want {
				t.Errorf("mode %v, want %v", st.Mode().Perm(), tt.want)
			}
			if got := strings.Contains(logs.String(), "restricted it to its owner"); got != tt.warned {
				t.Errorf("warned %v, want %v: %s", got, tt.warned, logs.String())
			}
		})
	}
}
