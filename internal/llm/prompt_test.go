package llm

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	faqfiles "github.com/candid-app/candid/faq"
	"github.com/candid-app/candid/internal/faq"
	"github.com/candid-app/candid/prompts"
)

const goodUser = `{{/* version: 2 */}}
{{range .Candidates}}{{.ID}}: {{.Answer}}
{{end}}BEGIN QUESTION {{.Boundary}}
{{.Question}}
END QUESTION {{.Boundary}}
`

func TestShippedPrompts(t *testing.T) {
	p, err := loadPrompts(prompts.FS)
	if err != nil {
		t.Fatal(err)
	}
	if p.version != 1 || p.label() != "draft.v1" {
		t.Fatalf("version %d label %s", p.version, p.label())
	}
	for _, name := range []string{systemFile, userFile} {
		src, err := fs.ReadFile(prompts.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(src), "{{/* version: 1 */}}\n") {
			t.Errorf("%s does not start with its version line", name)
		}
	}
	sys, err := p.renderSystem(systemData{ClinicName: "Example Clinic"})
	if err != nil {
		t.Fatal(err)
	}
	// The brief itself asks for 80–200 words; the brief should stay short
	// enough to leave the model room (a rough guard against bloat).
	if n := len(strings.Fields(sys)); n < 300 || n > 1000 {
		t.Errorf("the system prompt has %d words", n)
	}
	if strings.Contains(sys, "\n\n\n") || strings.HasPrefix(sys, "\n") {
		t.Error("the system prompt has stray blank lines from the template")
	}
}

func TestPromptLoadingErrors(t *testing.T) {
	okSys := "{{/* version: 2 */}}\nYou draft for {{.ClinicName}}.\n"
	cases := []struct {
		name string
		sys  string
		user string
		want string
	}{
		{"ok", okSys, goodUser, ""},
		{"trim markers", "{{- /* version: 2 */ -}}\nsys", goodUser, ""},
		{"missing system", "", goodUser, "draft.system.tmpl"},
		{"no version", "You draft.\n", goodUser, "version line"},
		{"version later", "You draft.\n{{/* version: 2 */}}", goodUser, "version line"},
		{"version zero", "{{/* version: 0 */}}\nx", goodUser, "positive"},
		{"versions differ", "{{/* version: 3 */}}\nx", goodUser, "same version"},
		{"parse error", "{{/* version: 2 */}}\n{{if}}", goodUser, "fix prompts/draft.system.tmpl"},
		{"unknown field", "{{/* version: 2 */}}\n{{.Handle}}", goodUser, "fix prompts/draft.system.tmpl"},
		{"question outside markers", okSys, "{{/* version: 2 */}}\n{{.Question}}\nBEGIN QUESTION {{.Boundary}}\nEND QUESTION {{.Boundary}}", "injection guard"},
		{"no markers", okSys, "{{/* version: 2 */}}\n{{.Question}}", "injection guard"},
		{"question twice", okSys, goodUser + "{{.Question}}", "injection guard"},
		{"markers without tag", okSys, "{{/* version: 2 */}}\nBEGIN QUESTION\n{{.Question}}\nEND QUESTION", "injection guard"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{userFile: {Data: []byte(tc.user)}}
			if tc.sys != "" {
				fsys[systemFile] = &fstest.MapFile{Data: []byte(tc.sys)}
			}
			p, err := loadPrompts(fsys)
			if tc.want == "" {
				if err != nil || p.version != 2 {
					t.Fatalf("%v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestPromptsOverride(t *testing.T) {
	fake := &FakeServer{}
	d := newTestDrafter(t, fake, func(o *Options) {
		o.Prompts = fstest.MapFS{
			systemFile: {Data: []byte("{{/* version: 2 */}}\nShort brief for {{.ClinicName}}.")},
			userFile:   {Data: []byte(goodUser)},
		}
	})
	_, model, err := d.Draft(t.Context(), "question", nil)
	if err != nil || model != "gpt-4o-mini+draft.v2" {
		t.Fatalf("%q %v", model, err)
	}
	if s := decodeSent(t, fake.Requests()[0]); s.Messages[0].Content != "Short brief for Example Clinic.\n" {
		t.Fatalf("%q", s.Messages[0].Content)
	}
	_, err = New(Options{BaseURL: "http://127.0.0.1:1/v1", Model: "m", Prompts: fstest.MapFS{}})
	if err == nil || !strings.Contains(err.Error(), "prompts/draft.system.tmpl") {
		t.Fatalf("%v", err)
	}
}

func TestNewBoundary(t *testing.T) {
	re := regexp.MustCompile(`^[a-z2-7]{16}$`)
	seen := map[string]bool{}
	for range 100 {
		b := newBoundary("question")
		if !re.MatchString(b) || seen[b] {
			t.Fatalf("boundary %q", b)
		}
		seen[b] = true
	}
}

func TestEntriesFAQ(t *testing.T) {
	cat, err := faq.Load(faqfiles.FS, "en")
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Entries) == 0 {
		t.Fatal("no shipped entries")
	}
	vars := faq.Vars{ClinicName: "Example Clinic", BookingURL: "https://clinic.example/book", RetentionDays: 30, TicketRetentionDays: 30, AnswerTime: "two working days"}
	f := EntriesFAQ(cat, vars)
	e := cat.Entries[0]
	q, a, ok := f.Curated(e.ID)
	want, _ := e.Render(vars)
	if !ok || q != e.Question || a != want || a == "" {
		t.Fatalf("Curated(%s) = %q, %q, %v", e.ID, q, a, ok)
	}
	if strings.Contains(a, "{{") {
		t.Fatal("the answer was not rendered")
	}
	for _, id := range []string{"", "no-such-entry", "../etc/passwd"} {
		if _, _, ok := f.Curated(id); ok {
			t.Errorf("Curated(%q) found something", id)
		}
	}
	if _, _, ok := EntriesFAQ(nil, vars).Curated(e.ID); ok {
		t.Error("a nil source found something")
	}
}
