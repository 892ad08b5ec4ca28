package main

import (
	"github.com/candid-app/candid/internal/clientip"

	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/candid-app/candid/internal/config"
	"github.com/candid-app/candid/internal/console"
	"github.com/candid-app/candid/internal/content"
	"github.com/candid-app/candid/internal/conversation"
	"github.com/candid-app/candid/internal/faq"
	"github.com/candid-app/candid/internal/identity"
	"github.com/candid-app/candid/internal/llm"
	"github.com/candid-app/candid/internal/match"
	"github.com/candid-app/candid/internal/moderation"
	"github.com/candid-app/candid/internal/safety"
	"github.com/candid-app/candid/internal/staff"
	"github.com/candid-app/candid/internal/store"
	"github.com/candid-app/candid/internal/store/boltstore"
	"github.com/candid-app/candid/internal/store/redisstore"
	"github.com/candid-app/candid/internal/web"
)

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	lvl.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openStore opens the configured backend.
func openStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (store.Store, string, error) {
	switch cfg.Store {
	case "redis":
		st, err := redisstore.New(ctx, redisstore.Options{URL: cfg.RedisURL, Logger: log})
		if err != nil {
			return nil, "", err
		}
		return st, "redis " + redactURL(cfg.RedisURL), nil
	default:
		if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
			return nil, "", fmt.Errorf("create data folder %s: %w (set --data or CANDID_DATA to a writable folder)", cfg.Data, err)
		}
		path := filepath.Join(cfg.Data, "candid.db")
		st, err := boltstore.Open(path, boltstore.Options{Timeout: 2 * time.Second, Logger: log})
		if err != nil {
			return nil, "", err
		}
		return st, path, nil
	}
}

// sharedCounters are the limits that every replica draws on together when
// the store is Redis; all nil (each package's in-memory default) on the
// embedded store, which one process owns anyway.
type sharedCounters struct {
	web     func(string, float64, int) web.Limiter
	login   staff.Failures
	tickets conversation.Counter
	drafts  moderation.DraftCounter
}

// sharedLimits returns the shared counters for st.
func sharedLimits(st store.Store) sharedCounters {
	rs, ok := st.(*redisstore.Store)
	if !ok {
		return sharedCounters{}
	}
	return sharedCounters{
		web: func(name string, perSecond float64, burst int) web.Limiter {
			return rs.Limiter("web-"+name, perSecond, burst)
		},
		login:   rs.Window("login", staff.LoginWindow),
		tickets: rs.Window("tickets", time.Hour),
		drafts:  rs.Window("drafts", time.Hour),
	}
}

func redactURL(u string) string {
	if i := strings.Index(u, "@"); i > 0 {
		if j := strings.Index(u, "://"); j > 0 && j < i {
			return u[:j+3] + "…" + u[i:]
		}
	}
	return u
}

// faqAnswers lets moderators answer with a curated entry.
type faqAnswers struct {
	lib  *content.Live
	vars faq.Vars
}

func (f faqAnswers) RenderAnswer(id string) (string, bool) {
	e := f.lib.Entry(id)
	if e == nil {
		return "", false
	}
	text, err := e.Render(f.vars)
	return text, err == nil
}

// app is everything serve builds; tests use it too.
type app struct {
	cfg     *config.Config
	log     *slog.Logger
	keys    *identity.Keys
	lib     *content.Live
	store   store.Store
	mod     *moderation.Service
	staff   *staff.Service
	engine  *conversation.Engine
	console *console.Console
	handler http.Handler
	// metricsAccess serves /metrics on the main address and, when
	// metrics.listen is set, on its own.
	metricsAccess metricsAccess
	metrics       *metrics
	runners       []func(context.Context) error
}

func (a *app) vars() faq.Vars {
	return faq.Vars{ClinicName: a.cfg.ClinicName, BookingURL: a.cfg.BookingURL, RetentionDays: a.cfg.RetentionDays,
		TicketRetentionDays: a.cfg.TicketRetentionDays, AnswerTime: a.cfg.AnswerTime}
}

// build wires the service from its configuration.
func build(ctx context.Context, cfg *config.Config, log *slog.Logger) (*app, error) {
	a := &app{cfg: cfg, log: log}
	if err := secureDataDir(cfg.Data, cfg.Store != "redis", log); err != nil {
		return nil, err
	}
	keyDir := filepath.Join(cfg.Data, "keys")
	if cfg.Store == "redis" {
		// Replicas must share keys: the operator provides the same files to each.
		log.Info("store is redis: every replica needs the same keys folder", "keys", keyDir)
	}
	keys, err := loadKeys(keyDir, cfg, time.Now(), log)
	if err != nil {
		return nil, err
	}
	a.keys = keys

	fsys, source, err := content.Source(cfg.FAQDir)
	if err != nil {
		return nil, err
	}
	mopts := match.Options{Thresholds: match.Thresholds{Answer: cfg.AnswerThreshold, Suggest: cfg.SuggestThreshold}, Logger: log}
	if cfg.EmbeddingsBaseURL != "" {
		mopts.Embeddings = &match.EmbedOptions{
			Embedder: scrubbingEmbedder{&match.HTTPEmbedder{BaseURL: cfg.EmbeddingsBaseURL, APIKey: cfg.EmbeddingsAPIKey, Model: cfg.EmbeddingsModel}},
			Model:    cfg.EmbeddingsModel,
			CacheDir: filepath.Join(cfg.Data, "embeddings"),
			Weight:   cfg.EmbeddingsWeight,
			Timeout:  time.Duration(cfg.EmbeddingsTimeoutMS) * time.Millisecond,
		}
		log.Info("matching with embeddings", "model", cfg.EmbeddingsModel, "weight", cfg.EmbeddingsWeight)
	}
	if a.lib, err = content.NewLive(fsys, source, mopts, log); err != nil {
		return nil, err
	}
	if source != "built-in copy" {
		a.runners = append(a.runners, func(ctx context.Context) error { return watchContent(ctx, fsys, a.lib, log) })
	}

	st, where, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	a.store = st
	log.Info("data", "store", cfg.Store, "where", where)
	if err := checkSharedKeys(ctx, st, keys, log); err != nil {
		st.Close()
		return nil, err
	}

	a.metrics = newMetrics()
	retention := time.Duration(cfg.TicketRetentionDays) * 24 * time.Hour
	consoleURL := ""
	if cfg.PublicURL != "" {
		consoleURL = strings.TrimSuffix(cfg.PublicURL, "/") + "/console/"
	}
	var drafter moderation.Drafter // nil: AI drafts off (the default)
	if cfg.LLMBaseURL != "" {
		d, err := llm.New(llm.Options{BaseURL: cfg.LLMBaseURL, APIKey: cfg.LLMAPIKey, Model: cfg.LLMModel,
			ClinicName: cfg.ClinicName, Logger: log.With("component", "llm"), FAQ: llm.EntriesFAQ(a.lib, a.vars())})
		if err != nil {
			return nil, fmt.Errorf("llm: %w (check llm.base_url, llm.model and prompts/)", err)
		}
		drafter = d
		log.Info("AI drafts on: moderators see drafts to edit and approve; none is sent automatically", "model", d.Model())
	}
	shared := sharedLimits(st)
	a.mod, err = moderation.New(moderation.Options{DraftsPerHour: cfg.LLMDraftsPerHour, DraftCounter: shared.drafts, Store: st, Logger: log, TicketRetention: retention,
		ClinicName: cfg.ClinicName, BookingURL: cfg.BookingURL, FAQ: faqAnswers{a.lib, a.vars()},
		WebhookURL: cfg.AlertWebhook, OnCallURL: cfg.OnCallWebhook, ConsoleURL: consoleURL, Drafter: drafter})
	if err != nil {
		return nil, err
	}
	a.staff, err = staff.New(staff.Options{Store: st, Logger: log, Failures: shared.login})
	if err != nil {
		return nil, err
	}
	a.engine, err = conversation.New(conversation.Options{Logger: log, Library: a.lib, Safety: a.lib, Resources: a.lib,
		Memory: st, Tickets: a.mod, Forgetter: a.mod, Recorder: a.metrics, Vars: a.vars(), Region: cfg.Region,
		Retention: time.Duration(cfg.RetentionDays) * 24 * time.Hour, EmergencyLine: cfg.EmergencyLine,
		TicketsPerHour: cfg.TicketsPerHour, TicketCounter: shared.tickets, Feedback: st})
	if err != nil {
		return nil, err
	}

	secure := strings.HasPrefix(cfg.PublicURL, "https://")
	proxies, err := clientip.Parse(cfg.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("trusted_proxies: %w", err)
	}
	mux := http.NewServeMux()
	chat, err := web.New(web.Options{Engine: a.engine, Keys: keys, Logger: log, ClinicName: cfg.ClinicName,
		EmergencyLine: emergencyLine(cfg), Region: cfg.Region, SecureCookies: secure, Limits: shared.web, ClientIP: proxies})
	if err != nil {
		return nil, err
	}
	chat.Register(mux)
	cons, err := console.New(console.Options{Moderation: a.mod, Accounts: a.staff, FAQ: consoleFAQ(a.lib, a.vars()),
		DraftsDir: cfg.DraftsDir, Logger: log, SecureCookies: secure, ClientIP: proxies,
		Crisis: crisisGuide{a.lib, cfg.Region}, Once: st,
		UrgentResponse: time.Duration(cfg.UrgentResponseMin) * time.Minute, ConcernResponse: time.Duration(cfg.ConcernResponseMin) * time.Minute})
	if err != nil {
		return nil, err
	}
	cons.Register(mux)
	a.console = cons
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.HandleFunc("GET /readyz", a.readyz)
	a.metricsAccess = metricsAccess{token: cfg.MetricsToken, h: a.metrics.handler(a.mod)}
	mux.Handle("GET /metrics", a.metricsAccess.public())
	if err := a.adapters(ctx, mux); err != nil {
		return nil, err
	}
	a.handler = mux

	a.runners = append(a.runners,
		a.mod.RunDelivery,
		func(ctx context.Context) error { return a.mod.RunRetention(ctx, time.Minute) },
		func(ctx context.Context) error {
			return staff.ServeAdmin(ctx, filepath.Join(cfg.Data, "admin.sock"), a.staff, log)
		},
	)
	return a, nil
}

// keysChecker is a store several replicas share (Redis), which records the
// deployment's key fingerprints.
type keysChecker interface {
	CheckKeys(ctx context.Context, current string, retired []string) (redisstore.KeysCheck, error)
}

// checkSharedKeys refuses to start a replica whose keys are not the other
// replicas': its handles would be strangers to them and its sealed
// addresses unreadable.
func checkSharedKeys(ctx context.Context, st store.Store, keys *identity.Keys, log *slog.Logger) error {
	kc, ok := st.(keysChecker)
	if !ok {
		return nil // one process: nothing to agree with
	}
	res, err := kc.CheckKeys(ctx, keys.Fingerprint(), keys.RetiredFingerprints())
	if err != nil {
		return err
	}
	switch res {
	case redisstore.KeysFirst, redisstore.KeysSame:
		return nil
	case redisstore.KeysRotated:
		log.Info("keys rotated: this replica's new keys are now the deployment's; restart the other replicas with the same keys folder", "keys", keys.Fingerprint())
		return nil
	case redisstore.KeysStale:
		return fmt.Errorf("this replica's keys (%s) were retired by a rotation on another replica: copy the current keys folder (with keys/retired/) from it and start again", keys.Fingerprint())
	default:
		return fmt.Errorf("this replica's keys (%s) are not the other replicas' keys: every replica needs the same keys folder (copy it from a running replica; do not let each create its own)", keys.Fingerprint())
	}
}

func emergencyLine(cfg *config.Config) string {
	if cfg.EmergencyLine != "" {
		return cfg.EmergencyLine
	}
	switch cfg.Region {
	case "US":
		return "In an emergency call 911. In a mental-health crisis call or text 988."
	case "UK":
		return "In an emergency call 999. Samaritans: 116 123, any time."
	case "EU":
		return "In an emergency call 112."
	}
	return "In an emergency, call your local emergency number now."
}

// healthz says the process is alive and serving (the liveness probe): it
// never depends on the store, so a Redis outage does not turn into a crash
// loop of restarts. readyz says whether this replica can take traffic (the
// readiness probe): the store answers.
func (a *app) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"status":"ok","faq_entries":%d,"version":%q}`+"\n", len(a.lib.Current().Catalog.Entries), version)
}

func (a *app) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "application/json")
	if _, err := a.store.Blocked(ctx, "readyz"); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, `{"status":"unavailable","store":"error"}`+"\n")
		return
	}
	fmt.Fprintf(w, `{"status":"ready","store":"ok"}`+"\n")
}

// watchContent reloads the content on SIGHUP and when a file in the folder
// changes (polled: no extra dependency, and curators save rarely).
func watchContent(ctx context.Context, fsys fs.FS, lib *content.Live, log *slog.Logger) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	last := fingerprint(fsys)
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-hup:
			lib.Reload()
			last = fingerprint(fsys)
		case <-tick.C:
			if fp := fingerprint(fsys); fp != last {
				last = fp
				lib.Reload()
			}
		}
	}
}

// fingerprint summarises names, sizes and times of the content files.
func fingerprint(fsys fs.FS) string {
	var b strings.Builder
	fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if info, err := d.Info(); err == nil {
			fmt.Fprintf(&b, "%s:%d:%d;", p, info.Size(), info.ModTime().UnixNano())
		}
		return nil
	})
	return b.String()
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	cfg, rest, err := config.Load("serve", args, getenv, stderr)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("serve takes no arguments (got %q); see candid serve --help", rest)
	}
	log := newLogger(cfg, stderr)
	a, err := build(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.store.Close()

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another candid running? use --listen to pick another address)", cfg.Listen, err)
	}
	var mln net.Listener
	if cfg.MetricsListen != "" {
		if mln, err = net.Listen("tcp", cfg.MetricsListen); err != nil {
			ln.Close()
			return fmt.Errorf("metrics.listen %s: %w (pick a free address, or leave it empty)", cfg.MetricsListen, err)
		}
	}
	srv := &http.Server{Handler: a.handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for _, r := range a.runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r(ctx); err != nil && !errors.Is(err, context.Canceled) {
				log.Error("background task stopped", "err", err)
			}
		}()
	}
	url := "http://" + ln.Addr().String() + "/"
	if cfg.PublicURL != "" {
		url = cfg.PublicURL
	}
	log.Info("Candid is running", "web_chat", url, "console", strings.TrimSuffix(url, "/")+"/console/", "data", cfg.Data, "faq", a.lib.Current().Source)
	srv.RegisterOnShutdown(a.console.Close) // ends the console's live streams
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if mln != nil {
		msrv := &http.Server{Handler: a.metricsAccess.private(), ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
		go func() { errc <- msrv.Serve(mln) }()
		defer msrv.Close()
		log.Info("metrics served", "address", mln.Addr().String())
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		cancel()
		wg.Wait()
		return err
	}
	log.Info("shutting down")
	shutCtx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	srv.Shutdown(shutCtx)
	cancel()
	wg.Wait()
	a.mod.Close() // lets in-flight drafts and alerts finish
	return nil
}

// scrubbingEmbedder removes contact details (e-mail, phone, links, handles)
// from every text before it leaves for the embeddings API: a question is
// sent there as it is matched, before any moderator sees it, so it gets the
// same scrubbing as text sent to the AI drafter.
type scrubbingEmbedder struct{ next match.Embedder }

var _ match.Embedder = scrubbingEmbedder{}

func (s scrubbingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	clean := make([]string, len(texts))
	for i, t := range texts {
		clean[i], _ = safety.Scrub(t)
	}
	return s.next.Embed(ctx, clean)
}
