package identity

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestRotateKeepsOldDataReadable(t *testing.T) {
	dir := t.TempDir()
	now := time.Unix(1_800_000_000, 0)
	old, _, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := old.Seal(Address{Platform: "telegram", To: "42"}, now.Add(30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	oldHandle := old.Handle("telegram", "42")
	if err := Rotate(dir, now); err != nil {
		t.Fatal(err)
	}
	cur, created, err := LoadOrCreate(dir)
	if err != nil || created {
		t.Fatalf("load after rotate: created %v, %v", created, err)
	}
	if cur.Fingerprint() == old.Fingerprint() {
		t.Fatal("rotate left the same keys")
	}
	if _, err := cur.Open(sealed, now); err == nil {
		t.Fatal("the new keys alone opened an address sealed with the old ones")
	}
	kept, pruned, err := cur.LoadRetired(dir, 90*24*time.Hour, now.Add(time.Hour))
	if err != nil || len(kept) != 1 || len(pruned) != 0 || kept[0].Fingerprint != old.Fingerprint() {
		t.Fatalf("retired: kept %v pruned %v err %v", kept, pruned, err)
	}
	if a, err := cur.Open(sealed, now); err != nil || a.To != "42" {
		t.Fatalf("an address sealed before the rotation: %v %v", a, err)
	}
	if cur.Handle("telegram", "42") == oldHandle {
		t.Fatal("handles did not change")
	}
	if ph := cur.PastHandles("telegram", "42"); len(ph) != 1 || ph[0] != oldHandle {
		t.Fatalf("past handles %v, want [%s]", ph, oldHandle)
	}
	// New seals name the new key and open with it alone.
	fresh, _ := cur.Seal(Address{Platform: "slack", To: "D1"}, now.Add(time.Hour))
	alone, _, _ := LoadOrCreate(dir)
	if a, err := alone.Open(fresh, now); err != nil || a.To != "D1" {
		t.Fatalf("new seal: %v %v", a, err)
	}

	// Past the keep window the retired pair is deleted: nothing it could
	// read is still held.
	later := now.Add(91 * 24 * time.Hour)
	kept, pruned, err = cur.LoadRetired(dir, 90*24*time.Hour, later)
	if err != nil || len(kept) != 0 || len(pruned) != 1 {
		t.Fatalf("after the window: kept %v pruned %v err %v", kept, pruned, err)
	}
	if left, _ := os.ReadDir(filepath.Join(dir, retiredDir)); len(left) != 0 {
		t.Fatalf("retired files left: %v", left)
	}
	if len(cur.PastHandles("telegram", "42")) != 0 {
		t.Fatal("pruned keys still give past handles")
	}
}

// A rotation that crashed after the retired copy was written but before the
// new keys replaced the current ones leaves a retired pair identical to the
// current one: it is ignored, and a second rotation works.
func TestRotateAfterCrash(t *testing.T) {
	dir := t.TempDir()
	k, _, _ := LoadOrCreate(dir)
	rdir := filepath.Join(dir, retiredDir)
	os.MkdirAll(rdir, 0o700)
	for _, f := range []string{handleKeyFile, sealKeyFile} {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		os.WriteFile(filepath.Join(rdir, "1700000000."+f), b, 0o600)
	}
	kept, _, err := k.LoadRetired(dir, 0, time.Now())
	if err != nil || len(kept) != 0 {
		t.Fatalf("kept %v, %v: a copy of the current keys is not a retired pair", kept, err)
	}
	if err := Rotate(dir, time.Unix(1_700_000_100, 0)); err != nil {
		t.Fatal(err)
	}
	cur, _, _ := LoadOrCreate(dir)
	kept, _, err = cur.LoadRetired(dir, 0, time.Now())
	if err != nil || len(kept) != 1 || kept[0].Fingerprint != k.Fingerprint() {
		t.Fatalf("after a second rotation: %v %v", kept, err)
	}
}

// Addresses sealed before key ids existed (format 1) still open.
func TestOpenFormat1(t *testing.T) {
	k := RandomKeys()
	exp := time.Now().Add(time.Hour)
	s2, _ := k.Seal(Address{Platform: "telegram", To: "7"}, exp)
	// Rebuild the same plaintext in format 1: version 1, expiry, nonce, ct
	// with the 9-byte header as associated data.
	plain := []byte(`{"p":"telegram","t":"7"}`)
	nonce := s2[sealHeader2 : sealHeader2+k.aead.NonceSize()]
	head := append([]byte{1}, s2[9:17]...)
	s1 := k.aead.Seal(append(append([]byte{}, head...), nonce...), nonce, plain, head)
	if a, err := k.Open(s1, time.Now()); err != nil || a.To != "7" {
		t.Fatalf("format 1: %v %v", a, err)
	}
	for _, bad := range [][]byte{nil, {2}, {3, 1, 2}, append([]byte{2}, make([]byte, 40)...)} {
		if _, err := k.Open(bad, time.Now()); err == nil {
			t.Errorf("Open(%x) succeeded", bad)
		}
	}
}

func TestRotateNeedsKeys(t *testing.T) {
	if err := Rotate(t.TempDir(), time.Now()); err == nil {
		t.Fatal("rotating a folder without keys succeeded")
	}
}
