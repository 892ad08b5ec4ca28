package match

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/candid-app/candid/internal/faq"
	"github.com/candid-app/candid/internal/learn"
)

// Training the learned ranker. Its data are the catalog's own questions
// and paraphrases and the topic corpus (corpus/topics/*.jsonl), each line
// {"q", "topic", "writer"}: questions that independent writers wrote for
// one topic's scope, and out-of-scope questions under topic "none". Lines
// for a topic the catalog has no entry for yet are kept in the corpus and
// left out of training until the entry exists.

// rankerTrainerVersion changes whenever training changes in a way the
// options do not show, so that lint calls the shipped model stale.
const rankerTrainerVersion = "ranker-trainer-2"

// faqWriter is the group of the catalog's own texts: cross-validation
// holds them out together, as one writer.
const faqWriter = "faq"

// TopicLine is one line of the topic corpus.
type TopicLine struct {
	Q      string `json:"q"`
	Topic  string `json:"topic"`
	Writer string `json:"writer"`
	File   string `json:"-"`
	Line   int    `json:"-"`
}

// ReadTopicCorpus reads every topics/*.jsonl file of a corpus folder. The
// hash covers the files' bytes.
func ReadTopicCorpus(fsys fs.FS) ([]TopicLine, string, error) {
	files, err := fs.Glob(fsys, "topics/*.jsonl")
	if err != nil {
		return nil, "", err
	}
	if len(files) == 0 {
		return nil, "", errors.New("corpus: no topics/*.jsonl files: is this the corpus folder?")
	}
	sort.Strings(files)
	h := sha256.New()
	var lines []TopicLine
	for _, name := range files {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, "", err
		}
		fmt.Fprintf(h, "%s %d\n", name, len(b))
		h.Write(b)
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 64*1024), 64*1024)
		n := 0
		for sc.Scan() {
			n++
			t := bytes.TrimSpace(sc.Bytes())
			if len(t) == 0 {
				continue
			}
			var l TopicLine
			if err := json.Unmarshal(t, &l); err != nil {
				return nil, "", fmt.Errorf("%s:%d: %v", name, n, err)
			}
			switch {
			case strings.TrimSpace(l.Q) == "":
				return nil, "", fmt.Errorf("%s:%d: empty \"q\"", name, n)
			case l.Topic == "":
				return nil, "", fmt.Errorf("%s:%d: no \"topic\" (an entry ID, or none)", name, n)
			case l.Writer == "":
				return nil, "", fmt.Errorf("%s:%d: no \"writer\": every line must be attributable, so that splits group by writer", name, n)
			}
			l.File, l.Line = name, n
			lines = append(lines, l)
		}
		if err := sc.Err(); err != nil {
			return nil, "", fmt.Errorf("%s: %v (a line over 64 KB?)", name, err)
		}
	}
	return lines, hex.EncodeToString(h.Sum(nil)), nil
}

// rankerOptions are the ranker's training settings. 2^17 buckets for some
// seventy classes keep the model at about 9 MB in memory (2^18 was no
// better). Epochs and L2 were chosen by 5-fold cross-validation grouped by
// writer on the corpus alone (2026-12-07, 19 writers): top-1 0.670 with 10
// epochs and L2 1e-5, 0.686 with 20, 0.706 with 20 and L2 3e-5, 0.714
// with L2 1e-4 but a worse log-loss (the probabilities calibration reads).
func rankerOptions() learn.TrainOptions {
	f := learn.DefaultFeatures()
	f.Bits = 17
	f.MaxRunes = DefaultMaxQueryBytes
	return learn.TrainOptions{Features: f, Epochs: 20, Rate: 0.4, L2: 3e-5, MinCount: 2}
}

// RankerHash is the hash of everything the ranker is trained from: the
// corpus (its hash from ReadTopicCorpus), the catalog's texts, the lexicon
// and the trainer's settings. Lint compares it with the shipped model's.
func RankerHash(cat *faq.Catalog, lex *Lexicon, corpusHash string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n", rankerTrainerVersion, corpusHash)
	// The ranker reads the lexicon's rewriting (RankerFeatures).
	if lex != nil {
		lj, _ := json.Marshal(lex)
		h.Write(lj)
	}
	opt, _ := json.Marshal(rankerOptions())
	h.Write(opt)
	for _, e := range cat.Entries {
		fmt.Fprintf(h, "\x00%s", e.ID)
		for _, t := range e.Texts() {
			fmt.Fprintf(h, "\x01%s", t)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// RankerData turns the catalog and the corpus into training samples. The
// classes are the entry IDs, sorted, then none. skipped counts corpus
// lines whose topic has no entry yet.
//
// features gives each sample the extra features the ranker reads when
// matching (Matcher.RankerFeatures of a matcher over cat); nil gives none.
func RankerData(cat *faq.Catalog, lines []TopicLine, features func(string) []string) (samples []learn.Sample, classes []string, skipped int) {
	for _, e := range cat.Entries {
		classes = append(classes, e.ID)
	}
	slices.Sort(classes)
	classes = append(classes, NoneClass)
	label := map[string]int{}
	for i, c := range classes {
		label[c] = i
	}
	seen := map[string]bool{}
	add := func(q, topic, writer string) {
		key := topic + "\x00" + strings.Join(learn.Words(q, 0), " ")
		if seen[key] {
			return
		}
		seen[key] = true
		sm := learn.Sample{Text: q, Label: label[topic], Group: writer}
		if features != nil {
			sm.Extra = features(q)
		}
		samples = append(samples, sm)
	}
	ids := slices.Clone(classes[:len(classes)-1])
	for _, id := range ids {
		for _, t := range cat.Entry(id).Texts() {
			add(t, id, faqWriter)
		}
	}
	for _, l := range lines {
		if _, ok := label[l.Topic]; !ok {
			skipped++
			continue
		}
		add(l.Q, l.Topic, l.Writer)
	}
	return samples, classes, skipped
}

// RankerReport is what training measured.
type RankerReport struct {
	Samples, Writers, Skipped int
	// Top1 is the out-of-fold share of corpus questions (not the
	// catalog's own texts, not none) whose entry the ranker put first;
	// Top3 within its first three. Folds are grouped by writer.
	Top1, Top3 float64
	// NoneTop is the out-of-fold share of none questions ranked none.
	NoneTop float64
	Took    time.Duration
	// Probs are the out-of-fold class probabilities of each sample.
	Probs [][]float64
}

func (r RankerReport) String() string {
	return fmt.Sprintf("ranker: %d samples from %d writers (%d lines for topics with no entry yet left out); out of fold by writer: top-1 %.3f, top-3 %.3f, none ranked none %.3f; took %v\n",
		r.Samples, r.Writers, r.Skipped, r.Top1, r.Top3, r.NoneTop, r.Took.Round(time.Second))
}

// rankerFolds is the number of writer-grouped folds.
const rankerFolds = 10

// TrainRanker trains the ranker on the catalog and the corpus, measures it
// out of fold, and returns the model stamped with hash (RankerHash).
func TrainRanker(cat *faq.Catalog, lex *Lexicon, lines []TopicLine, hash string) (*learn.Model, RankerReport, error) {
	start := time.Now()
	base, err := New(cat, lex, Options{})
	if err != nil {
		return nil, RankerReport{}, fmt.Errorf("ranker: %w", err)
	}
	samples, classes, skipped := RankerData(cat, lines, base.RankerFeatures)
	opt := rankerOptions()
	opt.Classes = classes
	opt.DataHash = hash
	rep := RankerReport{Samples: len(samples), Skipped: skipped}
	writers := map[string]bool{}
	for _, s := range samples {
		writers[s.Group] = true
	}
	rep.Writers = len(writers)
	probs, err := learn.CrossValidate(samples, opt, min(rankerFolds, len(writers)))
	if err != nil {
		return nil, rep, fmt.Errorf("ranker: %w", err)
	}
	rep.Probs = probs
	none := len(classes) - 1
	var n, t1, t3, nn, nt float64
	for i, s := range samples {
		if s.Group == faqWriter {
			continue
		}
		rank := 0
		for c, p := range probs[i] {
			if c != s.Label && p > probs[i][s.Label] {
				rank++
			}
		}
		if s.Label == none {
			nn++
			if rank == 0 {
				nt++
			}
			continue
		}
		n++
		if rank == 0 {
			t1++
		}
		if rank < 3 {
			t3++
		}
	}
	if n > 0 {
		rep.Top1, rep.Top3 = t1/n, t3/n
	}
	if nn > 0 {
		rep.NoneTop = nt / nn
	}
	m, err := learn.Train(samples, opt)
	if err != nil {
		return nil, rep, fmt.Errorf("ranker: %w", err)
	}
	rep.Took = time.Since(start)
	return m, rep, nil
}

// CheckRankerFresh reports whether m was trained on the data whose hash is
// given; nil m (no ranker shipped) is stale too.
func CheckRankerFresh(m *learn.Model, hash string) error {
	if m == nil {
		return fmt.Errorf("%s is missing: train it with go generate ./faq", RankerFile)
	}
	if m.DataHash != hash {
		return fmt.Errorf("%s is stale (the FAQ's texts or corpus/topics changed since it was trained): retrain it with go generate ./faq", RankerFile)
	}
	return nil
}
