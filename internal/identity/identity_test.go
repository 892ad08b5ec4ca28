package identity

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestHandleIsStableKeyedAndOpaque(t *testing.T) {
	k1, k2 := RandomKeys(), RandomKeys()
	h := k1.Handle("telegram", "123456789")
	if h != k1.Handle("telegram", "123456789") {
		t.Fatal("handle not stable")
	}
	if h == k2.Handle("telegram", "123456789") {
		t.Fatal("handle does not depend on the key")
	}
	if h == k1.Handle("slack", "123456789") {
		t.Fatal("handle does not depend on the platform")
	}
	if bytes.Contains([]byte(h), []byte("123456789")) {
		t.Fatal("handle contains the platform ID")
	}
	// "a:b"+"c" vs "a"+"b:c" must differ: the separator is fixed and the platform has no colon.
	if k1.Handle("web", "x") == k1.Handle("web:x", "") {
		t.Fatal("ambiguous handle input")
	}
}

func TestSealOpen(t *testing.T) {
	k := RandomKeys()
	now := time.Now()
	addr := Address{Platform: "telegram", To: "987654321"}
	sealed, err := k.Seal(addr, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("987654321")) {
		t.Fatal("sealed address contains the chat ID in clear")
	}
	got, err := k.Open(sealed, now)
	if err != nil || got != addr {
		t.Fatalf("Open = %v, %v", got, err)
	}
	if _, err := k.Open(sealed, now.Add(2*time.Hour)); err != ErrSealExpired {
		t.Fatalf("expired: got %v", err)
	}
	if _, err := RandomKeys().Open(sealed, now); err == nil {
		t.Fatal("opened with another key")
	}
	tampered := append([]byte(nil), sealed...)
	tampered[3] ^= 1 // change the expiry
	if _, err := k.Open(tampered, now); err == nil {
		t.Fatal("tampered expiry accepted")
	}
	for _, bad := range [][]byte{nil, {1}, {2, 0, 0}, bytes.Repeat([]byte{1}, 40)} {
		if _, err := k.Open(bad, now); err == nil {
			t.Fatalf("garbage %v accepted", bad)
		}
	}
}

func TestLoadOrCreate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	k1, created, err := LoadOrCreate(dir)
	if err != nil || !created {
		t.Fatalf("first: created=%v err=%v", created, err)
	}
	for _, f := range []string{handleKeyFile, sealKeyFile} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: mode %v err %v", f, st.Mode().Perm(), err)
		}
	}
	k2, created, err := LoadOrCreate(dir)
	if err != nil || created {
		t.Fatalf("second: created=%v err=%v", created, err)
	}
	if k1.Handle("web", "a") != k2.Handle("web", "a") {
		t.Fatal("reloaded keys differ")
	}
	// A corrupt key is an error, never silently replaced.
	os.WriteFile(filepath.Join(dir, handleKeyFile), []byte("zz"), 0o600)
	if _, _, err := LoadOrCreate(dir); err == nil {
		t.Fatal("corrupt key accepted")
	}
	// A key readable by others is refused.
	os.WriteFile(filepath.Join(dir, handleKeyFile), []byte("00"), 0o644)
	os.Chmod(filepath.Join(dir, handleKeyFile), 0o644)
	if _, _, err := LoadOrCreate(dir); err == nil {
		t.Fatal("world-readable key accepted")
	}
}
