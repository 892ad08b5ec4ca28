// Package redistest starts a real redis-server for tests, so that any
// package's tests (not only redisstore's) can run against the real thing.
// It is test support: only _test.go files import it.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/candid-app/candid/internal/logtest"
)

// RequireEnv, set to 1, turns "redis-server is not installed" from a skip
// into a failure (for CI machines that must run the Redis suite).
const RequireEnv = "CANDID_REQUIRE_REDIS"

// Server is a running redis-server.
type Server struct {
	Addr string // 127.0.0.1:port
	URL  string // redis://127.0.0.1:port/0
}

// Start runs redis-server on a free loopback port, with no persistence and
// its working directory in t.TempDir(), waits until it answers PING, and
// kills it when the test ends. Without redis-server it skips the test, or
// fails it if CANDID_REQUIRE_REDIS=1.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		msg := "redis-server not installed: apt-get install redis-server to run the Redis conformance suite"
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%s (%s=1)", msg, RequireEnv)
		}
		t.Skip(msg)
	}
	var lastErr error
	for range 3 { // a free port can be taken between finding and binding it
		srv, err := start(t, bin)
		if err == nil {
			return srv
		}
		lastErr = err
	}
	t.Fatalf("redistest: %v", lastErr)
	return nil
}

func start(t testing.TB, bin string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir := t.TempDir()
	cmd := exec.Command(bin,
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir,
		"--logfile", filepath.Join(dir, "redis.log"))
	var out logtest.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start redis-server: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer rdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := rdb.Ping(ctx).Err()
		cancel()
		if err == nil {
			break
		}
		select {
		case werr := <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			return nil, fmt.Errorf("redis-server exited (%v): %s%s", werr, out.String(), log)
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("redis-server on %s did not answer PING within 10s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(stop)
	return &Server{Addr: addr, URL: "redis://" + addr + "/0"}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Dump returns every key under prefix with its whole value (strings,
// hashes, lists, sets, sorted sets), for tests that search the stored
// bytes for something that must not be there.
func Dump(ctx context.Context, rdb *redis.Client, prefix string) ([]byte, error) {
	var out []byte
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		out = append(out, key...)
		out = append(out, '\n')
		typ, err := rdb.Type(ctx, key).Result()
		if err != nil {
			return nil, err
		}
		var vals []string
		switch typ {
		case "string":
			v, err := rdb.Get(ctx, key).Result()
			if err != nil && err != redis.Nil {
				return nil, err
			}
			vals = []string{v}
		case "hash":
			m, err := rdb.HGetAll(ctx, key).Result()
			if err != nil {
				return nil, err
			}
			for k, v := range m {
				vals = append(vals, k, v)
			}
		case "list":
			vals, err = rdb.LRange(ctx, key, 0, -1).Result()
		case "set":
			vals, err = rdb.SMembers(ctx, key).Result()
		case "zset":
			vals, err = rdb.ZRange(ctx, key, 0, -1).Result()
		case "none":
		default:
			return nil, fmt.Errorf("redistest: dump: key type %s not handled", typ)
		}
		if err != nil {
			return nil, err
		}
		for _, v := range vals {
			out = append(out, v...)
			out = append(out, '\n')
		}
	}
	return out, iter.Err()
}
