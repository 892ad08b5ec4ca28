package safety

import (
	"os"
	"strings"
	"testing"
)

func shippedResources(t *testing.T) *Resources {
	t.Helper()
	r, err := LoadResources(os.DirFS("../../faq"), "safety/resources.yaml")
	if err != nil {
		t.Fatalf("LoadResources: %v", err)
	}
	return r
}

func urgent(lang string, kinds ...Kind) Assessment {
	a := Assessment{Tier: TierUrgent, Crisis: true, Kinds: kinds, Lang: lang}
	if len(kinds) > 0 {
		a.Kind = kinds[0]
	}
	return a
}

// TestMessageRightHelpForKind: each kind gets its own help, and never the
// help meant for another (a person worried about their own urges is never
// sent to a child helpline; sextortion is not a domestic-violence matter).
func TestMessageRightHelpForKind(t *testing.T) {
	r := shippedResources(t)
	cases := []struct {
		region string
		a      Assessment
		first  string
		want   []string
		not    []string
	}{
		{"US", urgent("en", KindSuicide), "If you are in danger now, call 911.", []string{"988", "741741"}, []string{"1-800-799-7233", "AYUDA"}},
		{"US", urgent("en", KindSextortion), "If you are in danger now, call 911.", []string{"Do not pay", "takeitdown.ncmec.org", "stopncii.org"}, []string{"1-800-799-7233"}},
		{"US", urgent("en", KindChildUrges), "If you are in danger now, call 911.", []string{"1-888-773-8368"}, []string{"1-800-422-4453", "Childhelp"}},
		{"UK", urgent("en", KindChildUrges), "If you are in danger now, call 999.", []string{"0808 1000 900"}, []string{"0800 1111", "NSPCC"}},
		{"US", urgent("en", KindAssault), "If you are in danger now, call 911.", []string{"72 hours", "5 days", "1-800-656-4673"}, nil},
		{"UK", urgent("en", KindPartnerViolence), "If you are in danger now, call 999.", []string{"strangled", "0808 2000 247", "0800 027 1234", "0808 80 10 800", "0808 802 1414", "press 55"}, nil},
		{"UK", urgent("en", KindSextortion), "If you are in danger now, call 999.", []string{"childline.org.uk/remove", "ceop.police.uk", "0345 6000 459"}, []string{"0808 2000 247"}},
		{"US", urgent("en", KindMedicalEmergency), "If you are in danger or need urgent medical help now, call 911 or go to an emergency department.", []string{"4 hours"}, nil},
		{"US", urgent("en", KindTrafficking), "If you are in danger now, call 911.", []string{"1-888-373-7888"}, nil},
		{"EU", urgent("en", KindPartnerViolence), "If you are in danger now, call 112.", []string{"116 016"}, nil},
		{"INTL", urgent("en", KindSuicide), "If you are in danger now, call your local emergency number (112 in most of Europe and many other countries, 911 in North America, 999 in the UK).", []string{"findahelpline.com"}, nil},
		{"US", urgent("es", KindSuicide), "Si estás en peligro ahora, llama al 911.", []string{"988 y marca 2", "988 Suicide"}, nil},
		{"ES", urgent("es", KindPartnerViolence), "Si estás en peligro ahora, llama al 112.", []string{"016", "600 000 016"}, nil},
		{"INTL", urgent("es", KindAssault), "Si estás en peligro ahora, llama al número de emergencias de tu país (112 en gran parte del mundo, 911 en América del Norte y gran parte de América Latina).", []string{"72 horas", "findahelpline.com"}, []string{"your local"}},
		{"MX", urgent("es", KindSuicide), "Si estás en peligro ahora, llama al 911.", []string{"800 911 2000"}, nil},
		{"US", Assessment{Tier: TierConcern, Kind: KindSelfHarm, Kinds: []Kind{KindSelfHarm}, Lang: "en"}, "Thank you for telling me. I want to check in with you: are you safe right now? If you or someone else is in danger, call 911.", []string{"988"}, nil},
	}
	for _, c := range cases {
		msg := r.Message(c.region, c.a)
		if got, _, _ := strings.Cut(msg, "\n"); got != c.first {
			t.Errorf("%s %s: first line = %q, want %q", c.region, c.a.Kind, got, c.first)
		}
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s %s %s: lacks %q in:\n%s", c.region, c.a.Kind, c.a.Lang, w, msg)
			}
		}
		for _, w := range c.not {
			if strings.Contains(msg, w) {
				t.Errorf("%s %s: has %q, want not:\n%s", c.region, c.a.Kind, w, msg)
			}
		}
		if strings.Contains(msg, "right now:") {
			t.Errorf("a reply must not promise that every line is open now:\n%s", msg)
		}
	}
}

// TestEveryRegionGivesANumber: whatever the region and kind, the first
// line has a number to call.
func TestEveryRegionGivesANumber(t *testing.T) {
	r := shippedResources(t)
	for _, code := range []string{"US", "UK", "EU", "INTL", "ES", "MX", "", "zz", "en-GB", "de"} {
		for _, k := range Kinds() {
			for _, lang := range []string{"en", "es"} {
				msg := r.Message(code, urgent(lang, k))
				first, _, _ := strings.Cut(msg, "\n")
				if !strings.ContainsAny(first, "0123456789") {
					t.Errorf("%q %s %s: first line has no number: %q", code, k, lang, first)
				}
				if strings.Count(msg, "\n- **") == 0 {
					t.Errorf("%q %s %s: no service listed:\n%s", code, k, lang, msg)
				}
			}
		}
	}
}

func TestRegionAliases(t *testing.T) {
	r := shippedResources(t)
	for code, want := range map[string]string{"GB": "UK", "en-GB": "UK", "de": "EU", "USA": "US", "es-ES": "ES", "es-MX": "MX", "": "INTL", "zz": "INTL"} {
		if got := r.Region(code).Code; got != want {
			t.Errorf("Region(%q) = %s, want %s", code, got, want)
		}
	}
}
