package moderation

import (
	"net/url"
	"strings"

	"github.com/candid-app/candid/internal/markup"
)

// defangLinks turns every Markdown link in an AI draft whose host is not
// the clinic's booking host into visible text that says so:
// "[Book here](http://evil.example)" becomes
// "Book here [link removed: http://evil.example]". A model can be led by
// a question to write a link; rendered, its URL would be hidden behind
// friendly words in the console's draft box, and "Copy the draft into my
// answer" (or Slack's pre-filled answer) would carry it into what a
// moderator approves. A moderator who wants the link types it on purpose.
// It returns the text and how many links it removed.
func defangLinks(text, bookingURL string) (string, int) {
	allowedHost := ""
	if u, err := url.Parse(bookingURL); err == nil {
		allowedHost = strings.ToLower(u.Hostname())
	}
	var b strings.Builder
	removed := 0
	for i := 0; i < len(text); {
		if text[i] == '[' {
			if j := strings.Index(text[i:], "]("); j > 0 {
				if k := strings.IndexByte(text[i+j+2:], ')'); k > 0 {
					label, link := text[i+1:i+j], text[i+j+2:i+j+2+k]
					if !strings.ContainsAny(label, "\n") && markup.SafeURL(link) {
						if u, err := url.Parse(link); err == nil && allowedHost != "" && strings.EqualFold(u.Hostname(), allowedHost) && u.Scheme != "mailto" {
							b.WriteString(text[i : i+j+3+k])
						} else {
							b.WriteString(label)
							b.WriteString(" [link removed: ")
							b.WriteString(strings.NewReplacer("[", "%5B", "]", "%5D", "(", "%28", ")", "%29").Replace(link))
							b.WriteString("]")
							removed++
						}
						i += j + 3 + k
						continue
					}
				}
			}
		}
		b.WriteByte(text[i])
		i++
	}
	return b.String(), removed
}
