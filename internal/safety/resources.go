package safety

import (
	"fmt"
	"io/fs"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Resource is one service a person in crisis can contact.
type Resource struct {
	Name    string // "988 Suicide & Crisis Lifeline"
	Contact string // what to do: "Call or text 988"
	Note    string // who it is for, when it is open
}

// Region is the set of resources for one place.
type Region struct {
	Code      string // "US"
	Name      string // "United States"
	Emergency string // completes "call …": "911", "your local emergency number"
	Resources map[Category][]Resource
	General   []Resource
}

// Resources holds every region of resources.yaml. It is immutable and safe
// for concurrent use.
type Resources struct {
	regions map[string]Region
	alias   map[string]string // alias → region code
	def     string
}

// LoadResources reads the crisis resources at path in fsys
// (faq/safety/resources.yaml in the repository). Every error names the file
// and line.
func LoadResources(fsys fs.FS, path string) (*Resources, error) {
	f := yfile{name: path}
	root, err := f.load(fsys, path)
	if err != nil {
		return nil, err
	}
	top, err := f.mapping(root, "resources", "version", "default", "regions")
	if err != nil {
		return nil, err
	}
	r := &Resources{regions: map[string]Region{}, alias: map[string]string{}}
	defLine := root.Line
	var regions *yaml.Node
	for _, p := range top {
		switch p.key {
		case "version":
			v, err := f.scalar(p.v, "version")
			if err != nil {
				return nil, err
			}
			if v != "1" {
				return nil, f.errf(p.v.Line, "version %q not supported (want 1)", v)
			}
		case "default":
			if r.def, err = f.scalar(p.v, "default"); err != nil {
				return nil, err
			}
			defLine = p.v.Line
		case "regions":
			regions = p.v
		}
	}
	if regions == nil {
		return nil, f.errf(root.Line, "no regions")
	}
	pairs, err := f.mapping(regions, "regions")
	if err != nil {
		return nil, err
	}
	aliasLine := map[string]int{}
	for _, p := range pairs {
		if !isRegionCode(p.key) {
			return nil, f.errf(p.k.Line, "region code %q: use 2 to 8 upper-case letters", p.key)
		}
		reg, aliases, err := loadRegion(f, p.key, p.v)
		if err != nil {
			return nil, err
		}
		r.regions[p.key] = reg
		for _, a := range aliases {
			code := a.Value
			if !isRegionCode(code) {
				return nil, f.errf(a.Line, "alias %q: use 2 to 8 upper-case letters", code)
			}
			if first, dup := aliasLine[code]; dup {
				return nil, f.errf(a.Line, "alias %q already used (line %d)", code, first)
			}
			aliasLine[code] = a.Line
			r.alias[code] = p.key
		}
	}
	for code, line := range aliasLine {
		if _, clash := r.regions[code]; clash {
			return nil, f.errf(line, "alias %q is also a region code", code)
		}
	}
	if r.def == "" {
		r.def = "INTL"
	}
	if _, ok := r.regions[r.def]; !ok {
		return nil, f.errf(defLine, "default region %q is not defined", r.def)
	}
	return r, nil
}

func loadRegion(f yfile, code string, n *yaml.Node) (Region, []*yaml.Node, error) {
	reg := Region{Code: code, Resources: map[Category][]Resource{}}
	pairs, err := f.mapping(n, "region "+code, "name", "aliases", "emergency", "resources", "general")
	if err != nil {
		return reg, nil, err
	}
	var aliases []*yaml.Node
	for _, p := range pairs {
		switch p.key {
		case "name":
			reg.Name, err = f.scalar(p.v, "name")
		case "emergency":
			reg.Emergency, err = f.scalar(p.v, "emergency")
			if err == nil {
				err = plainField(f, p.v, "emergency", reg.Emergency)
			}
		case "aliases":
			aliases, err = f.list(p.v, "aliases")
		case "general":
			reg.General, err = loadResourceList(f, p.v, "general")
		case "resources":
			var cats []pair
			cats, err = f.mapping(p.v, "resources of "+code)
			for _, c := range cats {
				if err != nil {
					break
				}
				cat := Category(c.key)
				if categoryIndex(cat) < 0 {
					return reg, nil, f.errf(c.k.Line, "unknown category %q (want one of %s)", c.key, strings.Join(asStrings(Categories()), ", "))
				}
				reg.Resources[cat], err = loadResourceList(f, c.v, c.key)
			}
		}
		if err != nil {
			return reg, nil, err
		}
	}
	if strings.TrimSpace(reg.Emergency) == "" {
		return reg, nil, f.errf(n.Line, "region %s has no emergency number", code)
	}
	if reg.Name == "" {
		reg.Name = code
	}
	return reg, aliases, nil
}

func loadResourceList(f yfile, n *yaml.Node, what string) ([]Resource, error) {
	if err := f.noAlias(n); err != nil {
		return nil, err
	}
	if n.Kind != yaml.SequenceNode {
		return nil, f.errf(n.Line, "%s must be a list of resources", what)
	}
	var out []Resource
	for _, it := range n.Content {
		pairs, err := f.mapping(it, "resource", "name", "contact", "note")
		if err != nil {
			return nil, err
		}
		var res Resource
		for _, p := range pairs {
			v, err := f.scalar(p.v, p.key)
			if err != nil {
				return nil, err
			}
			if err := plainField(f, p.v, p.key, v); err != nil {
				return nil, err
			}
			switch p.key {
			case "name":
				res.Name = strings.TrimSpace(v)
			case "contact":
				res.Contact = strings.TrimSpace(v)
			case "note":
				res.Note = strings.TrimSpace(v)
			}
		}
		if res.Name == "" || res.Contact == "" {
			return nil, f.errf(it.Line, "a resource needs a name and a contact")
		}
		out = append(out, res)
	}
	return out, nil
}

// plainField rejects Markdown and line breaks in a field: Message builds the
// Markdown around the fields, and every adapter must render it the same way.
func plainField(f yfile, n *yaml.Node, what, v string) error {
	if i := strings.IndexAny(v, "*_`[]<>\n\r#|"); i >= 0 {
		return f.errf(n.Line, "%s: %q is not allowed here (plain text only)", what, v[i:i+1])
	}
	return nil
}

func isRegionCode(s string) bool {
	if len(s) < 2 || len(s) > 8 {
		return false
	}
	for _, c := range s {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

// Region returns the resources for a region code. It accepts a region
// ("UK"), a country code listed as an alias ("GB", "de") or a locale whose
// region part is one ("en-GB", "fr_FR"); anything else, including "", is
// the default region (INTL).
func (r *Resources) Region(code string) Region {
	return r.region(code).clone()
}

func (r *Resources) region(code string) Region {
	code = strings.ToUpper(strings.TrimSpace(code))
	if reg, ok := r.lookup(code); ok {
		return reg
	}
	if k := strings.LastIndexAny(code, "-_"); k >= 0 {
		if reg, ok := r.lookup(code[k+1:]); ok {
			return reg
		}
	}
	return r.regions[r.def]
}

func (r *Resources) lookup(code string) (Region, bool) {
	if reg, ok := r.regions[code]; ok {
		return reg, true
	}
	if c, ok := r.alias[code]; ok {
		return r.regions[c], true
	}
	return Region{}, false
}

// clone copies the maps and slices so a caller cannot change shared data.
func (g Region) clone() Region {
	out := g
	out.Resources = make(map[Category][]Resource, len(g.Resources))
	for c, rs := range g.Resources {
		out.Resources[c] = append([]Resource(nil), rs...)
	}
	out.General = append([]Resource(nil), g.General...)
	return out
}

// Message renders the crisis reply for a region: the emergency line first,
// then the resources for the categories that fired, then the general ones.
// It uses the FAQ Markdown subset (paragraphs, "- " lists, **bold**). It is
// short on purpose: a person in crisis should reach a number in one glance.
func (r *Resources) Message(code string, a Assessment) string {
	reg := r.region(code)
	cats := a.Categories()
	var b strings.Builder
	if contains(asStrings(cats), string(MedicalEmergency)) {
		fmt.Fprintf(&b, "If you are in danger or need urgent medical help now, call %s.\n", reg.Emergency)
	} else {
		fmt.Fprintf(&b, "If you are in danger now, call %s.\n", reg.Emergency)
	}
	b.WriteString("\nYou don't have to face this alone. These services are there for you right now:\n\n")
	seen := map[string]bool{}
	line := func(res Resource) {
		// A service is listed once, with its first (most specific) entry.
		if seen[res.Name] {
			return
		}
		seen[res.Name] = true
		fmt.Fprintf(&b, "- **%s**: %s", res.Name, strings.TrimSuffix(res.Contact, "."))
		if res.Note != "" {
			fmt.Fprintf(&b, ". %s", res.Note)
		} else {
			b.WriteString(".")
		}
		b.WriteString("\n")
	}
	for _, c := range cats {
		for _, res := range reg.Resources[c] {
			line(res)
		}
	}
	for _, res := range reg.General {
		line(res)
	}
	b.WriteString("\nYou reached out, and that matters.")
	return b.String()
}
