package markup

import (
	"strings"
	"testing"
)

func TestHTMLPhones(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantNot []string
	}{
		{"If you are in danger now, call 999.", []string{`<a class="phone" href="tel:999">999</a>`}, nil},
		{"- **Samaritans**: call 116 123, free, 24/7.", []string{`href="tel:116123">116 123</a>`}, []string{`tel:24`}},
		{"- **Shout**: text SHOUT to 85258.", []string{`href="sms:85258">85258</a>`}, nil},
		{"- **RAINN**: 1-800-656-4673 or online.", []string{`href="tel:18006564673">1-800-656-4673</a>`}, nil},
		{"- **988**: call or text 988.", []string{`href="sms:988"`}, nil},
		{"PEP must start within 72 hours, emergency contraception up to 5 days.", nil, []string{"<a"}},
		{"wait 120 minutes or 365 days", nil, []string{"<a"}},
		{"call +44 808 2000 247", []string{`href="tel:+448082000247"`}, nil},
		{"visit [the site](https://example.org/123456)", []string{`href="https://example.org/123456"`}, []string{"tel:"}},
		{"<script>999</script>", []string{"&lt;script&gt;"}, []string{"<script>"}},
		{"código 1234abc y ABC999", nil, []string{"<a"}},
		{"Envía HOLA al 741741", []string{`href="sms:741741"`}, nil},
	}
	for _, tt := range tests {
		got := HTMLPhones(tt.in)
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("HTMLPhones(%q) = %s, want %s", tt.in, got, w)
			}
		}
		for _, w := range tt.wantNot {
			if strings.Contains(got, w) {
				t.Errorf("HTMLPhones(%q) = %s, must not contain %s", tt.in, got, w)
			}
		}
	}
	// HTML never links phones.
	if strings.Contains(HTML("call 999"), "tel:") {
		t.Error("HTML linked a phone number")
	}
}
