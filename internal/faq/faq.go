// Package faq owns the curated FAQ: the entry format (one YAML file an
// entry, see docs/faq-format.md), loading and validating it with file:line
// errors, and rendering an answer with the clinic's template variables.
//
// It knows nothing about matching or platforms; the matcher indexes the
// entries this package loads, and the adapters render the Markdown subset.
// The curator tooling lives in lint.go: Lint (every problem of a folder,
// with file:line) and Entry.Show (an entry as an asker sees it).
package faq

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// MaxFileSize bounds one entry file. An entry is a few KB; anything near this
// is a mistake (or an attack on the loader) and is rejected, not parsed.
const MaxFileSize = 256 << 10

// MaxNodes bounds the YAML nodes in one entry file. A real entry has a few
// dozen; the cap keeps a hostile file from costing more than it is worth.
const MaxNodes = 5000

// Escalation says where an entry points the asker after the answer.
type Escalation string

const (
	EscalateNone    Escalation = "none"
	EscalateBooking Escalation = "booking" // a therapist at the clinic can help: offer the booking link
	EscalateDoctor  Escalation = "doctor"  // see a physician first
)

// Source is a reference that backs an answer.
type Source struct {
	Title string `yaml:"title" json:"title"`
	URL   string `yaml:"url" json:"url"`
}

// Review records clinical sign-off. Only a clinician sets reviewed.
type Review struct {
	Status string `yaml:"status" json:"status"` // draft | reviewed
	By     string `yaml:"by" json:"by"`
	Date   string `yaml:"date" json:"date"` // YYYY-MM-DD
	Due    string `yaml:"due" json:"due"`   // YYYY-MM-DD; a draft past it is flagged
}

// Entry is one curated question and answer.
type Entry struct {
	ID       string `yaml:"id" json:"id"`
	Locale   string `yaml:"locale" json:"locale"`
	Question string `yaml:"question" json:"question"`
	// Summary is two or three sentences that answer the question on their
	// own; channels show it first, with the full answer one tap away.
	Summary     string     `yaml:"summary" json:"summary,omitempty"`
	Paraphrases []string   `yaml:"paraphrases" json:"paraphrases"`
	Answer      string     `yaml:"answer" json:"answer"`
	Tags        []string   `yaml:"tags" json:"tags"`
	Escalate    Escalation `yaml:"escalate" json:"escalate"`
	RedFlags    []string   `yaml:"red_flags" json:"red_flags"`
	Sources     []Source   `yaml:"sources" json:"sources"`
	Review      Review     `yaml:"review" json:"review"`

	// File is the path the entry was loaded from, for messages.
	File string `yaml:"-" json:"-"`
	// lines maps a top-level key (and "paraphrases[i]") to its line, so that
	// lint can point at the exact place.
	lines map[string]int
	tmpl  *template.Template
	// notes are findings from the YAML nodes that the decoded struct no
	// longer shows (a number where text belongs); Lint reports them.
	notes Problems
}

// Line returns the line of a top-level key (or "paraphrases[3]") in the
// entry's file, or 0 when unknown.
func (e *Entry) Line(key string) int { return e.lines[key] }

// lineOr returns the line of key, or of fallback when key has none.
func (e *Entry) lineOr(key, fallback string) int {
	if l := e.lines[key]; l > 0 {
		return l
	}
	return e.lines[fallback]
}

// IsDraft reports whether a clinician has yet to review the entry.
func (e *Entry) IsDraft() bool { return e.Review.Status != "reviewed" }

// Texts returns the canonical question followed by the paraphrases: the
// documents the matcher indexes for this entry.
func (e *Entry) Texts() []string {
	return append([]string{e.Question}, e.Paraphrases...)
}

// Vars are the clinic's values that answers may use as template variables.
type Vars struct {
	ClinicName          string
	BookingURL          string
	RetentionDays       int
	TicketRetentionDays int
	AnswerTime          string
}

// ExampleVars are used to check templates at load time and by `candid faq show`
// when no configuration is given.
var ExampleVars = Vars{
	ClinicName:          "the clinic",
	BookingURL:          "https://example.org/book",
	RetentionDays:       30,
	TicketRetentionDays: 30,
	AnswerTime:          "within two working days",
}

// Render returns the answer with the clinic's variables filled in.
func (e *Entry) Render(v Vars) (string, error) {
	if e.tmpl == nil {
		return e.Answer, nil
	}
	var b bytes.Buffer
	if err := e.tmpl.Execute(&b, v); err != nil {
		return "", fmt.Errorf("%s: answer template: %w", e.File, err)
	}
	return unlinkEmpty(b.String()), nil
}

// emptyLink is a Markdown link with no target, as "[book a session]()"
// renders when the clinic has set no booking URL.
var emptyLink = regexp.MustCompile(`\[([^\]\n]*)\]\(\s*\)`)

// unlinkEmpty keeps the text of every link that has no target: an asker
// never sees a link that goes nowhere.
func unlinkEmpty(s string) string {
	if !strings.Contains(s, "](") {
		return s
	}
	return emptyLink.ReplaceAllString(s, "$1")
}

// Problem is one validation finding with its place in a file.
type Problem struct {
	File    string
	Line    int
	Message string
	// Warning problems are reported by lint but do not stop loading.
	Warning bool
}

func (p Problem) String() string {
	sev := "error"
	if p.Warning {
		sev = "warning"
	}
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s: %s", p.File, p.Line, sev, p.Message)
	}
	return fmt.Sprintf("%s: %s: %s", p.File, sev, p.Message)
}

// Problems is an error made of every problem found, so a curator sees all of
// them in one run rather than one at a time.
type Problems []Problem

func (ps Problems) Error() string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Errors returns the problems that are not warnings.
func (ps Problems) Errors() Problems {
	var out Problems
	for _, p := range ps {
		if !p.Warning {
			out = append(out, p)
		}
	}
	return out
}

// Catalog is a loaded, validated set of entries for one locale.
type Catalog struct {
	Locale  string
	Entries []*Entry // sorted by ID
	byID    map[string]*Entry
}

// Entry returns the entry with id, or nil.
func (c *Catalog) Entry(id string) *Entry {
	if c == nil {
		return nil
	}
	return c.byID[id]
}

var idPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// Load reads every dir/*.yaml file of fsys as an entry of locale path.Base(dir).
// It returns the catalog when there are no errors; otherwise a Problems error
// listing every error (warnings are returned by Lint, not here).
func Load(fsys fs.FS, dir string) (*Catalog, error) {
	entries, problems := parseDir(fsys, dir)
	if errs := problems.Errors(); len(errs) > 0 {
		return nil, errs
	}
	return newCatalog(path.Base(dir), entries), nil
}

func newCatalog(locale string, entries []*Entry) *Catalog {
	sort.Slice(entries, func(i, j int) bool { return entries[i].ID < entries[j].ID })
	c := &Catalog{Locale: locale, Entries: entries, byID: make(map[string]*Entry, len(entries))}
	for _, e := range entries {
		c.byID[e.ID] = e
	}
	return c
}

// parseDir parses and validates each file, collecting every problem.
func parseDir(fsys fs.FS, dir string) ([]*Entry, Problems) {
	var problems Problems
	files, err := fs.Glob(fsys, path.Join(dir, "*.yaml"))
	if err != nil {
		return nil, Problems{{File: dir, Message: err.Error()}}
	}
	if len(files) == 0 {
		return nil, Problems{{File: dir, Message: "no *.yaml entries found: point --faq at a folder such as faq/en that holds one YAML file per entry"}}
	}
	var entries []*Entry
	seen := map[string]string{}
	for _, f := range files {
		e, ps := parseFile(fsys, f)
		problems = append(problems, ps...)
		if e == nil {
			continue
		}
		if prev, ok := seen[e.ID]; ok {
			problems = append(problems, Problem{File: f, Line: e.Line("id"), Message: fmt.Sprintf("duplicate id %q (also in %s)", e.ID, prev)})
			continue
		}
		seen[e.ID] = f
		entries = append(entries, e)
	}
	return entries, problems
}

// ParseFile parses and validates one entry file.
func ParseFile(fsys fs.FS, name string) (*Entry, Problems) { return parseFile(fsys, name) }

func parseFile(fsys fs.FS, name string) (*Entry, Problems) {
	fail := func(line int, format string, args ...any) Problems {
		return Problems{{File: name, Line: line, Message: fmt.Sprintf(format, args...)}}
	}
	st, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, fail(0, "cannot read: %v", err)
	}
	if st.Size() > MaxFileSize {
		return nil, fail(0, "file is %d bytes; an entry may be at most %d bytes", st.Size(), MaxFileSize)
	}
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fail(0, "cannot read: %v", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fail(1, "empty file: an entry needs id, question, paraphrases, answer, escalate, sources and review")
	}
	if !utf8.Valid(data) {
		return nil, fail(0, "not valid UTF-8: save the file as UTF-8")
	}
	var root yaml.Node
	docs := yaml.NewDecoder(bytes.NewReader(data))
	if err := docs.Decode(&root); errors.Is(err, io.EOF) {
		return nil, fail(1, "no YAML content (only comments?): an entry needs id, question, paraphrases, answer, escalate, sources and review")
	} else if err != nil {
		return nil, fail(yamlErrLine(err), "not valid YAML: %v", cleanYAMLErr(err))
	}
	var second yaml.Node
	if err := docs.Decode(&second); err == nil {
		return nil, fail(second.Line, "a second YAML document (after ---): put one entry in each file")
	} else if !errors.Is(err, io.EOF) {
		return nil, fail(yamlErrLine(err), "not valid YAML: %v", cleanYAMLErr(err))
	}
	if len(root.Content) != 1 || root.Content[0].Kind != yaml.MappingNode {
		return nil, fail(1, "an entry must be a YAML mapping (key: value), not a list or a scalar")
	}
	// Anchors and aliases are refused before decoding: an entry never needs
	// them, and aliases let a small file expand into a huge one (the
	// "billion laughs" attack) that the decoder and lint would then walk.
	if ps := checkNodes(name, &root); len(ps) > 0 {
		return nil, ps
	}
	m := root.Content[0]
	e := &Entry{File: name, lines: map[string]int{}}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		e.lines[k.Value] = k.Line
		switch k.Value {
		case "answer":
			// A block scalar (| or >) starts on the line after its key; lint
			// counts answer lines from here.
			// Only a literal block keeps the file's lines one for one.
			if v.Style&yaml.LiteralStyle != 0 {
				e.lines["answer:body"] = v.Line + 1
			}
		case "paraphrases", "red_flags", "sources":
			if v.Kind != yaml.SequenceNode {
				break
			}
			for j, p := range v.Content {
				key := fmt.Sprintf("%s[%d]", k.Value, j)
				e.lines[key] = p.Line
				switch {
				case k.Value == "sources" || p.Kind != yaml.ScalarNode:
				case p.Tag == "!!str":
					if k.Value == "red_flags" && strings.TrimSpace(p.Value) == "" {
						e.notes = append(e.notes, Problem{File: name, Line: p.Line, Warning: true,
							Message: "empty red flag: write the sign to watch for or remove the item"})
					}
				case p.Tag == "!!null":
					// The decoder drops null items, so they must be caught here.
					e.notes = append(e.notes, Problem{File: name, Line: p.Line,
						Message: fmt.Sprintf("%s is empty: write the text or remove the item", key)})
				default:
					e.notes = append(e.notes, Problem{File: name, Line: p.Line,
						Message: fmt.Sprintf("%s is %s, not text: quote it (%q) or remove it", key, describeTag(p.Tag), p.Value)})
				}
			}
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(e); err != nil {
		return nil, fail(yamlErrLine(err), "%v (allowed keys: id, locale, question, summary, paraphrases, answer, tags, escalate, red_flags, sources, review)", cleanYAMLErr(err))
	}
	return e, validate(e, name)
}

// checkNodes walks the document once, refusing anchors, aliases and
// documents with more than MaxNodes nodes.
func checkNodes(name string, root *yaml.Node) Problems {
	count := 0
	var bad *Problem
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if bad != nil {
			return
		}
		count++
		switch {
		case count > MaxNodes:
			bad = &Problem{File: name, Line: n.Line, Message: fmt.Sprintf("more than %d YAML nodes: an entry is a few dozen; split or trim the file", MaxNodes)}
			return
		case n.Kind == yaml.AliasNode || n.Anchor != "":
			bad = &Problem{File: name, Line: n.Line, Message: "YAML anchors and aliases (&name, *name, <<) are not allowed in entries: write the text out in full"}
			return
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(root)
	if bad != nil {
		return Problems{*bad}
	}
	return nil
}

func describeTag(tag string) string {
	switch tag {
	case "!!int", "!!float":
		return "a number"
	case "!!bool":
		return "true/false"
	}
	return "not a string (" + tag + ")"
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

func yamlErrLine(err error) int {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		n := 0
		fmt.Sscan(m[1], &n)
		return n
	}
	return 0
}

func cleanYAMLErr(err error) string {
	return strings.TrimPrefix(strings.TrimPrefix(err.Error(), "yaml: "), "unmarshal errors:\n  ")
}

// validate checks the rules that make an entry loadable. Quality rules that a
// curator should fix but that need not stop the service (paraphrase count,
// answer length, review dates) are in Lint.
func validate(e *Entry, file string) Problems {
	var ps Problems
	add := func(key, format string, args ...any) {
		ps = append(ps, Problem{File: file, Line: e.Line(key), Message: fmt.Sprintf(format, args...)})
	}
	base := strings.TrimSuffix(path.Base(file), ".yaml")
	switch {
	case e.ID == "":
		add("id", "missing id: add `id: %s`", base)
	case !idPattern.MatchString(e.ID):
		add("id", "id %q: use lower-case letters, digits and single dashes", e.ID)
	case e.ID != base:
		add("id", "id %q does not match the file name %q: rename one of them", e.ID, base)
	}
	dirLocale := path.Base(path.Dir(file))
	if e.Locale == "" {
		add("locale", "missing locale: add `locale: %s`", dirLocale)
	} else if e.Locale != dirLocale && dirLocale != "." {
		add("locale", "locale %q does not match the folder %q", e.Locale, dirLocale)
	}
	if strings.TrimSpace(e.Question) == "" {
		add("question", "missing question: the canonical question is required")
	}
	if len(e.Paraphrases) == 0 {
		add("paraphrases", "missing paraphrases: give the ways people really ask (at least 8)")
	}
	for i, p := range e.Paraphrases {
		if strings.TrimSpace(p) == "" {
			add(fmt.Sprintf("paraphrases[%d]", i), "empty paraphrase")
		}
	}
	if strings.TrimSpace(e.Answer) == "" {
		add("answer", "missing answer")
	}
	switch e.Escalate {
	case EscalateNone, EscalateBooking, EscalateDoctor:
	case "":
		add("escalate", "missing escalate: use none, booking or doctor")
	default:
		add("escalate", "escalate %q: use none, booking or doctor", e.Escalate)
	}
	if len(e.Sources) == 0 {
		add("sources", "missing sources: cite at least two reputable sources (title + url)")
	}
	for i, s := range e.Sources {
		if strings.TrimSpace(s.Title) == "" || !strings.HasPrefix(s.URL, "https://") && !strings.HasPrefix(s.URL, "http://") {
			ps = append(ps, Problem{File: file, Line: e.lineOr(fmt.Sprintf("sources[%d]", i), "sources"),
				Message: fmt.Sprintf("source %d needs a title and an http(s) url", i+1)})
		}
	}
	switch e.Review.Status {
	case "draft":
	case "reviewed":
		if e.Review.By == "" || e.Review.Date == "" {
			add("review", "a reviewed entry needs review.by and review.date")
		}
	case "":
		add("review", "missing review.status: use draft until a clinician has reviewed the entry")
	default:
		add("review", "review.status %q: use draft or reviewed", e.Review.Status)
	}
	for key, d := range map[string]string{"date": e.Review.Date, "due": e.Review.Due} {
		if d != "" {
			if _, err := time.Parse(time.DateOnly, d); err != nil {
				add("review", "review.%s %q: use YYYY-MM-DD", key, d)
			}
		}
	}
	if t, err := parseAnswerTemplate(e); err != nil {
		add("answer", "%v", err)
	} else {
		e.tmpl = t
	}
	return ps
}

// templateVars are the only variables an answer may use.
var templateVars = []string{"ClinicName", "BookingURL", "RetentionDays", "TicketRetentionDays", "AnswerTime"}

var actionPattern = regexp.MustCompile(`\{\{-?\s*([^}]*?)\s*-?\}\}`)

// parseAnswerTemplate parses the answer as a template and checks that it
// uses only plain {{.Var}} references to known variables: curators write
// text, not programs.
func parseAnswerTemplate(e *Entry) (*template.Template, error) {
	if !strings.Contains(e.Answer, "{{") {
		return nil, nil
	}
	for _, m := range actionPattern.FindAllStringSubmatch(e.Answer, -1) {
		name, ok := strings.CutPrefix(m[1], ".")
		if !ok || !slices.Contains(templateVars, name) {
			return nil, fmt.Errorf("template variable %s is not allowed: use one of {{.%s}}", m[0], strings.Join(templateVars, "}}, {{."))
		}
	}
	t, err := template.New(e.ID).Option("missingkey=error").Parse(e.Answer)
	if err != nil {
		return nil, fmt.Errorf("answer template does not parse: %v", err)
	}
	if err := t.Execute(&bytes.Buffer{}, ExampleVars); err != nil {
		return nil, fmt.Errorf("answer template fails: %v", err)
	}
	return t, nil
}
