package safety

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxFileSize bounds a data file. The real files are a few tens of KiB; a
// file a thousand times larger is a mistake, or an attack on the loader.
const maxFileSize = 1 << 20

// FileError is a problem in a data file. Curators fix these by hand, so every
// error says where: file and line (Line is 0 only when no line applies, such
// as a file that cannot be opened).
type FileError struct {
	File string
	Line int
	Msg  string
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// yfile reads one YAML data file and reports errors against it.
type yfile struct{ name string }

func (f yfile) errf(line int, format string, args ...any) error {
	return &FileError{File: f.name, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// load reads and parses the file, returning its top-level mapping.
func (f yfile) load(fsys fs.FS, path string) (*yaml.Node, error) {
	file, err := fsys.Open(path)
	if err != nil {
		return nil, f.errf(0, "%v", err)
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, maxFileSize+1))
	if err != nil {
		return nil, f.errf(0, "%v", err)
	}
	if len(data) > maxFileSize {
		line := bytes.Count(data[:maxFileSize], []byte("\n")) + 1
		return nil, f.errf(line, "file is larger than %d bytes (1 MiB); the limit is reached on this line", maxFileSize)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, f.yamlErr(err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, f.errf(1, "file is empty")
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, f.errf(root.Line, "the top level must be a mapping (key: value)")
	}
	return root, nil
}

// yamlErr turns "yaml: line N: msg" into a FileError at line N.
func (f yfile) yamlErr(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, tail, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				n = max(n, 1)
				// The parser reports where the broken construct starts,
				// which can be a line or so before the actual mistake.
				return f.errf(n, "invalid YAML (at or just after this line): %s", tail)
			}
		}
	}
	return f.errf(1, "invalid YAML: %s", msg)
}

// pair is one key and value of a mapping.
type pair struct {
	key string
	k   *yaml.Node
	v   *yaml.Node
}

// mapping returns the pairs of n in order, rejecting duplicate keys and, when
// allowed is non-empty, keys outside it (a misspelt "unles" must not
// silently disable a guard).
func (f yfile) mapping(n *yaml.Node, what string, allowed ...string) ([]pair, error) {
	if err := f.noAlias(n); err != nil {
		return nil, err
	}
	if n.Kind != yaml.MappingNode {
		return nil, f.errf(n.Line, "%s must be a mapping (key: value)", what)
	}
	seen := map[string]int{}
	var out []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if err := f.noAlias(k); err != nil {
			return nil, err
		}
		if k.Kind != yaml.ScalarNode {
			return nil, f.errf(k.Line, "%s: keys must be plain words", what)
		}
		if first, dup := seen[k.Value]; dup {
			return nil, f.errf(k.Line, "%s: key %q repeated (first on line %d)", what, k.Value, first)
		}
		seen[k.Value] = k.Line
		if len(allowed) > 0 && !contains(allowed, k.Value) {
			return nil, f.errf(k.Line, "%s: unknown key %q (want one of %s)", what, k.Value, strings.Join(allowed, ", "))
		}
		out = append(out, pair{key: k.Value, k: k, v: v})
	}
	return out, nil
}

// noAlias rejects an alias where a mapping is expected. Aliases are allowed
// only for a list of scalars or a scalar (resolve), where following one
// cannot multiply a small file into a huge tree.
func (f yfile) noAlias(n *yaml.Node) error {
	if n.Kind == yaml.AliasNode {
		return f.errf(n.Line, "YAML aliases (*name) are not supported here")
	}
	return nil
}

func (f yfile) scalar(n *yaml.Node, what string) (string, error) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode {
		return "", f.errf(n.Line, "%s must be a single value", what)
	}
	return n.Value, nil
}

// list returns the items of a sequence of scalars; a single scalar is taken
// as a list of one.
func (f yfile) list(n *yaml.Node, what string) ([]*yaml.Node, error) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode {
		return []*yaml.Node{n}, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, f.errf(n.Line, "%s must be a list", what)
	}
	for _, it := range n.Content {
		if it.Kind != yaml.ScalarNode {
			return nil, f.errf(it.Line, "%s: each item must be a single value", what)
		}
	}
	return n.Content, nil
}

// resolve follows one alias to a scalar or a list of scalars; anything else
// is left for the caller to reject.
func resolve(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		switch n.Alias.Kind {
		case yaml.ScalarNode, yaml.SequenceNode:
			return n.Alias
		}
	}
	return n
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
