package moderation

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxAnswerRunes is the longest written answer staff may send.
const MaxAnswerRunes = 4000

// maxQuestionRunes bounds a ticket's question; the engine's own limit is
// lower, so this only stops a hostile or broken caller.
const maxQuestionRunes = 10000

// maxDraftRunes bounds a stored LLM draft.
const maxDraftRunes = 8000

// cleanText checks that text is valid UTF-8 and removes control characters
// (keeping newlines and tabs) and bidirectional overrides, which could make
// a message display differently from what was written. Staff text is
// otherwise theirs: it is not scrubbed.
func cleanText(text string) (string, error) {
	if !utf8.ValidString(text) {
		return "", fmt.Errorf("%w: the text is not valid UTF-8", ErrInvalid)
	}
	text = strings.ReplaceAll(text, "\r\n", "\n")
	var b strings.Builder
	b.Grow(len(text))
	for _, r := range text {
		switch {
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r == '\r':
			b.WriteRune('\n')
		case unicode.IsControl(r):
		case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F, r == 0xFEFF:
		default:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String()), nil
}

// Preview returns exactly the text the asker will receive for ans (in the
// FAQ's Markdown subset), or ErrInvalid with a message staff can act on.
func (s *Service) Preview(ans Answer) (string, error) {
	text, err := cleanText(ans.Text)
	if err != nil {
		return "", err
	}
	if n := utf8.RuneCountInString(text); n > MaxAnswerRunes {
		return "", fmt.Errorf("%w: the answer is %d characters long; shorten it to %d or fewer", ErrInvalid, n, MaxAnswerRunes)
	}
	faqID := strings.TrimSpace(ans.FAQID)
	if text != "" && faqID != "" {
		return "", fmt.Errorf("%w: send either a written answer or an FAQ answer, not both", ErrInvalid)
	}
	if ans.Booking && s.bookingURL == "" {
		return "", fmt.Errorf("%w: no booking link is configured, so booking cannot be recommended (set the booking URL in the configuration)", ErrInvalid)
	}
	if faqID != "" {
		if s.faq == nil {
			return "", fmt.Errorf("%w: FAQ answers are not available on this server", ErrInvalid)
		}
		if len(faqID) > 128 || !utf8.ValidString(faqID) {
			return "", fmt.Errorf("%w: that is not an FAQ entry id", ErrInvalid)
		}
		body, ok := s.faq.RenderAnswer(faqID)
		if !ok {
			return "", fmt.Errorf("%w: there is no FAQ entry with id %q", ErrInvalid, faqID)
		}
		text = strings.TrimSpace(body)
	}
	if text == "" && !ans.Booking {
		if ans.Text != "" {
			return "", fmt.Errorf("%w: the answer is empty once spaces and control characters are removed", ErrInvalid)
		}
		return "", fmt.Errorf("%w: write an answer, choose an FAQ entry or recommend booking", ErrInvalid)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "A therapist at %s answered your question:\n\n", s.clinic)
	if text != "" {
		b.WriteString(text)
	} else {
		b.WriteString("This is best talked through in person, with someone who can take the time for it.")
	}
	if ans.Booking {
		fmt.Fprintf(&b, "\n\nYou can book a confidential appointment at %s here: [Book an appointment](%s)", s.clinic, s.bookingURL)
	}
	return b.String(), nil
}

// rejectReasons are the canned reasons for rejecting a ticket. The asker
// text is kind: a rejected asker may still be someone who needs help.
var rejectReasons = []Reason{
	{Code: "spam", Label: "Spam or advertising",
		AskerText: "Your message was not passed on to the therapists because it looked like spam or advertising. If that was a mistake, please ask again in your own words."},
	{Code: "abuse", Label: "Abusive or harassing",
		AskerText: "Your message was not passed on to the therapists because it breaks the rules for respectful use of this service. You are welcome to ask a question about sexual health or relationships at any time."},
	{Code: "not_a_question", Label: "Not a question",
		AskerText: "The therapists could not find a question in your message. Feel free to ask again with a little more detail: there is no wrong question here."},
	{Code: "out_of_scope", Label: "Out of scope",
		AskerText: "This service answers questions about sexual health and relationships, so the therapists cannot help with this one. For other health questions, please contact your doctor."},
	{Code: "duplicate", Label: "Duplicate of another question",
		AskerText: "You asked this question already. The therapists will answer it there (or already have), so this copy was closed."},
}

// RejectReasons returns the canned rejection reasons, in display order.
func (s *Service) RejectReasons() []Reason {
	return append([]Reason(nil), rejectReasons...)
}

func findReason(code string) (Reason, bool) {
	for _, r := range rejectReasons {
		if r.Code == code {
			return r, true
		}
	}
	return Reason{}, false
}

func (s *Service) rejectText(r Reason) string {
	return fmt.Sprintf("A message from the team at %s:\n\n%s", s.clinic, r.AskerText)
}
