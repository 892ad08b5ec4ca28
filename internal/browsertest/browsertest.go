// Package browsertest owns starting a headless Chromium for browser tests
// (chromedp), with the options that work on our machines and in CI (as
// root, without a sandbox or a GPU), so that every package that drives a
// real browser does it the same way and cleans up after itself.
//
// It is imported only by tests.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// RequireEnv makes a missing Chromium a failure instead of a skip, so CI
// (which installs Chromium) cannot pass by silently skipping the test.
const RequireEnv = "CANDID_REQUIRE_CHROMIUM"

// ScreenshotsEnv names a folder; when set, Screenshot writes PNGs there so a
// developer can look at the pages a test drove.
const ScreenshotsEnv = "CANDID_SCREENSHOTS"

// New starts a headless Chromium and returns a chromedp context for one tab.
// The browser is already running when New returns, so callers may derive
// timeouts from the context (a timeout on the first Run would stop the whole
// browser). It is closed gracefully when the test ends.
//
// New skips the test when chromium is not installed, and fails it when
// CANDID_REQUIRE_CHROMIUM=1.
func New(t *testing.T) context.Context {
	t.Helper()
	path := lookPath()
	if path == "" {
		msg := "chromium not found on PATH: install it (apt-get install -y chromium) to run the browser test"
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%s (%s=1 requires it)", msg, RequireEnv)
		}
		t.Skip(msg)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root in CI containers, where the sandbox cannot start
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	}
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		allocCancel()
		t.Fatalf("start chromium (%s): %v", path, err)
	}
	t.Cleanup(func() {
		// Cancel closes the browser gracefully and waits, so its temporary
		// profile is gone before t.TempDir is removed; bound the wait so a
		// hung browser cannot hang the test binary.
		cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
		defer ccancel()
		if err := chromedp.Cancel(cctx); err != nil {
			t.Logf("closing chromium: %v", err)
		}
		cancel()
		allocCancel()
	})
	return ctx
}

func lookPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Screenshot saves a full-page PNG named name+".png" into the folder named by
// CANDID_SCREENSHOTS, and does nothing when that is unset. Failures are
// logged, not fatal: screenshots are for people, not assertions.
func Screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv(ScreenshotsEnv)
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Logf("screenshot %s: %v", name, err)
	}
}
