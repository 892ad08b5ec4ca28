package safety

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// The safety check is the first message a moderator sends to someone whose
// message was urgent or a concern: warm, short, asking whether they are safe
// now, repeating the emergency line, and inviting a reply. Its words are the
// clinic's (faq/safety/resources.yaml, safety_check:), reviewed like the
// FAQ, so that a moderator on a busy evening does not have to find them.

// loadSafetyCheck reads safety_check: a default and optional texts per
// kind, each with en and optionally es.
func (r *Resources) loadSafetyCheck(f yfile, n *yaml.Node) error {
	kinds, err := f.mapping(n, "safety_check")
	if err != nil {
		return err
	}
	for _, kp := range kinds {
		var k Kind
		if kp.key != "default" {
			var ok bool
			if k, ok = ParseKind(kp.key); !ok {
				return f.errf(kp.k.Line, "safety_check: unknown kind %q (want default or one of %v)", kp.key, Kinds())
			}
		}
		langs, err := f.mapping(kp.v, "safety_check for "+kp.key, "en", "es")
		if err != nil {
			return err
		}
		r.check[k] = map[string]string{}
		for _, lp := range langs {
			v, err := f.scalar(lp.v, "safety_check")
			if err != nil {
				return err
			}
			if i := strings.IndexAny(v, "*_`[]<>#|"); i >= 0 {
				return f.errf(lp.v.Line, "safety_check: %q is not allowed here (plain text only)", v[i:i+1])
			}
			r.check[k][lp.key] = strings.Join(strings.Fields(v), " ")
		}
		if r.check[k]["en"] == "" {
			return f.errf(kp.k.Line, "safety_check for %s has no en text", kp.key)
		}
	}
	if len(r.check) > 0 && r.check[KindNone]["en"] == "" {
		return f.errf(n.Line, "safety_check needs a default (en), used for kinds without their own text")
	}
	return nil
}

// SafetyCheck returns the safety-check reply for kind in lang ("en" when
// the language has none), with {emergency} filled in for the region. It
// is empty when the file has no safety_check section.
func (r *Resources) SafetyCheck(region string, kind Kind, lang string) string {
	texts := r.check[kind]
	if texts == nil {
		texts = r.check[KindNone]
	}
	v := texts[lang]
	if v == "" {
		v = texts["en"]
	}
	if v == "" {
		return ""
	}
	reg := r.region(region)
	emergency := reg.Emergency
	if lang == "es" && reg.EmergencyES != "" {
		emergency = reg.EmergencyES
	}
	return strings.ReplaceAll(v, "{emergency}", emergency)
}
