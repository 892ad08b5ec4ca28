package conversation

import (
	"crypto/rand"
	"encoding/hex"
)

// randomSuffix makes message IDs unique when two replies share a clock tick.
func randomSuffix() string {
	var b [4]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
