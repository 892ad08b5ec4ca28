package safety

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
)

// A minimal valid rules file; the error cases below break it one way each.
const minimalRules = `version: 1
rewrites:
  kms: kill myself
sets:
  self: [myself, my self]
categories:
  self_harm:
    - id: sh-1
      match: ["kill @self"]
      unless: ["kill myself laughing"]
requests:
  - id: req-1
    match: ["^ send nudes"]
`

func TestLoadDetectorMinimal(t *testing.T) {
	d, err := LoadDetector(fstest.MapFS{"c.yaml": {Data: []byte(minimalRules)}}, "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if a := d.Assess("KMS"); !a.Has(SelfHarm) {
		t.Errorf("rewrite not applied: %+v", a)
	}
	if a := d.Assess("i could kill myself laughing"); a.Crisis {
		t.Errorf("guard not applied: %+v", a)
	}
	if a := d.Assess("send nudes"); !a.Request || a.Crisis {
		t.Errorf("request: %+v", a)
	}
}

func TestLoadDetectorErrors(t *testing.T) {
	rule := func(body string) string {
		return "categories:\n  self_harm:\n    - id: r1\n" + body
	}
	tests := []struct {
		name, file string
		line       int
		msg        string
	}{
		// The YAML library reports the line where the broken construct starts,
		// which may be a line before the one at fault: accept any line.
		{"malformed yaml", rule("      match: [\"a\"\n      unless: b\n"), -1, "invalid YAML"},
		{"tab indent", "categories:\n\tself_harm: []\n", 2, "invalid YAML"},
		{"unknown category", "categories:\n  self_harm:\n    - id: a\n      match: [x]\n  selfharm:\n    - id: b\n      match: [y]\n", 5, `unknown category "selfharm"`},
		{"empty pattern", rule("      match:\n        - kill\n        - \"\"\n"), 6, "empty pattern"},
		{"unknown kind", rule("      kind: selfharm\n      match: [x]\n"), 4, `kind "selfharm"`},
		{"unknown tier", rule("      tier: high\n      match: [x]\n"), 4, `tier "high": want urgent or concern`},
		{"soft not a bool", rule("      soft: maybe\n      match: [x]\n"), 4, `soft "maybe": want true or false`},
		{"blank pattern", rule("      match: [\"  \"]\n"), 4, "empty pattern"},
		{"invalid regex", rule("      match:\n        - \"re:kill(\"\n"), 5, "invalid regex"},
		{"regex matching nothing", rule("      match: [\"re:a*\"]\n"), 4, "matches the empty string"},
		{"duplicate id", "categories:\n  self_harm:\n    - id: a\n      match: [x]\n  violence:\n    - id: a\n      match: [y]\n", 6, `duplicate rule id "a" (first on line 3)`},
		{"unknown rule key", rule("      match: [x]\n      unles: [y]\n"), 5, `unknown key "unles"`},
		{"no match", rule("      unless: [x]\n"), 3, "no match patterns"},
		{"no id", "categories:\n  self_harm:\n    - match: [x]\n", 3, "without an id"},
		{"bad id", "categories:\n  self_harm:\n    - id: Bad Id\n      match: [x]\n", 3, "rule id"},
		{"unknown set", rule("      match: [\"kill @selff\"]\n"), 4, "unknown set @selff"},
		{"set cycle", "sets:\n  a: [\"x @b\"]\n  b: [\"y @a\"]\ncategories:\n  self_harm:\n    - id: r\n      match: [x]\n", 2, "refers to itself"},
		{"gap at start", rule("      match: [\".. kill\"]\n"), 4, "cannot start or end"},
		{"gap too long", rule("      match: [\"kill ..40 me\"]\n"), 4, "bad gap"},
		{"bad number", rule("      match: [\"<n:9-3> years\"]\n"), 4, "bad number"},
		{"unclosed group", rule("      match: [\"(kill|hurt myself\"]\n"), 4, "missing"},
		{"empty alternative", rule("      match: [\"(kill|) me\"]\n"), 4, "empty alternative"},
		{"only optional", rule("      match: [\"[kill]\"]\n"), 4, "no words"},
		{"short prefix", rule("      match: [\"ki*\"]\n"), 4, "too short"},
		{"near out of range", rule("      match: [x]\n      near: 99\n"), 5, "near"},
		{"rewrite key two words", "rewrites:\n  kill me: x\ncategories:\n  self_harm:\n    - id: r\n      match: [x]\n", 2, "one word"},
		{"empty rewrite", "rewrites:\n  kms: \"\"\ncategories:\n  self_harm:\n    - id: r\n      match: [x]\n", 2, "empty replacement"},
		{"no categories", "version: 1\n", 1, "no categories"},
		{"unknown top key", "categoris: {}\n", 1, `unknown key "categoris"`},
		{"bad version", "version: 2\ncategories: {}\n", 1, "version"},
		{"empty rules", "categories:\n  self_harm: []\n", 2, "no rules"},
		{"alias of a mapping", "base: &b {id: x, match: [y]}\ncategories:\n  self_harm:\n    - *b\n", 1, `unknown key "base"`},
		{"rule is alias", "categories:\n  self_harm:\n    - &b {id: x, match: [y]}\n    - *b\n", 4, "aliases"},
		{"empty file", "", 1, "empty"},
		{"top is a list", "- a\n- b\n", 1, "mapping"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{"safety/crisis.yaml": {Data: []byte(tc.file)}}
			_, err := LoadDetector(fsys, "safety/crisis.yaml")
			checkFileError(t, err, "safety/crisis.yaml", tc.line, tc.msg)
		})
	}
}

func TestLoadOversized(t *testing.T) {
	big := minimalRules + "# " + strings.Repeat("x", 80) + "\n"
	for len(big) <= maxFileSize {
		big += big
	}
	fsys := fstest.MapFS{"c.yaml": {Data: []byte(big)}, "r.yaml": {Data: []byte(big)}}
	_, err := LoadDetector(fsys, "c.yaml")
	checkFileError(t, err, "c.yaml", -1, "larger than")
	_, err = LoadResources(fsys, "r.yaml")
	checkFileError(t, err, "r.yaml", -1, "larger than")
}

func TestLoadMissingFile(t *testing.T) {
	_, err := LoadDetector(fstest.MapFS{}, "nope.yaml")
	var fe *FileError
	if !errors.As(err, &fe) || fe.File != "nope.yaml" {
		t.Errorf("err = %v, want a FileError naming nope.yaml", err)
	}
}

func TestLoadResourcesErrors(t *testing.T) {
	const intl = "  INTL:\n    emergency: your local emergency number\n"
	tests := []struct {
		name, file string
		line       int
		msg        string
	}{
		{"malformed yaml", "regions:\n  US: {emergency: \"911\"\n", -1, "invalid YAML"},
		{"unknown kind", "regions:\n" + intl + "    resources:\n      selfharm:\n        - {name: a, contact: b}\n", 5, `unknown kind "selfharm"`},
		{"missing default", "regions:\n  US:\n    emergency: \"911\"\n", 1, `default region "INTL"`},
		{"no emergency", "regions:\n  INTL:\n    name: x\n", 3, "no emergency"},
		{"no contact", "regions:\n" + intl + "    general:\n      - name: a\n", 5, "name and a contact"},
		{"markdown", "regions:\n" + intl + "    general:\n      - {name: \"**a**\", contact: b}\n", 5, "plain text"},
		{"bad code", "regions:\n  us:\n    emergency: \"911\"\n", 2, "region code"},
		{"duplicate alias", "regions:\n" + intl + "    aliases: [GB]\n  UK:\n    emergency: \"999\"\n    aliases: [GB]\n", 7, `alias "GB" already used`},
		{"unknown key", "regions:\n" + intl + "    emergancy: x\n", 4, `unknown key "emergancy"`},
		{"duplicate region", "regions:\n" + intl + intl, 4, "repeated"},
		{"bad lang", "regions:\n" + intl + "    general:\n      - {name: a, contact: b, lang: fr}\n", 5, `lang "fr"`},
		{"advice unknown kind", "advice:\n  selfharm: {en: x}\nregions:\n" + intl, 2, `advice: unknown kind "selfharm"`},
		{"advice without en", "advice:\n  suicide: {es: x}\nregions:\n" + intl, 2, "has no en text"},
		{"advice markdown", "advice:\n  suicide: {en: \"**x**\"}\nregions:\n" + intl, 2, "plain text"},
		{"advice unknown language", "advice:\n  suicide: {en: x, fr: y}\nregions:\n" + intl, 2, `unknown key "fr"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{"safety/resources.yaml": {Data: []byte(tc.file)}}
			_, err := LoadResources(fsys, "safety/resources.yaml")
			checkFileError(t, err, "safety/resources.yaml", tc.line, tc.msg)
		})
	}
}

// checkFileError asserts err is a *FileError for file at line (line < 0:
// any line > 0) whose text contains msg and starts with "file:line:".
func checkFileError(t *testing.T, err error, file string, line int, msg string) {
	t.Helper()
	var fe *FileError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v, want *FileError", err)
	}
	if fe.File != file {
		t.Errorf("File = %q, want %q", fe.File, file)
	}
	if line >= 0 && fe.Line != line || line < 0 && fe.Line <= 0 {
		t.Errorf("Line = %d, want %d (%v)", fe.Line, line, err)
	}
	if !strings.Contains(err.Error(), msg) {
		t.Errorf("err = %q, want it to contain %q", err, msg)
	}
	if !strings.HasPrefix(err.Error(), file+":") {
		t.Errorf("err = %q does not start with the file name", err)
	}
}
