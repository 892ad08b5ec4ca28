package moderation

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/candid-app/candid/internal/store"
	"github.com/candid-app/candid/internal/store/boltstore"
)

// The crash test proves the outbox's promise with a real process that is
// killed (SIGKILL: no deferred code, no flush) between the steps of a
// delivery, and a second process that starts over the same data file.
//
// The test binary re-executes itself: with crashEnvDir set, TestCrashDelivery
// runs the child's part instead of the test.

const (
	crashEnvDir      = "CANDID_CRASH_DIR"
	crashEnvStep     = "CANDID_CRASH_STEP"     // the hook step to die at; empty: run to the end
	crashEnvPlatform = "CANDID_CRASH_PLATFORM" // web | telegram
	crashHandle      = "h_crash_asker"
)

// fileSender appends each delivered item's ID to a file and fsyncs it, so
// the log survives the SIGKILL that follows.
type fileSender struct{ path string }

func (f fileSender) Deliver(ctx context.Context, item store.OutboxItem) error {
	fh, err := os.OpenFile(f.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer fh.Close()
	if _, err := fmt.Fprintln(fh, item.ID); err != nil {
		return err
	}
	return fh.Sync()
}

func TestCrashDelivery(t *testing.T) {
	if dir := os.Getenv(crashEnvDir); dir != "" {
		crashChild(t, dir, os.Getenv(crashEnvStep), os.Getenv(crashEnvPlatform))
		return
	}
	if os.Getenv(backendEnv) != "" {
		t.Skip("the crash test runs on bbolt only")
	}
	if testing.Short() {
		t.Skip("re-executes the test binary; skipped with -short")
	}
	tests := []struct {
		platform, step string
		wantSends      int // how many times the platform Sender ran (0 for web)
	}{
		{"web", stepOutboxWritten, 0},
		{"web", stepDelivered, 0}, // written twice, to the same message ID: seen once
		{"web", stepCompleted, 0},
		{"telegram", stepOutboxWritten, 1},
		// The one duplicate the outbox cannot prevent for a platform
		// without idempotency keys: sent, then killed before it was
		// marked sent. See docs/moderation.md.
		{"telegram", stepDelivered, 2},
		{"telegram", stepCompleted, 1},
	}
	for _, tc := range tests {
		t.Run(tc.platform+"/"+tc.step, func(t *testing.T) {
			dir := t.TempDir()
			// First run: answer, deliver, and die at the step.
			err := runCrashChild(t, dir, tc.step, tc.platform)
			var ee *exec.ExitError
			if !errors.As(err, &ee) || !ee.Sys().(syscall.WaitStatus).Signaled() || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("first run should die of SIGKILL at %s, got %v", tc.step, err)
			}
			// Between the runs: the first got exactly as far as the step.
			reached := 0
			if tc.step != stepOutboxWritten {
				reached = 1
			}
			if got := crashDeliveries(t, dir, tc.platform); got != reached {
				t.Fatalf("after dying at %s the asker had %d deliveries, want %d", tc.step, got, reached)
			}
			// Second run: a fresh process on the same file finishes the job.
			if err := runCrashChild(t, dir, "", tc.platform); err != nil {
				t.Fatalf("restart: %v", err)
			}

			st, err := boltstore.Open(filepath.Join(dir, "candid.db"), boltstore.Options{Timeout: 5 * time.Second, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			ctx := context.Background()
			id, err := os.ReadFile(filepath.Join(dir, "ticket"))
			if err != nil {
				t.Fatal(err)
			}
			tk, err := st.Ticket(ctx, string(id))
			if err != nil {
				t.Fatal(err)
			}
			if tk.State != store.TicketAnswered || tk.Delivery != "delivered" || tk.Address != nil {
				t.Fatalf("ticket after restart: state %s delivery %q address %v", tk.State, tk.Delivery, tk.Address)
			}
			if items, _ := st.ClaimOutbox(ctx, time.Now().Add(time.Hour), time.Minute, 0); len(items) != 0 {
				t.Fatalf("outbox still holds %d items", len(items))
			}
			sends := readLines(t, filepath.Join(dir, "sent"))
			msgs := therapistMessages(t, st, crashHandle)
			switch tc.platform {
			case "web":
				// Exactly once, whatever the step.
				if len(msgs) != 1 || msgs[0].Text != tk.Answer {
					t.Fatalf("web asker sees %d answers, want exactly 1: %+v", len(msgs), msgs)
				}
				if len(sends) != 0 {
					t.Fatalf("a platform sender ran for a web asker")
				}
			default:
				if len(msgs) != 0 {
					t.Fatal("a telegram answer was written to the web history")
				}
				if len(sends) != tc.wantSends {
					t.Fatalf("sender ran %d times, want %d", len(sends), tc.wantSends)
				}
				for _, s := range sends {
					if s != sends[0] {
						t.Fatalf("different outbox items delivered: %v", sends)
					}
				}
			}
		})
	}
}

func runCrashChild(t *testing.T, dir, step, platform string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashDelivery$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnvDir+"="+dir, crashEnvStep+"="+step, crashEnvPlatform+"="+platform)
	out, err := cmd.CombinedOutput()
	if err != nil && len(out) > 0 {
		t.Logf("child (step %q) output:\n%s", step, out)
	}
	return err
}

// crashDeliveries counts what the asker has received so far.
func crashDeliveries(t *testing.T, dir, platform string) int {
	t.Helper()
	if platform != "web" {
		return len(readLines(t, filepath.Join(dir, "sent")))
	}
	st, err := boltstore.Open(filepath.Join(dir, "candid.db"), boltstore.Options{Timeout: 5 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	return len(therapistMessages(t, st, crashHandle))
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// crashChild is one process's life: open the store and the service; on the
// first run open a ticket and answer it; deliver what is due until the
// ticket is delivered. The hook kills the process at step.
func crashChild(t *testing.T, dir, step, platform string) {
	ctx := context.Background()
	st, err := boltstore.Open(filepath.Join(dir, "candid.db"), boltstore.Options{Timeout: 10 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(Options{Store: st, ClinicName: "Crash Clinic", DeliveryLease: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	svc.RegisterSender("telegram", fileSender{path: filepath.Join(dir, "sent")})
	svc.hook = func(s string) {
		if s == step {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // never continue past the step
		}
	}
	idFile := filepath.Join(dir, "ticket")
	id, err := os.ReadFile(idFile)
	if errors.Is(err, os.ErrNotExist) {
		tk := store.Ticket{Handle: crashHandle, Platform: platform, Question: "Will this survive a crash?"}
		if platform != "web" {
			tk.Address = []byte("sealed-address")
		}
		opened, err := svc.OpenTicket(ctx, tk)
		if err != nil {
			t.Fatal(err)
		}
		if err := writeFileSync(idFile, opened.ID); err != nil {
			t.Fatal(err)
		}
		id = []byte(opened.ID)
		if _, err := svc.Answer(ctx, Actor{Name: "alice", Role: RoleModerator}, opened.ID, Answer{Text: "Yes, it will."}); err != nil {
			t.Fatal(err)
		}
	} else if err != nil {
		t.Fatal(err)
	}
	// Deliver until done. A crashed run's claim holds the item for the
	// lease, so the loop waits that out.
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := svc.DeliverDue(ctx); err != nil {
			t.Fatal(err)
		}
		tk, err := st.Ticket(ctx, string(id))
		if err != nil {
			t.Fatal(err)
		}
		if tk.Delivery == "delivered" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not delivered: %q", tk.Delivery)
		}
		time.Sleep(20 * time.Millisecond)
	}
	svc.Close()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

func writeFileSync(path, data string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
