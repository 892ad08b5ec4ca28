package boltstore

import (
	"context"
	"fmt"
	"io"

	bolt "go.etcd.io/bbolt"
)

// Dump writes every bucket, key and value in the file, one per line, as
// quoted Go strings. It is for privacy audits (the invariants' tests read it
// to prove what is and is not held): the logical content, which, unlike the
// raw file, holds nothing that was deleted. Never serve it.
func (s *Store) Dump(ctx context.Context, w io.Writer) error {
	return s.view(ctx, func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			return dumpBucket(w, fmt.Sprintf("%q", name), b)
		})
	})
}

func dumpBucket(w io.Writer, path string, b *bolt.Bucket) error {
	return b.ForEach(func(k, v []byte) error {
		if v == nil { // a nested bucket
			return dumpBucket(w, path+"/"+fmt.Sprintf("%q", k), b.Bucket(k))
		}
		_, err := fmt.Fprintf(w, "%s %q %q\n", path, k, v)
		return err
	})
}
