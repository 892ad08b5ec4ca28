package staff

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/candid-app/candid/internal/store"
)

// The admin socket lets `candid user …` manage accounts while `candid serve`
// holds the data file (bbolt lets one process open it). It is a Unix socket
// in the data directory: mode 0600 in a 0700 directory, and on Linux every
// connection's peer must run as the server's user (or root). The protocol is
// JSON over HTTP: POST /v1/{add,remove,list,reset,token}.

// SocketName is the admin socket's file name in the data directory.
const SocketName = "admin.sock"

// ErrNoServer: nothing listens on the admin socket, so the CLI may open the
// store itself.
var ErrNoServer = errors.New("no running candid server is listening on the admin socket")

type adminRequest struct {
	Name string `json:"name,omitempty"`
	Role string `json:"role,omitempty"`
	// TTL is a new token's lifetime in seconds (0: DefaultTokenTTL); ID
	// names the token to revoke.
	TTL int64  `json:"ttl_seconds,omitempty"`
	ID  string `json:"id,omitempty"`
}

type adminResponse struct {
	Password string        `json:"password,omitempty"`
	Token    string        `json:"token,omitempty"`
	Staff    []store.Staff `json:"staff,omitempty"`
	// TokenInfo is the new token's record (its ID and expiry); Tokens an
	// account's tokens, by ID.
	TokenInfo *store.APIToken  `json:"token_info,omitempty"`
	Tokens    []store.APIToken `json:"tokens,omitempty"`
	Error     string           `json:"error,omitempty"`
	Code      string           `json:"code,omitempty"` // not_found, exists, invalid, internal
}

// ServeAdmin serves the admin socket at path until ctx is done, then removes
// it. It refuses to start when another server already answers there.
func ServeAdmin(ctx context.Context, path string, svc *Service, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("staff: admin socket: create %s: %w", dir, err)
	}
	if st, err := os.Stat(dir); err == nil && st.Mode().Perm()&0o077 != 0 {
		log.Warn("staff: the data directory is accessible to other users; the admin socket itself is still owner-only (run chmod 700 on it)", "dir", dir)
	}
	if st, err := os.Lstat(path); err == nil {
		if st.Mode()&os.ModeSocket == 0 {
			return fmt.Errorf("staff: admin socket: %s exists and is not a socket; move it away", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return fmt.Errorf("staff: admin socket: another candid server is already running with this data directory (%s answers)", path)
		}
		// A stale socket left by a server that crashed.
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("staff: admin socket: remove the stale %s: %w", path, err)
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("staff: admin socket: listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("staff: admin socket: chmod %s: %w", path, err)
	}
	srv := &http.Server{
		Handler:           adminHandler(svc, log),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(peerListener{Listener: ln, log: log}) }()
	log.Info("staff: admin socket listening", "path", path)
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = srv.Shutdown(sctx)
		<-done
	case err = <-done:
	}
	// net.UnixListener removes the file on Close; make sure.
	if rerr := os.Remove(path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		log.Warn("staff: could not remove the admin socket", "err", rerr)
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("staff: admin socket: %w", err)
	}
	return nil
}

// peerListener drops connections from other users (see peerAllowed).
type peerListener struct {
	net.Listener
	log *slog.Logger
}

func (l peerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if peerAllowed(c) {
			return c, nil
		}
		l.log.Warn("staff: admin socket refused a connection from another user")
		c.Close()
	}
}

func adminHandler(svc *Service, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	handle := func(op string, f func(ctx context.Context, req adminRequest) (adminResponse, error)) {
		mux.HandleFunc("POST /v1/"+op, func(w http.ResponseWriter, r *http.Request) {
			var req adminRequest
			body := http.MaxBytesReader(w, r.Body, 64<<10)
			if err := json.NewDecoder(body).Decode(&req); err != nil && !errors.Is(err, io.EOF) {
				writeAdmin(w, http.StatusBadRequest, adminResponse{Error: "the request is not valid JSON", Code: "invalid"})
				return
			}
			resp, err := f(r.Context(), req)
			if err != nil {
				status, code := http.StatusInternalServerError, "internal"
				switch {
				case errors.Is(err, ErrNotFound):
					status, code = http.StatusNotFound, "not_found"
				case errors.Is(err, ErrExists):
					status, code = http.StatusConflict, "exists"
				case errors.Is(err, ErrInvalid):
					status, code = http.StatusUnprocessableEntity, "invalid"
				default:
					log.Error("staff: admin socket", "op", op, "err", err)
				}
				writeAdmin(w, status, adminResponse{Error: err.Error(), Code: code})
				return
			}
			writeAdmin(w, http.StatusOK, resp)
		})
	}
	handle("add", func(ctx context.Context, req adminRequest) (adminResponse, error) {
		pw, err := svc.Add(ctx, req.Name, req.Role)
		return adminResponse{Password: pw}, err
	})
	handle("remove", func(ctx context.Context, req adminRequest) (adminResponse, error) {
		return adminResponse{}, svc.Remove(ctx, req.Name)
	})
	handle("list", func(ctx context.Context, req adminRequest) (adminResponse, error) {
		all, err := svc.List(ctx)
		return adminResponse{Staff: all}, err
	})
	handle("reset", func(ctx context.Context, req adminRequest) (adminResponse, error) {
		pw, err := svc.ResetPassword(ctx, req.Name)
		return adminResponse{Password: pw}, err
	})
	handle("token", func(ctx context.Context, req adminRequest) (adminResponse, error) {
		ttl := DefaultTokenTTL
		if req.TTL != 0 {
			ttl = time.Duration(req.TTL) * time.Second
		}
		tok, rec, err := svc.NewTokenTTL(ctx, req.Name, ttl)
		return adminResponse{Token: tok, TokenInfo: &rec}, err
	})
	handle("tokens", func(ctx context.Context, req adminRequest) (adminResponse, error) {
		ts, err := svc.Tokens(ctx, req.Name)
		return adminResponse{Tokens: ts}, err
	})
	handle("revoke", func(ctx context.Context, req adminRequest) (adminResponse, error) {
		return adminResponse{}, svc.RevokeToken(ctx, req.Name, req.ID)
	})
	return mux
}

func writeAdmin(w http.ResponseWriter, status int, resp adminResponse) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(resp)
}

// AdminClient manages staff accounts through a running server's admin
// socket. Its methods mirror the Service's; errors wrap the same sentinels
// (ErrNotFound, ErrExists, ErrInvalid).
type AdminClient struct {
	path string
	http *http.Client
}

// Dial connects to the admin socket at path. It returns an error wrapping
// ErrNoServer when nothing listens there; the CLI then opens the store
// itself.
func Dial(path string) (*AdminClient, error) {
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err != nil {
		return nil, fmt.Errorf("%w (%s): %v", ErrNoServer, path, err)
	}
	c.Close()
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
		DisableKeepAlives: true,
	}
	return &AdminClient{path: path, http: &http.Client{Transport: tr, Timeout: 30 * time.Second}}, nil
}

// adminError is an error reported by the server, matching the sentinel it
// was built from.
type adminError struct {
	msg  string
	kind error
}

func (e *adminError) Error() string { return e.msg }
func (e *adminError) Unwrap() error { return e.kind }

func (c *AdminClient) call(ctx context.Context, op string, req adminRequest) (adminResponse, error) {
	body, _ := json.Marshal(req)
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://candid-admin/v1/"+op, bytes.NewReader(body))
	if err != nil {
		return adminResponse{}, err
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(hr)
	if err != nil {
		return adminResponse{}, fmt.Errorf("staff: admin socket %s: %w", c.path, err)
	}
	defer resp.Body.Close()
	var out adminResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(&out); err != nil {
		return adminResponse{}, fmt.Errorf("staff: admin socket %s: unreadable reply (is it a candid server of the same version?): %w", c.path, err)
	}
	if resp.StatusCode != http.StatusOK {
		kind := map[string]error{"not_found": ErrNotFound, "exists": ErrExists, "invalid": ErrInvalid}[out.Code]
		if out.Error == "" {
			out.Error = resp.Status
		}
		return adminResponse{}, &adminError{msg: out.Error, kind: kind}
	}
	return out, nil
}

// Add creates an account on the running server and returns its password.
func (c *AdminClient) Add(ctx context.Context, name, role string) (string, error) {
	r, err := c.call(ctx, "add", adminRequest{Name: name, Role: role})
	return r.Password, err
}

// Remove deletes an account with its sessions and tokens.
func (c *AdminClient) Remove(ctx context.Context, name string) error {
	_, err := c.call(ctx, "remove", adminRequest{Name: name})
	return err
}

// List returns the accounts (without password hashes).
func (c *AdminClient) List(ctx context.Context) ([]store.Staff, error) {
	r, err := c.call(ctx, "list", adminRequest{})
	return r.Staff, err
}

// ResetPassword sets a new generated password and returns it.
func (c *AdminClient) ResetPassword(ctx context.Context, name string) (string, error) {
	r, err := c.call(ctx, "reset", adminRequest{Name: name})
	return r.Password, err
}

// NewToken creates an API token that lasts DefaultTokenTTL and returns it.
func (c *AdminClient) NewToken(ctx context.Context, name string) (string, error) {
	tok, _, err := c.NewTokenTTL(ctx, name, DefaultTokenTTL)
	return tok, err
}

// NewTokenTTL creates an API token that lasts ttl.
func (c *AdminClient) NewTokenTTL(ctx context.Context, name string, ttl time.Duration) (string, store.APIToken, error) {
	r, err := c.call(ctx, "token", adminRequest{Name: name, TTL: int64(ttl / time.Second)})
	var rec store.APIToken
	if r.TokenInfo != nil {
		rec = *r.TokenInfo
	}
	return r.Token, rec, err
}

// Tokens lists an account's tokens by ID.
func (c *AdminClient) Tokens(ctx context.Context, name string) ([]store.APIToken, error) {
	r, err := c.call(ctx, "tokens", adminRequest{Name: name})
	return r.Tokens, err
}

// RevokeToken deletes one token by its ID.
func (c *AdminClient) RevokeToken(ctx context.Context, name, id string) error {
	_, err := c.call(ctx, "revoke", adminRequest{Name: name, ID: id})
	return err
}

// Close releases the client's resources.
func (c *AdminClient) Close() error {
	c.http.CloseIdleConnections()
	return nil
}
