package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/candid-app/candid/internal/identity"
	"github.com/candid-app/candid/internal/moderation"
	"github.com/candid-app/candid/internal/store/redisstore"
	"github.com/candid-app/candid/internal/store/redisstore/redistest"
	"github.com/candid-app/candid/internal/telegram/telegramtest"
)

// TestKeyRotationEndToEnd: a Telegram asker's ticket is opened under the old
// keys; the keys are rotated and the service restarted. The answer is still
// delivered (its address was sealed with the retired key), and the asker's
// /forget under the new handle also deletes what was held under the old one.
func TestKeyRotationEndToEnd(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	env := func(tg *telegramtest.Server) map[string]string {
		return map[string]string{"CANDID_DATA": dir, "CANDID_TELEGRAM_TOKEN": telegramtest.Token, "CANDID_TELEGRAM_API_ENDPOINT": tg.Endpoint()}
	}
	askTherapist := func(tg *telegramtest.Server, question string) {
		t.Helper()
		n := len(tg.Sent())
		tg.PushUpdate(tgMessage(question))
		sent := tg.WaitFor(t, 10*time.Second, "an answer with buttons", func(calls []telegramtest.Call) bool {
			return len(calls) > n && len(tgButtons(calls[n:])) > 0
		})
		for _, b := range tgButtons(sent[n:]) {
			if b.Text == "Ask a therapist" {
				tg.PushUpdate(tgCallback(b.CallbackData))
				return
			}
		}
		t.Fatalf("no Ask a therapist button in %s", telegramtest.Summary(sent[n:]))
	}
	queue := func(a *app, n int) []string {
		t.Helper()
		var ids []string
		waitUntil(t, "the ticket", func() bool {
			tickets, _, _ := a.mod.Queue(ctx)
			ids = ids[:0]
			for _, tk := range tickets {
				ids = append(ids, tk.ID)
			}
			return len(ids) == n
		})
		return ids
	}

	tg1 := telegramtest.NewServer(t)
	a1, _, stop1 := startApp(t, env(tg1), slog.New(slog.DiscardHandler))
	askTherapist(tg1, "is it normal to bleed after sex")
	first := queue(a1, 1)[0]
	oldHandle := a1.keys.Handle("telegram", auditTGUser)
	stop1()

	code, out, errOut := runCLI(t, "", map[string]string{"CANDID_DATA": dir}, "keys", "rotate")
	if code != 0 || !strings.Contains(out, "rotated") {
		t.Fatalf("keys rotate: %d %s %s", code, out, errOut)
	}
	code, out, _ = runCLI(t, "", map[string]string{"CANDID_DATA": dir}, "keys", "list")
	if code != 0 || strings.Count(out, "retired ") != 1 || !strings.Contains(out, "current ") {
		t.Fatalf("keys list after one rotation: %d\n%s", code, out)
	}

	tg2 := telegramtest.NewServer(t)
	a2, _, _ := startApp(t, env(tg2), slog.New(slog.DiscardHandler))
	if a2.keys.Handle("telegram", auditTGUser) == oldHandle {
		t.Fatal("the restarted service still uses the old handle key")
	}
	mod := moderation.Actor{Name: "m", Role: "moderator"}
	if _, err := a2.mod.Claim(ctx, mod, first); err != nil {
		t.Fatal(err)
	}
	if _, err := a2.mod.Answer(ctx, mod, first, moderation.Answer{Text: "Answered after the rotation."}); err != nil {
		t.Fatal(err)
	}
	tg2.WaitFor(t, 10*time.Second, "the answer delivered", func(calls []telegramtest.Call) bool {
		for _, c := range calls {
			if c.Method == "sendMessage" && c.ChatID() == 6029384756 && strings.Contains(c.VisibleText(), "Answered after the rotation") {
				return true
			}
		}
		return false
	})
	askTherapist(tg2, "how do i talk to my partner about condoms")
	queue(a2, 1)
	tg2.PushUpdate(tgMessage("/forget"))
	newHandle := a2.keys.Handle("telegram", auditTGUser)
	waitUntil(t, "both handles forgotten", func() bool {
		d := dumpStore(t, a2)
		return !strings.Contains(d, oldHandle) && !strings.Contains(d, newHandle)
	})
}

// TestReplicasMustShareKeys: on Redis the first replica records its keys'
// fingerprint; one with other keys refuses to start, one with the new keys
// of a rotation is accepted (and recorded), and one still on the retired
// keys is then refused with what to do.
func TestReplicasMustShareKeys(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	st, err := redisstore.New(ctx, redisstore.Options{URL: srv.URL, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.DiscardHandler)
	dir := filepath.Join(t.TempDir(), "keys")
	k1, _, _ := identity.LoadOrCreate(dir)
	if err := checkSharedKeys(ctx, st, k1, log); err != nil {
		t.Fatalf("first replica: %v", err)
	}
	if err := checkSharedKeys(ctx, st, k1, log); err != nil {
		t.Fatalf("second replica, same keys: %v", err)
	}
	if err := checkSharedKeys(ctx, st, identity.RandomKeys(), log); err == nil || !strings.Contains(err.Error(), "same keys folder") {
		t.Fatalf("other keys: %v", err)
	}
	oldDir := filepath.Join(t.TempDir(), "keys")
	if err := os.CopyFS(oldDir, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	if err := identity.Rotate(dir, time.Now()); err != nil {
		t.Fatal(err)
	}
	k2, _, _ := identity.LoadOrCreate(dir)
	if _, _, err := k2.LoadRetired(dir, 0, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := checkSharedKeys(ctx, st, k2, log); err != nil {
		t.Fatalf("a replica with the rotated keys: %v", err)
	}
	for _, f := range []string{"handle.key", "seal.key"} {
		os.Chmod(filepath.Join(oldDir, f), 0o600)
	}
	stale, _, err := identity.LoadOrCreate(oldDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkSharedKeys(ctx, st, stale, log); err == nil || !strings.Contains(err.Error(), "retired by a rotation") {
		t.Fatalf("a replica still on the retired keys: %v", err)
	}
}

func TestKeysCommandErrors(t *testing.T) {
	for _, args := range [][]string{{"keys", "rotate"}, {"keys", "list"}} {
		code, _, errOut := runCLI(t, "", map[string]string{"CANDID_DATA": t.TempDir()}, args...)
		if code == 0 || !strings.Contains(errOut, "no keys in") {
			t.Errorf("%v on an empty folder: %d %q", args, code, errOut)
		}
	}
	code, _, errOut := runCLI(t, "", nil, "keys", "spin")
	if code != 2 || !strings.Contains(errOut, "unknown command") {
		t.Errorf("keys spin: %d %q", code, errOut)
	}
	code, out, _ := runCLI(t, "", nil, "keys", "--help")
	if code != 0 || !strings.Contains(out, "rotate") {
		t.Errorf("keys --help: %d %q", code, out)
	}
}
