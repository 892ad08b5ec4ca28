package telegram

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/candid-app/candid/internal/conversation"
	"github.com/candid-app/candid/internal/identity"
	"github.com/candid-app/candid/internal/store"
)

// recordingAPI is an in-memory botAPI: every call succeeds.
type recordingAPI struct {
	mu    sync.Mutex
	calls int
}

func (r *recordingAPI) Request(ctx context.Context, c tgbotapi.Chattable) (*tgbotapi.APIResponse, error) {
	r.mu.Lock()
	r.calls++
	r.mu.Unlock()
	return &tgbotapi.APIResponse{Ok: true, Result: json.RawMessage(`true`)}, nil
}

func (r *recordingAPI) MakeRequest(ctx context.Context, method string, params tgbotapi.Params) (*tgbotapi.APIResponse, error) {
	return r.Request(ctx, nil)
}

// FuzzHandleUpdate feeds arbitrary bytes through update decoding and
// handling: nothing may panic, whatever the shape.
func FuzzHandleUpdate(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "updates", "*.json"))
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	for _, s := range []string{
		`{"update_id":1,"message":{"chat":{"id":1,"type":"private"},"from":{"id":1},"text":"/start","entities":[{"offset":0,"length":999,"type":"bot_command"}]}}`,
		`{"update_id":1,"message":{"chat":{"id":1,"type":"private"},"from":{"id":1},"text":"hi"}}`,
		`{"update_id":1,"callback_query":{"id":"x"}}`,
		`{"update_id":1,"callback_query":{"id":"x","from":{"id":1},"message":{"chat":{"id":1,"type":"private"}},"data":"k:AAAAAAAAAAAA"}}`,
		`{"update_id":1,"callback_query":{"id":"x","from":{"id":1},"data":"k:AAAAAAAAAAAA","inline_message_id":"i"}}`,
		`{"update_id":1,"channel_post":{"chat":{"id":-100,"type":"channel"},"text":"x"}}`,
		`{"update_id":1,"edited_message":{"chat":{"id":1,"type":"private"}}}`,
		`{"update_id":1,"message":{"chat":{"id":0,"type":"group"}}}`,
		`{"update_id":1,"message":null}`, `null`, `[]`, `{}`, `"x"`,
	} {
		f.Add([]byte(s))
	}
	keys := identity.RandomKeys()
	f.Fuzz(func(t *testing.T, data []byte) {
		st := newMemStore()
		eng := &fakeEngine{reply: func(in conversation.Inbound) ([]conversation.Reply, error) {
			return []conversation.Reply{{Kind: conversation.KindAnswer, Text: in.Text + in.Action,
				Buttons: []store.Button{{Label: in.Text, Action: "a"}, {Label: "Ask a therapist", Action: "ask"}}}}, nil
		}}
		b, err := New(Options{Token: "1:x", Engine: eng, Keys: keys, Store: st})
		if err != nil {
			t.Fatal(err)
		}
		b.sleep = newFakeClock().Sleep
		api := &recordingAPI{}
		// Pre-store a button so that a fuzzed press can find one.
		_ = st.PutState(context.Background(), b.handle(1), buttonPrefix+"AAAAAAAAAAAA", []byte("ask"), defaultButtonTTL)

		var u tgbotapi.Update
		if json.Unmarshal(data, &u) == nil {
			b.handleUpdate(context.Background(), api, &u)
		}
		_, _ = decodeUpdates(append(append([]byte("["), data...), ']'))
		_, _ = decodeUpdates(data)
		routeChat(&u)
	})
}
