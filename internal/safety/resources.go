package safety

import (
	"io/fs"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Resource is one service a person in crisis can contact.
type Resource struct {
	Name    string // "988 Suicide & Crisis Lifeline"
	Contact string // what to do: "Call or text 988"
	Note    string // who it is for, when it is open ("24/7" only when it is)
	// Lang is the language the entry is written in and the service
	// answers in: "" for the region's own, "es" for a Spanish line. A
	// Spanish reply lists the Spanish entries first.
	Lang string
}

// Region is the set of resources for one place.
type Region struct {
	Code      string // "US"
	Name      string // "United States"
	Emergency string // completes "call …": "911", "your local emergency number"
	// EmergencyES is Emergency for a Spanish reply, where the English
	// words would not do ("your local emergency number"); empty when the
	// number alone says it.
	EmergencyES string
	Resources   map[Kind][]Resource
	General     []Resource
}

// Resources holds every region of resources.yaml. It is immutable and safe
// for concurrent use.
type Resources struct {
	regions map[string]Region
	alias   map[string]string // alias → region code
	def     string
	advice  map[Kind]map[string]string // kind → language → what to do first
	// check is the safety-check reply a moderator sends in one step, by
	// kind ("" for the default) and language.
	check map[Kind]map[string]string
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
	top, err := f.mapping(root, "resources", "version", "default", "advice", "safety_check", "regions")
	if err != nil {
		return nil, err
	}
	r := &Resources{regions: map[string]Region{}, alias: map[string]string{}, advice: map[Kind]map[string]string{}, check: map[Kind]map[string]string{}}
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
		case "advice":
			if err := r.loadAdvice(f, p.v); err != nil {
				return nil, err
			}
		case "safety_check":
			if err := r.loadSafetyCheck(f, p.v); err != nil {
				return nil, err
			}
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
	reg := Region{Code: code, Resources: map[Kind][]Resource{}}
	pairs, err := f.mapping(n, "region "+code, "name", "aliases", "emergency", "emergency_es", "resources", "general")
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
		case "emergency_es":
			reg.EmergencyES, err = f.scalar(p.v, "emergency_es")
			if err == nil {
				err = plainField(f, p.v, "emergency_es", reg.EmergencyES)
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
				k, ok := ParseKind(c.key)
				if !ok {
					return reg, nil, f.errf(c.k.Line, "unknown kind %q (want one of %v)", c.key, Kinds())
				}
				reg.Resources[k], err = loadResourceList(f, c.v, c.key)
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
		pairs, err := f.mapping(it, "resource", "name", "contact", "note", "lang")
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
			case "lang":
				if v != "es" && v != "en" {
					return nil, f.errf(p.v.Line, "lang %q: want en or es", v)
				}
				if v == "es" {
					res.Lang = v
				}
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
	out.Resources = make(map[Kind][]Resource, len(g.Resources))
	for c, rs := range g.Resources {
		out.Resources[c] = append([]Resource(nil), rs...)
	}
	out.General = append([]Resource(nil), g.General...)
	return out
}
