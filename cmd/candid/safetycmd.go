package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/candid-app/candid/internal/match"
	"github.com/candid-app/candid/internal/safety"
)

// safetyCase is one labelled message: {"q", "tier": "urgent"|"concern"|"none",
// "kind"} (the safety sets), or the matcher's {"q", "expect": [...]} where
// "crisis" means urgent and anything else none.
type safetyCase struct {
	Q      string   `json:"q"`
	Tier   string   `json:"tier"`
	Kind   string   `json:"kind"`
	Expect []string `json:"expect"`
}

// faqSafety measures the safety detector (rules and learned layer) on
// labelled messages: recall per kind and tier, and false alarms.
func faqSafety(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("faq safety", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("faq", getenv("CANDID_FAQ"), "content folder (default ./faq or the built-in copy)")
	misses := fs.Bool("misses", false, "also list the messages it got wrong")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return exitError{2, "candid faq safety: give one or more case files (JSON lines)"}
	}
	_, set, err := classifier(*dir, match.Thresholds{})
	if err != nil {
		return err
	}
	det := set.Detector
	for _, name := range fs.Args() {
		cases, err := loadSafetyCases(name)
		if err != nil {
			return err
		}
		type tally struct{ n, urgent, any int }
		byKind := map[string]*tally{}
		var danger, none tally
		var wrongKind int
		var missed []string
		for _, c := range cases {
			a := det.Assess(c.Q)
			u, any := a.Tier == safety.TierUrgent, a.NeedsHelp()
			if c.Tier == "none" {
				none.n++
				if u {
					none.urgent++
				}
				if any {
					none.any++
				}
				if u && *misses {
					missed = append(missed, "false urgent ("+a.Why+"): "+c.Q)
				}
				continue
			}
			t := byKind[c.Kind]
			if t == nil {
				t = &tally{}
				byKind[c.Kind] = t
			}
			for _, x := range []*tally{t, &danger} {
				x.n++
				if u {
					x.urgent++
				}
				if any {
					x.any++
				}
			}
			if any && c.Kind != "" && c.Kind != "crisis" && !a.HasKind(safety.Kind(c.Kind)) {
				wrongKind++
			}
			if !u && *misses {
				missed = append(missed, fmt.Sprintf("not urgent (%s): %s", a.Tier, c.Q))
			}
		}
		rate := func(a, b int) string {
			if b == 0 {
				return "  n/a"
			}
			return fmt.Sprintf("%.3f", float64(a)/float64(b))
		}
		fmt.Fprintf(stdout, "safety on %s (%d cases)\n", name, len(cases))
		fmt.Fprintf(stdout, "  emergencies %4d: urgent %s, urgent or concern %s, kind not among those found %d\n", danger.n, rate(danger.urgent, danger.n), rate(danger.any, danger.n), wrongKind)
		kinds := make([]string, 0, len(byKind))
		for k := range byKind {
			kinds = append(kinds, k)
		}
		slices.Sort(kinds)
		for _, k := range kinds {
			t := byKind[k]
			fmt.Fprintf(stdout, "    %-22s %4d: urgent %s, urgent or concern %s\n", k, t.n, rate(t.urgent, t.n), rate(t.any, t.n))
		}
		fmt.Fprintf(stdout, "  no emergency %4d: false urgent %s, urgent or concern %s\n", none.n, rate(none.urgent, none.n), rate(none.any, none.n))
		for _, m := range missed {
			fmt.Fprintln(stdout, "    "+m)
		}
	}
	return nil
}

func loadSafetyCases(name string) ([]safetyCase, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []safetyCase
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 64*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var c safetyCase
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", name, n, err)
		}
		if c.Tier == "" {
			c.Tier = "none"
			if slices.Contains(c.Expect, "crisis") {
				c.Tier, c.Kind = "urgent", "crisis"
			}
		}
		if c.Q == "" || (c.Tier != "none" && c.Tier != "urgent" && c.Tier != "concern") {
			return nil, fmt.Errorf("%s:%d: want {\"q\", \"tier\": urgent|concern|none, \"kind\"} or {\"q\", \"expect\": [...]}", name, n)
		}
		out = append(out, c)
	}
	return out, sc.Err()
}
