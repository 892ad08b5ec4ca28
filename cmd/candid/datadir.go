package main

import (
	"fmt"
	"log/slog"
	"os"
)

// secureDataDir makes the data folder (keys, the embedded database, the
// admin socket) if it is missing and makes sure only its owner can enter
// it. A folder open to other users is tightened to 0700; when that is not
// possible (another owner, a read-only mount) the server refuses to start
// rather than keep sexual-health disclosures and the keys that unseal
// addresses where others can read them.
func secureDataDir(dir string, log *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data folder %s: %w (set --data or CANDID_DATA to a writable folder)", dir, err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data folder %s: %w", dir, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("data folder %s is not a folder: set --data or CANDID_DATA to a folder", dir)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("data folder %s is open to other users (mode %v) and could not be restricted: %w; run chmod 700 %s as its owner", dir, perm, err, dir)
		}
		log.Warn("data folder was open to other users; restricted it to its owner (0700)", "folder", dir, "was", perm.String())
	}
	return nil
}
