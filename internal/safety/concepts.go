package safety

import "strconv"

// Concept features: families of words that carry a danger across wording.
// "pills", "tablets", "meds" and "pastillas" all say that a means is at
// hand; the learned layer sees the family as well as the word, so a means it
// never saw in training ("my nan's sleeping tablets") still counts. Each
// family is small and general on purpose: it names a kind of signal, never a
// message.
var conceptWords = map[string][]string{
	"means": {"pills", "pill", "tablets", "tablet", "meds", "medication", "paracetamol", "tylenol", "ibuprofen", "sleeping",
		"rope", "noose", "belt", "cord", "blade", "blades", "razor", "razors", "knife", "knives", "gun", "guns", "pistol", "rifle",
		"bridge", "roof", "rooftop", "ledge", "balcony", "cliff", "tracks", "train", "overdose", "bleach", "poison", "exhaust",
		"pastillas", "pastilla", "cuerda", "soga", "navaja", "cuchilla", "cuchillo", "pistola", "puente", "azotea", "techo", "veneno",
		"cloro", "vias"},
	"finality": {"goodbye", "goodbyes", "bye", "letter", "letters", "note", "farewell", "forever", "anymore", "last", "final",
		"end", "ending", "over", "gone", "burden", "pointless", "enough", "tired", "done",
		"adios", "despedida", "carta", "cartas", "nota", "ultima", "ultimo", "final", "mas", "carga", "cansada", "cansado", "basta"},
	"now": {"tonight", "now", "today", "rn", "tmrw", "tomorrow", "soon", "currently", "already", "minutes", "hours",
		"noche", "ahora", "hoy", "manana", "ya", "ahorita", "horas", "minutos", "pronto"},
	"body-danger": {"bleeding", "blood", "bled", "purple", "black", "swollen", "swelling", "fever", "pus", "faint", "fainted",
		"fainting", "dizzy", "numb", "breathe", "breathing", "chest", "unconscious", "collapsed", "stuck", "hours", "throbbing",
		"agony", "severe", "vomiting", "soaked", "clots", "hemorrhage",
		"sangre", "sangrando", "sangrado", "morado", "hinchado", "hinchada", "fiebre", "pus", "desmayo", "desmaye", "mareo", "respirar",
		"pecho", "inconsciente", "atorado", "atascado", "dolor", "vomito", "coagulos"},
	"control": {"keys", "passport", "documents", "papers", "visa", "phone", "money", "card", "bank", "locked", "lock", "locks",
		"allowed", "leave", "escape", "owe", "debt", "tracking", "tracks", "location", "watching", "follows", "followed",
		"llaves", "pasaporte", "documentos", "papeles", "celular", "telefono", "dinero", "tarjeta", "encerrada", "encerrado",
		"deja", "dejan", "salir", "escapar", "debo", "deuda", "ubicacion", "vigila", "sigue"},
	"threat": {"threaten", "threatened", "threatening", "threatens", "threat", "kill", "hurt", "pay", "paid", "bitcoin", "crypto",
		"giftcard", "gift", "venmo", "cashapp", "paypal", "post", "posting", "leak", "leaked", "share", "send", "expose", "deadline",
		"ruin", "screenshots", "recorded", "video", "pics", "nudes",
		"amenaza", "amenazo", "amenazando", "matar", "pagar", "pague", "publicar", "subir", "filtrar", "compartir", "mandar",
		"exponer", "video", "fotos", "grabo", "plazo"},
	"harm-verb": {"hit", "hits", "hitting", "punched", "slapped", "choked", "choking", "strangled", "strangling", "grabbed",
		"pinned", "forced", "held", "drugged", "spiked", "cut", "cutting", "burn", "burning", "burned", "touch", "touches",
		"touched", "pego", "golpea", "golpeo", "ahorco", "ahorca", "forzo", "obligo", "drogo", "corte", "cortar", "cortando",
		"quemar", "toca", "toco", "manosea"},
	"young": {"kid", "kids", "child", "children", "daughter", "son", "niece", "nephew", "stepdaughter", "stepson", "student",
		"pupil", "grade", "school", "teacher", "coach", "babysitter", "minor", "underage", "teen", "teenager",
		"nino", "nina", "ninos", "hija", "hijo", "sobrina", "sobrino", "hijastra", "hijastro", "alumna", "alumno", "escuela",
		"colegio", "maestro", "entrenador", "menor", "adolescente", "prima", "primo"},
}

// conceptIndex maps a word to its families.
type conceptIndex map[string][]string

func newConceptIndex() conceptIndex {
	idx := conceptIndex{}
	for fam, words := range conceptWords {
		for _, w := range words {
			idx[w] = append(idx[w], "c:"+fam)
		}
	}
	return idx
}

// concepts returns the concept features of a message's words: each family
// once, and "c:minor-age" when an age under 18 is stated ("im 14", "15yo",
// "tengo 13 años").
func (idx conceptIndex) concepts(words []string, dst []string) []string {
	var fams [16]string
	nf := 0
	add := func(f string) {
		for i := 0; i < nf; i++ {
			if fams[i] == f {
				return
			}
		}
		if nf < len(fams) {
			fams[nf] = f
			nf++
			dst = append(dst, f)
		}
	}
	for i, w := range words {
		for _, f := range idx[w] {
			add(f)
		}
		if n, ok := age(w); ok && n >= 5 && n <= 17 {
			prev, next := "", ""
			if i > 0 {
				prev = words[i-1]
			}
			if i+1 < len(words) {
				next = words[i+1]
			}
			switch {
			case next == "yo" || next == "years" || next == "year" || next == "anos" || next == "yrs":
				add("c:minor-age")
			case prev == "im" || prev == "am" || prev == "is" || prev == "tengo" || prev == "tiene" || prev == "only" || prev == "solo" || prev == "aged":
				add("c:minor-age")
			}
		}
	}
	return dst
}

// age reads "14" or "14yo".
func age(w string) (int, bool) {
	for _, suf := range []string{"yo", "yrs", "y"} {
		if len(w) > len(suf) && w[len(w)-len(suf):] == suf {
			if n, err := strconv.Atoi(w[:len(w)-len(suf)]); err == nil {
				return n, true
			}
		}
	}
	if len(w) > 2 {
		return 0, false
	}
	n, err := strconv.Atoi(w)
	return n, err == nil
}
