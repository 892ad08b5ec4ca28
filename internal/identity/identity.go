// Package identity owns how Candid knows an asker without knowing who they
// are: pseudonymous handles (a keyed HMAC of platform and platform ID) and
// sealed reply addresses (AEAD, with an expiry inside the authenticated data).
//
// The server's two secrets live in the data directory with mode 0600 and
// are created on first start. Losing them makes existing handles and sealed
// addresses unusable (by design: nothing else can link them to a person).
package identity

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

const (
	handleKeyFile = "handle.key"
	sealKeyFile   = "seal.key"
	keyBytes      = 32
)

// Keys holds the server's secrets: the current pair, which makes every new
// handle and seal, and the retired pairs kept after a rotation (rotate.go),
// which only read: they open addresses sealed before the rotation and find
// what an asker left under an older handle, until that data has expired.
type Keys struct {
	handleKey []byte
	aead      cipher.AEAD
	sealID    [8]byte
	retired   []*Keys   // newest first; never themselves hold retired keys
	retiredAt time.Time // when this pair was retired (retired pairs only)
}

// NewKeys builds Keys from raw secrets (32 bytes each); tests use it.
func NewKeys(handleKey, sealKey []byte) (*Keys, error) {
	if len(handleKey) != keyBytes || len(sealKey) != keyBytes {
		return nil, fmt.Errorf("identity: keys must be %d bytes each", keyBytes)
	}
	block, err := aes.NewCipher(sealKey)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	k := &Keys{handleKey: append([]byte(nil), handleKey...), aead: aead}
	id := sha256.Sum256(append([]byte("candid seal key id\x00"), sealKey...))
	copy(k.sealID[:], id[:])
	return k, nil
}

// RandomKeys returns fresh keys that are never saved; for tests and tools.
func RandomKeys() *Keys {
	k, err := NewKeys(randomBytes(keyBytes), randomBytes(keyBytes))
	if err != nil {
		panic(err) // cannot happen: sizes are right
	}
	return k
}

// LoadOrCreate reads the keys from dir, creating them (mode 0600, dir 0700)
// when they do not exist yet. created reports whether new keys were made, so
// that the caller can say so once. Retired keys (after `candid keys
// rotate`) are added by LoadRetired.
func LoadOrCreate(dir string) (k *Keys, created bool, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("identity: create key folder %s: %w (check --data and its permissions)", dir, err)
	}
	hk, c1, err := loadOrCreateKey(filepath.Join(dir, handleKeyFile))
	if err != nil {
		return nil, false, err
	}
	sk, c2, err := loadOrCreateKey(filepath.Join(dir, sealKeyFile))
	if err != nil {
		return nil, false, err
	}
	k, err = NewKeys(hk, sk)
	return k, c1 || c2, err
}

func loadOrCreateKey(path string) ([]byte, bool, error) {
	if _, err := os.Stat(path); err == nil {
		key, err := readKey(path)
		return key, false, err
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, false, fmt.Errorf("identity: read %s: %w", path, err)
	}
	key := randomBytes(keyBytes)
	// O_EXCL: two processes starting at once must not overwrite each other's key.
	if err := writeKeyFile(path, key); err != nil {
		if errors.Is(err, os.ErrExist) {
			return loadOrCreateKey(path)
		}
		return nil, false, err
	}
	return key, true, nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return b
}

// Handle returns the asker's pseudonymous handle for a platform account.
// It is stable (the same person gets the same handle, so /forget finds all
// their data) and cannot be reversed without the key.
func (k *Keys) Handle(platform, platformID string) string {
	m := hmac.New(sha256.New, k.handleKey)
	m.Write([]byte(platform))
	m.Write([]byte{':'})
	m.Write([]byte(platformID))
	return "h_" + base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:20])
}

// Digest returns a keyed hash of any value that must be recognised later but
// never stored in clear (for example a Slack message author for de-duplication).
func (k *Keys) Digest(purpose, value string) string {
	return k.Handle("digest/"+purpose, value)
}

// Address is where a later answer is delivered: a platform and the platform's
// destination (a Telegram chat ID, a Slack DM channel). It only ever exists
// in memory; storage holds it sealed.
type Address struct {
	Platform string `json:"p"`
	To       string `json:"t"`
}

// ErrSealExpired is returned by Open once the sealed address has expired.
var ErrSealExpired = errors.New("identity: the sealed address has expired")

// Seal encrypts addr so that only this server can open it, until expires.
// The expiry and platform are authenticated, so neither can be altered.
func (k *Keys) Seal(addr Address, expires time.Time) ([]byte, error) {
	plain, err := json.Marshal(addr)
	if err != nil {
		return nil, fmt.Errorf("identity: seal: %w", err)
	}
	var exp [8]byte
	binary.BigEndian.PutUint64(exp[:], uint64(expires.Unix()))
	nonce := randomBytes(k.aead.NonceSize())
	// Format 2: version, the key's id (so that the right key is found after
	// a rotation), expiry, nonce, ciphertext. Format 1 had no key id.
	out := append(append(append([]byte{2}, k.sealID[:]...), exp[:]...), nonce...)
	return k.aead.Seal(out, nonce, plain, out[:sealHeader2]), nil
}

const (
	sealHeader1 = 9  // version, expiry
	sealHeader2 = 17 // version, key id, expiry
)

// Open decrypts a sealed address. It fails if the data was altered, sealed
// with another key, or expired at now.
func (k *Keys) Open(sealed []byte, now time.Time) (Address, error) {
	ns := k.aead.NonceSize()
	var head int
	var candidates []*Keys
	switch {
	case len(sealed) > 0 && sealed[0] == 1:
		head, candidates = sealHeader1, k.all() // no key id: try each
	case len(sealed) > 0 && sealed[0] == 2 && len(sealed) >= sealHeader2:
		head = sealHeader2
		for _, c := range k.all() {
			if string(c.sealID[:]) == string(sealed[1:9]) {
				candidates = append(candidates, c)
			}
		}
	default:
		return Address{}, errors.New("identity: not a sealed address")
	}
	if len(sealed) < head+ns+k.aead.Overhead() {
		return Address{}, errors.New("identity: not a sealed address")
	}
	expires := time.Unix(int64(binary.BigEndian.Uint64(sealed[head-8:head])), 0)
	var plain []byte
	err := errors.New("identity: sealed address does not verify (altered, or sealed with a key this server does not hold)")
	for _, c := range candidates {
		if p, oerr := c.aead.Open(nil, sealed[head:head+ns], sealed[head+ns:], sealed[:head]); oerr == nil {
			plain, err = p, nil
			break
		}
	}
	if err != nil {
		return Address{}, err
	}
	if !now.Before(expires) {
		return Address{}, ErrSealExpired
	}
	var a Address
	if err := json.Unmarshal(plain, &a); err != nil {
		return Address{}, fmt.Errorf("identity: sealed address: %w", err)
	}
	return a, nil
}

// NewID returns a random, URL-safe identifier (for tickets, messages, web
// sessions). 16 bytes: unguessable, so an ID is also a capability.
func NewID() string { return base64.RawURLEncoding.EncodeToString(randomBytes(16)) }
