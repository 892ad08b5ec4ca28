// Package config owns Candid's configuration: one table of keys, each
// settable from a YAML file, a CANDID_* environment variable or a flag (in
// rising order of priority), with defaults, validation and help text. The
// same table prints the reference (`candid config`), so docs and code agree.
package config

import (
	"github.com/candid-app/candid/internal/clientip"

	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Config is the whole configuration.
type Config struct {
	Listen    string
	Data      string
	FAQDir    string
	PublicURL string
	// TrustedProxies lists the reverse proxies whose X-Forwarded-For is
	// believed (clientip.Parse); checked when the configuration loads.
	TrustedProxies string
	// MetricsListen is a second address that serves /metrics only;
	// MetricsToken, when set, is the bearer token /metrics asks for.
	MetricsListen string
	MetricsToken  string
	LogLevel      string
	LogFormat     string
	ConfigFile    string

	ClinicName    string
	BookingURL    string
	AnswerTime    string
	Region        string
	EmergencyLine string

	RetentionDays       int
	TicketRetentionDays int

	AnswerThreshold  float64
	SuggestThreshold float64

	EmbeddingsBaseURL   string
	EmbeddingsAPIKey    string
	EmbeddingsModel     string
	EmbeddingsWeight    float64
	EmbeddingsTimeoutMS int

	Store    string
	RedisURL string

	AlertWebhook string
	// OnCallWebhook is alerted when a moderator escalates an urgent or
	// concern ticket; UrgentResponseMin and ConcernResponseMin are the
	// response times the console counts down against.
	OnCallWebhook                         string
	TicketsPerHour                        int
	UrgentResponseMin, ConcernResponseMin int
	DraftsDir                             string

	TelegramToken         string
	TelegramAPIEndpoint   string
	TelegramWebhook       string
	TelegramWebhookSecret string

	SlackBotToken          string
	SlackAppToken          string
	SlackSigningSecret     string
	SlackModerationChannel string
	SlackModerators        string
	SlackAPIURL            string

	LLMBaseURL string
	LLMAPIKey  string
	LLMModel   string
	// LLMDraftsPerHour caps the AI drafts asked for per hour.
	LLMDraftsPerHour int
}

type field struct {
	key  string // dotted YAML key; flag is the key with dots as dashes; env is CANDID_ + upper snake
	def  string
	help string
	set  func(c *Config, v string) error
	// secret keys are marked in the reference: keep them in the
	// environment or a file only the service can read, never in git.
	secret bool
	// env overrides the derived environment variable name.
	env string
}

func str(p func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *p(c) = v; return nil }
}

func oneOf(p func(*Config) *string, allowed ...string) func(*Config, string) error {
	return func(c *Config, v string) error {
		for _, a := range allowed {
			if v == a {
				*p(c) = v
				return nil
			}
		}
		return fmt.Errorf("must be one of %s", strings.Join(allowed, ", "))
	}
}

func intRange(p func(*Config) *int, lo, hi int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("must be a whole number from %d to %d", lo, hi)
		}
		*p(c) = n
		return nil
	}
}

func prob(p func(*Config) *float64) func(*Config, string) error {
	return func(c *Config, v string) error {
		if v == "" {
			*p(c) = 0 // 0 = the matcher's calibrated default
			return nil
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || f <= 0 || f >= 1 {
			return errors.New("must be a number between 0 and 1 (exclusive), or empty for the calibrated default")
		}
		*p(c) = f
		return nil
	}
}

func httpURL(p func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if v != "" {
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return errors.New("must be an absolute http(s) URL such as https://example.org/book")
			}
		}
		*p(c) = v
		return nil
	}
}

func metricsToken(p func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if v != "" && (len(v) < 16 || strings.ContainsAny(v, " \t\r\n")) {
			return errors.New("must be at least 16 characters with no spaces (for example the output of: openssl rand -hex 24)")
		}
		*p(c) = v
		return nil
	}
}

func proxies(p func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if _, err := clientip.Parse(v); err != nil {
			return err
		}
		*p(c) = v
		return nil
	}
}

// fields is the configuration reference. Order is the order of `candid config`.
func fields() []field {
	return []field{
		{key: "listen", def: "127.0.0.1:8080", help: "address the HTTP server listens on (web chat, console, API, webhooks)", set: str(func(c *Config) *string { return &c.Listen })},
		{key: "data", def: "./candid-data", help: "folder for the embedded database, secret keys and the admin socket", set: str(func(c *Config) *string { return &c.Data })},
		{key: "faq", def: "", help: "FAQ folder (holding en/, lexicon.yaml, safety/); empty = ./faq when it exists, else the copy built into the binary", set: str(func(c *Config) *string { return &c.FAQDir })},
		{key: "public_url", def: "", help: "the URL people reach the service at, e.g. https://ask.example.org; https makes cookies Secure", set: httpURL(func(c *Config) *string { return &c.PublicURL })},
		{key: "trusted_proxies", env: "CANDID_TRUSTED_PROXIES", def: "", help: "comma-separated addresses or CIDR ranges of reverse proxies in front of the service (e.g. 127.0.0.1, 10.0.0.0/8): their X-Forwarded-For names the client for per-client rate limits; empty = the connection's address (every asker behind an untrusted proxy then shares one budget)", set: proxies(func(c *Config) *string { return &c.TrustedProxies })},
		{key: "metrics.listen", env: "CANDID_METRICS_LISTEN", def: "", help: "a second address that serves only /metrics (e.g. 127.0.0.1:9464, or :9464 inside a pod network); empty = none", set: str(func(c *Config) *string { return &c.MetricsListen })},
		{key: "metrics.token", env: "CANDID_METRICS_TOKEN", def: "", secret: true, help: "bearer token that /metrics requires (Authorization: Bearer …), at least 16 characters; with neither this nor metrics.listen, /metrics is off on the main address", set: metricsToken(func(c *Config) *string { return &c.MetricsToken })},
		{key: "log.level", def: "info", help: "log level: debug, info, warn, error", set: oneOf(func(c *Config) *string { return &c.LogLevel }, "debug", "info", "warn", "error")},
		{key: "log.format", def: "text", help: "log format: text or json", set: oneOf(func(c *Config) *string { return &c.LogFormat }, "text", "json")},

		{key: "clinic.name", def: "the clinic", help: "the clinic's name, shown to askers", set: str(func(c *Config) *string { return &c.ClinicName })},
		{key: "clinic.booking_url", env: "CANDID_BOOKING_URL", def: "", help: "the clinic's booking page (empty hides the Book a session button)", set: httpURL(func(c *Config) *string { return &c.BookingURL })},
		{key: "clinic.answer_time", def: "within two working days", help: "how soon therapists usually answer, as a phrase", set: str(func(c *Config) *string { return &c.AnswerTime })},
		{key: "clinic.region", env: "CANDID_REGION", def: "INTL", help: "crisis-resource region: US, UK, EU, ES, MX or INTL (INTL gives the common emergency numbers and a helpline finder)", set: oneOf(func(c *Config) *string { return &c.Region }, "US", "UK", "EU", "ES", "MX", "INTL")},
		{key: "clinic.emergency_line", def: "", help: "the line shown under the chat; empty = a default that says to call local emergency services", set: str(func(c *Config) *string { return &c.EmergencyLine })},

		{key: "retention.conversation_days", def: "30", help: "days conversation history and per-asker state are kept", set: intRange(func(c *Config) *int { return &c.RetentionDays }, 1, 365)},
		{key: "retention.ticket_days", def: "30", help: "days a question to a therapist (ticket) and its answer are kept", set: intRange(func(c *Config) *int { return &c.TicketRetentionDays }, 1, 365)},

		{key: "match.answer_threshold", def: "", help: "confidence needed to answer with an FAQ entry (0-1); empty = calibrated default", set: prob(func(c *Config) *float64 { return &c.AnswerThreshold })},
		{key: "match.suggest_threshold", def: "", help: "confidence needed to offer 'did you mean' choices (0-1); empty = calibrated default", set: prob(func(c *Config) *float64 { return &c.SuggestThreshold })},
		{key: "match.embeddings.base_url", env: "CANDID_EMBEDDINGS_BASE_URL", def: "", help: "OpenAI-compatible API base URL including /v1 whose /embeddings adds a semantic signal to matching; empty = lexical only (the default; the thresholds were calibrated without it)", set: httpURL(func(c *Config) *string { return &c.EmbeddingsBaseURL })},
		{key: "match.embeddings.api_key", env: "CANDID_EMBEDDINGS_API_KEY", def: "", secret: true, help: "API key for match.embeddings.base_url (empty for local servers that need none)", set: str(func(c *Config) *string { return &c.EmbeddingsAPIKey })},
		{key: "match.embeddings.model", env: "CANDID_EMBEDDINGS_MODEL", def: "text-embedding-3-small", help: "embedding model; FAQ vectors are cached under the data folder per model", set: str(func(c *Config) *string { return &c.EmbeddingsModel })},
		{key: "match.embeddings.weight", def: "0.5", help: "weight of the embedding cosine in the fused score (0-1)", set: prob(func(c *Config) *float64 { return &c.EmbeddingsWeight })},
		{key: "match.embeddings.timeout_ms", def: "300", help: "milliseconds to wait for a question's embedding before matching it lexically", set: intRange(func(c *Config) *int { return &c.EmbeddingsTimeoutMS }, 10, 10000)},

		{key: "store", def: "bolt", help: "storage backend: bolt (embedded, one process) or redis (several replicas)", set: oneOf(func(c *Config) *string { return &c.Store }, "bolt", "redis")},
		{key: "redis.url", env: "CANDID_REDIS_URL", def: "redis://127.0.0.1:6379/0", help: "Redis URL when store is redis", set: str(func(c *Config) *string { return &c.RedisURL })},

		{key: "limits.tickets_per_hour", def: "5", help: "ordinary questions one asker may send to the therapists per hour (one client address: six times as many); urgent and concern tickets are never limited", set: intRange(func(c *Config) *int { return &c.TicketsPerHour }, 1, 1000)},
		{key: "alerts.oncall_webhook", env: "CANDID_ONCALL_WEBHOOK", def: "", secret: true, help: "Slack-compatible incoming webhook that 'Alert the on-call clinician' posts to for an urgent or concern ticket (tier and link only, never the question); empty = the console says to call them directly", set: httpURL(func(c *Config) *string { return &c.OnCallWebhook })},
		{key: "alerts.urgent_response_minutes", def: "15", help: "how soon the clinic answers an urgent ticket; the console's crisis panel counts down against it", set: intRange(func(c *Config) *int { return &c.UrgentResponseMin }, 1, 1440)},
		{key: "alerts.concern_response_minutes", def: "240", help: "how soon the clinic answers a concern ticket (the crisis panel's clock)", set: intRange(func(c *Config) *int { return &c.ConcernResponseMin }, 1, 10080)},
		{key: "alerts.webhook_url", env: "CANDID_ALERT_WEBHOOK", def: "", help: "Slack-compatible incoming webhook alerted when a ticket opens (no question text is sent)", set: httpURL(func(c *Config) *string { return &c.AlertWebhook })},
		{key: "drafts_dir", def: "", help: "folder where curators' 'turn into FAQ draft' writes YAML files; empty = offer a download", set: str(func(c *Config) *string { return &c.DraftsDir })},

		{key: "telegram.token", env: "CANDID_TELEGRAM_TOKEN", def: "", secret: true, help: "Telegram bot token from BotFather; set it to enable Telegram", set: str(func(c *Config) *string { return &c.TelegramToken })},
		{key: "telegram.api_endpoint", env: "CANDID_TELEGRAM_API_ENDPOINT", def: "https://api.telegram.org/bot%s/%s", help: "Bot API endpoint format (for a self-hosted Bot API server)", set: str(func(c *Config) *string { return &c.TelegramAPIEndpoint })},
		{key: "telegram.webhook", env: "CANDID_TELEGRAM_WEBHOOK", def: "", help: "public webhook URL (…/telegram/webhook); empty = long polling", set: httpURL(func(c *Config) *string { return &c.TelegramWebhook })},
		{key: "telegram.webhook_secret", env: "CANDID_TELEGRAM_WEBHOOK_SECRET", def: "", secret: true, help: "secret_token checked on every webhook request; empty = generated at start", set: str(func(c *Config) *string { return &c.TelegramWebhookSecret })},

		{key: "slack.bot_token", env: "CANDID_SLACK_BOT_TOKEN", def: "", secret: true, help: "Slack bot token (xoxb-…); set it to enable Slack", set: str(func(c *Config) *string { return &c.SlackBotToken })},
		{key: "slack.app_token", env: "CANDID_SLACK_APP_TOKEN", def: "", secret: true, help: "Slack app-level token (xapp-…) for Socket Mode (the default)", set: str(func(c *Config) *string { return &c.SlackAppToken })},
		{key: "slack.signing_secret", env: "CANDID_SLACK_SIGNING_SECRET", def: "", secret: true, help: "Slack signing secret; HTTP mode is used when this is set and the app token is not", set: str(func(c *Config) *string { return &c.SlackSigningSecret })},
		{key: "slack.moderation_channel", env: "CANDID_SLACK_MODERATION_CHANNEL", def: "", help: "channel ID where tickets are posted for moderators", set: str(func(c *Config) *string { return &c.SlackModerationChannel })},
		{key: "slack.moderators", env: "CANDID_SLACK_MODERATORS", def: "", help: "comma-separated Slack user IDs (U…) or user-group IDs (S…) allowed to act on tickets", set: str(func(c *Config) *string { return &c.SlackModerators })},
		{key: "llm.base_url", env: "CANDID_LLM_BASE_URL", def: "", help: "OpenAI-compatible API base URL including /v1 (e.g. http://127.0.0.1:11434/v1); empty = no AI drafts", set: httpURL(func(c *Config) *string { return &c.LLMBaseURL })},
		{key: "llm.api_key", env: "CANDID_LLM_API_KEY", def: "", secret: true, help: "API key for llm.base_url (empty for local servers that need none)", set: str(func(c *Config) *string { return &c.LLMAPIKey })},
		{key: "llm.model", env: "CANDID_LLM_MODEL", def: "gpt-4o-mini", help: "model that drafts answers for moderators to edit and approve", set: str(func(c *Config) *string { return &c.LLMModel })},
		{key: "llm.drafts_per_hour", def: "60", help: "most AI drafts asked for per hour over all tickets (a flood of tickets cannot run up the bill; tickets over it have no draft)", set: intRange(func(c *Config) *int { return &c.LLMDraftsPerHour }, 1, 100000)},
		{key: "slack.api_url", env: "CANDID_SLACK_API_URL", def: "https://slack.com/api/", help: "Slack Web API base URL (for testing against a local server)", set: httpURL(func(c *Config) *string { return &c.SlackAPIURL })},
	}
}

func (f field) envName() string {
	if f.env != "" {
		return f.env
	}
	return "CANDID_" + strings.ToUpper(strings.NewReplacer(".", "_").Replace(f.key))
}

func (f field) flagName() string { return strings.NewReplacer(".", "-", "_", "-").Replace(f.key) }

// Error names the key, where its value came from and what is allowed.
type Error struct {
	Key, Source, Problem string
}

func (e *Error) Error() string {
	return fmt.Sprintf("config: %s (from %s): %s", e.Key, e.Source, e.Problem)
}

// Load builds the configuration from defaults, the YAML file (--config or
// CANDID_CONFIG), the environment and the flags in args. It returns the
// arguments left after the flags.
func Load(name string, args []string, getenv func(string) string, stderr io.Writer) (*Config, []string, error) {
	c := &Config{}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	flagVals := map[string]*string{}
	all := fields()
	for _, f := range all {
		flagVals[f.key] = fs.String(f.flagName(), "", fmt.Sprintf("%s (env %s, default %q)", f.help, f.envName(), f.def))
	}
	cfgFile := fs.String("config", "", "YAML configuration file (env CANDID_CONFIG)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: candid %s [flags]\n\nFlags override CANDID_* environment variables, which override the YAML file.\n\n", name)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	for _, f := range all {
		if err := f.set(c, f.def); err != nil {
			panic(fmt.Sprintf("config: bad default for %s: %v", f.key, err))
		}
	}
	file := *cfgFile
	if file == "" {
		file = getenv("CANDID_CONFIG")
	}
	if file != "" {
		vals, err := readFile(file)
		if err != nil {
			return nil, nil, err
		}
		for _, f := range all {
			if v, ok := vals[f.key]; ok {
				if err := f.set(c, v); err != nil {
					return nil, nil, &Error{Key: f.key, Source: file, Problem: err.Error()}
				}
				delete(vals, f.key)
			}
		}
		for k := range vals {
			return nil, nil, &Error{Key: k, Source: file, Problem: "unknown key; run `candid config` for the list of keys"}
		}
		c.ConfigFile = file
	}
	for _, f := range all {
		if v := getenv(f.envName()); v != "" {
			if err := f.set(c, v); err != nil {
				return nil, nil, &Error{Key: f.key, Source: "environment variable " + f.envName(), Problem: err.Error()}
			}
		}
	}
	for _, f := range all {
		if set[f.flagName()] {
			if err := f.set(c, *flagVals[f.key]); err != nil {
				return nil, nil, &Error{Key: f.key, Source: "flag --" + f.flagName(), Problem: err.Error()}
			}
		}
	}
	if err := c.check(); err != nil {
		return nil, nil, err
	}
	return c, fs.Args(), nil
}

// check validates rules that span keys.
func (c *Config) check() error {
	if c.AnswerThreshold > 0 && c.SuggestThreshold > 0 && c.SuggestThreshold > c.AnswerThreshold {
		return &Error{Key: "match.suggest_threshold", Source: "configuration", Problem: "must not be above match.answer_threshold"}
	}
	if c.Data == "" {
		return &Error{Key: "data", Source: "configuration", Problem: "must not be empty"}
	}
	return nil
}

// MaxFileSize bounds the configuration file.
const MaxFileSize = 1 << 20

// readFile reads a YAML file into dotted keys.
func readFile(path string) (map[string]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("config: cannot read %s: %w", path, err)
	}
	if st.Size() > MaxFileSize {
		return nil, fmt.Errorf("config: %s is %d bytes; a configuration file may be at most %d", path, st.Size(), MaxFileSize)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: cannot read %s: %w", path, err)
	}
	return parseYAML(path, data)
}

func parseYAML(path string, data []byte) (map[string]string, error) {
	out := map[string]string{}
	if len(bytes.TrimSpace(data)) == 0 {
		return out, nil
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("config: %s is not valid YAML: %v", path, err)
	}
	if len(root.Content) == 0 {
		return out, nil
	}
	var walk func(prefix string, n *yaml.Node) error
	walk = func(prefix string, n *yaml.Node) error {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i].Value
				if prefix != "" {
					k = prefix + "." + k
				}
				if err := walk(k, n.Content[i+1]); err != nil {
					return err
				}
			}
		case yaml.ScalarNode:
			if prefix == "" {
				return fmt.Errorf("config: %s: the file must be a mapping of keys to values", path)
			}
			out[prefix] = n.Value
		case yaml.SequenceNode:
			var parts []string
			for _, it := range n.Content {
				if it.Kind != yaml.ScalarNode {
					return fmt.Errorf("config: %s:%d: %s: a list may hold only plain values", path, it.Line, prefix)
				}
				parts = append(parts, it.Value)
			}
			out[prefix] = strings.Join(parts, ",")
		default:
			return fmt.Errorf("config: %s:%d: %s: anchors and aliases are not supported", path, n.Line, prefix)
		}
		return nil
	}
	if err := walk("", root.Content[0]); err != nil {
		return nil, err
	}
	return out, nil
}

// Reference writes every key with its env var, flag, default and help.
func Reference(w io.Writer) {
	fmt.Fprintln(w, "| key (YAML) | environment | flag | default | meaning |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, f := range fields() {
		def := f.def
		if def == "" {
			def = "(empty)"
		}
		help := f.help
		if f.secret {
			help += " **Secret:** set it in the environment, not in a file kept in git."
		}
		fmt.Fprintf(w, "| `%s` | `%s` | `--%s` | `%s` | %s |\n", f.key, f.envName(), f.flagName(), def, help)
	}
}

// Keys lists the YAML keys (sorted), for tests and docs.
func Keys() []string {
	var ks []string
	for _, f := range fields() {
		ks = append(ks, f.key)
	}
	sort.Strings(ks)
	return ks
}
