package telegram

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/candid-app/candid/internal/conversation"
	"github.com/candid-app/candid/internal/identity"
	"github.com/candid-app/candid/internal/logtest"
	"github.com/candid-app/candid/internal/store"
	"github.com/candid-app/candid/internal/telegram/telegramtest"
)

// The identifying values in the fixtures; tests scan for them.
const (
	askerID       = int64(7301234567)
	askerIDString = "7301234567"
	askerUsername = "secret_asker_91"
	askerFirst    = "Alexandrina"
	askerLast     = "Quasimodo"
	groupChatID   = int64(-1001987654321)
	groupUserID   = "5123456789"
	groupUsername = "group_member_x"
	groupFirst    = "Bartholomew"
)

// memStore is an in-memory Store for the adapter's tests.
type memStore struct {
	mu    sync.Mutex
	now   func() time.Time
	once  map[string]time.Time
	state map[string]memState
	fail  error // when set, every call fails with it
}

type memState struct {
	v   []byte
	exp time.Time
}

func newMemStore() *memStore {
	return &memStore{now: time.Now, once: map[string]time.Time{}, state: map[string]memState{}}
}

func (m *memStore) Once(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return false, m.fail
	}
	if exp, ok := m.once[key]; ok && m.now().Before(exp) {
		return false, nil
	}
	m.once[key] = m.now().Add(ttl)
	return true, nil
}

func (m *memStore) PutState(ctx context.Context, handle, key string, value []byte, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.state[handle+"\x00"+key] = memState{v: append([]byte(nil), value...), exp: m.now().Add(ttl)}
	return nil
}

func (m *memStore) State(ctx context.Context, handle, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, m.fail
	}
	s, ok := m.state[handle+"\x00"+key]
	if !ok || !m.now().Before(s.exp) {
		return nil, fmt.Errorf("state %q: %w", key, store.ErrNotFound)
	}
	return s.v, nil
}

func (m *memStore) setFail(err error) {
	m.mu.Lock()
	m.fail = err
	m.mu.Unlock()
}

// dump is everything the store holds, for privacy scans.
func (m *memStore) dump() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	for k := range m.once {
		b.WriteString(k + "\n")
	}
	for k, v := range m.state {
		b.WriteString(k + "=" + string(v.v) + "\n")
	}
	return b.String()
}

// fakeEngine records what it receives and answers with reply. Refused
// records apart (refusedIns) and answers with the refusal unless refuse
// says otherwise.
type fakeEngine struct {
	mu      sync.Mutex
	got     []conversation.Inbound
	reply   func(in conversation.Inbound) ([]conversation.Reply, error)
	refusal []conversation.Inbound
	refuse  func(in conversation.Inbound, refusal string) ([]conversation.Reply, error)
	urgent  func(text string) bool // nil: nothing is urgent
}

func (e *fakeEngine) Urgent(text string) bool {
	e.mu.Lock()
	f := e.urgent
	e.mu.Unlock()
	return f != nil && f(text)
}

func (e *fakeEngine) Refused(ctx context.Context, in conversation.Inbound, refusal string) ([]conversation.Reply, error) {
	e.mu.Lock()
	e.refusal = append(e.refusal, in)
	f := e.refuse
	e.mu.Unlock()
	if f == nil {
		return []conversation.Reply{{Kind: conversation.KindInfo, Text: refusal}}, nil
	}
	return f(in, refusal)
}

func (e *fakeEngine) refusedIns() []conversation.Inbound {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]conversation.Inbound(nil), e.refusal...)
}

func (e *fakeEngine) Handle(ctx context.Context, in conversation.Inbound) ([]conversation.Reply, error) {
	e.mu.Lock()
	e.got = append(e.got, in)
	f := e.reply
	e.mu.Unlock()
	if f == nil {
		return []conversation.Reply{{Kind: conversation.KindInfo, Text: "echo"}}, nil
	}
	return f(in)
}

func (e *fakeEngine) inbounds() []conversation.Inbound {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]conversation.Inbound(nil), e.got...)
}

// fixture reads testdata/updates/name.json and applies edits to the decoded
// object (paths like "message.text"), so fixtures stay real-shaped.
func fixture(t testing.TB, name string, edits map[string]any) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "updates", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(edits) == 0 {
		return raw
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for path, v := range edits {
		parts := strings.Split(path, ".")
		cur := m
		for _, p := range parts[:len(parts)-1] {
			next, ok := cur[p].(map[string]any)
			if !ok {
				t.Fatalf("fixture %s: no object at %s", name, p)
			}
			cur = next
		}
		if v == nil {
			delete(cur, parts[len(parts)-1])
		} else {
			cur[parts[len(parts)-1]] = v
		}
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// fakeClock advances only when something sleeps, so rate limits and
// retry_after waits cost no wall-clock time and tests never measure it.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	slept []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.slept = append(c.slept, d)
	c.mu.Unlock()
	// Yield so a tight retry loop does not starve the other goroutines.
	time.Sleep(time.Millisecond)
	return ctx.Err()
}

func (c *fakeClock) sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}

// harness is a Bot wired to a fake Bot API, a fake engine and a memory
// store, with a fake clock and captured debug logs.
type harness struct {
	t      *testing.T
	tg     *telegramtest.Server
	bot    *Bot
	eng    *fakeEngine
	store  *memStore
	keys   *identity.Keys
	clock  *fakeClock
	logs   *logtest.Buffer
	cancel context.CancelFunc
	done   chan error
}

func newHarness(t *testing.T, mutate func(*Options)) *harness {
	t.Helper()
	h := &harness{t: t, tg: telegramtest.NewServer(t), eng: &fakeEngine{}, store: newMemStore(),
		keys: identity.RandomKeys(), clock: newFakeClock(), logs: &logtest.Buffer{}}
	opts := Options{
		Token:       h.tg.Token,
		APIEndpoint: h.tg.Endpoint(),
		HTTPClient:  h.tg.Client(),
		Engine:      h.eng,
		Keys:        h.keys,
		Store:       h.store,
		Logger:      slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		PollTimeout: 2 * time.Second,
		Now:         h.clock.Now,
	}
	if mutate != nil {
		mutate(&opts)
	}
	bot, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	bot.sleep = h.clock.Sleep
	h.bot = bot
	return h
}

// start runs the bot until the test ends.
func (h *harness) start() {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.done = make(chan error, 1)
	go func() { h.done <- h.bot.Run(ctx) }()
	h.t.Cleanup(func() { h.stop() })
}

// stop ends Run and returns its error.
func (h *harness) stop() error {
	if h.cancel == nil {
		return nil
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		return err
	case <-time.After(20 * time.Second):
		h.t.Fatal("Run did not return after its context ended")
		return nil
	}
}

// waitEngine waits until the engine has seen n inbounds.
func (h *harness) waitEngine(n int) []conversation.Inbound {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if got := h.eng.inbounds(); len(got) >= n {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.t.Fatalf("engine saw %d inbounds, want %d", len(h.eng.inbounds()), n)
	return nil
}

// assertNoIdentity fails if s contains any of the fixtures' identifying
// values.
func assertNoIdentity(t *testing.T, what, s string) {
	t.Helper()
	for _, v := range []string{askerIDString, askerUsername, askerFirst, askerLast, groupUserID, groupUsername, groupFirst, "1001987654321"} {
		if strings.Contains(s, v) {
			t.Errorf("%s contains %q in clear", what, v)
		}
	}
}
