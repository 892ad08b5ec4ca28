// Package clientip owns one question: which address an HTTP request came
// from. Per-client rate limits (the web chat's and the console's login
// limit) key on it. Behind a reverse proxy every request arrives from the
// proxy, so without this every asker would share one client budget and one
// noisy person could exhaust it for all; trusting X-Forwarded-For from
// anyone, on the other hand, would let a client pick a fresh address for
// every request. So the header is read only when the request comes from a
// proxy the operator named.
package clientip

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver finds a request's client address. The zero value and a nil
// *Resolver trust no proxy: the address is the connection's.
type Resolver struct {
	trusted []netip.Prefix
}

// Parse reads a comma-separated list of proxy addresses or CIDR ranges
// ("10.0.0.0/8, 127.0.0.1, ::1"). An empty list trusts no proxy.
func Parse(list string) (*Resolver, error) {
	r := &Resolver{}
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			r.trusted = append(r.trusted, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q is neither an IP address nor a CIDR range such as 10.0.0.0/8", f)
		}
		a = a.Unmap()
		r.trusted = append(r.trusted, netip.PrefixFrom(a, a.BitLen()))
	}
	return r, nil
}

// Trusts reports whether a is one of the trusted proxies.
func (r *Resolver) Trusts(a netip.Addr) bool {
	if r == nil {
		return false
	}
	a = a.Unmap()
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Addr is the client address of req. When the connection comes from a
// trusted proxy, X-Forwarded-For is read from the right (each proxy appends
// the address it saw): the first address that is not a trusted proxy is the
// client. An entry that is not an address ends the walk at the last hop
// that was trusted, since anything left of it may be forged.
func (r *Resolver) Addr(req *http.Request) string {
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		host = req.RemoteAddr
	}
	remote, err := netip.ParseAddr(host)
	if err != nil || !r.Trusts(remote) {
		return host
	}
	var hops []string
	for _, v := range req.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	last := remote.Unmap()
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		a = a.Unmap()
		if !r.Trusts(a) {
			return a.String()
		}
		last = a
	}
	return last.String()
}
