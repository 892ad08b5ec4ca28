package llm

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"text/template"
)

// The prompt files, in the prompts FS.
const (
	systemFile = "draft.system.tmpl"
	userFile   = "draft.user.tmpl"
	promptName = "draft"
)

// versionLine finds the {{/* version: N */}} declaration at the top of a
// template (trim markers allowed).
var versionLine = regexp.MustCompile(`\A\s*\{\{-?\s*/\*\s*version:\s*([0-9]+)\s*\*/\s*-?\}\}`)

// systemData is what draft.system.tmpl may use.
type systemData struct {
	ClinicName string
}

// userData is what draft.user.tmpl may use.
type userData struct {
	ClinicName string
	Question   string // scrubbed
	Boundary   string // random per request
	Candidates []candidate
}

// candidate is one curated answer given to the model for grounding.
type candidate struct {
	ID       string
	Question string
	Answer   string
}

// promptSet is the parsed draft prompt.
type promptSet struct {
	system, user *template.Template
	version      int
}

// label is the suffix a draft's model string carries ("draft.v1").
func (p *promptSet) label() string {
	return promptName + ".v" + strconv.Itoa(p.version)
}

// loadPrompts parses both draft templates from fsys, checks that they
// declare the same version, and renders them once with sample data so that
// a template that fails at run time (an unknown field, a missing marker)
// stops the server at start-up instead of failing every draft.
func loadPrompts(fsys fs.FS) (*promptSet, error) {
	sys, sv, err := parseTemplate(fsys, systemFile)
	if err != nil {
		return nil, err
	}
	usr, uv, err := parseTemplate(fsys, userFile)
	if err != nil {
		return nil, err
	}
	if sv != uv {
		return nil, fmt.Errorf("llm: prompts/%s declares version %d but prompts/%s declares %d: give both files the same version", systemFile, sv, userFile, uv)
	}
	p := &promptSet{system: sys, user: usr, version: sv}
	const sampleQuestion = "SAMPLE QUESTION TEXT"
	boundary := "0123456789abcdef"
	if _, err := p.renderSystem(systemData{ClinicName: "Sample Clinic"}); err != nil {
		return nil, err
	}
	out, err := p.renderUser(userData{ClinicName: "Sample Clinic", Question: sampleQuestion, Boundary: boundary,
		Candidates: []candidate{{ID: "sample", Question: "Sample?", Answer: "Sample answer."}}})
	if err != nil {
		return nil, err
	}
	// The injection guard depends on the question sitting between the two
	// markers; a template edit that drops them would silently remove it.
	begin, end := "BEGIN QUESTION "+boundary, "END QUESTION "+boundary
	bi, qi, ei := strings.Index(out, begin), strings.Index(out, sampleQuestion), strings.LastIndex(out, end)
	if bi < 0 || ei < 0 || qi < bi || qi > ei || strings.Count(out, sampleQuestion) != 1 {
		return nil, fmt.Errorf("llm: prompts/%s must show {{.Question}} once, between the lines \"BEGIN QUESTION {{.Boundary}}\" and \"END QUESTION {{.Boundary}}\" (the prompt-injection guard): restore them", userFile)
	}
	return p, nil
}

func parseTemplate(fsys fs.FS, name string) (*template.Template, int, error) {
	src, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, 0, fmt.Errorf("llm: read the prompt template prompts/%s: %w", name, err)
	}
	m := versionLine.FindSubmatch(src)
	if m == nil {
		return nil, 0, fmt.Errorf("llm: prompts/%s must start with a version line such as {{/* version: 1 */}}", name)
	}
	v, err := strconv.Atoi(string(m[1]))
	if err != nil || v <= 0 || v > 1_000_000 {
		return nil, 0, fmt.Errorf("llm: prompts/%s: the version must be a positive whole number", name)
	}
	t, err := template.New(name).
		Option("missingkey=error").
		Funcs(template.FuncMap{"inc": func(i int) int { return i + 1 }}).
		Parse(string(src))
	if err != nil {
		return nil, 0, fmt.Errorf("llm: parse the prompt template: %w: fix prompts/%s", err, name)
	}
	return t, v, nil
}

func (p *promptSet) renderSystem(d systemData) (string, error) {
	return render(p.system, d)
}

func (p *promptSet) renderUser(d userData) (string, error) {
	return render(p.user, d)
}

func render(t *template.Template, data any) (string, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		// The error names the template and the field, never the data.
		return "", fmt.Errorf("llm: render the prompt: %w: fix prompts/%s", err, t.Name())
	}
	return strings.TrimSpace(b.String()) + "\n", nil
}

// newBoundary returns a random tag for the question markers that does not
// occur in the question, so that an asker cannot close the block early and
// write text the model would read as ours.
func newBoundary(question string) string {
	for {
		b := strings.ToLower(rand.Text()[:16])
		if !strings.Contains(strings.ToLower(question), b) {
			return b
		}
	}
}
