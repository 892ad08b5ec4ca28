package boltstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/candid-app/candid/internal/store"
	"github.com/candid-app/candid/internal/store/boltstore"
	"github.com/candid-app/candid/internal/store/storetest"
)

var quiet = slog.New(slog.DiscardHandler)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock) storetest.Backend {
		path := filepath.Join(t.TempDir(), "candid.db")
		s, err := boltstore.Open(path, boltstore.Options{Now: clock.Now, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Error(err)
			}
		})
		return storetest.Backend{Store: s, Raw: func(t *testing.T) []byte {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}}
	})
}

func TestFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "candid.db")
	s, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("data file mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestLockHeld(t *testing.T) {
	path := filepath.Join(t.TempDir(), "candid.db")
	first, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	start := time.Now()
	second, err := boltstore.Open(path, boltstore.Options{Timeout: 200 * time.Millisecond})
	if err == nil {
		second.Close()
		t.Fatal("second Open of a locked file succeeded")
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Errorf("second Open waited %s; Timeout is not applied", waited)
	}
	msg := err.Error()
	for _, want := range []string{path, "in use by another candid process", "--data"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	t.Logf("lock error: %s", msg)
	if !strings.Contains(msg, fmt.Sprintf("pid %d", os.Getpid())) {
		t.Logf("error does not name the holder's pid (fine outside Linux): %s", msg)
	}
	// Once the first closes, the file opens.
	first.Close()
	third, err := boltstore.Open(path, boltstore.Options{Timeout: time.Second})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	third.Close()
}

// TestCompactKeepsLock checks that after Forget rewrote the file, the store
// still works, the data survives a reopen, and the lock still holds.
func TestCompactKeepsLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "candid.db")
	ctx := t.Context()
	s, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour)
	for _, h := range []string{"a", "b"} {
		if err := s.PutMessage(ctx, store.Message{ID: "1", Handle: h, Text: "hi", ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Forget(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".compact"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary file left behind: %v", err)
	}
	if _, err := boltstore.Open(path, boltstore.Options{Timeout: 100 * time.Millisecond}); err == nil {
		t.Fatal("a second Open succeeded after compaction: the lock was lost")
	}
	if err := s.PutMessage(ctx, store.Message{ID: "2", Handle: "b", Text: "after", ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	msgs, err := s.Messages(ctx, "b", 0)
	if err != nil || len(msgs) != 2 {
		t.Errorf("after reopen: %d messages, %v", len(msgs), err)
	}
}

const helperEnv = "CANDID_BOLTSTORE_HELPER_PATH"

// TestHelperProcess is not a test: TestKill9Durability runs the test binary
// again with this as its only test, to write tickets until it is killed.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		t.Skip("helper process for TestKill9Durability")
	}
	s, err := boltstore.Open(path, boltstore.Options{Timeout: 5 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx := context.Background()
	for i := 0; ; i++ {
		id := fmt.Sprintf("ticket-%06d", i)
		tk := store.Ticket{ID: id, Platform: "web", Question: strings.Repeat("q", 200), State: store.TicketOpen,
			ExpiresAt: time.Now().Add(time.Hour)}
		if err := s.CreateTicket(ctx, tk, store.AuditEntry{Actor: "system", Action: "create"}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		// Printed only after CreateTicket returned: a promise that it is durable.
		fmt.Printf("ID %s\n", id)
	}
}

func TestKill9Durability(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	path := filepath.Join(t.TempDir(), "candid.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+path)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	const killAfter = 200
	var promised []string
	sc := bufio.NewScanner(stdout)
	killed := false
	for sc.Scan() {
		id, ok := strings.CutPrefix(sc.Text(), "ID ")
		if !ok {
			continue
		}
		promised = append(promised, id)
		if len(promised) == killAfter && !killed {
			// Mid-stream: the child is inside (or between) writes.
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child exited before it was killed (%v): %s", err, stderr.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL: %v", err)
	}
	s, err := boltstore.Open(path, boltstore.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, id := range promised {
		if _, err := s.Ticket(t.Context(), id); err != nil {
			t.Errorf("ticket %s was promised durable but is missing after SIGKILL: %v", id, err)
		}
	}
	all, err := s.Tickets(t.Context(), store.TicketFilter{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("child promised %d tickets, file holds %d", len(promised), len(all))
	if n, _ := strconv.Atoi(strings.TrimPrefix(promised[len(promised)-1], "ticket-")); len(all) < n+1 {
		t.Errorf("file holds %d tickets, fewer than the %d promised", len(all), n+1)
	}
}
