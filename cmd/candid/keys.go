package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/candid-app/candid/internal/config"
	"github.com/candid-app/candid/internal/identity"
)

const keysUsage = `candid keys rotate|list [--data DIR] [--config FILE]

  rotate   retire the handle and sealing keys and make new ones. The retired
           keys stay in keys/retired/ for reading only: addresses sealed before
           still deliver, and /forget and blocks still find what an asker left
           under their old handle. They are deleted at a start once the longest
           retention (retention_days, ticket_retention_days) has passed.
           Restart the service afterwards; with several replicas, give every
           replica the new keys folder and restart them one by one (a replica
           still on the old keys then refuses to start, and says so).
  list     show the current key's fingerprint and the retired ones, with the
           date each was retired and the date it will be deleted.

Keys are secrets: rotate after staff with access to them leave, or on a
schedule your security policy sets. A rotation starts each asker's
conversation afresh (a new handle); nothing already held is lost or exposed.`

func keysCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stdout, keysUsage)
		return nil
	}
	sub := args[0]
	if sub != "rotate" && sub != "list" {
		return exitError{2, fmt.Sprintf("candid keys: unknown command %q\n\n%s", sub, keysUsage)}
	}
	cfg, rest, err := config.Load("keys "+sub, args[1:], getenv, stderr)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return exitError{2, fmt.Sprintf("candid keys %s: unexpected arguments %q", sub, rest)}
	}
	dir := filepath.Join(cfg.Data, "keys")
	now := time.Now()
	if _, err := os.Stat(filepath.Join(dir, "handle.key")); err != nil {
		return fmt.Errorf("keys %s: no keys in %s (%v): check --data, or start candid once to create them", sub, dir, err)
	}
	if sub == "rotate" {
		before, err := loadKeys(dir, cfg, now, nil)
		if err != nil {
			return err
		}
		if err := identity.Rotate(dir, now); err != nil {
			return fmt.Errorf("keys rotate: %w (nothing was changed unless the message says a file was replaced)", err)
		}
		after, err := loadKeys(dir, cfg, now, nil)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "rotated: %s retired, %s current\nrestart candid (every replica, with this keys folder) to use the new keys\n", before.Fingerprint(), after.Fingerprint())
		return nil
	}
	k, err := loadKeys(dir, cfg, now, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "current  %s\n", k.Fingerprint())
	for _, r := range k.Retired() {
		fmt.Fprintf(stdout, "retired  %s  on %s, deleted after %s\n", r.Fingerprint, r.RetiredAt.UTC().Format(time.DateOnly), r.RetiredAt.Add(keepRetired(cfg)).UTC().Format(time.DateOnly))
	}
	return nil
}

// keepRetired is how long a retired key may still read something: the
// longest retention, and a day's margin for clocks and retention sweeps.
func keepRetired(cfg *config.Config) time.Duration {
	days := max(cfg.RetentionDays, cfg.TicketRetentionDays)
	return time.Duration(days+1) * 24 * time.Hour
}

// loadKeys reads the current and retired keys, deleting retired keys past
// keepRetired (logged when log is not nil). It never creates keys.
func loadKeys(dir string, cfg *config.Config, now time.Time, log *slog.Logger) (*identity.Keys, error) {
	k, created, err := identity.LoadOrCreate(dir)
	if err != nil {
		return nil, err
	}
	if created && log != nil {
		log.Info("created secret keys (mode 0600); back them up: without them existing handles and sealed addresses cannot be read", "folder", dir)
	}
	kept, pruned, err := k.LoadRetired(dir, keepRetired(cfg), now)
	if err != nil {
		return nil, err
	}
	if log != nil {
		if len(kept) > 0 {
			log.Info("retired keys kept for reading", "count", len(kept), "newest_retired", kept[0].RetiredAt.UTC().Format(time.DateOnly))
		}
		if len(pruned) > 0 {
			log.Info("deleted retired keys past the longest retention", "count", len(pruned))
		}
	}
	return k, nil
}
