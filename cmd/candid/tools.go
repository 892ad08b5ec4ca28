package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/candid-app/candid/internal/config"
	"github.com/candid-app/candid/internal/content"
	"github.com/candid-app/candid/internal/conversation"
	"github.com/candid-app/candid/internal/match"
	"github.com/candid-app/candid/internal/staff"
	"github.com/candid-app/candid/internal/store"
)

// matchOutput is the stable line format of `candid match --json`.
type matchOutput struct {
	Decision   string          `json:"decision"`
	FAQID      string          `json:"faq_id"`
	Score      float64         `json:"score"`
	Candidates []candidateJSON `json:"candidates"`
	Safety     safetyJSON      `json:"safety"`
}

// safetyJSON is the safety verdict: tier urgent|concern|none, the kind of
// danger, and why (a rule id, or "model" with the learned layer's score).
type safetyJSON struct {
	Tier  string  `json:"tier"`
	Kind  string  `json:"kind"`
	Why   string  `json:"why"`
	Score float64 `json:"score"`
	// Softened: a soft rule said urgent and the model softened it to concern.
	Softened bool `json:"softened,omitempty"`
}

type candidateJSON struct {
	ID    string  `json:"id"`
	Score float64 `json:"score"`
}

// classifier loads the content the same way serve does and returns the
// bot's decision function.
func classifier(dir string, th match.Thresholds) (func(string) conversation.Classification, *content.Set, error) {
	fsys, source, err := content.Source(dir)
	if err != nil {
		return nil, nil, err
	}
	set, err := content.Load(fsys, source, match.Options{Thresholds: th})
	if err != nil {
		return nil, nil, err
	}
	lib := &conversation.StaticLibrary{Matcher: set.Matcher, Catalog: set.Catalog}
	return func(q string) conversation.Classification { return conversation.Classify(set.Detector, lib, q) }, set, nil
}

func toOutput(c conversation.Classification) matchOutput {
	a := c.Safety
	out := matchOutput{Decision: c.Decision, FAQID: c.FAQID, Score: round(c.Score), Candidates: []candidateJSON{},
		Safety: safetyJSON{Tier: string(a.Tier), Kind: string(a.Kind), Why: a.Why, Score: round(a.Score), Softened: a.Softened}}
	for _, cand := range c.Candidates {
		out.Candidates = append(out.Candidates, candidateJSON{ID: cand.FAQID, Score: round(cand.Score)})
	}
	return out
}

func round(f float64) float64 { return float64(int64(f*10000+0.5)) / 10000 }

// maxLine bounds one stdin question; longer lines are refused, not cut.
const maxLine = 64 << 10

func matchCmd(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("match", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print one JSON object a line: decision, faq_id, score, candidates, safety {tier, kind, why, score}")
	dir := fs.String("faq", getenv("CANDID_FAQ"), "content folder holding en/, lexicon.yaml and safety/ (default ./faq or the built-in copy)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: candid match [--json] [--faq DIR] [QUESTION…]\n\nClassifies each question exactly as the bot does (safety first, then the matcher).\nWith no question, reads one question a line from standard input; a line that is a JSON object\nwith a \"q\" field (as in eval files) is read as that question.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	classify, _, err := classifier(*dir, match.Thresholds{})
	if err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	emit := func(q string) {
		out := toOutput(classify(q))
		if *asJSON {
			b, _ := json.Marshal(out)
			w.Write(append(b, '\n'))
			return
		}
		var cands []string
		for _, c := range out.Candidates {
			cands = append(cands, fmt.Sprintf("%s %.2f", c.ID, c.Score))
		}
		safetyNote := ""
		if out.Safety.Tier != "none" {
			safetyNote = fmt.Sprintf("  safety %s %s (%s)", out.Safety.Tier, out.Safety.Kind, out.Safety.Why)
		}
		fmt.Fprintf(w, "%-12s %-32s %.2f  [%s]%s\n", out.Decision, out.FAQID, out.Score, strings.Join(cands, ", "), safetyNote)
	}
	if fs.NArg() > 0 {
		for _, q := range fs.Args() {
			emit(q)
		}
		return nil
	}
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "{") {
			var c struct {
				Q string `json:"q"`
			}
			if err := json.Unmarshal([]byte(line), &c); err != nil {
				return fmt.Errorf("stdin line %d: not valid JSON: %v", n, err)
			}
			line = c.Q
		}
		emit(line)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("stdin line %d: %w (a question may be at most %d bytes)", n+1, err, maxLine)
	}
	return nil
}

func configCmd(args []string, stdout io.Writer) error {
	if len(args) > 0 {
		return fmt.Errorf("config takes no arguments")
	}
	fmt.Fprintln(stdout, "Every key can be set in a YAML file (--config / CANDID_CONFIG), an environment variable or a flag;\nflags win over the environment, which wins over the file.")
	fmt.Fprintln(stdout)
	config.Reference(stdout)
	return nil
}

// staffClient is what `candid user` needs, from the running server's admin
// socket or, when no server runs, from the store directly.
type staffClient interface {
	Add(ctx context.Context, name, role string) (string, error)
	Remove(ctx context.Context, name string) error
	List(ctx context.Context) ([]store.Staff, error)
	NewTokenTTL(ctx context.Context, name string, ttl time.Duration) (string, store.APIToken, error)
	Tokens(ctx context.Context, name string) ([]store.APIToken, error)
	RevokeToken(ctx context.Context, name, id string) error
	ResetPassword(ctx context.Context, name string) (string, error)
}

var (
	_ staffClient = (*staff.Service)(nil)
	_ staffClient = (*staff.AdminClient)(nil)
)

const userUsage = `Usage:
  candid user add --role moderator|curator|admin NAME   create an account; prints its password once
  candid user remove NAME                               delete an account, its sessions and tokens
  candid user list                                      list accounts
  candid user token [--expires 90d] NAME                print a new API bearer token for NAME (1m to 365d; default 90d)
  candid user token --list NAME                         list NAME's tokens: ID, created, expires
  candid user token --revoke ID NAME                    revoke one token by the ID --list shows
  candid user reset NAME                                set and print a new password
Flags --data and --config work as for serve. While serve runs, the command goes through its
admin socket (<data>/admin.sock); otherwise it opens the data folder itself.`

func userCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stdout, userUsage)
		return nil
	}
	sub := args[0]
	fs := flag.NewFlagSet("user "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	role := fs.String("role", "moderator", "role for add: moderator, curator or admin")
	expires, revoke, list := "90d", "", false
	// Only --data, --config and --store/--redis-url matter here; pass them to config.Load.
	var cfgArgs []string
	var rest []string
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--role" || a == "-role":
			if i+1 < len(args) {
				*role = args[i+1]
				i++
			}
		case strings.HasPrefix(a, "--role="):
			*role = strings.TrimPrefix(a, "--role=")
		case sub == "token" && (a == "--list" || a == "-list"):
			list = true
		case sub == "token" && (a == "--expires" || a == "--revoke"):
			if i+1 >= len(args) {
				return exitError{2, "candid user token: " + a + " needs a value"}
			}
			if a == "--expires" {
				expires = args[i+1]
			} else {
				revoke = args[i+1]
			}
			i++
		case sub == "token" && strings.HasPrefix(a, "--expires="):
			expires = strings.TrimPrefix(a, "--expires=")
		case sub == "token" && strings.HasPrefix(a, "--revoke="):
			revoke = strings.TrimPrefix(a, "--revoke=")
		case strings.HasPrefix(a, "-"):
			cfgArgs = append(cfgArgs, a)
			if !strings.Contains(a, "=") && i+1 < len(args) {
				cfgArgs = append(cfgArgs, args[i+1])
				i++
			}
		default:
			rest = append(rest, a)
		}
	}
	cfg, _, err := config.Load("user", cfgArgs, getenv, stderr)
	if err != nil {
		return err
	}
	var cl staffClient
	if ac, err := staff.Dial(filepath.Join(cfg.Data, "admin.sock")); err == nil {
		defer ac.Close()
		cl = ac
	} else {
		st, _, err := openStore(ctx, cfg, newLogger(&config.Config{LogLevel: "error", LogFormat: "text"}, stderr))
		if err != nil {
			return err
		}
		defer st.Close()
		svc, err := staff.New(staff.Options{Store: st})
		if err != nil {
			return err
		}
		cl = svc
	}
	name := ""
	if len(rest) > 0 {
		name = rest[0]
	}
	needName := func() error {
		if name == "" || len(rest) != 1 {
			return exitError{2, fmt.Sprintf("candid user %s: give exactly one account name\n\n%s", sub, userUsage)}
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	switch sub {
	case "add":
		if err := needName(); err != nil {
			return err
		}
		pw, err := cl.Add(ctx, name, *role)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Created %s (%s). Password (shown once, store it safely):\n%s\n", name, *role, pw)
	case "remove":
		if err := needName(); err != nil {
			return err
		}
		if err := cl.Remove(ctx, name); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Removed %s and its sessions and tokens.\n", name)
	case "list":
		list, err := cl.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tCREATED")
		for _, s := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Name, s.Role, s.CreatedAt.Format(time.DateOnly))
		}
		tw.Flush()
	case "token":
		if err := needName(); err != nil {
			return err
		}
		switch {
		case list:
			ts, err := cl.Tokens(ctx, name)
			if err != nil {
				return err
			}
			if len(ts) == 0 {
				fmt.Fprintf(stdout, "%s has no API tokens.\n", name)
				return nil
			}
			now := time.Now()
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tCREATED\tEXPIRES")
			for _, t := range ts {
				exp := "never (made before tokens expired: revoke it and make a new one)"
				if !t.ExpiresAt.IsZero() {
					exp = t.ExpiresAt.Format(time.DateOnly)
					if !now.Before(t.ExpiresAt) {
						exp += " (expired)"
					}
				}
				created := "unknown"
				if !t.CreatedAt.IsZero() {
					created = t.CreatedAt.Format(time.DateOnly)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", t.ID(), created, exp)
			}
			tw.Flush()
		case revoke != "":
			if err := cl.RevokeToken(ctx, name, revoke); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "Revoked token %s of %s. Anything using it is refused from now on.\n", revoke, name)
		default:
			ttl, err := parseDays(expires)
			if err != nil {
				return exitError{2, "candid user token: --expires " + err.Error()}
			}
			tok, rec, err := cl.NewTokenTTL(ctx, name, ttl)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "API token for %s, ID %s, valid until %s (shown once; send it as Authorization: Bearer …):\n%s\n", name, rec.ID(), rec.ExpiresAt.Format(time.DateOnly), tok)
		}
	case "reset":
		if err := needName(); err != nil {
			return err
		}
		pw, err := cl.ResetPassword(ctx, name)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "New password for %s (shown once):\n%s\n", name, pw)
	default:
		return exitError{2, fmt.Sprintf("candid user: unknown subcommand %q\n\n%s", sub, userUsage)}
	}
	return nil
}

// parseDays reads a lifetime such as 90d, 12h or 30m.
func parseDays(v string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(v, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 1 {
			return 0, fmt.Errorf("%q: use days (90d), hours (12h) or minutes (30m)", v)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q: use days (90d), hours (12h) or minutes (30m)", v)
	}
	return d, nil
}
