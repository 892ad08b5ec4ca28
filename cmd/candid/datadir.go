package main

import (
	"fmt"
	"log/slog"
	"os"
)

// secureDataDir makes the data folder (keys, the embedded database, the
// admin socket) if it is missing and makes sure only its owner can enter
// it. A folder open to other users is tightened to 0700. When that is not
// possible (another owner, a read-only mount) and the folder holds the
// embedded database (strict), the server refuses to start rather than keep
// sexual-health disclosures where others can reach them. On Redis the folder
// holds only the keys (each checked to be 0600 when read) and the admin
// socket (owner-only by itself), and an orchestrator's volume is often owned
// by root: a warning says what to fix.
func secureDataDir(dir string, strict bool, log *slog.Logger) error {
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
			if !strict {
				log.Warn("data folder is open to other users and could not be restricted; make it owner-only (0700)", "folder", dir, "mode", perm.String(), "err", err)
				return nil
			}
			return fmt.Errorf("data folder %s is open to other users (mode %v) and could not be restricted: %w; run chmod 700 %s as its owner", dir, perm, err, dir)
		}
		log.Warn("data folder was open to other users; restricted it to its owner (0700)", "folder", dir, "was", perm.String())
	}
	return nil
}
