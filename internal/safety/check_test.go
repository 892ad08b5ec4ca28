package safety

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestSafetyCheckShipped(t *testing.T) {
	r := shippedResources(t)
	for _, k := range append([]Kind{KindNone}, Kinds()...) {
		for _, lang := range []string{"en", "es"} {
			got := r.SafetyCheck("UK", k, lang)
			if got == "" || strings.Contains(got, "{emergency}") || !strings.Contains(got, "999") {
				t.Errorf("%s/%s: %q: want a text with the UK emergency number", k, lang, got)
			}
			if !strings.Contains(got, "?") {
				t.Errorf("%s/%s: a safety check asks a question: %q", k, lang, got)
			}
		}
	}
	if a, b := r.SafetyCheck("UK", KindSuicide, "en"), r.SafetyCheck("UK", KindNone, "en"); a == b {
		t.Error("suicide has no text of its own")
	}
	if got := r.SafetyCheck("UK", KindTrafficking, "fr"); got != r.SafetyCheck("UK", KindTrafficking, "en") {
		t.Errorf("an unknown language should fall back to English: %q", got)
	}
}

func TestSafetyCheckBadFiles(t *testing.T) {
	base := "version: 1\nregions:\n  INTL:\n    name: x\n    emergency: \"112\"\n"
	tests := map[string]string{
		"unknown kind": "safety_check:\n  default: {en: hi?}\n  nonsense: {en: hi?}\n",
		"no default":   "safety_check:\n  suicide: {en: hi?}\n",
		"markdown":     "safety_check:\n  default: {en: \"**hi**\"}\n",
		"no en":        "safety_check:\n  default: {es: hola?}\n",
		"unknown lang": "safety_check:\n  default: {en: hi?, fr: salut?}\n",
	}
	for name, sc := range tests {
		t.Run(name, func(t *testing.T) {
			fsys := fstest.MapFS{"r.yaml": {Data: []byte(sc + base)}}
			if _, err := LoadResources(fsys, "r.yaml"); err == nil || !strings.Contains(err.Error(), "r.yaml:") {
				t.Errorf("err %v: want an error that names the file and line", err)
			}
		})
	}
}
