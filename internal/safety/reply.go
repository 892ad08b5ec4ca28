package safety

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// loadAdvice reads the advice section: per kind, per language, the few
// things to do first (PEP within 72 hours after an assault, do not pay an
// extortioner). "{emergency}" stands for the region's emergency number.
func (r *Resources) loadAdvice(f yfile, n *yaml.Node) error {
	kinds, err := f.mapping(n, "advice")
	if err != nil {
		return err
	}
	for _, kp := range kinds {
		k, ok := ParseKind(kp.key)
		if !ok {
			return f.errf(kp.k.Line, "advice: unknown kind %q (want one of %v)", kp.key, Kinds())
		}
		langs, err := f.mapping(kp.v, "advice for "+kp.key, "en", "es")
		if err != nil {
			return err
		}
		r.advice[k] = map[string]string{}
		for _, lp := range langs {
			v, err := f.scalar(lp.v, "advice")
			if err != nil {
				return err
			}
			if i := strings.IndexAny(v, "*_`[]<>#|"); i >= 0 {
				return f.errf(lp.v.Line, "advice: %q is not allowed here (plain text only)", v[i:i+1])
			}
			r.advice[k][lp.key] = strings.Join(strings.Fields(v), " ")
		}
		if r.advice[k]["en"] == "" {
			return f.errf(kp.k.Line, "advice for %s has no en text", kp.key)
		}
	}
	return nil
}

// replyText holds the fixed sentences of a reply in one language.
type replyText struct {
	danger, medical, concern, intro, close string
}

var replyTexts = map[string]replyText{
	"en": {
		danger:  "If you are in danger now, call %s.",
		medical: "If you are in danger or need urgent medical help now, call %s or go to an emergency department.",
		concern: "Thank you for telling me. I want to check in with you: are you safe right now? If you or someone else is in danger, call %s.",
		intro:   "These services can help:",
		close:   "You reached out, and that matters.",
	},
	"es": {
		danger:  "Si estás en peligro ahora, llama al %s.",
		medical: "Si estás en peligro o necesitas ayuda médica urgente ahora, llama al %s o ve a urgencias.",
		concern: "Gracias por contármelo. Quiero preguntarte: ¿estás a salvo ahora mismo? Si tú u otra persona están en peligro, llama al %s.",
		intro:   "Estos servicios pueden ayudarte:",
		close:   "Escribir aquí ya fue un paso importante.",
	},
}

// Message renders the reply for an assessment that needs help, in its
// language: the emergency line first, then what to do first for the kind,
// then the services for the kinds found, then the general ones. For a
// concern the first line is a check-in. It uses the FAQ Markdown subset
// (paragraphs, "- " lists, **bold**) and is short on purpose: a person in
// crisis should reach a number in one glance. A reply always has a number:
// every region has an emergency line.
func (r *Resources) Message(code string, a Assessment) string {
	reg := r.region(code)
	lang := a.Lang
	if _, ok := replyTexts[lang]; !ok {
		lang = "en"
	}
	tx := replyTexts[lang]
	emergency := reg.Emergency
	if lang == "es" && reg.EmergencyES != "" {
		emergency = reg.EmergencyES
	}
	kinds := a.Kinds
	var b strings.Builder
	switch {
	case a.Tier == TierConcern:
		fmt.Fprintf(&b, tx.concern+"\n", emergency)
	case len(kinds) > 0 && kinds[0] == KindMedicalEmergency:
		fmt.Fprintf(&b, tx.medical+"\n", emergency)
	default:
		fmt.Fprintf(&b, tx.danger+"\n", emergency)
	}
	// What to do first, for the main kind only (one glance). A Spanish
	// reply without Spanish advice gets the English: the few things that
	// cannot wait (PEP within 72 hours) matter more than the language.
	if len(kinds) > 0 {
		adv := r.advice[kinds[0]][lang]
		if adv == "" {
			adv = r.advice[kinds[0]]["en"]
		}
		if adv != "" {
			b.WriteString("\n" + strings.ReplaceAll(adv, "{emergency}", emergency) + "\n")
		}
	}
	b.WriteString("\n" + tx.intro + "\n\n")
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
	// In Spanish, the Spanish lines come first; in English they are left
	// out (an English reply lists the region's own lines).
	pass := func(list []Resource) {
		if lang == "es" {
			for _, res := range list {
				if res.Lang == "es" {
					line(res)
				}
			}
		}
		for _, res := range list {
			if res.Lang == "" {
				line(res)
			}
		}
	}
	for _, k := range kinds {
		pass(reg.Resources[k])
	}
	pass(reg.General)
	b.WriteString("\n" + tx.close)
	return b.String()
}
