package faq

import (
	"errors"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestLoadShipped(t *testing.T) {
	cat, err := Load(os.DirFS("../../faq"), "en")
	if err != nil {
		t.Fatalf("Load(faq/en): %v", err)
	}
	if cat.Locale != "en" {
		t.Errorf("Locale = %q, want en", cat.Locale)
	}
	if len(cat.Entries) < 43 {
		t.Errorf("%d entries, want at least 43", len(cat.Entries))
	}
	if !slices.IsSortedFunc(cat.Entries, func(a, b *Entry) int { return strings.Compare(a.ID, b.ID) }) {
		t.Error("entries are not sorted by id")
	}
	for _, e := range cat.Entries {
		if cat.Entry(e.ID) != e {
			t.Errorf("Entry(%q) does not return the entry", e.ID)
		}
		text, err := e.Render(ExampleVars)
		if err != nil || strings.Contains(text, "{{") {
			t.Errorf("%s: Render = %q, %v", e.ID, text, err)
		}
	}
	if cat.Entry("no-such-entry") != nil {
		t.Error("Entry of an unknown id is not nil")
	}
}

func TestLoadReportsEveryError(t *testing.T) {
	fsys := folder(map[string]string{
		"alpha.yaml": with("alpha", func(f *fixture) { f.escalate = "maybe" }),
		"beta.yaml":  "- not a mapping\n",
		"gamma.yaml": validFixture("gamma").String(),
	})
	cat, err := Load(fsys, "en")
	if cat != nil {
		t.Error("Load returned a catalog despite errors")
	}
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error %T is not Problems: %v", err, err)
	}
	if len(ps) != 2 || !strings.Contains(err.Error(), "en/alpha.yaml:") || !strings.Contains(err.Error(), "en/beta.yaml:1: error:") {
		t.Errorf("want one error for alpha and one for beta, got:\n%v", err)
	}
}

// Quality rules are Lint's: an entry that misses them still loads, so a
// curator's unfinished entry never takes the service down.
func TestLoadToleratesQualityWarnings(t *testing.T) {
	fsys := folder(map[string]string{
		"alpha.yaml": with("alpha", func(f *fixture) {
			f.paraphrases = f.paraphrases[:2]
			f.answer = "Short."
			f.sources = f.sources[:1]
			f.review = `{status: draft, due: "2001-01-01"}`
		}),
	})
	cat, err := Load(fsys, "en")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if cat.Entry("alpha") == nil {
		t.Fatal("alpha not loaded")
	}
	if _, ps := Lint(fsys, "en", LintOptions{Today: lintToday}); len(ps.Errors()) == 0 {
		t.Error("Lint found no errors in an incomplete entry")
	}
}

func TestLoadNoEntries(t *testing.T) {
	_, err := Load(os.DirFS(t.TempDir()), "en")
	if err == nil || !strings.Contains(err.Error(), "no *.yaml entries found") {
		t.Errorf("Load of an empty folder: %v", err)
	}
}

func TestRender(t *testing.T) {
	fsys := folder(map[string]string{
		"alpha.yaml": with("alpha", func(f *fixture) {
			f.answer = "Welcome to {{.ClinicName}}. Book at {{.BookingURL}}; kept {{.RetentionDays}}/{{.TicketRetentionDays}} days; answered {{.AnswerTime}}."
		}),
		"beta.yaml": with("beta", func(f *fixture) { f.answer = "Plain text with no variables." }),
	})
	cat, err := Load(fsys, "en")
	if err != nil {
		t.Fatal(err)
	}
	v := Vars{ClinicName: "Riverside", BookingURL: "https://r.example/book", RetentionDays: 7, TicketRetentionDays: 14, AnswerTime: "soon"}
	got, err := cat.Entry("alpha").Render(v)
	if want := "Welcome to Riverside. Book at https://r.example/book; kept 7/14 days; answered soon.\n"; err != nil || got != want {
		t.Errorf("Render = %q, %v; want %q", got, err, want)
	}
	if got, _ := cat.Entry("beta").Render(v); got != "Plain text with no variables.\n" {
		t.Errorf("Render of plain text = %q", got)
	}
}

func TestEntryAccessors(t *testing.T) {
	e, ps := ParseFile(folder(map[string]string{"alpha.yaml": validFixture("alpha").String()}), "en/alpha.yaml")
	if len(ps) > 0 || e == nil {
		t.Fatalf("ParseFile: %v", ps)
	}
	if got := e.Line("paraphrases[2]"); got != 7 {
		t.Errorf(`Line("paraphrases[2]") = %d, want 7`, got)
	}
	if got := e.Line("answer"); got != answerLine(8) {
		t.Errorf(`Line("answer") = %d, want %d`, got, answerLine(8))
	}
	if got := e.Line("nothing"); got != 0 {
		t.Errorf(`Line("nothing") = %d, want 0`, got)
	}
	if !e.IsDraft() {
		t.Error("a draft is not IsDraft")
	}
	if texts := e.Texts(); len(texts) != 9 || texts[0] != e.Question || texts[1] != e.Paraphrases[0] {
		t.Errorf("Texts = %q", texts)
	}
	e.Review.Status = "reviewed"
	if e.IsDraft() {
		t.Error("a reviewed entry is IsDraft")
	}
	var nilCat *Catalog
	if nilCat.Entry("alpha") != nil {
		t.Error("a nil catalog returned an entry")
	}
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "en/a.yaml", Line: 3, Message: "bad"}, "en/a.yaml:3: error: bad"},
		{Problem{File: "en/a.yaml", Message: "bad", Warning: true}, "en/a.yaml: warning: bad"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
	ps := Problems{tests[0].p, tests[1].p}
	if got := ps.Error(); got != tests[0].want+"\n"+tests[1].want {
		t.Errorf("Error() = %q", got)
	}
	if errs := ps.Errors(); len(errs) != 1 || errs[0].Warning {
		t.Errorf("Errors() = %v", errs)
	}
}

// No rendered answer shows a link without a target, whatever the clinic
// has left unset (the default has no booking URL).
func TestRenderedAnswersHaveNoEmptyLinks(t *testing.T) {
	cat, err := Load(os.DirFS("../../faq"), "en")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []Vars{{}, {ClinicName: "Clinic", BookingURL: "https://clinic.example/book"}} {
		for _, e := range cat.Entries {
			text, err := e.Render(v)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(text, "]()") || regexp.MustCompile(`\]\(\s*\)`).MatchString(text) {
				t.Errorf("%s with %+v renders an empty link: %q", e.ID, v, text)
			}
		}
	}
	if got := unlinkEmpty("or [book a session]() here, [site](https://x.example)"); got != "or book a session here, [site](https://x.example)" {
		t.Errorf("unlinkEmpty: %q", got)
	}
}
