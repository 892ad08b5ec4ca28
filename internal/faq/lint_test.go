package faq

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// fixture is an entry written out as YAML text, one key a line, so that
// tests know each key's line: id 1, locale 2, question 3, paraphrases 4 and
// its items from 5, then answer (a literal block), escalate, red_flags,
// sources, review and any extra lines.
type fixture struct {
	noSummary            bool
	id, locale, question string
	paraphrases          []string
	answer               string
	escalate             string
	redFlags             string // the YAML value after "red_flags: "
	sources              [][2]string
	review               string // the YAML value after "review: "
	extra                string // raw lines appended at the end
}

// vocabulary gives each fixture entry its own words so that valid fixtures
// never look like near duplicates of each other.
var fixtureWords = [][2]string{
	{"amber", "anchor"}, {"brisk", "bramble"}, {"cobalt", "canyon"}, {"dusky", "dolphin"},
	{"ember", "estuary"}, {"fennel", "fjord"}, {"gilded", "glacier"}, {"hazel", "harbour"},
	{"indigo", "island"}, {"jasper", "jungle"},
}

// answerOf returns an answer of n words (in sentences of ten).
func answerOf(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		switch {
		case i%10 == 9:
			b.WriteString("word.\n")
		default:
			b.WriteString("word ")
		}
	}
	return strings.TrimSpace(b.String())
}

func validFixture(id string) fixture {
	f := fixture{
		id: id, locale: "en",
		question: "What about the " + id + " topic?",
		answer:   answerOf(150),
		escalate: "booking",
		redFlags: "[]",
		sources: [][2]string{
			{"NHS – Example", "https://www.nhs.uk/example/" + id},
			{"WHO – Example", "https://www.who.int/example/" + id},
		},
		review: `{status: draft, by: "", date: "", due: "2027-05-31"}`,
	}
	for i, w := range fixtureWords[:8] {
		f.paraphrases = append(f.paraphrases, fmt.Sprintf("%s %s %s number%d", id, w[0], w[1], i))
	}
	return f
}

// Lines of the keys in fixture text with p paraphrases and an answer of a lines.
func answerLine(p int) int      { return 5 + p }
func escalateLine(p, a int) int { return answerLine(p) + 1 + a }

func (f fixture) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "id: %s\nlocale: %s\nquestion: %q\nparaphrases:\n", f.id, f.locale, f.question)
	for _, p := range f.paraphrases {
		fmt.Fprintf(&b, "  - %q\n", p)
	}
	b.WriteString("answer: |\n")
	for _, l := range strings.Split(f.answer, "\n") {
		b.WriteString("  " + l + "\n")
	}
	fmt.Fprintf(&b, "escalate: %s\nred_flags: %s\nsources:\n", f.escalate, f.redFlags)
	for _, s := range f.sources {
		fmt.Fprintf(&b, "  - title: %q\n    url: %q\n", s[0], s[1])
	}
	fmt.Fprintf(&b, "review: %s\n", f.review)
	b.WriteString(f.extra)
	if !f.noSummary {
		b.WriteString("summary: \"A short answer that stands on its own. It says what usually helps.\"\n")
	}
	return b.String()
}

func with(id string, change func(*fixture)) string {
	f := validFixture(id)
	change(&f)
	return f.String()
}

// folder builds en/<name> files; a value of a fixture is written out.
func folder(files map[string]string) fstest.MapFS {
	m := fstest.MapFS{}
	for name, data := range files {
		m[path.Join("en", name)] = &fstest.MapFile{Data: []byte(data)}
	}
	return m
}

// want is one expected problem: in file (base name, "" for the folder) at
// line (0: any), of severity, whose message contains text.
type want struct {
	file    string
	line    int
	warning bool
	text    string
}

func (w want) matches(p Problem) bool {
	if w.file != "" && path.Base(p.File) != w.file || w.file == "" && p.File != "en" {
		return false
	}
	return (w.line == 0 || p.Line == w.line) && p.Warning == w.warning && strings.Contains(p.Message, w.text)
}

// checkProblems asserts that each want matches a problem and each problem a want.
func checkProblems(t *testing.T, got Problems, wants []want) {
	t.Helper()
	for _, w := range wants {
		if !slices.ContainsFunc(got, w.matches) {
			t.Errorf("missing problem %+v", w)
		}
	}
	for _, p := range got {
		if !slices.ContainsFunc(wants, func(w want) bool { return w.matches(p) }) {
			t.Errorf("unexpected problem: %s", p)
		}
	}
	if t.Failed() {
		t.Logf("all problems:\n%s", got.Error())
	}
}

var lintToday = time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)

func TestLint(t *testing.T) {
	ok := func(id string) string { return validFixture(id).String() }
	p8 := answerLine(8) // answer key line of a fixture with 8 paraphrases
	// review line of a fixture with 8 paraphrases, a 15-line answer and
	// two sources (escalate, red_flags, sources and 2×2 source lines)
	reviewLine := escalateLine(8, 15) + 7
	billion := "id: lol\nlocale: en\nx: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n" +
		"b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n" +
		"e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n" +
		"paraphrases: *g\n"

	tests := []struct {
		name  string
		files map[string]string
		opts  LintOptions
		wants []want
	}{
		{name: "clean", files: map[string]string{"alpha.yaml": ok("alpha"), "beta.yaml": ok("beta")}},
		{
			name:  "malformed YAML",
			files: map[string]string{"alpha.yaml": "id: alpha\nlocale: en\nquestion: \"unterminated\nparaphrases: [a]\n", "beta.yaml": ok("beta")},
			wants: []want{{file: "alpha.yaml", line: 3, text: "not valid YAML"}},
		},
		{
			name:  "bad indentation",
			files: map[string]string{"alpha.yaml": "id: alpha\nlocale: en\nparaphrases:\n  - one\n - two\n"},
			// The parser names the line of the mapping it was reading.
			wants: []want{{file: "alpha.yaml", line: 4, text: "not valid YAML"}},
		},
		{
			name:  "list instead of mapping",
			files: map[string]string{"alpha.yaml": "- id: alpha\n- locale: en\n"},
			wants: []want{{file: "alpha.yaml", line: 1, text: "must be a YAML mapping"}},
		},
		{
			name:  "scalar instead of mapping",
			files: map[string]string{"alpha.yaml": "just some text\n"},
			wants: []want{{file: "alpha.yaml", line: 1, text: "must be a YAML mapping"}},
		},
		{
			name:  "unknown key",
			files: map[string]string{"alpha.yaml": with("alpha", func(f *fixture) { f.extra = "colour: red\n" })},
			wants: []want{{file: "alpha.yaml", line: reviewLine + 1, text: "field colour not found"}},
		},
		{
			name:  "unknown key inside review",
			files: map[string]string{"alpha.yaml": with("alpha", func(f *fixture) { f.review = "{status: draft, approved: yes}" })},
			wants: []want{{file: "alpha.yaml", line: reviewLine, text: "field approved not found"}},
		},
		{
			name:  "duplicate key",
			files: map[string]string{"alpha.yaml": with("alpha", func(f *fixture) { f.extra = "escalate: none\n" })},
			wants: []want{{file: "alpha.yaml", line: reviewLine + 1, text: `"escalate" already defined at line 29`}},
		},
		{
			name:  "wrong type: list for a string",
			files: map[string]string{"alpha.yaml": with("alpha", func(f *fixture) { f.escalate = "[booking]" })},
			wants: []want{{file: "alpha.yaml", line: escalateLine(8, 15), text: "cannot unmarshal !!seq"}},
		},
		{
			name:  "wrong type: string for a list",
			files: map[string]string{"alpha.yaml": "id: alpha\nlocale: en\nquestion: q\nparaphrases: just one\n"},
			wants: []want{{file: "alpha.yaml", line: 4, text: "cannot unmarshal !!str"}},
		},
		{
			name:  "red_flags not a list",
			files: map[string]string{"alpha.yaml": with("alpha", func(f *fixture) { f.redFlags = "chest pain" })},
			wants: []want{{file: "alpha.yaml", line: escalateLine(8, 15) + 1, text: "cannot unmarshal !!str"}},
		},
		{
			name: "red flag with an unquoted colon is a mapping",
			files: map[string]string{"alpha.yaml": with("alpha", func(f *fixture) {
				f.redFlags = "\n  - Chest pain: urgent"
			})},
			wants: []want{{file: "alpha.yaml", line: escalateLine(8, 15) + 2, text: "cannot unmarshal !!map"}},
		},
		{
			name:  "red flags that are not text",
			files: map[string]string{"alpha.yaml": with("alpha", func(f *fixture) { f.redFlags = "\n  - 4\n  - true\n  -\n  - \" \"" })},
			wants: []want{
				{file: "alpha.yaml", line: escalateLine(8, 15) + 2, text: "red_flags[0] is a number"},
				{file: "alpha.yaml", line: escalateLine(8, 15) + 3, text: "red_flags[1] is true/false"},
				{file: "alpha.yaml", line: escalateLine(8, 15) + 4, text: "red_flags[2] is empty"},
				// The decoder drops the null item, shifting later ones; the
				// lines still point at the right item.
				{file: "alpha.yaml", line: escalateLine(8, 15) + 5, warning: true, text: "empty red flag"},
			},
		},
		{
			name:  "empty file",
			files: map[string]string{"alpha.yaml": "", "beta.yaml": "  \n\n", "gamma.yaml": "# only a comment\n"},
			wants: []want{
				{file: "alpha.yaml", line: 1, text: "empty file"},
				{file: "beta.yaml", line: 1, text: "empty file"},
				{file: "gamma.yaml", line: 1, text: "no YAML content"},
			},
		},
		{
			name:  "oversized file",
			files: map[string]string{"alpha.yaml": ok("alpha") + "# " + strings.Repeat("x", MaxFileSize) + "\n"},
			wants: []want{{file: "alpha.yaml", text: "an entry may be at most"}},
		},
		{
			name:  "invalid UTF-8",
			files: map[string]string{"alpha.yaml": strings.Replace(ok("alpha"), "What about", "What \xff\xfe about", 1)},
			wants: []want{{file: "alpha.yaml", text: "not valid UTF-8"}},
		},
		{
			name:  "id does not match the file name",
			files: map[string]string{"alpha.yaml": ok("beta-gamma")},
			wants: []want{{file: "alpha.yaml", line: 1, text: `id "beta-gamma" does not match the file name "alpha"`}},
		},
		{
			name:  "bad id",
			files: map[string]string{"Alpha_1.yaml": ok("Alpha_1")},
			wants: []want{{file: "Alpha_1.yaml", line: 1, text: "lower-case letters"}},
		},
		{
			name:  "wrong locale",
			files: map[string]string{"alpha.yaml": with("alpha", func(f *fixture) { f.locale = "de" })},
			wants: []want{{file: "alpha.yaml", line: 2, text: `locale "de" does not match the folder "en"`}},
		},
		{
			name: "duplicate id",
			files: map[string]string{
				"alpha.yaml": with("beta", func(f *fixture) { f.paraphrases = validFixture("alpha").paraphrases; f.question = "alpha?" }),
				"beta.yaml":  ok("beta"),
			},
			wants: []want{
				{file: "alpha.yaml", line: 1, text: "does not match the file name"},
				{file: "beta.yaml", line: 1, text: `duplicate id "beta" (also in en/alpha.yaml)`},
			},
		},
		{
			name:  "missing fields",
			files: map[string]string{"alpha.yaml": "id: alpha\n"},
			wants: []want{
				{file: "alpha.yaml", text: "missing locale"},
				{file: "alpha.yaml", text: "missing question"},
				{file: "alpha.yaml", text: "missing paraphrases"},
				{file: "alpha.yaml", text: "missing answer"},
				{file: "alpha.yaml", text: "missing escalate"},
				{file: "alpha.yaml", text: "missing sources"},
				{file: "alpha.yaml", text: "missing review.status"},
			},
		},
		{
			name:  "missing id",
			files: map[string]string{"alpha.yaml": strings.Replace(ok("alpha"), "id: alpha\n", "", 1)},
			wants: []want{{file: "alpha.yaml", text: "missing id: add `id: alpha`"}},
		},
		{
			name:  "empty paraphrase",
			files: map[string]string{"alpha.yaml": with("alpha", func(f *fixture) { f.paraphrases = append(f.paraphrases, " ") })},
			wants: []want{{file: "alpha.yaml", line: 13, text: "empty paraphrase"}},
		},
		{
			name:  "bad escalate",
			files: map[string]string{"alpha.yaml": with("alpha", func(f *fixture) { f.escalate = "therapist" })},
			wants: []want{{file: "alpha.yaml", line: escalateLine(8, 15), text: `escalate "therapist": use none, booking or doctor`}},
		},
		{
			name:  "bad review status",
			files: map[string]string{"alpha.yaml": with("alpha", func(f *fixture) { f.review = "{status: approved}" })},
			wants: []want{{file: "alpha.yaml", line: reviewLine, text: `review.status "approved"`}},
		},
		{
			name:  "reviewed without by and date",
			files: map[string]string{"alpha.yaml": with("alpha", func(f *fixture) { f.review = "{status: reviewed}" })},
			wants: []want{{file: "alpha.yaml", line: reviewLine, text: "needs review.by and review.date"}},
		},
		{
			name: "bad dates",
			files: map[string]string{"alpha.yaml": with("alpha", func(f *fixture) {
				f.review = `{status: reviewed, by: "Dr A", date: "20/11/2026", due: "2027-13-01"}`
			})},
			wants: []want{
				{file: "alpha.yaml", line: reviewLine, text: `review.date "20/11/2026": use YYYY-MM-DD`},
				{file: "alpha.yaml", line: reviewLine, text: `review.due "2027-13-01": use YYYY-MM-DD`},
			},
		},
		{
			name:  "source without title or with a bad url",
			files: map[string]string{"alpha.yaml": with("alpha", func(f *fixture) { f.sources[1] = [2]string{"", "ftp://x"} })},
			wants: []want{{file: "alpha.yaml", line: escalateLine(8, 15) + 5, text: "source 2 needs a title and an http(s) url"}},
		},
		{
			name: "unknown template variable",
			files: map[string]string{
				"alpha.yaml": with("alpha", func(f *fixture) { f.answer += " Call {{.Phone}}." }),
				"beta.yaml":  with("beta", func(f *fixture) { f.answer += ` {{printf "%s" .ClinicName}}` }),
				"gamma.yaml": with("gamma", func(f *fixture) { f.answer += " {{ClinicName}}" }),
			},
			wants: []want{
				{file: "alpha.yaml", line: p8, text: "template variable {{.Phone}} is not allowed"},
				{file: "beta.yaml", line: p8, text: "is not allowed"},
				{file: "gamma.yaml", line: p8, text: "template variable {{ClinicName}} is not allowed"},
			},
		},
		{
			name:  "unparsable template",
			files: map[string]string{"alpha.yaml": with("alpha", func(f *fixture) { f.answer += " Book at {{.BookingURL" })},
			wants: []want{{file: "alpha.yaml", line: p8, text: "answer template does not parse"}},
		},
		{
			name: "known template variables render",
			files: map[string]string{"alpha.yaml": with("alpha", func(f *fixture) {
				f.answer += " {{.ClinicName}} {{ .BookingURL }} {{- .RetentionDays -}} {{.TicketRetentionDays}} {{.AnswerTime}}"
			})},
		},
		{
			name: "too few paraphrases",
			files: map[string]string{
				"alpha.yaml": with("alpha", func(f *fixture) { f.paraphrases = f.paraphrases[:7] }),
				// eight written, seven distinct once punctuation is ignored
				"beta.yaml": with("beta", func(f *fixture) { f.paraphrases[7] = strings.ToUpper(f.paraphrases[6]) + "?!" }),
			},
			wants: []want{
				{file: "alpha.yaml", line: 4, text: "only 7 distinct paraphrases"},
				{file: "beta.yaml", line: 4, text: "only 7 distinct paraphrases"},
				{file: "beta.yaml", line: 12, warning: true, text: "only in punctuation or filler words"},
			},
		},
		{
			name:  "duplicate paraphrase within an entry",
			files: map[string]string{"alpha.yaml": with("alpha", func(f *fixture) { f.paraphrases = append(f.paraphrases, "  "+f.paraphrases[2]+" ") })},
			wants: []want{{file: "alpha.yaml", line: 13, text: "repeats the paraphrase at line 7"}},
		},
		{
			name:  "paraphrase repeats the question",
			files: map[string]string{"alpha.yaml": with("alpha", func(f *fixture) { f.paraphrases = append(f.paraphrases, f.question) })},
			wants: []want{{file: "alpha.yaml", line: 13, text: "repeats the question at line 3"}},
		},
		{
			name: "answer too short or too long",
			files: map[string]string{
				"alpha.yaml": with("alpha", func(f *fixture) { f.answer = answerOf(60) }),
				"beta.yaml":  with("beta", func(f *fixture) { f.answer = answerOf(350) }),
				// 118 words plus {{.AnswerTime}} ("within two working days"):
				// counted after rendering, so long enough.
				"gamma.yaml": with("gamma", func(f *fixture) { f.answer = answerOf(118) + " {{.AnswerTime}}" }),
				// Markdown markers, bullets and link targets are not words.
				"delta.yaml": with("delta", func(f *fixture) {
					f.answer = answerOf(115) + "\n\n- **\n- *\n- [a](https://x.org/one/two)"
				}),
			},
			wants: []want{
				{file: "alpha.yaml", line: p8, warning: true, text: "answer has 60 words"},
				{file: "beta.yaml", line: p8, warning: true, text: "answer has 350 words"},
				{file: "delta.yaml", line: p8, warning: true, text: "answer has 116 words"},
			},
		},
		{
			name: "too few sources",
			files: map[string]string{
				"alpha.yaml": with("alpha", func(f *fixture) { f.sources = f.sources[:1] }),
				"beta.yaml":  with("beta", func(f *fixture) { f.sources[1][1] = f.sources[0][1] + "/" }),
			},
			wants: []want{
				{file: "alpha.yaml", line: escalateLine(8, 15) + 2, text: "only 1 distinct source"},
				{file: "beta.yaml", line: escalateLine(8, 15) + 2, text: "only 1 distinct source"},
			},
		},
		{
			name:  "non-https source",
			files: map[string]string{"alpha.yaml": with("alpha", func(f *fixture) { f.sources[1][1] = "http://www.who.int/x" })},
			wants: []want{{file: "alpha.yaml", line: escalateLine(8, 15) + 5, warning: true, text: "source 2 uses http"}},
		},
		{
			name: "draft past its review date",
			files: map[string]string{
				"alpha.yaml": with("alpha", func(f *fixture) { f.review = `{status: draft, due: "2026-11-19"}` }),
				"beta.yaml":  with("beta", func(f *fixture) { f.review = `{status: draft, due: "2026-11-20"}` }), // due today: fine
				"gamma.yaml": with("gamma", func(f *fixture) { f.review = `{status: draft}` }),
			},
			opts:  LintOptions{Today: lintToday},
			wants: []want{{file: "alpha.yaml", line: reviewLine, warning: true, text: "draft past its review date (due 2026-11-19)"}},
		},
		{
			name: "reviewed entries: stale, future and overdue reviews",
			files: map[string]string{
				"alpha.yaml": with("alpha", func(f *fixture) { f.review = `{status: reviewed, by: "Dr A", date: "2026-01-01"}` }),
				"beta.yaml":  with("beta", func(f *fixture) { f.review = `{status: reviewed, by: "Dr A", date: "2026-12-01"}` }),
				"gamma.yaml": with("gamma", func(f *fixture) { f.review = `{status: reviewed, by: "Dr A", date: "2026-11-01", due: "2026-11-02"}` }),
				"delta.yaml": with("delta", func(f *fixture) { f.review = `{status: reviewed, by: "Dr A", date: "2026-10-01"}` }),
			},
			opts: LintOptions{Today: lintToday, MaxReviewAge: 180 * 24 * time.Hour},
			wants: []want{
				{file: "alpha.yaml", warning: true, text: "reviewed on 2026-01-01, more than 180 days ago"},
				{file: "beta.yaml", warning: true, text: "review.date 2026-12-01 is in the future"},
				{file: "gamma.yaml", warning: true, text: "review was due on 2026-11-02"},
			},
		},
		{
			name:  "review age check off",
			files: map[string]string{"alpha.yaml": with("alpha", func(f *fixture) { f.review = `{status: reviewed, by: "Dr A", date: "2001-01-01"}` })},
			opts:  LintOptions{Today: lintToday, MaxReviewAge: -1},
		},
		{
			name: "exact duplicates across entries",
			files: map[string]string{
				"alpha.yaml": with("alpha", func(f *fixture) { f.paraphrases[1] = "Can't get HARD!" }),
				"beta.yaml":  with("beta", func(f *fixture) { f.paraphrases[5] = "cant get hard" }),
				// the canonical question counts too
				"gamma.yaml": with("gamma", func(f *fixture) { f.question = "What about the alpha topic" }),
			},
			wants: []want{
				{file: "beta.yaml", line: 10, text: `paraphrase "cant get hard" is the same as "Can't get HARD!" in en/alpha.yaml:6 (id alpha)`},
				{file: "gamma.yaml", line: 3, text: `question "What about the alpha topic" is the same as "What about the alpha topic?" in en/alpha.yaml:3 (id alpha)`},
			},
		},
		{
			name: "near duplicates across entries",
			files: map[string]string{
				"alpha.yaml": with("alpha", func(f *fixture) {
					f.paraphrases[0] = "how do i stop coming too fast when we have sex"
					f.paraphrases[1] = "premature ejaculation treatment options that actually work for men"
					f.paraphrases[2] = "worried about what partners think of our bodies" // shares words, not enough
				}),
				"beta.yaml": with("beta", func(f *fixture) {
					f.paraphrases[3] = "when we have sex how do i stop coming too fast"                    // same words, reordered
					f.paraphrases[4] = "premature ejaculaton treatment options that actually work for men" // misspelt
					f.paraphrases[5] = "worried about what my partner thinks of my penis"
				}),
			},
			wants: []want{
				{file: "beta.yaml", line: 8, warning: true, text: `"when we have sex how do i stop coming too fast" is nearly the same as "how do i stop coming too fast when we have sex" in en/alpha.yaml:5 (id alpha; word overlap 1.00)`},
				{file: "beta.yaml", line: 9, warning: true, text: `is nearly the same as "premature ejaculation treatment options that actually work for men" in en/alpha.yaml:6 (id alpha; letter similarity 0.9`},
			},
		},
		{
			name: "Markdown outside the subset",
			files: map[string]string{"alpha.yaml": with("alpha", func(f *fixture) {
				f.answer += "\n\n## Heading\n\n| a | b |\n|---|---|\n\nSee <b>this</b>.\n\n![chart](https://x.org/a.png)\n\n[old](http://x.org) and [ok](https://x.org) and [bad](ftp://x.org/file)\n\n#hashtag is fine, so is 5 < 6 > 4"
			})},
			wants: []want{
				{file: "alpha.yaml", line: p8 + 17, warning: true, text: "heading (#)"},
				{file: "alpha.yaml", line: p8 + 19, warning: true, text: "table (|)"},
				{file: "alpha.yaml", line: p8 + 20, warning: true, text: "table (|)"},
				{file: "alpha.yaml", line: p8 + 22, warning: true, text: "raw HTML <b>"},
				{file: "alpha.yaml", line: p8 + 24, warning: true, text: "image (![…])"},
				{file: "alpha.yaml", line: p8 + 26, warning: true, text: `link "http://x.org" is not https`},
				{file: "alpha.yaml", line: p8 + 26, warning: true, text: `link "ftp://x.org/file" is not https`},
			},
		},
		{
			name: "hostile: billion laughs",
			files: map[string]string{
				"lol.yaml":   billion,
				"merge.yaml": "id: merge\nlocale: en\nbase: &base {question: q}\n<<: *base\n",
			},
			wants: []want{
				{file: "lol.yaml", line: 3, text: "anchors and aliases"},
				{file: "merge.yaml", line: 3, text: "anchors and aliases"},
			},
		},
		{
			name:  "hostile: too many nodes",
			files: map[string]string{"alpha.yaml": "id: alpha\nparaphrases: [" + strings.Repeat("x,", MaxNodes) + "x]\n"},
			wants: []want{{file: "alpha.yaml", line: 2, text: fmt.Sprintf("more than %d YAML nodes", MaxNodes)}},
		},
		{
			name:  "hostile: deep nesting",
			files: map[string]string{"alpha.yaml": "id: alpha\nparaphrases: " + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "\n"},
			wants: []want{{file: "alpha.yaml", text: "exceeded max depth"}},
		},
		{
			name:  "hostile: a second document",
			files: map[string]string{"alpha.yaml": ok("alpha") + "---\nid: sneaky\n"},
			wants: []want{{file: "alpha.yaml", text: "a second YAML document"}},
		},
		{
			name:  "hostile: template actions",
			files: map[string]string{"alpha.yaml": with("alpha", func(f *fixture) { f.answer += ` {{range .}}{{end}} {{template "x"}} {{/* c */}}` })},
			wants: []want{{file: "alpha.yaml", line: p8, text: "is not allowed"}},
		},
		{
			name:  "required ids",
			files: map[string]string{"alpha.yaml": ok("alpha")},
			opts:  LintOptions{RequiredIDs: []string{"alpha", "beta", " ", "beta"}},
			wants: []want{{file: "", text: `required entry "beta" is missing: add en/beta.yaml`}},
		},
		{
			name:  "files that are skipped",
			files: map[string]string{"alpha.yaml": ok("alpha"), "beta.yml": ok("beta"), "gamma.YAML": ok("gamma"), "notes.txt": "x"},
			wants: []want{
				{file: "beta.yml", warning: true, text: "ignored"},
				{file: "gamma.YAML", warning: true, text: "ignored"},
			},
		},
		{
			name:  "no entries",
			files: map[string]string{"notes.txt": "x"},
			wants: []want{{file: "", text: "no *.yaml entries found"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			if opts.Today.IsZero() {
				opts.Today = lintToday
			}
			cat, got := Lint(folder(tt.files), "en", opts)
			if cat == nil {
				t.Fatal("Lint returned no catalog")
			}
			checkProblems(t, got, tt.wants)
			// Load agrees on what is an error, and loads despite warnings.
			_, err := Load(folder(tt.files), "en")
			loadErrs := slices.ContainsFunc(tt.wants, func(w want) bool {
				return !w.warning && !lintOnly(w.text)
			})
			if loadErrs != (err != nil) {
				t.Errorf("Load error = %v, want error: %v", err, loadErrs)
			}
		})
	}
}

// lintOnly reports whether a message is an error of Lint that Load ignores.
func lintOnly(msg string) bool {
	for _, s := range []string{"distinct paraphrases", "distinct source", "is the same as", "repeats the", "is a number", "is true/false", "is empty", "required entry"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

func TestLintEmptyRenderedAnswer(t *testing.T) {
	e := &Entry{ID: "alpha", File: "en/alpha.yaml", Summary: "A summary.", Answer: "{{.ClinicName}}", lines: map[string]int{"answer": 9}}
	tmpl, err := parseAnswerTemplate(e)
	if err != nil {
		t.Fatal(err)
	}
	e.tmpl = tmpl
	checkProblems(t, lintAnswer(e, Vars{}), []want{{file: "alpha.yaml", line: 9, text: "the answer is empty once"}})
}

func TestLintProblemsSortedAndFormatted(t *testing.T) {
	_, ps := Lint(folder(map[string]string{
		"beta.yaml":  with("beta", func(f *fixture) { f.escalate = "x"; f.sources = f.sources[:1] }),
		"alpha.yaml": "",
	}), "en", LintOptions{Today: lintToday})
	var got []string
	for _, p := range ps {
		got = append(got, p.String())
	}
	want := []string{
		"en/alpha.yaml:1: error: empty file: an entry needs id, question, paraphrases, answer, escalate, sources and review",
		fmt.Sprintf(`en/beta.yaml:%d: error: escalate "x": use none, booking or doctor`, escalateLine(8, 15)),
		fmt.Sprintf("en/beta.yaml:%d: error: only 1 distinct source: cite at least 2 reputable sources (WHO, NHS, national health institutes, professional societies, peer-reviewed reviews)", escalateLine(8, 15)+2),
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestSimilarPairs checks the prefix-filtered search against comparing
// every pair.
func TestSimilarPairs(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, th := range []float64{0.5, 0.8, 0.9, 1} {
		var sets [][]int32
		for i := 0; i < 400; i++ {
			n := 1 + r.IntN(8)
			var s []int32
			if i > 0 && r.IntN(3) == 0 { // a variant of an earlier set
				s = slices.Clone(sets[r.IntN(i)])
				if len(s) > 0 && r.IntN(2) == 0 {
					s = s[1:]
				} else {
					s = append(s, int32(r.IntN(30)))
				}
			} else {
				for range n {
					s = append(s, int32(r.IntN(30)))
				}
			}
			slices.Sort(s)
			sets = append(sets, slices.Compact(s))
		}
		want := map[[2]int]bool{}
		for i := range sets {
			for j := i + 1; j < len(sets); j++ {
				if len(sets[i]) > 0 && len(sets[j]) > 0 && jaccard(sets[i], sets[j]) >= th-simEpsilon {
					want[[2]int{i, j}] = true
				}
			}
		}
		got := map[[2]int]bool{}
		for _, p := range similarPairs(sets, 30, th) {
			k := [2]int{min(p.a, p.b), max(p.a, p.b)}
			if got[k] {
				t.Errorf("t=%v: pair %v reported twice", th, k)
			}
			got[k] = true
		}
		if len(want) == 0 {
			t.Fatalf("t=%v: the random sets have no similar pairs; the test proves nothing", th)
		}
		for k := range want {
			if !got[k] {
				t.Errorf("t=%v: missed %v (%v, %v)", th, k, sets[k[0]], sets[k[1]])
			}
		}
		for k := range got {
			if !want[k] {
				t.Errorf("t=%v: wrong pair %v", th, k)
			}
		}
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Can't get HARD!!", "cant get hard"},
		{"  Is it   normal to…  masturbate? ", "normal masturbate"},
		{"I’m 62 & my erections aren't firm", "62 erections arent firm"},
		{"is it me", ""},
		{"Ça fait mal", "ça fait mal"},
	}
	for _, tt := range tests {
		if got := strings.Join(normalize(tt.in), " "); got != tt.want {
			t.Errorf("normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// manyEntries generates n entries of random phrasings built from a few
// common words and a large vocabulary, as a big catalog would have.
func manyEntries(n int) []*Entry {
	r := rand.New(rand.NewPCG(3, 4))
	vocab := make([]string, 3000)
	for i := range vocab {
		w := make([]byte, 4+r.IntN(6))
		for j := range w {
			w[j] = byte('a' + r.IntN(26))
		}
		vocab[i] = string(w)
	}
	common := []string{"sex", "partner", "normal", "help", "why", "how", "can", "not", "when", "feel"}
	phrase := func() string {
		words := []string{common[r.IntN(len(common))], common[r.IntN(len(common))]}
		for range 3 + r.IntN(5) {
			words = append(words, vocab[r.IntN(len(vocab))])
		}
		return strings.Join(words, " ")
	}
	var entries []*Entry
	for i := range n {
		e := &Entry{ID: fmt.Sprintf("topic-%d", i), Question: phrase(), lines: map[string]int{"question": 3}}
		e.File = "en/" + e.ID + ".yaml"
		for j := range 9 {
			e.Paraphrases = append(e.Paraphrases, phrase())
			e.lines[fmt.Sprintf("paraphrases[%d]", j)] = 5 + j
		}
		entries = append(entries, e)
	}
	return entries
}

// TestLintManyEntries runs the cross-entry check over a large catalog: it
// must finish (the prefix filter keeps it near linear) and find the one
// planted near duplicate among 15,000 distinct phrasings.
func TestLintManyEntries(t *testing.T) {
	n := 1500
	if testing.Short() {
		n = 300
	}
	entries := manyEntries(n)
	entries[n/2].Paraphrases[4] = "planted question about the thing people ask"
	entries[n-1].Paraphrases[7] = "planted question about the thing people often ask"
	ps := lintParaphrases(entries)
	if len(ps) != 1 || ps[0].File != entries[n-1].File || ps[0].Line != 12 ||
		!strings.Contains(ps[0].Message, fmt.Sprintf("in en/topic-%d.yaml:9 (id topic-%d; word overlap 0.86)", n/2, n/2)) {
		t.Fatalf("want one near duplicate, the planted one; got:\n%s", ps.Error())
	}
}

// BenchmarkLint lints a folder of 2,000 generated entry files end to end.
func BenchmarkLint(b *testing.B) {
	files := map[string]string{}
	for _, e := range manyEntries(2000) {
		f := validFixture(e.ID)
		f.question, f.paraphrases = e.Question, e.Paraphrases
		files[e.ID+".yaml"] = f.String()
	}
	fsys := folder(files)
	for b.Loop() {
		if _, ps := Lint(fsys, "en", LintOptions{Today: lintToday}); len(ps) > 0 {
			b.Fatalf("unexpected problems: %s", ps[0])
		}
	}
}

// readRequiredIDs reads one id a line, skipping blank lines and # comments.
func readRequiredIDs(t *testing.T, name string) []string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ids []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			ids = append(ids, l)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// topicIDs reads the topic ids of topics.tsv except the labels none and crisis.
func topicIDs(t *testing.T, name string) []string {
	t.Helper()
	data, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("%s is absent (the shared eval folder is not checked out next to the repo); testdata/required_ids.txt is checked instead", name)
	}
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i, l := range strings.Split(string(data), "\n") {
		id, _, _ := strings.Cut(strings.TrimSpace(l), "\t")
		if i == 0 || id == "" || id == "none" || id == "crisis" {
			continue // header and label-only ids
		}
		ids = append(ids, id)
	}
	return ids
}

// TestShippedFAQ lints the content shipped in faq/en: no errors, every
// required topic present. Warnings are logged for curators.
func TestShippedFAQ(t *testing.T) {
	required := readRequiredIDs(t, "../../faq/topics.txt")
	if len(required) != 64 {
		t.Errorf("faq/topics.txt lists %d ids, want 64", len(required))
	}
	cat, ps := Lint(os.DirFS("../../faq"), "en", LintOptions{Today: time.Now(), RequiredIDs: required})
	if errs := ps.Errors(); len(errs) > 0 {
		t.Errorf("faq/en has %d errors:\n%s", len(errs), errs.Error())
	}
	for _, p := range ps {
		if p.Warning {
			t.Logf("%s", p)
		}
	}
	if len(cat.Entries) < len(required) {
		t.Errorf("faq/en has %d entries, want at least %d", len(cat.Entries), len(required))
	}
	if _, err := Load(os.DirFS("../../faq"), "en"); err != nil {
		t.Errorf("Load(faq/en): %v", err)
	}

	t.Run("topics.tsv", func(t *testing.T) {
		topics := topicIDs(t, "../../../shared/eval/topics.tsv")
		var newTopics []string
		for _, id := range topics {
			if cat.Entry(id) == nil {
				t.Errorf("topic %q of topics.tsv has no entry faq/en/%s.yaml", id, id)
			}
			newTopics = append(newTopics, id)
		}
		a, b := slices.Sorted(slices.Values(newTopics)), slices.Sorted(slices.Values(required))
		if !slices.Equal(a, b) {
			t.Errorf("faq/topics.txt is out of date with topics.tsv:\n got %v\nwant %v", b, a)
		}
	})
}

func TestShow(t *testing.T) {
	clinic := Vars{ClinicName: "Riverside Clinic", BookingURL: "https://riverside.example/book", RetentionDays: 30, TicketRetentionDays: 60, AnswerTime: "within a day"}
	noBooking := clinic
	noBooking.BookingURL = ""
	answer := "Welcome to **{{.ClinicName}}**. See [the NHS page](https://www.nhs.uk/x).\n\n- first point\n- second point"
	reviewed := `{status: reviewed, by: "Dr Ada Lee", date: "2026-10-01", due: "2027-10-01"}`

	tests := []struct {
		name    string
		fixture func(*fixture)
		vars    Vars
		want    []string
		notWant []string
	}{
		{
			name:    "draft with booking",
			fixture: func(f *fixture) { f.answer = answer; f.redFlags = `["Pain with fever"]` },
			vars:    clinic,
			want: []string{
				"DRAFT: not yet reviewed by a clinician",
				"Welcome to Riverside Clinic. See the NHS page (https://www.nhs.uk/x).",
				"• first point\n• second point",
				"[ Helpful ]  [ Not what I asked ]  [ Ask a therapist ]  [ Book a session ]",
				"(Book a session opens https://riverside.example/book)",
				"id:          alpha\n",
				"review:      DRAFT, not yet reviewed by a clinician, review due 2027-05-31",
				"red flags:\n  - Pain with fever\n",
				"  1. NHS – Example\n     https://www.nhs.uk/example/alpha\n",
			},
			notWant: []string{"**", "{{"},
		},
		{
			name:    "booking without a booking URL",
			fixture: func(f *fixture) { f.answer = answer },
			vars:    noBooking,
			want:    []string{"[ Helpful ]  [ Not what I asked ]  [ Ask a therapist ]\n", "red flags:   none listed"},
			notWant: []string{"Book a session"},
		},
		{
			name:    "doctor entries offer booking too, as the engine does",
			fixture: func(f *fixture) { f.answer = answer; f.escalate = "doctor"; f.review = reviewed },
			vars:    clinic,
			want:    []string{"escalate:    doctor", "review:      reviewed by Dr Ada Lee on 2026-10-01, next review due 2027-10-01", "[ Book a session ]"},
			notWant: []string{"DRAFT"},
		},
		{
			name:    "long lines wrap",
			fixture: func(f *fixture) { f.answer = strings.Repeat("lorem ipsum ", 40) },
			vars:    clinic,
			want:    []string{"lorem ipsum lorem"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cat, ps := Lint(folder(map[string]string{"alpha.yaml": with("alpha", tt.fixture)}), "en", LintOptions{Today: lintToday})
			e := cat.Entry("alpha")
			if e == nil {
				t.Fatalf("entry not parsed: %v", ps)
			}
			got := e.Show(tt.vars)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("Show lacks %q", w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(got, w) {
					t.Errorf("Show has %q", w)
				}
			}
			for _, l := range strings.Split(got, "\n") {
				if n := len([]rune(l)); n > showWidth && !strings.Contains(l, "https://") {
					t.Errorf("line of %d runes: %q", n, l)
				}
			}
			if t.Failed() {
				t.Logf("Show:\n%s", got)
			}
		})
	}
}

// Show still shows an entry whose template is broken, so the curator sees why.
func TestShowBrokenTemplate(t *testing.T) {
	cat, _ := Lint(folder(map[string]string{"alpha.yaml": with("alpha", func(f *fixture) { f.answer = "Hi {{.Nope}}" })}), "en", LintOptions{Today: lintToday})
	got := cat.Entry("alpha").Show(ExampleVars)
	if !strings.Contains(got, "Hi {{.Nope}}") {
		t.Errorf("Show of a broken template:\n%s", got)
	}
}

func TestLintSummary(t *testing.T) {
	_, ps := Lint(folder(map[string]string{"alpha.yaml": with("alpha", func(f *fixture) { f.noSummary = true })}), "en", LintOptions{})
	checkProblems(t, ps, []want{{file: "alpha.yaml", line: 3, warning: true, text: "no summary"}})
	long := with("alpha", func(f *fixture) {
		f.noSummary = true
		f.extra = "summary: \"" + strings.Repeat("word ", MaxSummaryWords+1) + "\"\n"
	})
	_, ps = Lint(folder(map[string]string{"alpha.yaml": long}), "en", LintOptions{})
	checkProblems(t, ps, []want{{file: "alpha.yaml", warning: true, text: "summary has 61 words"}})
}
