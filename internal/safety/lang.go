package safety

// Function words that tell Spanish from English in a short message. They
// are the commonest words of each language, never topic words, so the guess
// does not depend on what the message is about.
var (
	esWords = wordSet("que", "de", "el", "la", "los", "las", "un", "una", "y", "en", "es", "por", "para", "con", "no", "mi", "me",
		"se", "lo", "le", "del", "al", "pero", "como", "mas", "estoy", "esta", "tengo", "quiero", "porque", "cuando", "muy",
		"yo", "tu", "su", "sus", "hay", "ya", "si", "ella", "el", "novio", "novia", "hacer", "puedo", "siento", "nada", "todo",
		"eso", "este", "ese", "pues", "tambien", "solo", "mis", "nos", "soy", "estaba", "fue", "tiene", "donde", "ayuda")
	enWords = wordSet("the", "and", "i", "you", "to", "of", "a", "is", "it", "my", "in", "that", "me", "he", "she", "what",
		"for", "with", "have", "im", "dont", "can", "be", "this", "was", "do", "if", "but", "not", "so", "like", "just",
		"we", "they", "am", "are", "how", "will", "about", "him", "her", "want", "get", "know", "or", "at", "on", "when")
)

func wordSet(ws ...string) map[string]bool {
	m := make(map[string]bool, len(ws))
	for _, w := range ws {
		m[w] = true
	}
	return m
}

// detectLang guesses "es" or "en" from function words; English wins ties,
// so an unclear message keeps the clinic's default language.
func detectLang(words []string) string {
	es, en := 0, 0
	for _, w := range words {
		if esWords[w] {
			es++
		}
		if enWords[w] {
			en++
		}
	}
	if es > en {
		return "es"
	}
	return "en"
}
