package server

import (
	"bytes"
	"net/netip"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/aposazhennikov/stream-audio-to-web/icy"
)

// This file is the one place that decides who a client is and where it
// reached the server, behind a reverse proxy (Server.TrustedProxies) or
// not, and the public address every URL the server writes starts with
// (Server.PublicURL).
//
// A proxy's forwarded headers are believed only when the TCP peer is one
// of TrustedProxies: anyone else could write them to choose their own
// address (and slip past max_conns_per_ip or the admin lockout, or lock
// somebody else out) or to put another host into playlists.

// clientAddr is the address of the client behind a request: the TCP peer,
// or, when the peer is a trusted proxy, the address that proxy forwarded
// (see forwardedFor). It is what per-address limits count, what the admin
// lockout remembers, and what logs show. The zero Addr only when the
// connection has no IP peer at all (tests on in-memory connections).
func (s *Server) clientAddr(ctx *fasthttp.RequestCtx) netip.Addr {
	peer := peerAddr(ctx)
	if !s.trusted(peer) {
		return peer
	}
	if a, ok := s.forwardedFor(&ctx.Request.Header); ok {
		return a
	}
	// X-Real-IP is one hop's view (nginx's $remote_addr): used when the
	// proxy sends no X-Forwarded-For.
	if a, ok := parseForwardedAddr(ctx.Request.Header.Peek("X-Real-IP")); ok {
		return a
	}
	return peer
}

// remoteAddr is the client as the station's logs name it (a listener's
// JoinRequest.Remote): the peer's ip:port when it came straight to us,
// the forwarded address (its port is the proxy's business) when it came
// through a trusted proxy.
func (s *Server) remoteAddr(ctx *fasthttp.RequestCtx) string {
	if !s.trusted(peerAddr(ctx)) {
		return ctx.RemoteAddr().String()
	}
	return s.clientAddr(ctx).String()
}

// forwardedFor picks the client out of the X-Forwarded-For lines: every
// proxy appends the address its connection came from, so reading from the
// right, each trusted proxy vouches for the entry before it, and the first
// entry that is not a trusted proxy is the client, as far as anyone we
// trust can tell. Entries further left were written by that client (or by
// proxies we do not know) and may be anything, which is why the left-most
// entry, what many servers use, cannot be believed. When every entry is a
// trusted proxy (a client inside the trusted range), the left-most is the
// client. An entry that is not an address stops the walk: what lies
// beyond it is unknowable, and the last trusted hop is the best answer.
func (s *Server) forwardedFor(h *fasthttp.RequestHeader) (netip.Addr, bool) {
	lines := h.PeekAll("X-Forwarded-For")
	var last netip.Addr
	for i := len(lines) - 1; i >= 0; i-- {
		line := lines[i]
		for len(line) > 0 {
			var entry []byte
			if j := bytes.LastIndexByte(line, ','); j >= 0 {
				line, entry = line[:j], line[j+1:]
			} else {
				line, entry = nil, line
			}
			if len(bytes.TrimSpace(entry)) == 0 {
				continue // "a,,b" and a trailing comma: nothing there
			}
			a, ok := parseForwardedAddr(entry)
			if !ok {
				return last, last.IsValid()
			}
			if !s.trusted(a) {
				return a, true
			}
			last = a
		}
	}
	return last, last.IsValid()
}

// parseForwardedAddr reads one forwarded address: "203.0.113.7",
// "2001:db8::1", and the forms some proxies add a port to,
// "203.0.113.7:4711" and "[2001:db8::1]:4711".
func parseForwardedAddr(b []byte) (netip.Addr, bool) {
	v := string(bytes.TrimSpace(b))
	if v == "" {
		return netip.Addr{}, false
	}
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(v, "["), "]")); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(v); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

// peerAddr is the TCP peer of the request.
func peerAddr(ctx *fasthttp.RequestCtx) netip.Addr {
	a, _ := netip.AddrFromSlice(ctx.RemoteIP())
	return a.Unmap()
}

// trusted reports whether a is one of TrustedProxies.
func (s *Server) trusted(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	for _, p := range s.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// scheme is the scheme clients used: PublicURL's; else X-Forwarded-Proto
// ("http" or "https", its first entry) from a trusted proxy; else whether
// this connection is TLS.
func (s *Server) scheme(ctx *fasthttp.RequestCtx) string {
	if s.PublicURL != nil {
		return s.PublicURL.Scheme
	}
	if s.trusted(peerAddr(ctx)) {
		proto := strings.ToLower(strings.TrimSpace(firstEntry(ctx.Request.Header.Peek("X-Forwarded-Proto"))))
		if proto == "http" || proto == "https" {
			return proto
		}
	}
	if ctx.IsTLS() {
		return "https"
	}
	return "http"
}

// host is the host[:port] clients used, for absolute URLs: PublicURL's;
// else X-Forwarded-Host (its first entry) from a trusted proxy; else the
// Host header. HTTP/1.0 clients (old players, Icecast relays' playlist
// fetches, scripts) may send no Host, and "http:///route" helps nobody:
// then it is the address the client reached us at, as Icecast falls back
// to its configured host and port.
func (s *Server) host(ctx *fasthttp.RequestCtx) string {
	if s.PublicURL != nil {
		return s.PublicURL.Host
	}
	if s.trusted(peerAddr(ctx)) {
		if h := strings.TrimSpace(firstEntry(ctx.Request.Header.Peek("X-Forwarded-Host"))); h != "" && isHostStart(h[0]) {
			return h
		}
	}
	h := ctx.Host()
	if len(h) > 0 && isHostStart(h[0]) {
		return string(h)
	}
	return ctx.LocalAddr().String()
}

// streamURL is the absolute URL of route for a client that reached us at
// scheme://host (see scheme and host), under PublicURL's path when it has
// one: public_url "https://example.org/radio" gives
// "https://example.org/radio/jazz" for route "/jazz".
func (s *Server) streamURL(scheme, host, route string) string {
	if s.PublicURL != nil {
		route = strings.TrimSuffix(s.PublicURL.Path, "/") + "/" + strings.TrimPrefix(route, "/")
	}
	return icy.URLFromHost(scheme, host, route)
}

// firstEntry is the first comma-separated entry of a header value: the
// one the proxy nearest the client wrote, when proxies append.
func firstEntry(v []byte) string {
	if i := bytes.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	return string(v)
}
