// Package archtest keeps the layout honest: it checks which way imports run
// (DESIGN.md, "Which way the imports run") on every non-test Go file.
package archtest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/candid-app/candid/"

var sdks = []string{
	"github.com/slack-go/slack",
	"github.com/go-telegram-bot-api/telegram-bot-api",
	"github.com/redis/go-redis",
	"go.etcd.io/bbolt",
	"github.com/sashabaranov/go-openai",
	"github.com/blevesearch/bleve",
}

var adapters = []string{"internal/web", "internal/telegram", "internal/slack", "internal/console"}
var backends = []string{"internal/store/boltstore", "internal/store/redisstore"}

// rule: packages under dir (prefix) must not import anything with one of the
// forbidden prefixes.
type rule struct {
	dir       string
	forbidden []string
	why       string
}

func rules() []rule {
	engine := []string{"internal/conversation", "internal/match", "internal/safety", "internal/faq", "internal/identity", "internal/moderation", "internal/content", "internal/markup"}
	var rs []rule
	for _, e := range engine {
		forb := append(append(append([]string{}, adapters...), backends...), "cmd/")
		forb = append(forb, sdks...)
		rs = append(rs, rule{e, forb, "the engine never imports an adapter, a storage backend or an SDK"})
	}
	for _, a := range adapters {
		rs = append(rs, rule{a, append(append([]string{}, backends...), "cmd/", "github.com/redis/go-redis", "go.etcd.io/bbolt"), "adapters never touch a storage backend"})
	}
	rs = append(rs, rule{"internal/", []string{"cmd/"}, "nothing imports the wiring"})
	rs = append(rs, rule{"internal/store/", []string{"internal/conversation", "internal/moderation", "internal/web", "internal/telegram", "internal/slack", "internal/console"}, "storage knows nothing of its consumers"})
	// Only the telegram adapter talks to Telegram and only the slack adapter to Slack.
	for _, p := range []string{"internal/web", "internal/console", "internal/conversation", "internal/moderation", "internal/telegram"} {
		rs = append(rs, rule{p, []string{"github.com/slack-go/slack"}, "only internal/slack uses slack-go"})
	}
	for _, p := range []string{"internal/web", "internal/console", "internal/conversation", "internal/moderation", "internal/slack"} {
		rs = append(rs, rule{p, []string{"github.com/go-telegram-bot-api/"}, "only internal/telegram uses telegram-bot-api"})
	}
	return rs
}

// violations lists the rules that file rel breaks by importing path.
func violations(rel, path string) []string {
	var out []string
	local := strings.TrimPrefix(path, module)
	for _, r := range rules() {
		if !strings.HasPrefix(rel, r.dir) {
			continue
		}
		for _, fb := range r.forbidden {
			if strings.HasPrefix(local, fb) && !strings.HasPrefix(rel, fb) {
				out = append(out, rel+" imports "+path+": "+r.why)
			}
		}
	}
	return out
}

// TestRulesCatchViolations shows the check can fail: each import below breaks
// a rule and must be reported; the allowed ones must not be.
func TestRulesCatchViolations(t *testing.T) {
	bad := []struct{ file, imp string }{
		{"internal/conversation/engine.go", module + "internal/web"},
		{"internal/conversation/engine.go", module + "internal/store/boltstore"},
		{"internal/conversation/engine.go", "github.com/slack-go/slack"},
		{"internal/moderation/service.go", "github.com/redis/go-redis/v9"},
		{"internal/match/match.go", "github.com/blevesearch/bleve/v2"},
		{"internal/web/web.go", module + "internal/store/redisstore"},
		{"internal/web/web.go", "go.etcd.io/bbolt"},
		{"internal/telegram/bot.go", "github.com/slack-go/slack"},
		{"internal/slack/app.go", "github.com/go-telegram-bot-api/telegram-bot-api/v5"},
		{"internal/store/boltstore/x.go", module + "internal/moderation"},
		{"internal/faq/faq.go", module + "cmd/candid"},
	}
	for _, b := range bad {
		if len(violations(b.file, b.imp)) == 0 {
			t.Errorf("%s importing %s was not reported", b.file, b.imp)
		}
	}
	good := []struct{ file, imp string }{
		{"internal/conversation/engine.go", module + "internal/match"},
		{"internal/web/web.go", module + "internal/conversation"},
		{"internal/slack/app.go", "github.com/slack-go/slack"},
		{"internal/store/boltstore/x.go", "go.etcd.io/bbolt"},
		{"cmd/candid/serve.go", module + "internal/store/boltstore"},
	}
	for _, g := range good {
		if v := violations(g.file, g.imp); len(v) > 0 {
			t.Errorf("allowed import reported: %v", v)
		}
	}
}

func TestImportDirections(t *testing.T) {
	root := "../.."
	var checked int
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || rel == "bench") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		// Files behind a build tag (the bleve baseline) are not in the binary.
		for _, cg := range f.Comments {
			for _, c := range cg.List {
				if strings.HasPrefix(c.Text, "//go:build") && strings.Contains(c.Text, "bleve") {
					return nil
				}
			}
		}
		// testing.go files hold shipped fakes for tests; they may build on real parts.
		if filepath.Base(path) == "testing.go" {
			return nil
		}
		checked++
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			for _, v := range violations(rel, p) {
				t.Error(v)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 20 {
		t.Fatalf("only %d files checked: is the walk rooted at the module?", checked)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatal("root is not the module root")
	}
}
