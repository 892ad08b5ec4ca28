package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/candid-app/candid/internal/logtest"
	"github.com/candid-app/candid/internal/match"
	"github.com/candid-app/candid/internal/store/redisstore/redistest"
	"github.com/candid-app/candid/internal/telegram/telegramtest"
)

func runCLI(t *testing.T, stdin string, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb, func(k string) string { return env[k] })
	return code, out.String(), errb.String()
}

func TestCLIBasics(t *testing.T) {
	tests := []struct {
		args     []string
		env      map[string]string
		code     int
		inStdout string
		inStderr string
	}{
		{[]string{"version"}, nil, 0, "candid", ""},
		{[]string{"help"}, nil, 0, "candid match", ""},
		{[]string{"frobnicate"}, nil, 2, "", "unknown command"},
		{[]string{"config"}, nil, 0, "CANDID_TELEGRAM_TOKEN", ""},
		{[]string{"serve", "--clinic-region", "MARS"}, nil, 1, "", "clinic.region"},
		{[]string{"serve"}, map[string]string{"CANDID_RETENTION_TICKET_DAYS": "-3"}, 1, "", "retention.ticket_days (from environment variable CANDID_RETENTION_TICKET_DAYS): must be a whole number from 1 to 365"},
		{[]string{"serve", "unexpected"}, map[string]string{"CANDID_DATA": "/nonexistent/x"}, 1, "", "no arguments"},
		{[]string{"faq"}, nil, 2, "", "candid faq lint"},
		{[]string{"faq", "show", "erectile-dysfunction", "--faq", "../../faq"}, nil, 2, "", ""},
		{[]string{"faq", "show", "--faq", "../../faq", "erectile-dysfunction"}, nil, 0, "DRAFT", ""},
		{[]string{"faq", "show", "--faq", "../../faq", "erectile"}, nil, 1, "", "did you mean: erectile-dysfunction"},
		{[]string{"faq", "lint", "../../faq/en"}, nil, 0, "0 errors", ""},
		{[]string{"faq", "lint", "../../faq"}, nil, 0, "64 entries", ""},
		{[]string{"faq", "eval"}, nil, 2, "", "--cases"},
		{[]string{"user", "add", "--data", "", "x"}, nil, 1, "", "data"},
		{[]string{"user"}, nil, 0, "candid user add", ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errs := runCLI(t, "", tt.env, tt.args...)
			if code != tt.code || !strings.Contains(out, tt.inStdout) || !strings.Contains(errs, tt.inStderr) {
				t.Fatalf("code %d (want %d)\nstdout: %s\nstderr: %s", code, tt.code, out, errs)
			}
		})
	}
}

func TestFAQLintFailsOnBrokenEntry(t *testing.T) {
	dir := t.TempDir() + "/en"
	os.MkdirAll(dir, 0o755)
	os.WriteFile(dir+"/broken.yaml", []byte("id: other\nquestion: [\n"), 0o644)
	code, out, _ := runCLI(t, "", nil, "faq", "lint", dir)
	if code != 1 || !strings.Contains(out, "broken.yaml:") {
		t.Fatalf("code %d, out %s", code, out)
	}
}

// TestMatchJSONOnEvalSets runs `candid match --json` over the labelled sets,
// one question a line, and checks the contract curators and CI rely on: one
// JSON object a line in input order, crisis recall of 1, no false crisis.
func TestMatchJSONOnEvalSets(t *testing.T) {
	for _, set := range []struct {
		file   string
		strict bool // the dev set is the floor; our held-out set is reported, not tuned on
	}{{"../../../shared/eval/dev.jsonl", true}, {"../../eval/own.jsonl", false}} {
		file := set.file
		t.Run(file, func(t *testing.T) {
			report := t.Errorf
			if !set.strict {
				report = t.Logf
			}
			data, err := os.ReadFile(file)
			if os.IsNotExist(err) {
				t.Skipf("%s is not here (it lives in the shared folder beside the checkout)", file)
			}
			if err != nil {
				t.Fatal(err)
			}
			code, out, errs := runCLI(t, string(data), nil, "match", "--json", "--faq", "../../faq")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			in := bufio.NewScanner(bytes.NewReader(data))
			outs := bufio.NewScanner(strings.NewReader(out))
			n, crisis, missed, falseCrisis := 0, 0, 0, 0
			for in.Scan() {
				if !outs.Scan() {
					t.Fatalf("only %d output lines", n)
				}
				n++
				var c struct {
					Q      string   `json:"q"`
					Expect []string `json:"expect"`
				}
				json.Unmarshal(in.Bytes(), &c)
				var m map[string]any
				if err := json.Unmarshal(outs.Bytes(), &m); err != nil {
					t.Fatalf("line %d is not JSON: %s", n, outs.Text())
				}
				for _, k := range []string{"decision", "faq_id", "score", "candidates", "safety"} {
					if _, ok := m[k]; !ok {
						t.Fatalf("line %d lacks %q: %s", n, k, outs.Text())
					}
				}
				// The safety verdict: a tier always, and a kind and a reason
				// whenever it is not none; decision crisis is tier urgent.
				sv, _ := m["safety"].(map[string]any)
				switch tier := sv["tier"]; tier {
				case "urgent", "concern":
					if sv["kind"] == "" || sv["why"] == "" {
						t.Errorf("line %d: tier %v without kind or why: %s", n, tier, outs.Text())
					}
				case "none":
				default:
					t.Errorf("line %d: safety tier %v: %s", n, tier, outs.Text())
				}
				if (sv["tier"] == "urgent") != (m["decision"] == "crisis") {
					t.Errorf("line %d: decision %v with safety tier %v", n, m["decision"], sv["tier"])
				}
				isCrisis := c.Expect[0] == "crisis"
				if isCrisis {
					crisis++
					if m["decision"] != "crisis" {
						missed++
						report("crisis missed: %q", c.Q)
					}
				} else if m["decision"] == "crisis" {
					falseCrisis++
					report("false crisis: %q", c.Q)
				}
			}
			if outs.Scan() {
				t.Fatal("more output lines than questions")
			}
			if crisis == 0 {
				t.Fatal("no crisis cases: wrong file?")
			}
			t.Logf("%d questions, crisis recall %d/%d, false crisis %d", n, crisis-missed, crisis, falseCrisis)
		})
	}
}

// TestLogsHoldNoIdentifiers runs a conversation through the wired service
// with debug logging and checks that the logs never hold the message text,
// the contact details typed, or the session cookie.
func TestLogsHoldNoIdentifiers(t *testing.T) {
	var logs logtest.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, srv := newAppWithLog(t, nil, log)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	post := func(path, body string) {
		resp, err := client.Post(srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	post("/api/v1/chat/messages", `{"text":"my boyfriend wont wear condoms, reach me at kim.lee@example.org"}`)
	post("/api/v1/chat/actions", `{"action":"ask_therapist"}`)
	post("/api/v1/chat/messages", `{"text":"I want to kill myself tonight, call 07700 900982"}`)
	post("/api/v1/chat/messages", `{"text":"/forget"}`)
	u, _ := url.Parse(srv.URL)
	cookie := jar.Cookies(u)[0].Value
	_ = a
	got := logs.String()
	if !strings.Contains(got, "forget") {
		t.Fatalf("expected log lines from the conversation; got:\n%s", got)
	}
	for _, s := range []string{"boyfriend", "condoms", "kim.lee@example.org", "kill myself", "07700", cookie} {
		if strings.Contains(got, s) {
			t.Errorf("logs hold %q", s)
		}
	}
}

// TestServeOnRedis wires the service on a real redis-server (the production
// backend for several replicas) and runs an asker's round trip through it.
func TestServeOnRedis(t *testing.T) {
	srvr := redistest.Start(t)
	a, srv := newApp(t, map[string]string{"CANDID_STORE": "redis", "CANDID_REDIS_URL": srvr.URL})
	if a.cfg.Store != "redis" {
		t.Fatalf("store %q", a.cfg.Store)
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	for _, body := range []string{`{"text":"cant stay hard"}`} {
		resp, err := client.Post(srv.URL+"/api/v1/chat/messages", "application/json", strings.NewReader(body))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("post: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	resp, err := client.Post(srv.URL+"/api/v1/chat/actions", "application/json", strings.NewReader(`{"action":"ask_therapist"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	tickets, _, err := a.mod.Queue(context.Background())
	if err != nil || len(tickets) != 1 || tickets[0].Question != "cant stay hard" {
		t.Fatalf("queue on redis: %+v %v", tickets, err)
	}
	resp, _ = http.Get(srv.URL + "/healthz")
	if resp.StatusCode != 200 {
		t.Fatalf("healthz %d", resp.StatusCode)
	}
	resp.Body.Close()
}

// TestRateLimitsSharedOnRedis runs two replicas on one redis-server, with
// the same keys as an operator deploys them: an asker's burst is one budget
// across both, not one per replica.
func TestRateLimitsSharedOnRedis(t *testing.T) {
	srvr := redistest.Start(t)
	dirA, dirB := t.TempDir(), t.TempDir()
	_, srvA := newApp(t, map[string]string{"CANDID_STORE": "redis", "CANDID_REDIS_URL": srvr.URL, "CANDID_DATA": dirA})
	// Replica B gets A's keys, as the operator deploys them.
	if err := os.CopyFS(filepath.Join(dirB, "keys"), os.DirFS(filepath.Join(dirA, "keys"))); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"handle.key", "seal.key"} {
		if err := os.Chmod(filepath.Join(dirB, "keys", f), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_, srvB := newApp(t, map[string]string{"CANDID_STORE": "redis", "CANDID_REDIS_URL": srvr.URL, "CANDID_DATA": dirB})
	jar, _ := cookiejar.New(nil) // cookies ignore the port: both replicas see the asker's
	client := &http.Client{Jar: jar}
	post := func(srv *httptest.Server) int {
		t.Helper()
		resp, err := client.Post(srv.URL+"/api/v1/chat/messages", "application/json", strings.NewReader(`{"text":"how do i put on a condom"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// The default budget is a burst of 10, spent across both replicas.
	for i := range 10 {
		srv := srvA
		if i%2 == 1 {
			srv = srvB
		}
		if code := post(srv); code != 200 {
			t.Fatalf("message %d of the burst: %d", i+1, code)
		}
	}
	for _, r := range []struct {
		name string
		srv  *httptest.Server
	}{{"A", srvA}, {"B", srvB}} {
		if code := post(r.srv); code != http.StatusTooManyRequests {
			t.Errorf("replica %s after the shared burst: %d, want 429", r.name, code)
		}
	}
}

// TestServeWithTelegram sets the Telegram token (and a fake Bot API endpoint)
// and checks that the same serve wiring talks to Telegram, and that neither
// the logs nor the store hold the Telegram user's identifiers.
func TestServeWithTelegram(t *testing.T) {
	fake := telegramtest.NewServer(t)
	var logs logtest.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, _ := newAppWithLog(t, map[string]string{"CANDID_TELEGRAM_TOKEN": telegramtest.Token, "CANDID_TELEGRAM_API_ENDPOINT": fake.Endpoint()}, log)
	raw, err := os.ReadFile("../../internal/telegram/testdata/updates/private_text.json")
	if err != nil {
		t.Fatal(err)
	}
	fake.PushUpdate(raw)
	sent := fake.WaitSent(t, 1)
	if sent[0].ChatID() != 7301234567 || !strings.Contains(sent[0].VisibleText(), "rection") {
		t.Fatalf("reply: chat %d text %q", sent[0].ChatID(), sent[0].VisibleText())
	}
	if !strings.Contains(logs.String(), "telegram adapter on") {
		t.Fatal("no log lines from the adapter: the scan below would prove nothing")
	}
	for _, s := range []string{"7301234567", "secret_asker_91", "Alexandrina", "Quasimodo", "stay hard"} {
		if strings.Contains(logs.String(), s) {
			t.Errorf("logs hold %q", s)
		}
	}
	// The raw store after the exchange: the Telegram adapter's own end-to-end
	// test scans the file; here the wiring must not add anything either.
	a.store.Close()
	db, err := os.ReadFile(filepath.Join(a.cfg.Data, "candid.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"7301234567", "secret_asker_91", "Alexandrina", "Quasimodo"} {
		if bytes.Contains(db, []byte(s)) {
			t.Errorf("the database file holds %q", s)
		}
	}
}

// TestNoEvalQuestionInFAQ keeps the evaluation honest: no labelled question
// may appear (ignoring case and punctuation) as an entry's question or
// paraphrase, or the matcher would be tested on what it was given.
func TestNoEvalQuestionInFAQ(t *testing.T) {
	norm := func(s string) string {
		return strings.Join(strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
		}), " ")
	}
	evalQs := map[string]string{}
	for _, file := range []string{"../../../shared/eval/dev.jsonl", "../../eval/own.jsonl", "../../eval/fresh.jsonl", "../../eval/fresh2.jsonl", "../../eval/crisis-dev.jsonl", "../../eval/crisis-dev2.jsonl", "../../eval/crisis-heldout.jsonl"} {
		data, err := os.ReadFile(file)
		if err != nil {
			continue // the shared dev set may be absent outside the workspace
		}
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			var c struct{ Q string }
			json.Unmarshal([]byte(line), &c)
			evalQs[norm(c.Q)] = file
		}
	}
	if len(evalQs) == 0 {
		t.Fatal("no evaluation questions read")
	}
	_, set, err := classifier("../../faq", match.Thresholds{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range set.Catalog.Entries {
		for _, text := range e.Texts() {
			if f, ok := evalQs[norm(text)]; ok {
				t.Errorf("%s: %q is an evaluation question from %s: reword or remove it", e.File, text, f)
			}
		}
	}
}
