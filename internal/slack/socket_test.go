package slack

import (
	"encoding/json"
	"io"
	"log"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSocketModeSmoke drives the app over slacktest's Socket Mode WebSocket
// (/ws, reached through its apps.connections.open): an events_api envelope
// with a DM is processed and acknowledged, and a slash command is
// acknowledged with its ephemeral reply as the payload.
func TestSocketModeSmoke(t *testing.T) {
	// slacktest's /ws handler logs every read error through the standard
	// logger, and spins on a closed connection until gorilla gives up
	// (after the test, when the client hangs up); keep that noise out of the
	// output. Nothing in this package uses the standard logger, so it is
	// not restored: the spin may outlive the test.
	log.SetOutput(io.Discard)

	h := newHarness(t, harnessOptions{appToken: "xapp-1-test", noChannel: true})
	var mu sync.Mutex
	var seen []string
	go func() {
		for m := range h.slack.srv.SeenFeed {
			mu.Lock()
			seen = append(seen, m)
			mu.Unlock()
		}
	}()
	h.run()

	event := readFixture(t, "event_message_im.json")
	envelope, _ := json.Marshal(map[string]any{
		"envelope_id": "env-dm-1", "type": "events_api", "accepts_response_payload": false,
		"retry_attempt": 0, "retry_reason": "", "payload": json.RawMessage(event),
	})
	h.slack.srv.SendToWebsocket(string(envelope))

	posts := h.slack.waitFor("chat.postMessage", 1)
	if posts[0].Form.Get("channel") != testDM {
		t.Fatalf("reply went to %q", posts[0].Form.Get("channel"))
	}
	if in := h.engine.Inbounds(); len(in) != 1 || in[0].Text != "Is it normal that I think about this & worry <a lot>?" {
		t.Fatalf("inbound %+v", in)
	}
	waitSeen := func(want ...string) string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			for _, m := range seen {
				ok := true
				for _, w := range want {
					ok = ok && strings.Contains(m, w)
				}
				if ok {
					mu.Unlock()
					return m
				}
			}
			mu.Unlock()
			if time.Now().After(deadline) {
				t.Fatalf("no acknowledgement with %q; seen %q", want, seen)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitSeen(`"envelope_id":"env-dm-1"`)

	// The same event again (Slack's retry over a new envelope): acknowledged,
	// not processed twice.
	envelope2 := strings.Replace(string(envelope), "env-dm-1", "env-dm-2", 1)
	h.slack.srv.SendToWebsocket(envelope2)
	waitSeen(`"envelope_id":"env-dm-2"`)
	if n := len(h.engine.Inbounds()); n != 1 {
		t.Errorf("processed %d times", n)
	}

	slash, _ := json.Marshal(map[string]any{
		"envelope_id": "env-cmd-1", "type": "slash_commands", "accepts_response_payload": true,
		"payload": map[string]any{"token": "x", "team_id": testTeam, "team_domain": "clinic", "channel_id": "C0GENERAL1",
			"channel_name": "general", "user_id": testAsker, "user_name": "asker", "command": "/ask", "text": "",
			"api_app_id": "A0CANDID1", "is_enterprise_install": "false", "response_url": "https://hooks.slack.com/commands/x", "trigger_id": "1.2.3"},
	})
	h.slack.srv.SendToWebsocket(string(slash))
	ack := waitSeen(`"envelope_id":"env-cmd-1"`)
	if !strings.Contains(ack, `"response_type":"ephemeral"`) || !strings.Contains(ack, "followed by your question") {
		t.Errorf("slash ack %s", ack)
	}
}
