package boltstore

import (
	"context"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestLegacyToken: a token stored before tokens expired (the value is the
// bare staff name) still reads, lists and deletes.
func TestLegacyToken(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "candid.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bToken).Put([]byte("oldhash"), []byte("ann")) }); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tk, err := s.Token(ctx, "oldhash")
	if err != nil || tk.Staff != "ann" || tk.Hash != "oldhash" || !tk.ExpiresAt.IsZero() {
		t.Fatalf("Token = %+v %v", tk, err)
	}
	if list, err := s.Tokens(ctx, "ann"); err != nil || len(list) != 1 {
		t.Fatalf("Tokens = %+v %v", list, err)
	}
	if err := s.DeleteToken(ctx, "oldhash"); err != nil {
		t.Fatal(err)
	}
}
