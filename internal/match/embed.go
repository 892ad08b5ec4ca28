package match

// Optional embeddings: one more fused signal, off by default. The index
// embeds every document once (vectors cached on disk, keyed by model); a
// query is embedded under a timeout, and on any error or timeout the
// matcher falls back to lexical matching for that query.
//
// The client speaks the OpenAI-compatible /v1/embeddings JSON directly
// (net/http): the engine's packages may not import an SDK (DESIGN.md, the
// import-rules test), and the request is one POST. It works with OpenAI,
// vLLM, llama.cpp and Ollama servers.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Embedder turns texts into vectors.
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// EmbedOptions switch embeddings on (Options.Embeddings; nil is off).
type EmbedOptions struct {
	Embedder Embedder
	// Model names the vectors in the cache; changing it re-embeds.
	Model string
	// CacheDir holds <sha256(model)>.gob; empty disables the disk cache.
	CacheDir string
	// Weight of the embedding cosine in the fused score (default 0.5).
	// The calibration was trained without embeddings: retrain with them on
	// before relying on the thresholds.
	Weight float64
	// Timeout for embedding one query (default 300 ms); past it the query
	// is matched lexically.
	Timeout time.Duration
}

// embedIndex holds the unit-length vector of every document.
type embedIndex struct {
	opts EmbedOptions
	docs [][]float32
}

const embedBatch = 64

func buildEmbedIndex(ctx context.Context, texts []string, o EmbedOptions) (*embedIndex, error) {
	if o.Embedder == nil {
		return nil, errors.New("match: embeddings enabled without an Embedder")
	}
	if o.Weight == 0 {
		o.Weight = 0.5
	}
	if o.Timeout == 0 {
		o.Timeout = 300 * time.Millisecond
	}
	cache := map[string][]float32{}
	var cachePath string
	if o.CacheDir != "" {
		sum := sha256.Sum256([]byte(o.Model))
		cachePath = filepath.Join(o.CacheDir, hex.EncodeToString(sum[:8])+".gob")
		if f, err := os.Open(cachePath); err == nil {
			_ = gob.NewDecoder(f).Decode(&cache) // a bad cache is rebuilt
			f.Close()
		}
	}
	key := func(t string) string { s := sha256.Sum256([]byte(t)); return hex.EncodeToString(s[:]) }
	var missing []string
	for _, t := range texts {
		if _, ok := cache[key(t)]; !ok {
			missing = append(missing, t)
		}
	}
	for i := 0; i < len(missing); i += embedBatch {
		batch := missing[i:min(i+embedBatch, len(missing))]
		vs, err := o.Embedder.Embed(ctx, batch)
		if err != nil {
			return nil, fmt.Errorf("match: embedding the catalog: %w", err)
		}
		if len(vs) != len(batch) {
			return nil, fmt.Errorf("match: embedding server returned %d vectors for %d texts", len(vs), len(batch))
		}
		for j, v := range vs {
			cache[key(batch[j])] = v
		}
	}
	if cachePath != "" && len(missing) > 0 {
		if err := os.MkdirAll(o.CacheDir, 0o700); err == nil {
			tmp := cachePath + ".tmp"
			if f, err := os.Create(tmp); err == nil {
				err = gob.NewEncoder(f).Encode(cache)
				if cerr := f.Close(); err == nil && cerr == nil {
					_ = os.Rename(tmp, cachePath)
				}
			}
		}
	}
	ei := &embedIndex{opts: o, docs: make([][]float32, len(texts))}
	for i, t := range texts {
		ei.docs[i] = unit(cache[key(t)])
	}
	return ei, nil
}

func unit(v []float32) []float32 {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	if n == 0 {
		return v
	}
	out := make([]float32, len(v))
	inv := float32(1 / math.Sqrt(n))
	for i, x := range v {
		out[i] = x * inv
	}
	return out
}

// query embeds q; nil on error or timeout (the caller falls back).
func (ei *embedIndex) query(q string) []float32 {
	ctx, cancel := context.WithTimeout(context.Background(), ei.opts.Timeout)
	defer cancel()
	vs, err := ei.opts.Embedder.Embed(ctx, []string{q})
	if err != nil || len(vs) != 1 {
		return nil
	}
	return unit(vs[0])
}

func (ei *embedIndex) cosine(q []float32, d uint32) float64 {
	v := ei.docs[d]
	if len(v) != len(q) {
		return 0
	}
	var dot float32
	for i := range q {
		dot += q[i] * v[i]
	}
	return float64(dot)
}

// HTTPEmbedder calls an OpenAI-compatible embeddings endpoint:
// POST {BaseURL}/embeddings with {"model", "input": [...]}, answer
// {"data": [{"index", "embedding": [...]}]}. BaseURL includes the /v1
// prefix, e.g. "http://localhost:8000/v1".
type HTTPEmbedder struct {
	BaseURL string
	APIKey  string
	Model   string
	Client  *http.Client // nil: a client with a 30 s timeout
}

// Embed implements Embedder.
func (h *HTTPEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	body, err := json.Marshal(map[string]any{"model": h.Model, "input": texts})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(h.BaseURL, "/")+"/embeddings", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if h.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+h.APIKey)
	}
	c := h.Client
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("embeddings: HTTP %d", resp.StatusCode)
	}
	var out struct {
		Data []struct {
			Index     int       `json:"index"`
			Embedding []float32 `json:"embedding"`
		} `json:"data"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("embeddings: %w", err)
	}
	vs := make([][]float32, len(texts))
	for _, d := range out.Data {
		if d.Index < 0 || d.Index >= len(vs) {
			return nil, fmt.Errorf("embeddings: index %d out of range", d.Index)
		}
		vs[d.Index] = d.Embedding
	}
	for i, v := range vs {
		if v == nil {
			return nil, fmt.Errorf("embeddings: no vector for input %d", i)
		}
	}
	return vs, nil
}
