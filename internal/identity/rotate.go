package identity

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Key rotation. `candid keys rotate` retires the current pair and makes a
// new one. A retired pair is kept, read-only, in keys/retired/ as
// <unix time>.handle.key and <unix time>.seal.key, for as long as data made
// with it may still be held (the longest retention: conversations and
// tickets expire by then, and a sealed address never outlives its ticket).
// After that it is deleted: nothing it could read is left.

const retiredDir = "retired"

// Rotate retires the keys in dir and writes a new pair. It is crash-safe: the
// retired copies are written and synced before the new keys replace the
// current ones by rename, and a retired copy identical to the current pair
// (a crash between the two steps) is ignored when loading.
func Rotate(dir string, now time.Time) error {
	hk, err := readKey(filepath.Join(dir, handleKeyFile))
	if err != nil {
		return err
	}
	sk, err := readKey(filepath.Join(dir, sealKeyFile))
	if err != nil {
		return err
	}
	rdir := filepath.Join(dir, retiredDir)
	if err := os.MkdirAll(rdir, 0o700); err != nil {
		return fmt.Errorf("identity: create %s: %w", rdir, err)
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	for name, key := range map[string][]byte{ts + "." + handleKeyFile: hk, ts + "." + sealKeyFile: sk} {
		if err := writeKeyFile(filepath.Join(rdir, name), key); err != nil {
			return err
		}
	}
	if err := syncDir(rdir); err != nil {
		return err
	}
	for _, name := range []string{handleKeyFile, sealKeyFile} {
		tmp := filepath.Join(dir, name+".new")
		os.Remove(tmp) // left by an earlier crash
		if err := writeKeyFile(tmp, randomBytes(keyBytes)); err != nil {
			return err
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("identity: replace %s: %w", name, err)
		}
	}
	return syncDir(dir)
}

// RetiredKey describes one retired pair.
type RetiredKey struct {
	RetiredAt   time.Time
	Fingerprint string
}

// LoadRetired adds the retired pairs in dir to k, newest first. Pairs retired
// longer than keep ago are deleted and returned as pruned; keep <= 0 keeps
// every pair.
func (k *Keys) LoadRetired(dir string, keep time.Duration, now time.Time) (kept, pruned []RetiredKey, err error) {
	rdir := filepath.Join(dir, retiredDir)
	entries, err := os.ReadDir(rdir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("identity: read %s: %w", rdir, err)
	}
	var stamps []int64
	for _, e := range entries {
		ts, ok := strings.CutSuffix(e.Name(), "."+handleKeyFile)
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("identity: %s: a retired key's name must be <unix time>.%s", filepath.Join(rdir, e.Name()), handleKeyFile)
		}
		stamps = append(stamps, n)
	}
	slices.Sort(stamps)
	slices.Reverse(stamps)
	k.retired = nil
	seen := map[string]bool{k.Fingerprint(): true}
	for _, n := range stamps {
		at := time.Unix(n, 0)
		base := filepath.Join(rdir, strconv.FormatInt(n, 10))
		if keep > 0 && now.Sub(at) > keep {
			if err := errors.Join(os.Remove(base+"."+handleKeyFile), ignoreMissing(os.Remove(base+"."+sealKeyFile))); err != nil {
				return nil, nil, fmt.Errorf("identity: delete an expired retired key: %w", err)
			}
			pruned = append(pruned, RetiredKey{RetiredAt: at})
			continue
		}
		hk, err := readKey(base + "." + handleKeyFile)
		if err != nil {
			return nil, nil, err
		}
		sk, err := readKey(base + "." + sealKeyFile)
		if err != nil {
			return nil, nil, err
		}
		rk, err := NewKeys(hk, sk)
		if err != nil {
			return nil, nil, err
		}
		rk.retiredAt = at
		if seen[rk.Fingerprint()] {
			continue // a rotation that crashed before the new keys were in place
		}
		seen[rk.Fingerprint()] = true
		k.retired = append(k.retired, rk)
		kept = append(kept, RetiredKey{RetiredAt: at, Fingerprint: rk.Fingerprint()})
	}
	return kept, pruned, nil
}

// Fingerprint names the current pair without revealing it, so that replicas
// can check they hold the same keys.
func (k *Keys) Fingerprint() string {
	m := sha256.New()
	m.Write([]byte("candid key fingerprint\x00"))
	m.Write(k.handleKey)
	m.Write(k.sealID[:])
	return "kf_" + hex.EncodeToString(m.Sum(nil)[:12])
}

// Retired describes the retired pairs LoadRetired kept, newest first.
func (k *Keys) Retired() []RetiredKey {
	var out []RetiredKey
	for _, r := range k.retired {
		out = append(out, RetiredKey{RetiredAt: r.retiredAt, Fingerprint: r.Fingerprint()})
	}
	return out
}

// RetiredFingerprints lists the retired pairs' fingerprints, newest first.
func (k *Keys) RetiredFingerprints() []string {
	var out []string
	for _, r := range k.retired {
		out = append(out, r.Fingerprint())
	}
	return out
}

// PastHandles returns the handles the retired keys gave the same account, so
// that /forget also deletes what was held under them and a block made before
// a rotation still holds.
func (k *Keys) PastHandles(platform, platformID string) []string {
	var out []string
	for _, r := range k.retired {
		out = append(out, r.Handle(platform, platformID))
	}
	return out
}

func (k *Keys) all() []*Keys { return append([]*Keys{k}, k.retired...) }

func readKey(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("identity: read %s: %w", path, err)
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("identity: %s is readable by other users (mode %v): run chmod 600 %s", path, st.Mode().Perm(), path)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(key) != keyBytes {
		return nil, fmt.Errorf("identity: %s is not a %d-byte hex key: restore it from backup (a new key would make every handle and sealed address unreadable)", path, keyBytes)
	}
	return key, nil
}

// writeKeyFile creates path (it must not exist) holding key in hex, synced.
func writeKeyFile(path string, key []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("identity: create %s: %w", path, err)
	}
	_, werr := f.WriteString(hex.EncodeToString(key) + "\n")
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(path)
		return fmt.Errorf("identity: write %s: %w", path, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("identity: sync %s: %w", dir, err)
	}
	return nil
}

func ignoreMissing(err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}
