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
		allowedHost = u.Hostname()
	}
	keep := func(link string) bool {
		u, err := url.Parse(link)
		return err == nil && allowedHost != "" && u.Scheme != "mailto" && strings.EqualFold(u.Hostname(), allowedHost)
	}
	// The URL stays readable but can never form a link again: its
	// brackets and parentheses are escaped.
	esc := strings.NewReplacer("[", "%5B", "]", "%5D", "(", "%28", ")", "%29")
	return markup.RewriteLinks(text, keep, func(label, link string) string {
		return label + " [link removed: " + esc.Replace(link) + "]"
	})
}
