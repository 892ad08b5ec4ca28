package learn

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
)

// Header describes a model file. It is written as JSON at the start of the
// file, so `candid faq lint` and a curator can read what a model was trained
// on without loading its weights.
type Header struct {
	Format   int      `json:"format"`
	Classes  []string `json:"classes"`
	Features Features `json:"features"`
	// DataHash is the hash of everything the model was trained from (the
	// caller decides what: corpus files, options). Lint recomputes it and
	// fails when it differs: the model is stale.
	DataHash string `json:"data_hash"`
	Samples  int    `json:"samples"`
	Groups   int    `json:"groups"`
	// Meta holds the caller's decision settings (thresholds, say), so that
	// they travel with the weights they were chosen for.
	Meta map[string]float64 `json:"meta,omitempty"`
	// Scale turns the stored int8 weights back into numbers.
	Scale float32   `json:"scale"`
	Bias  []float32 `json:"bias"`
}

const (
	formatVersion = 1
	fileMagic     = "candid-model\n"
	maxHeader     = 1 << 20
	// maxWeights bounds the memory a model file can ask for (64 MB): a
	// damaged or hostile header cannot make Read allocate gigabytes.
	maxWeights = 1 << 26
	// maxClasses bounds a model's classes: a matcher's topics and none.
	maxClasses = 512
)

// Model is a trained linear model over hashed features: one weight per
// bucket and class, stored as int8 with one scale. It is immutable and safe
// for concurrent use.
type Model struct {
	Header
	w    []int8 // bucket*classes + class
	pool sync.Pool
}

type scratch struct {
	words []string
	feats []uint32
}

// Predict returns the probability of each class (in Header.Classes order)
// for text with the caller's extra features. It appends to probs[:0].
func (m *Model) Predict(text string, extra []string, probs []float64) []float64 {
	sc, _ := m.pool.Get().(*scratch)
	if sc == nil {
		sc = &scratch{}
	}
	sc.words = appendWords(sc.words[:0], text, m.Features.MaxRunes)
	probs = m.PredictWords(sc.words, extra, probs)
	m.pool.Put(sc)
	return probs
}

// PredictWords is Predict for words already split by Words (with the
// model's Features.MaxRunes), for callers that derive their extra features
// from the same words.
func (m *Model) PredictWords(words, extra []string, probs []float64) []float64 {
	sc, _ := m.pool.Get().(*scratch)
	if sc == nil {
		sc = &scratch{}
	}
	sc.feats = m.Features.extractWords(sc.feats[:0], words, extra)
	probs = m.scores(sc.feats, probs[:0])
	softmax(probs)
	m.pool.Put(sc)
	return probs
}

// scores appends the linear score of each class for feats.
func (m *Model) scores(feats []uint32, out []float64) []float64 {
	k := len(m.Classes)
	var acc [128]int32
	sums := acc[:k]
	if k > len(acc) {
		sums = make([]int32, k)
	}
	for _, b := range feats {
		row := m.w[int(b)*k : int(b)*k+k]
		for c, q := range row {
			sums[c] += int32(q)
		}
	}
	norm := 0.0
	if len(feats) > 0 {
		norm = float64(m.Scale) / math.Sqrt(float64(len(feats)))
	}
	for c := range k {
		out = append(out, float64(m.Bias[c])+norm*float64(sums[c]))
	}
	return out
}

func softmax(v []float64) {
	mx := math.Inf(-1)
	for _, x := range v {
		mx = max(mx, x)
	}
	sum := 0.0
	for i, x := range v {
		v[i] = math.Exp(x - mx)
		sum += v[i]
	}
	for i := range v {
		v[i] /= sum
	}
}

// Class returns the index of the class named name, or -1.
func (m *Model) Class(name string) int {
	for i, c := range m.Classes {
		if c == name {
			return i
		}
	}
	return -1
}

// WriteTo writes the model: a magic line, the JSON header and the non-zero
// weights as (bucket delta, int8 per class) rows, gzip-compressed. The same
// model always gives the same bytes.
func (m *Model) WriteTo(w io.Writer) (int64, error) {
	var raw bytes.Buffer
	raw.WriteString(fileMagic)
	h, err := json.Marshal(m.Header)
	if err != nil {
		return 0, err
	}
	var n [binary.MaxVarintLen64]byte
	raw.Write(n[:binary.PutUvarint(n[:], uint64(len(h)))])
	raw.Write(h)
	k := len(m.Classes)
	prev := -1
	for b := 0; b < len(m.w)/k; b++ {
		row := m.w[b*k : b*k+k]
		if allZero(row) {
			continue
		}
		raw.Write(n[:binary.PutUvarint(n[:], uint64(b-prev))])
		for _, q := range row {
			raw.WriteByte(byte(q))
		}
		prev = b
	}
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, gzip.BestCompression)
	if _, err := zw.Write(raw.Bytes()); err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	c, err := w.Write(out.Bytes())
	return int64(c), err
}

func allZero(row []int8) bool {
	for _, q := range row {
		if q != 0 {
			return false
		}
	}
	return true
}

// ReadHeader reads only the header of a model file.
func ReadHeader(r io.Reader) (Header, error) {
	br, err := open(r)
	if err != nil {
		return Header{}, err
	}
	return readHeader(br)
}

func open(r io.Reader) (*bufio.Reader, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("learn: not a model file (%w): retrain it with go generate ./faq", err)
	}
	br := bufio.NewReader(zr)
	magic := make([]byte, len(fileMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != fileMagic {
		return nil, errors.New("learn: not a model file: retrain it with go generate ./faq")
	}
	return br, nil
}

func readHeader(br *bufio.Reader) (Header, error) {
	var h Header
	n, err := binary.ReadUvarint(br)
	if err != nil || n > maxHeader {
		return h, errors.New("learn: model header is damaged: retrain it with go generate ./faq")
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(br, buf); err != nil {
		return h, fmt.Errorf("learn: model header is cut short: %w", err)
	}
	if err := json.Unmarshal(buf, &h); err != nil {
		return h, fmt.Errorf("learn: model header: %w", err)
	}
	if h.Format != formatVersion {
		return h, fmt.Errorf("learn: model format %d, this build reads %d: retrain it with go generate ./faq", h.Format, formatVersion)
	}
	if h.Features.Bits < 10 || h.Features.Bits > 22 || len(h.Classes) < 2 || len(h.Classes) > maxClasses || len(h.Bias) != len(h.Classes) ||
		(1<<h.Features.Bits)*len(h.Classes) > maxWeights {
		return h, errors.New("learn: model header is inconsistent: retrain it with go generate ./faq")
	}
	return h, nil
}

// Read reads a model written by WriteTo.
func Read(r io.Reader) (*Model, error) {
	br, err := open(r)
	if err != nil {
		return nil, err
	}
	h, err := readHeader(br)
	if err != nil {
		return nil, err
	}
	k := len(h.Classes)
	buckets := 1 << h.Features.Bits
	m := &Model{Header: h, w: make([]int8, buckets*k)}
	b := -1
	row := make([]byte, k)
	for {
		d, err := binary.ReadUvarint(br)
		if err == io.EOF {
			break
		}
		if err != nil || d == 0 || b+int(d) >= buckets {
			return nil, errors.New("learn: model weights are damaged: retrain it with go generate ./faq")
		}
		b += int(d)
		if _, err := io.ReadFull(br, row); err != nil {
			return nil, errors.New("learn: model weights are cut short: retrain it with go generate ./faq")
		}
		for c, q := range row {
			m.w[b*k+c] = int8(q)
		}
	}
	return m, nil
}
