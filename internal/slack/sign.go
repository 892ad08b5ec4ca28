package slack

import (
	"crypto/hmac"
	"strings"

	"github.com/candid-app/candid/internal/identity"
)

// signer protects the values we put in buttons and modal metadata. Slack
// hands them back verbatim, so they are authentic only if we can check that
// we wrote them: each carries a keyed MAC bound to its purpose (and, for an
// asker's buttons, to the asker's handle), so a value copied from one place
// or person is useless in another.
type signer struct{ keys *identity.Keys }

const macSep = "."

func (s signer) mac(purpose string, parts ...string) string {
	return s.keys.Digest("slack/"+purpose, strings.Join(parts, "\x00"))
}

// sign returns payload with its MAC appended. bind is extra context that is
// covered by the MAC but not carried (for example the asker's handle, which
// is recomputed from the presser's identity when the value comes back).
func (s signer) sign(purpose, payload string, bind ...string) string {
	return payload + macSep + s.mac(purpose, append([]string{payload}, bind...)...)
}

// verify returns the payload of a signed value, or false if the value was
// not signed by us for this purpose and context.
func (s signer) verify(purpose, value string, bind ...string) (string, bool) {
	i := strings.LastIndex(value, macSep)
	if i < 0 {
		return "", false
	}
	payload, got := value[:i], value[i+len(macSep):]
	want := s.mac(purpose, append([]string{payload}, bind...)...)
	if !hmac.Equal([]byte(got), []byte(want)) {
		return "", false
	}
	return payload, true
}
