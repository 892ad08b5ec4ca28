package slack

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/candid-app/candid/internal/identity"
)

// FuzzParseEventBody: no Events API body, however hostile, panics the
// parser or the event handler, and whatever reaches the engine is a DM from
// a plausible user.
func FuzzParseEventBody(f *testing.F) {
	for _, name := range []string{"event_message_im.json", "event_app_mention.json", "event_url_verification.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"type":"event_callback","event":null}`))
	f.Add([]byte(`{"type":"event_callback","event_id":"Ev1","event":{"type":"message","channel_type":"im","user":"U1X","channel":"D1X","text":"<@U1>"}}`))
	f.Add([]byte(`{"type":"event_callback","event":{"type":"message","message":{"text":1}}}`))
	f.Add([]byte(`[]`))
	eng := &fakeEngine{}
	a, err := New(Options{BotToken: "xoxb-1", SigningSecret: "s", Keys: identity.RandomKeys(), Store: &memStore{}, Engine: eng,
		APIURL: "http://127.0.0.1:1/"}) // unreachable: replies fail fast
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		env, err := parseEventBody(body)
		if err != nil {
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // no network: only the parsing and filtering run
		_ = a.handleEvent(ctx, env)
		for _, in := range eng.Inbounds() {
			if !strings.HasPrefix(in.Handle, "h_") || in.Platform != "slack" {
				t.Fatalf("bad inbound %+v", in)
			}
		}
	})
}

// FuzzParseInteraction: interactivity and slash-command bodies never panic
// the parsers.
func FuzzParseInteraction(f *testing.F) {
	for _, name := range []string{"block_actions_moderator.json", "block_actions_asker.json", "view_submission_write.json", "view_submission_confirm.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(interactionBody(b))
	}
	slash, err := os.ReadFile(filepath.Join("testdata", "slash_ask.txt"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(slash)
	f.Add([]byte("payload=%7B%22type%22%3A%22block_actions%22%2C%22actions%22%3A%5Bnull%5D%7D"))
	f.Fuzz(func(t *testing.T, body []byte) {
		parseInteraction(body)
		parseSlash(body)
	})
}

var mentionRE = regexp.MustCompile(`<@[UW][A-Z0-9]+(\|[^<>]*)?>`)

// FuzzRender: any text renders to mrkdwn chunks within Slack's limit, and
// incoming Slack text always becomes valid UTF-8 without Slack IDs.
func FuzzRender(f *testing.F) {
	for _, s := range []string{"**a** *b* [c](https://d.e)", "- x\n- y", "<!channel> & <@U1>", strings.Repeat("&<>", 2000), "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range mrkdwnChunks(s, 100) {
			if utf8.RuneCountInString(c) > 100 {
				t.Fatalf("chunk of %d runes", utf8.RuneCountInString(c))
			}
			if !utf8.ValidString(c) {
				t.Fatal("invalid UTF-8")
			}
		}
		p := plainFromSlack(s)
		if !utf8.ValidString(p) {
			t.Fatal("invalid UTF-8")
		}
		// Without entities in the input (Slack sends a typed "<" as
		// "&lt;"), no mention token can come out.
		if !strings.Contains(s, "&") && mentionRE.MatchString(p) {
			t.Fatalf("a user mention survived: %q → %q", s, p)
		}
	})
}
