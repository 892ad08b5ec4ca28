package redisstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Every replica must hold the same keys (DESIGN.md): one with other keys
// would make handles nobody else recognises and seal addresses nobody else
// can open. The fingerprint of the current keys (identity.Keys.Fingerprint,
// which reveals nothing of them) is recorded in Redis with the retired
// ones', and each replica checks it at start.

// KeysCheck is what CheckKeys found.
type KeysCheck string

const (
	KeysFirst   KeysCheck = "first"   // nothing recorded: these keys are now the deployment's
	KeysSame    KeysCheck = "same"    // the recorded keys
	KeysRotated KeysCheck = "rotated" // newer than the recorded ones, which these keys retired: recorded now
	KeysStale   KeysCheck = "stale"   // retired by the recorded keys: this replica has the old keys folder
	KeysOther   KeysCheck = "other"   // unrelated to the recorded keys
)

var checkKeysScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'current')
if not cur then
  redis.call('HSET', KEYS[1], 'current', ARGV[1], 'retired', ARGV[2])
  return 'first'
end
if cur == ARGV[1] then return 'same' end
for fp in string.gmatch(ARGV[2], '[^,]+') do
  if fp == cur then
    redis.call('HSET', KEYS[1], 'current', ARGV[1], 'retired', ARGV[2])
    return 'rotated'
  end
end
local rec = redis.call('HGET', KEYS[1], 'retired') or ''
for fp in string.gmatch(rec, '[^,]+') do
  if fp == ARGV[1] then return 'stale' end
end
return 'other'`)

// CheckKeys compares this replica's key fingerprints with the deployment's,
// atomically, and records them when they are the first or newer.
func (s *Store) CheckKeys(ctx context.Context, current string, retired []string) (KeysCheck, error) {
	for _, fp := range append([]string{current}, retired...) {
		if fp == "" || strings.ContainsAny(fp, ", ") {
			return "", fmt.Errorf("redisstore: bad key fingerprint %q", fp)
		}
	}
	res, err := checkKeysScript.Run(ctx, s.rdb, []string{s.k("identity")}, current, strings.Join(retired, ",")).Text()
	if err != nil {
		return "", fmt.Errorf("redisstore: check keys: %w", err)
	}
	return KeysCheck(res), nil
}
