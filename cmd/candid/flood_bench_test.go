package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkLoginFlood measures the web chat while 300 clients try bad
// console logins as fast as they can, each from its own address (through a
// trusted proxy, as a botnet behind the clinic's load balancer would look).
// Each iteration is one asker's message (a new session and address each
// time, so the chat's own limits never answer); the flood runs throughout.
// It reports the chat's p50/p99 latency, the process's peak RSS and how many
// login attempts were made and hashed. It asserts nothing: run it with
//
//	go test ./cmd/candid -run '^$' -bench BenchmarkLoginFlood -benchtime 2000x
//
// and read docs/benchmarks.md for the figures and the machine.
func BenchmarkLoginFlood(b *testing.B) {
	a, srv, _ := startApp(b, map[string]string{"CANDID_TRUSTED_PROXIES": "127.0.0.1/32"}, slog.New(slog.DiscardHandler))
	if _, err := a.staff.Add(context.Background(), "maria", "moderator"); err != nil {
		b.Fatal(err)
	}
	clients := 300
	if v, err := strconv.Atoi(os.Getenv("CANDID_FLOOD_CLIENTS")); err == nil {
		clients = v // 0: the same measurement without a flood, to compare
	}
	// The flood comes from another process, as it would from other
	// machines: in this one its 300 clients would take the scheduler's
	// time from the server and measure the load generator, not Candid.
	counts := filepath.Join(b.TempDir(), "flood.counts")
	var gen *exec.Cmd
	if clients > 0 {
		gen = exec.Command(os.Args[0], "-test.run=^TestLoginFloodGenerator$", "-test.count=1")
		gen.Env = append(os.Environ(), "CANDID_FLOOD_TARGET="+srv.URL, "CANDID_FLOOD_CLIENTS="+strconv.Itoa(clients), "CANDID_FLOOD_COUNTS="+counts)
		gen.Stdout, gen.Stderr = io.Discard, os.Stderr
		if err := gen.Start(); err != nil {
			b.Fatal(err)
		}
		defer func() { gen.Process.Kill(); gen.Wait() }()
	}
	client := &http.Client{Timeout: 30 * time.Second}
	time.Sleep(time.Second) // the flood is under way before measuring
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/chat/messages", strings.NewReader(`{"text":"how do i put on a condom"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("192.168.%d.%d", i/250%250, i%250+1))
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		lat = append(lat, time.Since(start))
		if resp.StatusCode != 200 {
			b.Fatalf("chat message %d: %d", i, resp.StatusCode)
		}
	}
	b.StopTimer()
	var attempts, hashed, refused int64
	if gen != nil {
		gen.Process.Signal(os.Interrupt)
		gen.Wait()
		data, _ := os.ReadFile(counts)
		fmt.Sscan(string(data), &attempts, &hashed, &refused)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(peakRSS())/(1<<20), "peak-RSS-MB")
	b.ReportMetric(float64(attempts), "bad-logins")
	b.ReportMetric(float64(hashed), "hashed")
	b.ReportMetric(float64(refused), "refused-before-hashing")
}

// TestLoginFloodGenerator is BenchmarkLoginFlood's load generator, run by
// it as a separate process (CANDID_FLOOD_TARGET set); on its own it has
// nothing to do and says so. Each client fetches the login form (its
// one-use token rides in a cookie) and posts a wrong password, from its own
// forwarded address, until interrupted; the counts go to CANDID_FLOOD_COUNTS.
func TestLoginFloodGenerator(t *testing.T) {
	target := os.Getenv("CANDID_FLOOD_TARGET")
	if target == "" {
		t.Skip("BenchmarkLoginFlood's load generator: it runs only as that benchmark's child process")
	}
	clients, _ := strconv.Atoi(os.Getenv("CANDID_FLOOD_CLIENTS"))
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt)
	done := make(chan struct{})
	go func() { <-stop; close(done) }()
	transport := &http.Transport{MaxIdleConnsPerHost: 400}
	tokenRE := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	var attempts, refused, hashed atomic.Int64
	var wg sync.WaitGroup
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			jar, _ := cookiejar.New(nil)
			client := &http.Client{Transport: transport, Jar: jar, Timeout: 30 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				ip := fmt.Sprintf("10.%d.%d.%d", w/250, w%250, i%250+1)
				req, _ := http.NewRequest(http.MethodGet, target+"/console/login", nil)
				req.Header.Set("X-Forwarded-For", ip)
				resp, err := client.Do(req)
				if err != nil {
					continue
				}
				page, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				m := tokenRE.FindSubmatch(page)
				if m == nil {
					continue
				}
				form := url.Values{"csrf": {string(m[1])}, "name": {"maria"}, "password": {"wrong-" + strconv.Itoa(i)}}
				req, _ = http.NewRequest(http.MethodPost, target+"/console/login", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("X-Forwarded-For", ip)
				resp, err = client.Do(req)
				if err != nil {
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				attempts.Add(1)
				switch resp.StatusCode {
				case http.StatusTooManyRequests, http.StatusServiceUnavailable:
					refused.Add(1)
				case http.StatusUnauthorized:
					hashed.Add(1) // a password was checked (and was wrong)
				}
			}
		}()
	}
	wg.Wait()
	os.WriteFile(os.Getenv("CANDID_FLOOD_COUNTS"), fmt.Appendf(nil, "%d %d %d", attempts.Load(), hashed.Load(), refused.Load()), 0o600)
}

// peakRSS is the process's high-water resident set (VmHWM), in bytes.
func peakRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
