// Package staff owns the clinic's accounts for the console and the staff
// API: names and roles, passwords (argon2id), console sessions, API bearer
// tokens, login rate limits, and the admin socket through which the CLI
// manages accounts while the server holds the data file.
//
// Only hashes are stored: of passwords (argon2id), of session IDs and of API
// tokens (SHA-256, which suffices for 256-bit random secrets).
package staff

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"runtime"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/candid-app/candid/internal/moderation"
	"github.com/candid-app/candid/internal/ratelimit"
	"github.com/candid-app/candid/internal/store"
)

// Errors the service returns (wrapped). The console maps ErrBadLogin,
// ErrNoSession and ErrBadToken to 401, ErrRateLimited to 429, ErrInvalid to
// 422, ErrExists to 409 and ErrNotFound to 404.
var (
	ErrBadLogin    = errors.New("wrong name or password")
	ErrRateLimited = errors.New("too many login attempts: wait 15 minutes and try again")
	// ErrBusy: too many logins are being checked at once; retry in a
	// few seconds.
	ErrBusy      = errors.New("too many logins at once: try again in a few seconds")
	ErrNoSession = errors.New("not signed in, or the session expired: sign in again")
	ErrBadToken  = errors.New("the API token is not valid: create one with `candid user token NAME`")
	ErrInvalid   = errors.New("invalid staff account")
	ErrExists    = errors.New("a staff account with that name already exists")
	ErrNotFound  = store.ErrNotFound
)

// Store is the subset of store.Store the staff service uses.
type Store interface {
	PutStaff(ctx context.Context, s store.Staff) error
	Staff(ctx context.Context, name string) (store.Staff, error)
	ListStaff(ctx context.Context) ([]store.Staff, error)
	DeleteStaff(ctx context.Context, name string) error
	PutSession(ctx context.Context, s store.Session) error
	Session(ctx context.Context, idHash string) (store.Session, error)
	DeleteSession(ctx context.Context, idHash string) error
	PutToken(ctx context.Context, t store.APIToken) error
	Token(ctx context.Context, tokenHash string) (store.APIToken, error)
	Tokens(ctx context.Context, staff string) ([]store.APIToken, error)
	DeleteToken(ctx context.Context, tokenHash string) error
}

// Options configure a Service. Only Store is required.
type Options struct {
	Store  Store
	Logger *slog.Logger
	Now    func() time.Time
	// SessionTTL is how long a console session lasts (default 12h).
	SessionTTL time.Duration
	// LoginAttempts is how many failed logins one name may have from one
	// client in LoginWindow before further attempts are refused (default 5).
	LoginAttempts int
	// Failures counts the failed logins over LoginWindow. Nil: in memory,
	// per process. Several replicas pass a shared one
	// (redisstore.Store.Window), or a guesser would get the attempts of
	// every replica.
	Failures Failures
	// GlobalFailures is how many failed logins over all names and
	// addresses are allowed in LoginWindow before every login waits for the
	// window to pass (default 300).
	GlobalFailures int
	// MaxHashing caps the password checks that run at once (argon2id takes
	// 19 MiB each): a flood of logins beyond it is refused with ErrBusy
	// instead of taking the memory and CPU that askers need. Default: half
	// the cores (at least one).
	MaxHashing int
}

// Failures counts events per key over a sliding window: ratelimit.Window
// in memory, or redisstore.Window shared by replicas.
type Failures interface {
	Count(ctx context.Context, key string) int
	Add(ctx context.Context, key string)
	Reset(ctx context.Context, key string)
}

var _ Failures = (*ratelimit.Window)(nil)

// LoginWindow is the rate-limit window for failed logins.
const LoginWindow = 15 * time.Minute

// Limits on what a caller may send.
const (
	maxPassword   = 1024 // argon2 over megabytes would be a cheap DoS
	maxCredential = 256  // session IDs and tokens are far shorter
	passwordBytes = 15   // 120 bits, 20 base32 characters
	secretBytes   = 32
	tokenPrefix   = "cnd_"
)

var nameRE = regexp.MustCompile(`^[a-z0-9._-]{2,32}$`)

// Service manages staff accounts, sessions and tokens. It is safe for
// concurrent use.
type Service struct {
	st        Store
	log       *slog.Logger
	warn      *throttledLog // refusals, which a flood repeats
	now       func() time.Time
	ttl       time.Duration
	attempts  int
	global    int
	params    hashParams
	dummyHash string        // verified for unknown names, so timing does not tell
	failures  Failures      // name+client and client → recent failed logins
	hashing   chan struct{} // one slot per password check running
}

// addressFactor: one client address may fail this many times the
// per-name attempts in LoginWindow, whatever names it tries, so spraying
// many names is limited too.
const addressFactor = 10

// globalFailKey is the failure window's key for every login; like the
// address keys it starts with a NUL, which no account name can.
const globalFailKey = "\x00global"

// New returns a Service.
func New(opts Options) (*Service, error) {
	if opts.Store == nil {
		return nil, errors.New("staff: Options.Store is required")
	}
	s := &Service{
		st:       opts.Store,
		log:      opts.Logger,
		now:      opts.Now,
		ttl:      opts.SessionTTL,
		attempts: opts.LoginAttempts,
		global:   cmp.Or(opts.GlobalFailures, 300),
		params:   defaultParams,
		failures: opts.Failures,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.warn = &throttledLog{log: s.log, every: time.Minute, now: s.now}
	if s.ttl <= 0 {
		s.ttl = 12 * time.Hour
	}
	if s.attempts <= 0 {
		s.attempts = 5
	}
	if s.failures == nil {
		s.failures = ratelimit.NewWindow(LoginWindow, s.now)
	}
	if opts.MaxHashing <= 0 {
		// Half the cores: a burst of password checks (a flood within the
		// failure budgets) leaves the other half to the askers.
		opts.MaxHashing = max(1, runtime.NumCPU()/2)
	}
	s.hashing = make(chan struct{}, opts.MaxHashing)
	s.dummyHash = s.params.hash(randomString(passwordBytes))
	return s, nil
}

// ValidName reports whether name is an acceptable account name.
func ValidName(name string) bool { return nameRE.MatchString(name) }

func checkNameRole(name, role string) error {
	if !ValidName(name) {
		return fmt.Errorf("%w: the name must be 2 to 32 characters of a-z, 0-9, '.', '_' or '-'", ErrInvalid)
	}
	if !moderation.ValidRole(role) {
		return fmt.Errorf("%w: the role must be moderator, curator or admin", ErrInvalid)
	}
	return nil
}

// Add creates an account and returns its generated password, which is shown
// once and never stored.
func (s *Service) Add(ctx context.Context, name, role string) (string, error) {
	if err := checkNameRole(name, role); err != nil {
		return "", err
	}
	if _, err := s.st.Staff(ctx, name); err == nil {
		return "", fmt.Errorf("%w: %s (remove it first, or reset its password)", ErrExists, name)
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("staff: look up %s: %w", name, err)
	}
	pw := randomString(passwordBytes)
	st := store.Staff{Name: name, Role: role, PasswordHash: s.params.hash(pw), CreatedAt: s.now()}
	if err := s.st.PutStaff(ctx, st); err != nil {
		return "", fmt.Errorf("staff: save %s: %w", name, err)
	}
	s.log.Info("staff: account added", "name", name, "role", role)
	return pw, nil
}

// Remove deletes an account with its sessions and API tokens.
func (s *Service) Remove(ctx context.Context, name string) error {
	if _, err := s.lookup(ctx, name); err != nil {
		return err
	}
	if err := s.st.DeleteStaff(ctx, name); err != nil {
		return fmt.Errorf("staff: remove %s: %w", name, err)
	}
	s.log.Info("staff: account removed", "name", name)
	return nil
}

func (s *Service) lookup(ctx context.Context, name string) (store.Staff, error) {
	if !ValidName(name) {
		return store.Staff{}, fmt.Errorf("staff: no account named %.40q: %w", name, ErrNotFound)
	}
	st, err := s.st.Staff(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return store.Staff{}, fmt.Errorf("staff: no account named %q (see `candid user list`): %w", name, ErrNotFound)
	}
	if err != nil {
		return store.Staff{}, fmt.Errorf("staff: look up %s: %w", name, err)
	}
	return st, nil
}

// List returns all accounts without their password hashes.
func (s *Service) List(ctx context.Context) ([]store.Staff, error) {
	all, err := s.st.ListStaff(ctx)
	if err != nil {
		return nil, fmt.Errorf("staff: list accounts: %w", err)
	}
	for i := range all {
		all[i].PasswordHash = ""
	}
	return all, nil
}

// ResetPassword gives an account a new generated password. Because a reset
// usually means the old one leaked, it also ends the account's sessions and
// revokes its API tokens (the account is re-created with the same name,
// role and creation time).
func (s *Service) ResetPassword(ctx context.Context, name string) (string, error) {
	st, err := s.lookup(ctx, name)
	if err != nil {
		return "", err
	}
	pw := randomString(passwordBytes)
	st.PasswordHash = s.params.hash(pw)
	if err := s.st.DeleteStaff(ctx, name); err != nil {
		return "", fmt.Errorf("staff: reset %s: %w", name, err)
	}
	if err := s.st.PutStaff(ctx, st); err != nil {
		return "", fmt.Errorf("staff: reset %s: the old account was removed but the new password could not be saved (run the reset again): %w", name, err)
	}
	s.log.Info("staff: password reset", "name", name)
	return pw, nil
}

// Token lifetimes: a new token lasts DefaultTokenTTL unless asked
// otherwise, and never more than MaxTokenTTL, so a token copied into a
// script and forgotten stops working by itself.
const (
	DefaultTokenTTL = 90 * 24 * time.Hour
	MaxTokenTTL     = 365 * 24 * time.Hour
)

// NewToken creates an API bearer token for an account that lasts
// DefaultTokenTTL. Only its hash is stored; the token is shown once.
func (s *Service) NewToken(ctx context.Context, name string) (string, error) {
	tok, _, err := s.NewTokenTTL(ctx, name, DefaultTokenTTL)
	return tok, err
}

// NewTokenTTL creates an API bearer token that lasts ttl (a minute up to
// MaxTokenTTL) and returns it with its record (ID, expiry).
func (s *Service) NewTokenTTL(ctx context.Context, name string, ttl time.Duration) (string, store.APIToken, error) {
	if ttl < time.Minute || ttl > MaxTokenTTL {
		return "", store.APIToken{}, fmt.Errorf("%w: a token lasts from a minute up to %d days", ErrInvalid, int(MaxTokenTTL.Hours()/24))
	}
	st, err := s.lookup(ctx, name)
	if err != nil {
		return "", store.APIToken{}, err
	}
	if st.Disabled {
		return "", store.APIToken{}, fmt.Errorf("%w: %s is disabled", ErrInvalid, name)
	}
	tok := tokenPrefix + randomSecret()
	now := s.now().UTC()
	rec := store.APIToken{Hash: hashSecret(tok), Staff: name, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := s.st.PutToken(ctx, rec); err != nil {
		return "", store.APIToken{}, fmt.Errorf("staff: save the token: %w", err)
	}
	s.log.Info("staff: API token created", "name", name, "token_id", rec.ID(), "expires", rec.ExpiresAt.Format(time.DateOnly))
	return tok, rec, nil
}

// Tokens lists an account's API tokens (IDs and dates; never the tokens).
func (s *Service) Tokens(ctx context.Context, name string) ([]store.APIToken, error) {
	if _, err := s.lookup(ctx, name); err != nil {
		return nil, err
	}
	ts, err := s.st.Tokens(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("staff: list the tokens: %w", err)
	}
	for i := range ts {
		ts[i].Hash = ts[i].ID() // the full hash stays in the store
	}
	return ts, nil
}

// RevokeToken deletes one of an account's tokens by its ID (APIToken.ID).
func (s *Service) RevokeToken(ctx context.Context, name, id string) error {
	if len(id) < 8 || len(id) > 64 {
		return fmt.Errorf("%w: give the token ID that candid user token --list shows", ErrInvalid)
	}
	if _, err := s.lookup(ctx, name); err != nil {
		return err
	}
	ts, err := s.st.Tokens(ctx, name)
	if err != nil {
		return fmt.Errorf("staff: list the tokens: %w", err)
	}
	for _, t := range ts {
		if strings.HasPrefix(t.Hash, id) {
			if err := s.st.DeleteToken(ctx, t.Hash); err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("staff: revoke the token: %w", err)
			}
			s.log.Info("staff: API token revoked", "name", name, "token_id", t.ID())
			return nil
		}
	}
	return fmt.Errorf("%w: %s has no token %s (candid user token --list %s shows them)", ErrNotFound, name, id, name)
}

// Login checks a name and password and starts a session. It returns the
// session ID (for the cookie) and the session's CSRF token. Unknown names
// and wrong passwords get the same ErrBadLogin after the same work; failed
// attempts per name and client (clientKey: the client's IP, say) are
// limited to LoginAttempts per LoginWindow.
func (s *Service) Login(ctx context.Context, name, password, clientKey string) (sessionID, csrf string, err error) {
	key, addrKey := loginKeys(name, clientKey)
	// The slot comes first: a login refused as busy costs the name none
	// of its attempts.
	select {
	case s.hashing <- struct{}{}:
		defer func() { <-s.hashing }()
	default:
		s.warn.Warn("staff: login refused: too many password checks at once")
		return "", "", ErrBusy
	}
	// A failure is reserved before the password is checked and given back
	// only on success, so parallel guesses cannot all pass the check
	// before any of them is counted.
	if !s.reserve(ctx, key, s.attempts) {
		s.warn.Warn("staff: login rate-limited")
		return "", "", ErrRateLimited
	}
	if !s.reserve(ctx, addrKey, addressFactor*s.attempts) {
		s.warn.Warn("staff: login rate-limited for a client address")
		return "", "", ErrRateLimited
	}
	// The global budget bounds a spray from many addresses (a botnet, or
	// addresses forged behind a misconfigured proxy). A success does not
	// give it back: it counts everyone's failures.
	if !s.reserve(ctx, globalFailKey, s.global) {
		s.warn.Warn("staff: login refused: the service-wide budget of failed logins is spent; someone may be guessing passwords", "budget", s.global, "window", LoginWindow)
		return "", "", ErrRateLimited
	}
	var st store.Staff
	lerr := store.ErrNotFound // a name that cannot exist is not looked up
	if ValidName(name) {
		st, lerr = s.st.Staff(ctx, name)
		if lerr != nil && !errors.Is(lerr, store.ErrNotFound) {
			return "", "", fmt.Errorf("staff: login: %w", lerr)
		}
	}
	hash := st.PasswordHash
	if lerr != nil || hash == "" {
		hash = s.dummyHash
	}
	// The argon2 work is done whatever the name, so timing does not say
	// whether an account exists.
	ok := len(password) <= maxPassword && verify(hash, password)
	if lerr != nil || !ok || st.Disabled {
		s.log.Info("staff: login failed") // the reserved failures stand
		return "", "", ErrBadLogin
	}
	// Success gives the reservations back: staff signing in from one
	// office (one address behind an untrusted proxy) never lock it.
	s.failures.Reset(ctx, key)
	s.failures.Reset(ctx, addrKey)
	sessionID, csrf = randomSecret(), randomSecret()
	now := s.now()
	se := store.Session{IDHash: hashSecret(sessionID), Staff: st.Name, CSRF: csrf, CreatedAt: now, ExpiresAt: now.Add(s.ttl)}
	if err := s.st.PutSession(ctx, se); err != nil {
		return "", "", fmt.Errorf("staff: save the session: %w", err)
	}
	s.log.Info("staff: signed in", "name", st.Name)
	return sessionID, csrf, nil
}

// loginKeys are the failure counters' keys for a name from a client, and
// for the client alone.
func loginKeys(name, clientKey string) (key, addrKey string) {
	key = name + "\x00" + clientKey
	if len(key) > 512 {
		key = key[:512]
	}
	// A name key starts with the name; the address key starts with a NUL,
	// which no account name (ValidName) can, so no account shares it.
	addrKey = "\x00addr\x00" + clientKey
	if len(addrKey) > 512 {
		addrKey = addrKey[:512]
	}
	return key, addrKey
}

// LoginRefused reports, without counting anything, whether Login would now
// refuse name from clientKey because a failure budget (the name's, the
// address's or the service-wide one) is spent. The console asks first, so
// that a flood of guesses costs a counter read each, not a store write for
// its one-use form token and not a password check.
func (s *Service) LoginRefused(ctx context.Context, name, clientKey string) bool {
	key, addrKey := loginKeys(name, clientKey)
	return s.failures.Count(ctx, globalFailKey) >= s.global ||
		s.failures.Count(ctx, addrKey) >= addressFactor*s.attempts ||
		s.failures.Count(ctx, key) >= s.attempts
}

// reserve counts one failure for key unless key already has limit; it
// reports false when the attempt must be refused (the limit was reached
// before, or by a parallel attempt that reserved first).
func (s *Service) reserve(ctx context.Context, key string, limit int) bool {
	if s.failures.Count(ctx, key) >= limit {
		return false
	}
	s.failures.Add(ctx, key)
	return s.failures.Count(ctx, key) <= limit
}

// Session returns the actor and session for a session ID (the cookie).
func (s *Service) Session(ctx context.Context, sessionID string) (moderation.Actor, store.Session, error) {
	if sessionID == "" || len(sessionID) > maxCredential {
		return moderation.Actor{}, store.Session{}, ErrNoSession
	}
	h := hashSecret(sessionID)
	se, err := s.st.Session(ctx, h)
	if errors.Is(err, store.ErrNotFound) {
		return moderation.Actor{}, store.Session{}, ErrNoSession
	}
	if err != nil {
		return moderation.Actor{}, store.Session{}, fmt.Errorf("staff: read the session: %w", err)
	}
	if !s.now().Before(se.ExpiresAt) {
		_ = s.st.DeleteSession(ctx, h)
		return moderation.Actor{}, store.Session{}, ErrNoSession
	}
	a, err := s.actor(ctx, se.Staff)
	if err != nil {
		if errors.Is(err, errGone) {
			return moderation.Actor{}, store.Session{}, ErrNoSession
		}
		return moderation.Actor{}, store.Session{}, err
	}
	return a, se, nil
}

var errGone = errors.New("account removed or disabled")

func (s *Service) actor(ctx context.Context, name string) (moderation.Actor, error) {
	st, err := s.st.Staff(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return moderation.Actor{}, errGone
	}
	if err != nil {
		return moderation.Actor{}, fmt.Errorf("staff: read the account: %w", err)
	}
	if st.Disabled {
		return moderation.Actor{}, errGone
	}
	return moderation.Actor{Name: st.Name, Role: st.Role}, nil
}

// Token returns the actor for an API bearer token.
func (s *Service) Token(ctx context.Context, token string) (moderation.Actor, error) {
	if !strings.HasPrefix(token, tokenPrefix) || len(token) > maxCredential {
		return moderation.Actor{}, ErrBadToken
	}
	rec, err := s.st.Token(ctx, hashSecret(token))
	if errors.Is(err, store.ErrNotFound) {
		return moderation.Actor{}, ErrBadToken
	}
	if err != nil {
		return moderation.Actor{}, fmt.Errorf("staff: check the token: %w", err)
	}
	if !rec.ExpiresAt.IsZero() && !s.now().Before(rec.ExpiresAt) {
		return moderation.Actor{}, ErrBadToken
	}
	a, err := s.actor(ctx, rec.Staff)
	if errors.Is(err, errGone) {
		return moderation.Actor{}, ErrBadToken
	}
	return a, err
}

// Logout ends a session. Ending one that does not exist is not an error.
func (s *Service) Logout(ctx context.Context, sessionID string) error {
	if sessionID == "" || len(sessionID) > maxCredential {
		return nil
	}
	err := s.st.DeleteSession(ctx, hashSecret(sessionID))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("staff: end the session: %w", err)
	}
	return nil
}

// ---- secrets ----

// randomSecret returns 256 random bits, URL-safe.
func randomSecret() string {
	b := make([]byte, secretBytes)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// randomString returns a password of n random bytes in lower-case base32
// (no padding): easy to type, no look-alike symbols.
func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

func hashSecret(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// ---- argon2id ----

// hashParams are argon2id's cost parameters; defaultParams follow OWASP's
// recommendation (19 MiB, 2 passes, 1 lane).
type hashParams struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
}

var defaultParams = hashParams{memory: 19 * 1024, time: 2, threads: 1}

// hash returns a PHC-format argon2id hash of password.
func (p hashParams) hash(password string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, p.time, p.memory, p.threads, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.memory, p.time, p.threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// verify checks password against a PHC argon2id hash in constant time.
func verify(encoded, password string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	var p hashParams
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &p.threads); err != nil {
		return false
	}
	// Refuse absurd parameters from a tampered record.
	if p.memory == 0 || p.memory > 1<<21 || p.time == 0 || p.time > 16 || p.threads == 0 {
		return false
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 || len(want) > 128 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, p.time, p.memory, p.threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}
