package console

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/candid-app/candid/internal/faq"
	"github.com/candid-app/candid/internal/store"
)

// draftable says whether an answered ticket can become an FAQ draft, and
// why not when it cannot.
func draftable(t store.Ticket) (bool, string) {
	switch {
	case t.State != store.TicketAnswered && t.State != store.TicketBooked:
		return false, "Once this question is answered, you can turn it into an FAQ draft here."
	case t.AnswerFAQ != "":
		return false, "This was answered with the FAQ entry " + t.AnswerFAQ + ": consider adding the question to that entry's paraphrases instead."
	case strings.TrimSpace(t.Answer) == "" || strings.TrimSpace(t.Question) == "":
		return false, "There is no written answer to turn into an FAQ draft."
	}
	return true, ""
}

var (
	localePattern = regexp.MustCompile(`^[a-z]{2,3}(-[a-z0-9]{2,8})?$`)
	slugWord      = regexp.MustCompile(`[a-z0-9]+`)
)

// draftID makes an entry ID (a-z, 0-9, single dashes) from the first words
// of the question and a piece of the ticket ID, so two drafts of similar
// questions do not collide.
func draftID(question, ticketID string) string {
	words := slugWord.FindAllString(strings.ToLower(question), -1)
	if len(words) > 6 {
		words = words[:6]
	}
	slug := strings.Join(words, "-")
	if len(slug) > 48 {
		slug = strings.TrimRight(slug[:48], "-")
	}
	var suffix strings.Builder
	for _, r := range strings.ToLower(ticketID) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			suffix.WriteRune(r)
		}
		if suffix.Len() == 6 {
			break
		}
	}
	parts := []string{"draft"}
	if slug != "" {
		parts = []string{slug}
	}
	if suffix.Len() > 0 {
		parts = append(parts, suffix.String())
	}
	return strings.Join(parts, "-")
}

// buildDraft renders an answered ticket as an FAQ entry file in the format
// of docs/faq-format.md, marked as a draft that a clinician must review. It
// returns the entry ID, the locale and the file's bytes.
func buildDraft(t store.Ticket, now time.Time) (id, locale string, data []byte, err error) {
	locale = t.Locale
	if !localePattern.MatchString(locale) {
		locale = "en"
	}
	id = draftID(t.Question, t.ID)
	escalate := faq.EscalateNone
	if t.State == store.TicketBooked {
		escalate = faq.EscalateBooking
	}
	e := faq.Entry{
		ID:          id,
		Locale:      locale,
		Question:    strings.TrimSpace(t.Question),
		Paraphrases: []string{strings.TrimSpace(t.Question)},
		Answer:      strings.TrimSpace(t.Answer) + "\n",
		Tags:        []string{},
		Escalate:    escalate,
		RedFlags:    []string{},
		Sources:     []faq.Source{},
		Review:      faq.Review{Status: "draft"},
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# FAQ draft made in the Candid console on %s from an answered question.\n", now.UTC().Format(time.DateOnly))
	b.WriteString("# Before review: reword the question as the canonical one, add at least 8\n")
	b.WriteString("# paraphrases (how people really ask), edit the answer to 120-300 words,\n")
	b.WriteString("# add at least two reputable sources, then move this file to\n")
	fmt.Fprintf(&b, "# faq/%s/%s.yaml (renaming id and file together) and run `candid faq lint`.\n", locale, id)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(e); err != nil {
		return "", "", nil, fmt.Errorf("encode the FAQ draft: %w", err)
	}
	if err := enc.Close(); err != nil {
		return "", "", nil, fmt.Errorf("encode the FAQ draft: %w", err)
	}
	return id, locale, b.Bytes(), nil
}

// faqDraft turns an answered ticket into an FAQ draft: a file in the drafts
// folder, or a download when no folder is configured.
func (c *Console) faqDraft(w http.ResponseWriter, r *http.Request, p principal) {
	id := r.PathValue("id")
	if !validID(id) {
		c.fail(w, r, &p, store.ErrNotFound)
		return
	}
	t, err := c.mod.Ticket(r.Context(), id)
	if err != nil {
		c.fail(w, r, &p, err)
		return
	}
	if ok, why := draftable(t); !ok {
		c.renderTicket(w, r, p, id, http.StatusConflict, "", why, formState{})
		return
	}
	entryID, locale, data, err := buildDraft(t, c.now())
	if err != nil {
		c.fail(w, r, &p, err)
		return
	}
	if c.drafts == "" {
		w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+entryID+`.yaml"`)
		w.Write(data)
		return
	}
	path, err := writeDraft(c.drafts, locale, entryID, data)
	if errors.Is(err, fs.ErrExist) {
		c.renderTicket(w, r, p, id, http.StatusConflict, "",
			"a draft from this question already exists at "+path+": edit that file", formState{})
		return
	}
	if err != nil {
		c.log.ErrorContext(r.Context(), "writing an FAQ draft failed", "err", err)
		c.renderTicket(w, r, p, id, http.StatusInternalServerError, "",
			"the draft could not be written to the drafts folder: tell the operator (see the server log)", formState{})
		return
	}
	c.log.InfoContext(r.Context(), "FAQ draft written", "by", p.Name, "ticket", id, "file", path)
	c.renderTicket(w, r, p, id, http.StatusOK, "FAQ draft written to "+path+". Review it before moving it into the FAQ.", "", formState{})
}

// writeDraft writes the file without ever overwriting one (a curator may
// already be editing it).
func writeDraft(dir, locale, id string, data []byte) (string, error) {
	folder := filepath.Join(dir, locale)
	path := filepath.Join(folder, id+".yaml")
	if err := os.MkdirAll(folder, 0o750); err != nil {
		return path, fmt.Errorf("create the drafts folder %s: %w", folder, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return path, err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return path, fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return path, fmt.Errorf("write %s: %w", path, err)
	}
	return path, nil
}
