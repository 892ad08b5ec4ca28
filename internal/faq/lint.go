package faq

// This file is the curator tooling: Lint (every problem of a folder, errors
// and warnings, with file:line) and Show (an entry as an asker sees it, with
// a curator footer). `candid faq lint|show` are thin wrappers around them.

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/candid-app/candid/internal/markup"
)

// Quality rules a complete entry meets. Load tolerates entries that miss
// them (the service still runs); Lint reports them.
const (
	MinParaphrases = 8
	MinAnswerWords = 120
	MaxAnswerWords = 300
	MinSources     = 2
	// MaxSummaryWords bounds the summary that every channel shows first:
	// it must fit one phone screen with the buttons.
	MaxSummaryWords = 60
	// DefaultMaxReviewAge is how long a clinician's review stays current
	// when LintOptions.MaxReviewAge is zero: medical advice dates.
	DefaultMaxReviewAge = 2 * 365 * 24 * time.Hour

	// Near-duplicate thresholds for paraphrases of different entries.
	nearWordJaccard    = 0.8 // same words, perhaps reordered or one added
	nearTrigramJaccard = 0.9 // same letters, perhaps misspelt
)

// LintOptions tune the checks that depend on the outside world.
type LintOptions struct {
	// Today is the date review dates are compared with; zero means now.
	Today time.Time
	// MaxReviewAge is how old a reviewed entry's review.date may be before
	// lint asks for a new review; zero means DefaultMaxReviewAge, negative
	// turns the check off.
	MaxReviewAge time.Duration
	// RequiredIDs are ids that must exist (the topic list); each missing
	// one is an error.
	RequiredIDs []string
}

// Lint checks every dir/*.yaml entry of fsys and returns the catalog of the
// entries that parsed (even those with errors, so `candid faq show` can still
// show them; serve with Load, never with this) and every problem found,
// errors and warnings, sorted by file and line. Problems.Errors() is empty
// when the folder would load and meets the quality rules.
func Lint(fsys fs.FS, dir string, opts LintOptions) (*Catalog, Problems) {
	if opts.Today.IsZero() {
		opts.Today = time.Now()
	}
	if opts.MaxReviewAge == 0 {
		opts.MaxReviewAge = DefaultMaxReviewAge
	}
	entries, problems := parseDir(fsys, dir)
	problems = append(problems, strayFiles(fsys, dir)...)
	cat := newCatalog(path.Base(dir), entries)
	for _, e := range cat.Entries {
		problems = append(problems, lintEntry(e, opts)...)
	}
	problems = append(problems, lintParaphrases(cat.Entries)...)
	seen := map[string]bool{}
	for _, id := range opts.RequiredIDs {
		id = strings.TrimSpace(id)
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		if cat.Entry(id) == nil {
			problems = append(problems, Problem{File: dir, Message: fmt.Sprintf("required entry %q is missing: add %s", id, path.Join(dir, id+".yaml"))})
		}
	}
	sort.SliceStable(problems, func(i, j int) bool {
		a, b := problems[i], problems[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Message < b.Message
	})
	return cat, problems
}

// strayFiles warns about files Load silently skips because of their name.
func strayFiles(fsys fs.FS, dir string) Problems {
	des, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil // parseDir already said what is wrong with dir
	}
	var ps Problems
	for _, de := range des {
		n := de.Name()
		ext := strings.ToLower(path.Ext(n))
		if de.IsDir() || path.Ext(n) == ".yaml" || (ext != ".yml" && ext != ".yaml") {
			continue
		}
		ps = append(ps, Problem{File: path.Join(dir, n), Warning: true,
			Message: "ignored: entries are read only from files ending in .yaml (lower case); rename it"})
	}
	return ps
}

var (
	headingLine = regexp.MustCompile(`^#{1,6}(\s|$)`)
	htmlTag     = regexp.MustCompile(`<!--|</?[A-Za-z][A-Za-z0-9-]*(\s[^<>]*)?/?>`)
	mdLink      = regexp.MustCompile(`\[([^\]\n]*)\]\(([^)\s]*)\)`)
)

// lintEntry applies the quality rules to one parsed entry.
func lintEntry(e *Entry, opts LintOptions) Problems {
	var ps Problems
	add := func(warning bool, line int, format string, args ...any) {
		ps = append(ps, Problem{File: e.File, Line: line, Warning: warning, Message: fmt.Sprintf(format, args...)})
	}
	ps = append(ps, e.notes...)

	if len(e.Paraphrases) > 0 {
		distinct := map[string]bool{}
		for _, p := range e.Paraphrases {
			if k := strings.Join(normalize(p), " "); k != "" {
				distinct[k] = true
			}
		}
		if n := len(distinct); n < MinParaphrases {
			add(false, e.Line("paraphrases"), "only %d distinct paraphrases: a complete entry needs at least %d, written the way people really ask (slang, misspellings, fragments, about a partner)", n, MinParaphrases)
		}
	}
	ps = append(ps, lintAnswer(e, ExampleVars)...)

	if len(e.Sources) > 0 {
		urls := map[string]bool{}
		for i, s := range e.Sources {
			urls[strings.TrimRight(strings.TrimSpace(s.URL), "/")] = true
			if strings.HasPrefix(s.URL, "http://") {
				add(true, e.lineOr(fmt.Sprintf("sources[%d]", i), "sources"), "source %d uses http: link its https address", i+1)
			}
		}
		if len(urls) < MinSources {
			add(false, e.Line("sources"), "only %d distinct source: cite at least %d reputable sources (WHO, NHS, national health institutes, professional societies, peer-reviewed reviews)", len(urls), MinSources)
		}
	}

	today := dateOf(opts.Today)
	line := e.Line("review")
	due, dueErr := time.Parse(time.DateOnly, e.Review.Due)
	date, dateErr := time.Parse(time.DateOnly, e.Review.Date)
	switch e.Review.Status {
	case "draft":
		if dueErr == nil && due.Before(today) {
			add(true, line, "draft past its review date (due %s): ask a clinician to review it, or set a new review.due", e.Review.Due)
		}
	case "reviewed":
		if dateErr == nil {
			if date.After(today) {
				add(true, line, "review.date %s is in the future: use the date the clinician reviewed it", e.Review.Date)
			} else if opts.MaxReviewAge > 0 && today.Sub(date) > opts.MaxReviewAge {
				add(true, line, "reviewed on %s, more than %d days ago: ask a clinician to review it again", e.Review.Date, int(opts.MaxReviewAge.Hours()/24))
			}
		}
		if dueErr == nil && due.Before(today) {
			add(true, line, "review was due on %s: ask a clinician to review it again", e.Review.Due)
		}
	}
	return ps
}

// lintAnswer checks the answer's length once rendered with v, and the raw
// answer's Markdown against the subset every adapter renders.
func lintAnswer(e *Entry, v Vars) Problems {
	var ps Problems
	add := func(warning bool, line int, format string, args ...any) {
		ps = append(ps, Problem{File: e.File, Line: line, Warning: warning, Message: fmt.Sprintf(format, args...)})
	}
	if strings.TrimSpace(e.Answer) == "" {
		return nil // Load reported the missing answer
	}
	read := stemSet(e.Summary + " " + e.Answer)
	for i, f := range e.RedFlags {
		if !redFlagTraced(f, read) {
			add(true, e.Line("red_flags")+1+i, "red flag %q is not in the summary or the answer: askers never see red_flags, so say when to see a doctor in the text they read", f)
		}
	}
	switch n := countWords(e.Summary); {
	case strings.TrimSpace(e.Summary) == "":
		add(true, e.lineOr("summary", "question"), "no summary: add two or three sentences that answer the question on their own (every channel shows them first)")
	case n > MaxSummaryWords:
		add(true, e.Line("summary"), "summary has %d words: keep it to %d or fewer, two or three sentences", n, MaxSummaryWords)
	}
	if e.tmpl != nil || !strings.Contains(e.Answer, "{{") { // else Load reported the broken template
		rendered, err := e.Render(v)
		switch n := countWords(rendered); {
		case err != nil:
			add(false, e.Line("answer"), "%v", err)
		case strings.TrimSpace(rendered) == "":
			add(false, e.Line("answer"), "the answer is empty once its template variables are filled in")
		case n < MinAnswerWords:
			add(true, e.Line("answer"), "answer has %d words: aim for %d–%d (what usually helps, when to see a doctor, when a therapist can help)", n, MinAnswerWords, MaxAnswerWords)
		case n > MaxAnswerWords:
			add(true, e.Line("answer"), "answer has %d words: keep it to %d–%d; people read it on a phone", n, MinAnswerWords, MaxAnswerWords)
		}
	}
	body := e.Line("answer:body")
	for i, l := range strings.Split(e.Answer, "\n") {
		line := e.Line("answer")
		if body > 0 {
			line = body + i
		}
		t := strings.TrimSpace(l)
		if headingLine.MatchString(t) {
			add(true, line, "heading (#) in the answer: adapters cannot show headings; use a **bold** sentence")
		}
		if strings.HasPrefix(t, "|") || strings.Count(t, "|") >= 2 {
			add(true, line, "table (|) in the answer: adapters cannot show tables; use a bullet list")
		}
		if m := htmlTag.FindString(t); m != "" {
			add(true, line, "raw HTML %s in the answer: it is shown as text; use the Markdown subset (**bold**, *italic*, [text](https://…))", m)
		}
		if strings.Contains(t, "![") {
			add(true, line, "image (![…]) in the answer: adapters cannot show images; link the page instead")
		}
		for _, m := range mdLink.FindAllStringSubmatch(t, -1) {
			if u := m[2]; !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "{{") {
				add(true, line, "link %q is not https: adapters show only https links as links", u)
			}
		}
	}
	return ps
}

// countWords counts the words a reader sees: link targets and Markdown
// markers are not words.
func countWords(s string) int {
	s = mdLink.ReplaceAllString(s, "$1")
	n := 0
	for _, f := range strings.Fields(s) {
		if strings.IndexFunc(f, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) >= 0 {
			n++
		}
	}
	return n
}

// dateOf is t's calendar date (in t's location) as a UTC midnight, the form
// time.Parse(time.DateOnly, …) gives, so the two compare.
func dateOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// normalize reduces a question to its content words: lower case, no
// punctuation ("can't" and "cant" are one word), no stop words. It is lint's
// notion of "the same phrasing", not the matcher's.
func normalize(s string) []string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r == '\'' || r == '’' || r == '‘' || r == '`':
			// dropped, so that a contraction stays one word
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		default:
			b.WriteByte(' ')
		}
	}
	words := strings.Fields(b.String())
	out := words[:0]
	for _, w := range words {
		if !isStopWord(w) {
			out = append(out, w)
		}
	}
	return out
}

// isStopWord is a deliberately small list: words that change nothing about
// what is asked. Negations and question words stay.
func isStopWord(w string) bool {
	switch w {
	case "a", "an", "the", "i", "im", "ive", "id", "me", "my", "mine", "myself",
		"you", "your", "youre", "we", "our", "us", "it", "its", "is", "are", "am",
		"was", "were", "be", "been", "do", "does", "did", "to", "of", "in", "on",
		"at", "for", "with", "and", "or", "so", "that", "this", "just", "really",
		"um", "uh", "hi", "hey", "hello", "please", "pls", "plz":
		return true
	}
	return false
}

// phrase is one indexed text of an entry (its question or a paraphrase).
type phrase struct {
	entry int // index into the entries
	e     *Entry
	key   string // "question" or "paraphrases[i]"
	text  string
	raw   string // lower case, spaces collapsed
	norm  string // normalize joined by spaces
}

func (p phrase) line() int { return p.e.lineOr(p.key, strings.Split(p.key, "[")[0]) }
func (p phrase) at() string {
	if l := p.line(); l > 0 {
		return fmt.Sprintf("%s:%d", p.e.File, l)
	}
	return p.e.File
}
func (p phrase) label() string {
	if p.key == "question" {
		return "question"
	}
	return "paraphrase"
}

// lintParaphrases finds repeated phrasings within an entry and exact and
// near-duplicate phrasings across entries. Near duplicates are found with an
// inverted index and prefix filtering (only pairs that can reach the
// threshold are ever compared), so thousands of entries stay fast.
func lintParaphrases(entries []*Entry) Problems {
	var ps Problems
	var phrases []phrase
	for i, e := range entries {
		add := func(key, text string) {
			if strings.TrimSpace(text) == "" {
				return
			}
			phrases = append(phrases, phrase{entry: i, e: e, key: key, text: text,
				raw:  strings.Join(strings.Fields(strings.ToLower(text)), " "),
				norm: strings.Join(normalize(text), " ")})
		}
		add("question", e.Question)
		for j, p := range e.Paraphrases {
			add(fmt.Sprintf("paraphrases[%d]", j), p)
		}
	}

	// Exact duplicates: the first phrase with a normal form owns it.
	groups := map[string][]int{}
	var norms []string
	for i, p := range phrases {
		if p.norm == "" {
			continue
		}
		if groups[p.norm] == nil {
			norms = append(norms, p.norm)
		}
		groups[p.norm] = append(groups[p.norm], i)
	}
	for _, n := range norms {
		g := groups[n]
		for _, i := range g[1:] {
			p := phrases[i]
			// Report against the nearest earlier phrase: same entry first.
			first := phrases[g[0]]
			for _, j := range g {
				if j >= i {
					break
				}
				if phrases[j].entry == p.entry {
					first = phrases[j]
					break
				}
			}
			q := first
			switch {
			case q.entry != p.entry:
				ps = append(ps, Problem{File: p.e.File, Line: p.line(), Message: fmt.Sprintf(
					"%s %q is the same as %q in %s (id %s): the matcher cannot tell the two entries apart; keep it in one entry only",
					p.label(), p.text, q.text, q.at(), q.e.ID)})
			case q.raw == p.raw:
				ps = append(ps, Problem{File: p.e.File, Line: p.line(), Message: fmt.Sprintf(
					"%s %q repeats the %s at line %d: remove the copy", p.label(), p.text, q.label(), q.line())})
			default:
				ps = append(ps, Problem{File: p.e.File, Line: p.line(), Warning: true, Message: fmt.Sprintf(
					"%s %q differs from the %s %q at line %d only in punctuation or filler words: it adds nothing for the matcher",
					p.label(), p.text, q.label(), q.text, q.line())})
			}
		}
	}

	// Near duplicates across entries, over distinct normal forms.
	words := newInterner[string]()
	trigrams := newInterner[uint64]()
	wordSets := make([][]int32, len(norms))
	triSets := make([][]int32, len(norms))
	for i, n := range norms {
		wordSets[i] = words.set(strings.Fields(n))
		triSets[i] = trigrams.set(trigramsOf(n))
	}
	type hit struct {
		sim  float64
		kind string
	}
	hits := map[[2]int]hit{}
	record := func(pairs []simPair, kind string) {
		for _, sp := range pairs {
			for _, i := range groups[norms[sp.a]] {
				for _, j := range groups[norms[sp.b]] {
					if phrases[i].entry == phrases[j].entry {
						continue
					}
					k := [2]int{min(i, j), max(i, j)}
					if _, ok := hits[k]; !ok {
						hits[k] = hit{sp.sim, kind}
					}
				}
			}
		}
	}
	record(similarPairs(wordSets, words.n(), nearWordJaccard), "word overlap")
	record(similarPairs(triSets, trigrams.n(), nearTrigramJaccard), "letter similarity")
	for k, h := range hits {
		q, p := phrases[k[0]], phrases[k[1]]
		ps = append(ps, Problem{File: p.e.File, Line: p.line(), Warning: true, Message: fmt.Sprintf(
			"%s %q is nearly the same as %q in %s (id %s; %s %.2f): the matcher may confuse the two entries; reword one or keep it in one entry",
			p.label(), p.text, q.text, q.at(), q.e.ID, h.kind, h.sim)})
	}
	return ps
}

// trigramsOf returns the character trigrams of s padded with a space at each
// end, so that short words still have a few; each packs its three runes
// (21 bits each) into one number.
func trigramsOf(s string) []uint64 {
	r := []rune(" " + s + " ")
	out := make([]uint64, 0, len(r))
	for i := 0; i+3 <= len(r); i++ {
		out = append(out, uint64(r[i])<<42|uint64(r[i+1])<<21|uint64(r[i+2]))
	}
	return out
}

// interner numbers features (words or trigrams).
type interner[K comparable] struct{ ids map[K]int32 }

func newInterner[K comparable]() *interner[K] { return &interner[K]{ids: map[K]int32{}} }
func (in *interner[K]) n() int                { return len(in.ids) }

// set returns the distinct ids of fs, sorted.
func (in *interner[K]) set(fs []K) []int32 {
	out := make([]int32, 0, len(fs))
	for _, f := range fs {
		id, ok := in.ids[f]
		if !ok {
			id = int32(len(in.ids))
			in.ids[f] = id
		}
		out = append(out, id)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

type simPair struct {
	a, b int
	sim  float64
}

const simEpsilon = 1e-9

// similarPairs returns every pair of sets whose Jaccard similarity is at
// least t, by the AllPairs method: order each set's features rarest first;
// two sets reaching t must share a feature within the first
// |x| - ceil(t·|x|) + 1 of each, so only those prefixes are indexed and
// probed, and only sets of compatible size are compared exactly.
func similarPairs(sets [][]int32, nfeat int, t float64) []simPair {
	freq := make([]int, nfeat)
	for _, s := range sets {
		for _, f := range s {
			freq[f]++
		}
	}
	order := make([]int32, nfeat)
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		if freq[a] != freq[b] {
			return freq[a] - freq[b]
		}
		return int(a - b)
	})
	rank := make([]int32, nfeat)
	for r, f := range order {
		rank[f] = int32(r)
	}
	ranked := make([][]int32, len(sets))
	for i, s := range sets {
		r := make([]int32, len(s))
		for j, f := range s {
			r[j] = rank[f]
		}
		slices.Sort(r)
		ranked[i] = r
	}

	var out []simPair
	index := make([][]int, nfeat)  // rank → sets whose prefix holds it
	seen := make([]int, len(sets)) // the probe (i+1) that last saw a set
	for i, x := range ranked {
		if len(x) == 0 {
			continue
		}
		prefix := x[:prefixLen(len(x), t)]
		for _, f := range prefix {
			for _, j := range index[f] {
				if seen[j] == i+1 {
					continue
				}
				seen[j] = i + 1
				y := ranked[j]
				if float64(len(y)) < t*float64(len(x))-simEpsilon || float64(len(x)) < t*float64(len(y))-simEpsilon {
					continue
				}
				if sim := jaccard(x, y); sim >= t-simEpsilon {
					out = append(out, simPair{a: j, b: i, sim: sim})
				}
			}
		}
		for _, f := range prefix {
			index[f] = append(index[f], i)
		}
	}
	return out
}

func prefixLen(n int, t float64) int {
	need := int(t*float64(n) - simEpsilon)
	if float64(need) < t*float64(n)-simEpsilon {
		need++ // ceil
	}
	return max(1, min(n, n-need+1))
}

// jaccard of two sorted sets.
func jaccard(a, b []int32) float64 {
	inter := 0
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] == b[j]:
			inter++
			i++
			j++
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}

// Button labels as the conversation engine shows them under an answer
// (kept equal to conversation.Label*; faq cannot import the engine).
const (
	showLabelHelpful      = "Helpful"
	showLabelNotHelpful   = "Not what I asked"
	showLabelAskTherapist = "Ask a therapist"
	showLabelBook         = "Book a session"
)

// showWidth is the terminal width Show wraps to.
const showWidth = 80

// Show renders the entry as an asker would see it, answer filled in with the
// clinic's variables and followed by the buttons an asker gets, then a
// curator footer (id, review status, red flags, sources). A draft carries a
// banner. The text is plain, wrapped for a terminal.
func (e *Entry) Show(v Vars) string {
	var b strings.Builder
	rule := func(title string) {
		b.WriteString("── " + title + " " + strings.Repeat("─", max(3, showWidth-4-len([]rune(title)))) + "\n")
	}
	if e.IsDraft() {
		b.WriteString(wrap("DRAFT: not yet reviewed by a clinician. Do not serve it as reviewed advice until a clinician has approved it.", showWidth, "", "") + "\n\n")
	}
	rule("what the asker sees")
	answer, err := e.Render(v)
	if err != nil {
		fmt.Fprintf(&b, "(the answer cannot be shown: %v)\n", err)
	} else {
		for i, para := range strings.Split(markup.Plain(answer), "\n") {
			if strings.TrimSpace(para) == "" {
				if i > 0 {
					b.WriteString("\n")
				}
				continue
			}
			indent := ""
			if strings.HasPrefix(para, "• ") {
				indent = "  "
			}
			b.WriteString(wrap(para, showWidth, "", indent) + "\n")
		}
	}
	buttons := []string{showLabelHelpful, showLabelNotHelpful, showLabelAskTherapist}
	// The same rule as the engine: every answer offers booking when the
	// clinic has a booking page (a "doctor" entry may still need a therapist).
	if v.BookingURL != "" {
		buttons = append(buttons, showLabelBook)
	}
	b.WriteString("\n[ " + strings.Join(buttons, " ]  [ ") + " ]\n")
	if slices.Contains(buttons, showLabelBook) {
		fmt.Fprintf(&b, "(%s opens %s)\n", showLabelBook, v.BookingURL)
	}

	b.WriteString("\n")
	rule("for curators")
	field := func(name, value string) {
		b.WriteString(wrap(value, showWidth, fmt.Sprintf("%-13s", name+":"), strings.Repeat(" ", 13)) + "\n")
	}
	field("id", e.ID)
	if e.File != "" {
		field("file", e.File)
	}
	field("question", e.Question)
	switch {
	case e.Review.Status == "reviewed":
		r := "reviewed by " + e.Review.By + " on " + e.Review.Date
		if e.Review.Due != "" {
			r += ", next review due " + e.Review.Due
		}
		field("review", r)
	default:
		r := "DRAFT, not yet reviewed by a clinician"
		if e.Review.Due != "" {
			r += ", review due " + e.Review.Due
		}
		field("review", r)
	}
	field("escalate", string(e.Escalate))
	field("paraphrases", fmt.Sprint(len(e.Paraphrases)))
	if len(e.Tags) > 0 {
		field("tags", strings.Join(e.Tags, ", "))
	}
	if len(e.RedFlags) == 0 {
		field("red flags", "none listed")
	} else {
		b.WriteString("red flags:\n")
		for _, f := range e.RedFlags {
			b.WriteString(wrap("  - "+f, showWidth, "", "    ") + "\n")
		}
	}
	if len(e.Sources) == 0 {
		field("sources", "none")
	} else {
		b.WriteString("sources:\n")
		for i, s := range e.Sources {
			b.WriteString(wrap(fmt.Sprintf("  %d. %s", i+1, s.Title), showWidth, "", "     ") + "\n")
			b.WriteString("     " + s.URL + "\n")
		}
	}
	return b.String()
}

// wrap breaks s into lines of at most width runes (a word longer than that,
// such as a URL, gets a line of its own); first and rest prefix the lines.
func wrap(s string, width int, first, rest string) string {
	if first == "" {
		first = s[:len(s)-len(strings.TrimLeft(s, " "))] // keep a bullet's indent
	}
	var b strings.Builder
	prefix := first
	line := 0
	for _, w := range strings.Fields(s) {
		n := len([]rune(w))
		switch {
		case line == 0:
			b.WriteString(prefix)
			line = len([]rune(prefix))
		case line+1+n > width:
			b.WriteString("\n" + rest)
			line = len([]rune(rest))
		default:
			b.WriteByte(' ')
			line++
		}
		b.WriteString(w)
		line += n
	}
	return b.String()
}
