package staff

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// shortDir returns a temporary directory with a path short enough for a
// Unix socket (about 108 bytes on Linux).
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "cnd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func startAdmin(t *testing.T, svc *Service, path string) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeAdmin(ctx, path, svc, nil) }()
	// Wait until it answers (or failed to start).
	for {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("ServeAdmin: %v", err)
		default:
		}
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	return func() error {
		cancel()
		return <-done
	}
}

func TestAdminSocketRoundTrip(t *testing.T) {
	svc, _, _ := newTest(t)
	dir := filepath.Join(shortDir(t), "data")
	path := filepath.Join(dir, SocketName)
	stop := startAdmin(t, svc, path)

	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode()&os.ModeSocket == 0 || st.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, want socket 0600", st.Mode())
	}
	if d, _ := os.Stat(dir); d.Mode().Perm() != 0o700 {
		t.Fatalf("data dir mode %v, want 0700", d.Mode().Perm())
	}

	c, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	pw, err := c.Add(ctx, "alice", "admin")
	if err != nil || pw == "" {
		t.Fatalf("Add: %q %v", pw, err)
	}
	if _, _, err := svc.Login(ctx, "alice", pw, "cli"); err != nil {
		t.Fatalf("password from the socket does not log in: %v", err)
	}
	if _, err := c.Add(ctx, "alice", "admin"); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate over the socket: %v", err)
	}
	if _, err := c.Add(ctx, "Bad Name", "admin"); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "2 to 32") {
		t.Fatalf("invalid over the socket: %v", err)
	}
	tok, err := c.NewToken(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if a, err := svc.Token(ctx, tok); err != nil || a.Name != "alice" {
		t.Fatalf("token from the socket: %+v %v", a, err)
	}
	if _, rec, err := c.NewTokenTTL(ctx, "alice", 48*time.Hour); err != nil || rec.ExpiresAt.IsZero() || len(rec.ID()) != 12 {
		t.Fatalf("token with a lifetime over the socket: %+v %v", rec, err)
	}
	if _, _, err := c.NewTokenTTL(ctx, "alice", 400*24*time.Hour); !errors.Is(err, ErrInvalid) {
		t.Fatalf("too long a lifetime over the socket: %v", err)
	}
	toks, err := c.Tokens(ctx, "alice")
	if err != nil || len(toks) != 2 {
		t.Fatalf("tokens over the socket: %+v %v", toks, err)
	}
	if err := c.RevokeToken(ctx, "alice", hashSecret(tok)[:12]); err != nil {
		t.Fatalf("revoke over the socket: %v", err)
	}
	if _, err := svc.Token(ctx, tok); !errors.Is(err, ErrBadToken) {
		t.Fatalf("revoked over the socket but still valid: %v", err)
	}
	if err := c.RevokeToken(ctx, "alice", hashSecret(tok)[:12]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoking twice: %v", err)
	}
	pw2, err := c.ResetPassword(ctx, "alice")
	if err != nil || pw2 == pw {
		t.Fatalf("reset: %v", err)
	}
	list, err := c.List(ctx)
	if err != nil || len(list) != 1 || list[0].Name != "alice" || list[0].PasswordHash != "" {
		t.Fatalf("list: %+v %v", list, err)
	}
	if err := c.Remove(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := c.Remove(ctx, "alice"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("remove twice: %v", err)
	}

	// A second server on the same data directory refuses to start.
	if err := ServeAdmin(context.Background(), path, svc, nil); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second server: %v", err)
	}

	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("socket left behind after shutdown")
	}
	if _, err := Dial(path); !errors.Is(err, ErrNoServer) {
		t.Fatalf("Dial without a server: %v", err)
	}
}

func TestAdminStaleSocket(t *testing.T) {
	svc, _, _ := newTest(t)
	path := filepath.Join(shortDir(t), SocketName)
	// A socket file nobody listens on, as a crashed server leaves it.
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if _, err := Dial(path); !errors.Is(err, ErrNoServer) {
		t.Fatalf("Dial on a stale socket: %v", err)
	}
	stop := startAdmin(t, svc, path)
	defer stop()
	c, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.List(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestAdminRefusesNonSocket(t *testing.T) {
	svc, _, _ := newTest(t)
	path := filepath.Join(shortDir(t), SocketName)
	os.WriteFile(path, []byte("precious"), 0o600)
	if err := ServeAdmin(context.Background(), path, svc, nil); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("ServeAdmin over a file: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "precious" {
		t.Fatal("ServeAdmin removed a regular file")
	}
}

func TestAdminHostileRequests(t *testing.T) {
	svc, _, _ := newTest(t)
	path := filepath.Join(shortDir(t), SocketName)
	stop := startAdmin(t, svc, path)
	defer stop()
	for _, raw := range []string{
		"POST /v1/add HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n{{{{{",
		"POST /v1/add HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n" + strings.Repeat("a", 200000),
		"GET /v1/list HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /v1/nope HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
	} {
		conn, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		conn.Write([]byte(raw))
		buf := make([]byte, 512)
		n, _ := conn.Read(buf)
		conn.Close()
		if !strings.HasPrefix(string(buf[:n]), "HTTP/1.1 4") {
			t.Errorf("request %.40q got %.60q, want a 4xx", raw, buf[:n])
		}
	}
	if list, _ := svc.List(context.Background()); len(list) != 0 {
		t.Fatalf("hostile requests created accounts: %+v", list)
	}
}
