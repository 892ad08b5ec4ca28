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

func assessment(cats ...Category) Assessment {
	a := Assessment{Crisis: len(cats) > 0}
	for _, c := range cats {
		a.Signals = append(a.Signals, Signal{Category: c, Rule: "test"})
	}
	return a
}

// checkMessage asserts the first line, that every wanted snippet appears in
// order, and that unwanted ones do not.
func checkMessage(t *testing.T, msg, first string, want, notWant []string) {
	t.Helper()
	if got, _, _ := strings.Cut(msg, "\n"); got != first {
		t.Errorf("first line = %q, want %q", got, first)
	}
	at := 0
	for _, w := range want {
		i := strings.Index(msg[at:], w)
		if i < 0 {
			t.Errorf("message lacks %q (in order) in:\n%s", w, msg)
			continue
		}
		at += i + len(w)
	}
	for _, w := range notWant {
		if strings.Contains(msg, w) {
			t.Errorf("message has %q, want not:\n%s", w, msg)
		}
	}
	if len(msg) > 1200 {
		t.Errorf("message is %d bytes; keep it short", len(msg))
	}
}

func TestMessageUS(t *testing.T) {
	r := shippedResources(t)
	msg := r.Message("US", assessment(SelfHarm, Assault))
	checkMessage(t, msg, "If you are in danger now, call 911.",
		[]string{"988", "741741", "1-800-656-4673"},
		[]string{"1-800-422-4453", "1-800-799-7233", "999", "116 123"})
	// 988 is both a self-harm and a general resource; it is listed once.
	if n := strings.Count(msg, "**988 Suicide & Crisis Lifeline**"); n != 1 {
		t.Errorf("988 listed %d times:\n%s", n, msg)
	}
	checkMessage(t, r.Message("us", assessment(MinorAtRisk, Violence)), "If you are in danger now, call 911.",
		[]string{"1-800-422-4453", "1-888-773-8368", "1-800-799-7233", "988"}, nil)
	checkMessage(t, r.Message("en-US", assessment(MedicalEmergency)),
		"If you are in danger or need urgent medical help now, call 911.",
		[]string{"1-800-222-1222"}, nil)
}

func TestMessageUK(t *testing.T) {
	r := shippedResources(t)
	msg := r.Message("UK", assessment(Assault, MinorAtRisk, Violence))
	checkMessage(t, msg, "If you are in danger now, call 999.",
		[]string{"0808 500 2222", "0800 1111", "0808 1000 900", "0808 2000 247", "116 123", "111"},
		[]string{"911", "988"})
	checkMessage(t, r.Message("en-GB", assessment(SelfHarm)), "If you are in danger now, call 999.",
		[]string{"Samaritans", "116 123", "85258"}, nil)
}

func TestMessageEU(t *testing.T) {
	r := shippedResources(t)
	msg := r.Message("EU", assessment(SelfHarm, MinorAtRisk))
	checkMessage(t, msg, "If you are in danger now, call 112.",
		[]string{"116 123", "116 111", "findahelpline.com"}, []string{"911", "999"})
	if got := r.Region("de").Code; got != "EU" {
		t.Errorf(`Region("de") = %s, want EU`, got)
	}
	if got := r.Region("fr_FR").Code; got != "EU" {
		t.Errorf(`Region("fr_FR") = %s, want EU`, got)
	}
}

func TestMessageINTL(t *testing.T) {
	r := shippedResources(t)
	for _, code := range []string{"INTL", "", "ZZ", "xx-YY", "  "} {
		msg := r.Message(code, assessment(MinorAtRisk))
		checkMessage(t, msg, "If you are in danger now, call your local emergency number.",
			[]string{"childhelplineinternational.org", "findahelpline.com", "befrienders.org"},
			[]string{"911", "999", "112"})
	}
	// No crisis at all still gives the emergency line and the general help.
	checkMessage(t, r.Message("", Assessment{}), "If you are in danger now, call your local emergency number.",
		[]string{"findahelpline.com"}, nil)
}

// TestRegionNumbers pins every number in resources.yaml to the widely
// published one, so a typo in the data file fails a test.
func TestRegionNumbers(t *testing.T) {
	r := shippedResources(t)
	want := map[string]map[Category][]string{
		"US": {SelfHarm: {"988", "741741"}, Assault: {"1-800-656-4673"}, MinorAtRisk: {"1-800-422-4453", "1-888-773-8368"},
			Violence: {"1-800-799-7233", "88788"}, MedicalEmergency: {"1-800-222-1222"}},
		"UK": {SelfHarm: {"116 123", "85258"}, Assault: {"0808 500 2222"}, MinorAtRisk: {"0800 1111", "0808 800 5000", "0808 1000 900"},
			Violence: {"0808 2000 247"}, MedicalEmergency: {"111"}},
		"EU": {SelfHarm: {"116 123"}, MinorAtRisk: {"116 111"}, Assault: {"116 006"}, Violence: {"116 006"}},
	}
	emergency := map[string]string{"US": "911", "UK": "999", "EU": "112", "INTL": "your local emergency number"}
	for code, em := range emergency {
		if got := r.Region(code).Emergency; got != em {
			t.Errorf("%s emergency = %q, want %q", code, got, em)
		}
	}
	for code, cats := range want {
		reg := r.Region(code)
		for cat, nums := range cats {
			var all strings.Builder
			for _, res := range reg.Resources[cat] {
				all.WriteString(res.Contact + "\n")
			}
			for _, n := range nums {
				if !strings.Contains(all.String(), n) {
					t.Errorf("%s %s: no %q in %q", code, cat, n, all.String())
				}
			}
		}
	}
}

func TestRegionIsACopy(t *testing.T) {
	r := shippedResources(t)
	g := r.Region("US")
	g.Resources[SelfHarm][0].Contact = "changed"
	g.General = nil
	if r.Region("US").Resources[SelfHarm][0].Contact == "changed" {
		t.Error("Region returned shared data")
	}
}
