package content

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/candid-app/candid/internal/match"
)

// copyTree copies the shipped content folder so a test can break it.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReloadSwapsOnlyValidContent(t *testing.T) {
	dir := t.TempDir()
	copyTree(t, "../../faq", dir)
	fsys, source, err := Source(dir)
	if err != nil {
		t.Fatal(err)
	}
	live, err := NewLive(fsys, source, match.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	before := live.Current()
	if live.Entry("erectile-dysfunction") == nil || live.Match("cant stay hard").Decision != match.Answer {
		t.Fatal("shipped content does not answer")
	}

	// A broken entry: the reload fails and the old content keeps serving.
	os.WriteFile(filepath.Join(dir, "en", "broken.yaml"), []byte("id: [\n"), 0o644)
	if err := live.Reload(); err == nil {
		t.Fatal("broken content accepted")
	}
	if live.Current() != before {
		t.Fatal("a failed reload replaced the content")
	}

	// Broken crisis rules are refused too: safety is part of the same version.
	os.Remove(filepath.Join(dir, "en", "broken.yaml"))
	good, _ := os.ReadFile(filepath.Join(dir, CrisisFile))
	os.WriteFile(filepath.Join(dir, CrisisFile), []byte("rules: 5\n"), 0o644)
	if err := live.Reload(); err == nil || live.Current() != before {
		t.Fatal("broken crisis rules accepted")
	}
	os.WriteFile(filepath.Join(dir, CrisisFile), good, 0o644)

	// Valid changes are swapped in again and again while queries run: every
	// query gets a whole answer from one version or the other, never a torn
	// or failed one.
	asexuality, _ := os.ReadFile(filepath.Join(dir, "en", "asexuality.yaml"))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					if r := live.Match("cant stay hard"); r.Decision != match.Answer {
						t.Error("a query during reload was not answered")
						return
					}
				}
			}
		}()
	}
	for i := 0; i < 5; i++ { // odd count: the last reload removes the entry
		if i%2 == 0 {
			os.Remove(filepath.Join(dir, "en", "asexuality.yaml"))
		} else {
			os.WriteFile(filepath.Join(dir, "en", "asexuality.yaml"), asexuality, 0o644)
		}
		if err := live.Reload(); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if live.Current() == before || live.Entry("asexuality") != nil {
		t.Fatal("a valid reload was not swapped in")
	}
}

func TestSourceErrors(t *testing.T) {
	if _, _, err := Source(t.TempDir()); err == nil {
		t.Fatal("a folder without en/ accepted")
	}
	if _, src, err := Source(""); err != nil || src == "" {
		t.Fatalf("default source: %q %v", src, err)
	}
}
