package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/candid-app/candid/internal/conversation"
	"github.com/candid-app/candid/internal/telegram/telegramtest"
)

const (
	testWebhookURL    = "https://candid.example/telegram/webhook"
	testWebhookSecret = "s3cr3t-Token_x9"
)

func webhookHarness(t *testing.T) (*harness, *httptest.Server) {
	h := newHarness(t, func(o *Options) { o.WebhookURL, o.WebhookSecret = testWebhookURL, testWebhookSecret })
	mux := http.NewServeMux()
	mux.Handle(WebhookPath, h.bot.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return h, srv
}

func post(t *testing.T, srv *httptest.Server, method, secret string, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+WebhookPath, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set(SecretHeader, secret)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestWebhookSetup(t *testing.T) {
	h, srv := webhookHarness(t)
	if code := post(t, srv, http.MethodPost, testWebhookSecret, fixture(t, "private_text", nil)); code != http.StatusServiceUnavailable {
		t.Errorf("before Run: %d, want 503 (Telegram retries)", code)
	}
	h.start()
	h.tg.WaitFor(t, 10*time.Second, "setWebhook", func(calls []telegramtest.Call) bool {
		for _, c := range calls {
			if c.Method == "setWebhook" && c.Status == http.StatusOK {
				return true
			}
		}
		return false
	})
	url, secret := h.tg.Webhook()
	if url != testWebhookURL || secret != testWebhookSecret {
		t.Errorf("setWebhook url %q secret %q", url, secret)
	}
	var allowed []string
	_ = json.Unmarshal([]byte(h.tg.Calls("setWebhook")[0].Params.Get("allowed_updates")), &allowed)
	if strings.Join(allowed, ",") != "message,edited_message,channel_post,callback_query" {
		t.Errorf("allowed_updates %v", allowed)
	}
	if len(h.tg.Calls("setMyCommands")) != 1 {
		t.Error("setMyCommands not called in webhook mode")
	}
	// Wait until Run accepts updates.
	deadline := time.Now().Add(10 * time.Second)
	for post(t, srv, http.MethodPost, testWebhookSecret, fixture(t, "private_text", nil)) != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("the webhook never accepted an update")
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.tg.WaitSent(t, 1)
	if n := len(h.tg.Calls("getUpdates")); n != 0 {
		t.Errorf("webhook mode polled %d times", n)
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	if code := post(t, srv, http.MethodPost, testWebhookSecret, fixture(t, "private_text", map[string]any{"update_id": 5})); code != http.StatusServiceUnavailable {
		t.Errorf("after Run: %d, want 503", code)
	}
}

func TestWebhookRequests(t *testing.T) {
	h, srv := webhookHarness(t)
	h.start()
	h.tg.WaitFor(t, 10*time.Second, "setWebhook", func(calls []telegramtest.Call) bool { return len(h.tg.Calls("setWebhook")) > 0 })
	valid := fixture(t, "private_text", nil)
	tests := []struct {
		name   string
		method string
		secret string
		body   []byte
		want   int
	}{
		{"missing secret", http.MethodPost, "", valid, http.StatusForbidden},
		{"wrong secret", http.MethodPost, "wrong", valid, http.StatusForbidden},
		{"wrong secret, same length", http.MethodPost, strings.Repeat("x", len(testWebhookSecret)), valid, http.StatusForbidden},
		{"secret prefix", http.MethodPost, testWebhookSecret[:5], valid, http.StatusForbidden},
		{"secret with suffix", http.MethodPost, testWebhookSecret + "x", valid, http.StatusForbidden},
		{"GET without secret", http.MethodGet, "", nil, http.StatusForbidden},
		{"GET", http.MethodGet, testWebhookSecret, nil, http.StatusMethodNotAllowed},
		{"PUT", http.MethodPut, testWebhookSecret, valid, http.StatusMethodNotAllowed},
		{"oversized", http.MethodPost, testWebhookSecret, append([]byte(`{"update_id":1,"message":{"text":"`), bytes.Repeat([]byte("a"), 2<<20)...), http.StatusRequestEntityTooLarge},
		{"malformed JSON", http.MethodPost, testWebhookSecret, []byte(`{"update_id":`), http.StatusBadRequest},
		{"not an object", http.MethodPost, testWebhookSecret, []byte(`[1,2,3]`), http.StatusBadRequest},
		{"empty body", http.MethodPost, testWebhookSecret, nil, http.StatusBadRequest},
		{"no update_id", http.MethodPost, testWebhookSecret, []byte(`{"message":{"text":"hi"}}`), http.StatusBadRequest},
		{"wrong types", http.MethodPost, testWebhookSecret, []byte(`{"update_id":"x","message":"y"}`), http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := post(t, srv, tt.method, tt.secret, tt.body); got != tt.want {
				t.Errorf("status %d, want %d", got, tt.want)
			}
		})
	}
	if n := len(h.eng.inbounds()); n != 0 {
		t.Fatalf("refused requests reached the engine %d times", n)
	}
	if d := h.store.dump(); strings.Contains(d, "telegram/update/") {
		t.Errorf("refused requests were recorded: %s", d)
	}
	// A valid update, then Telegram's retry of it: handled once.
	if got := post(t, srv, http.MethodPost, testWebhookSecret, valid); got != http.StatusOK {
		t.Fatalf("valid update: %d", got)
	}
	if got := post(t, srv, http.MethodPost, testWebhookSecret, valid); got != http.StatusOK {
		t.Fatalf("repeated update: %d", got)
	}
	h.tg.WaitSent(t, 1)
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	if n := len(h.eng.inbounds()); n != 1 {
		t.Errorf("engine called %d times, want 1", n)
	}
	assertNoIdentity(t, "logs", h.logs.String())
}

func TestWebhookBusyAnswers503(t *testing.T) {
	h, srv := webhookHarness(t)
	h.bot.disp = newDispatcher(perChatQueue, 1) // one slot in all
	release := make(chan struct{})
	h.eng.reply = func(in conversation.Inbound) ([]conversation.Reply, error) {
		<-release
		return []conversation.Reply{{Kind: conversation.KindInfo, Text: "ok"}}, nil
	}
	h.start()
	deadline := time.Now().Add(10 * time.Second)
	for post(t, srv, http.MethodPost, testWebhookSecret, fixture(t, "private_text", nil)) != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("the webhook never accepted an update")
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.waitEngine(1)
	second := fixture(t, "private_text", map[string]any{"update_id": 872349999, "message.chat.id": 42, "message.from.id": 42})
	if got := post(t, srv, http.MethodPost, testWebhookSecret, second); got != http.StatusServiceUnavailable {
		t.Errorf("full queues: %d, want 503", got)
	}
	close(release)
	h.tg.WaitSent(t, 1)
	// Telegram's retry of the refused update is accepted (it was not marked seen).
	deadline = time.Now().Add(10 * time.Second)
	for post(t, srv, http.MethodPost, testWebhookSecret, second) != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("the retry was never accepted")
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.tg.WaitSent(t, 2)
}

func TestWebhookSecretRequiredEvenWithoutWebhookMode(t *testing.T) {
	h := newHarness(t, nil) // polling: no secret configured
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, WebhookPath, bytes.NewReader(fixture(t, "private_text", nil)))
	h.bot.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Errorf("status %d, want 403", rec.Code)
	}
	req.Header.Set(SecretHeader, "")
	h.bot.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Errorf("status %d, want 403", rec.Code)
	}
	_ = context.Background()
}
