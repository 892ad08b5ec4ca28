package telegramtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestParseHTML(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"plain", "plain", true},
		{"<b>b</b> <i>i</i> <a href=\"https://e.org/?a=1&amp;b=2\">l</a>", "b i l", true},
		{"<b><i>x</i></b>", "x", true},
		{"&lt;&gt;&amp;&quot;&#33;&#x21;", `<>&"!!`, true},
		{"<span class=\"tg-spoiler\">s</span>", "s", true},
		{"a < b", "", false},
		{"a > b", "", false},
		{"a & b", "", false},
		{"&nbsp;", "", false},
		{"<b>x", "", false},
		{"<b>x</i>", "", false},
		{"<b><i>x</b></i>", "", false},
		{"<script>x</script>", "", false},
		{"<a>x</a>", "", false},
		{"<a href=\"x\" onclick=\"y\">x</a>", "", false},
		{"<b class=\"x\">x</b>", "", false},
		{"</b>", "", false},
	}
	for _, tt := range tests {
		got, err := ParseHTML(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseHTML(%q) = %q, %v; want %q ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func call(t *testing.T, s *Server, token, method string, p url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := s.Client().PostForm(s.URL+"/bot"+token+"/"+method, p)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, m
}

func TestServer(t *testing.T) {
	s := NewServer(t)
	if code, m := call(t, s, "bad", "getMe", nil); code != 401 || m["ok"] != false || m["description"] != "Unauthorized" {
		t.Errorf("wrong token: %d %v", code, m)
	}
	if code, _ := call(t, s, s.Token, "sendPhoto", nil); code != 404 {
		t.Errorf("unknown method: %d", code)
	}
	s.PushUpdate([]byte(`{"message":{"text":"a"}}`))
	id := s.PushUpdate([]byte(`{"message":{"text":"b"}}`))
	_, m := call(t, s, s.Token, "getUpdates", url.Values{"timeout": {"0"}})
	if n := len(m["result"].([]any)); n != 2 {
		t.Fatalf("getUpdates returned %d updates", n)
	}
	call(t, s, s.Token, "getUpdates", url.Values{"offset": {itoa(id)}, "timeout": {"0"}})
	if s.Pending() != 1 {
		t.Errorf("offset did not confirm the first update: %d pending", s.Pending())
	}
	long := strings.Repeat("x", 4097)
	for _, tc := range []struct {
		p    url.Values
		code int
	}{
		{url.Values{"chat_id": {"1"}, "text": {"hi"}}, 200},
		{url.Values{"chat_id": {"1"}, "text": {strings.Repeat("&amp;", 4096)}, "parse_mode": {"HTML"}}, 200},
		{url.Values{"chat_id": {"1"}, "text": {long}}, 400},
		{url.Values{"chat_id": {"1"}, "text": {"a & b"}, "parse_mode": {"HTML"}}, 400},
		{url.Values{"chat_id": {"1"}, "text": {""}}, 400},
		{url.Values{"chat_id": {"x"}, "text": {"hi"}}, 400},
		{url.Values{"chat_id": {"1"}, "text": {"hi"}, "reply_markup": {`{"inline_keyboard":[[{"text":"b","callback_data":"` + strings.Repeat("d", 65) + `"}]]}`}}, 400},
	} {
		if code, m := call(t, s, s.Token, "sendMessage", tc.p); code != tc.code {
			t.Errorf("sendMessage %v: %d %v, want %d", tc.p, code, m, tc.code)
		}
	}
	s.FailNext("sendMessage", TooManyRequests(3))
	code, m := call(t, s, s.Token, "sendMessage", url.Values{"chat_id": {"1"}, "text": {"hi"}})
	if code != 429 || m["parameters"].(map[string]any)["retry_after"] != float64(3) {
		t.Errorf("429: %d %v", code, m)
	}
	if code, _ := call(t, s, s.Token, "answerCallbackQuery", url.Values{"callback_query_id": {"q"}}); code != 200 {
		t.Error("first answer refused")
	}
	if code, _ := call(t, s, s.Token, "answerCallbackQuery", url.Values{"callback_query_id": {"q"}}); code != 400 {
		t.Error("second answer to the same query accepted")
	}
	if code, _ := call(t, s, s.Token, "setWebhook", url.Values{"url": {"http://insecure"}}); code != 400 {
		t.Error("http webhook accepted")
	}
	call(t, s, s.Token, "setWebhook", url.Values{"url": {"https://e.org/telegram/webhook"}, "secret_token": {"abc"}})
	if code, _ := call(t, s, s.Token, "getUpdates", nil); code != http.StatusConflict {
		t.Error("getUpdates allowed while a webhook is set")
	}
	if len(s.Sent()) != 2 {
		t.Errorf("Sent() = %d, want the 2 accepted messages", len(s.Sent()))
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
