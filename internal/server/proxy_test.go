package server

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/aposazhennikov/stream-audio-to-web/internal/auth"
	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// proxiedRequest is a request as the server sees it from peer ("ip:port"),
// with Host radio.internal:8000 and the headers (name, value, …) added in
// order, so a name given twice is two header lines.
func proxiedRequest(t *testing.T, peer string, headers ...string) *fasthttp.RequestCtx {
	t.Helper()
	var req fasthttp.Request
	req.SetRequestURI("/")
	req.Header.SetHost("radio.internal:8000")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&req, net.TCPAddrFromAddrPort(netip.MustParseAddrPort(peer)), nil)
	return ctx
}

func prefixes(cidrs ...string) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(cidrs))
	for _, c := range cidrs {
		out = append(out, netip.MustParsePrefix(c))
	}
	return out
}

// TestClientAddr: forwarded addresses count only from a trusted peer,
// and then the right-most entry that is not a trusted proxy is the
// client, whatever the client wrote to the left of it.
func TestClientAddr(t *testing.T) {
	t.Parallel()
	s := &Server{TrustedProxies: prefixes("127.0.0.1/32", "10.0.0.0/8", "::1/128")}
	cases := []struct {
		name    string
		peer    string
		headers []string
		want    string
	}{
		{"untrusted peer: headers ignored", "192.0.2.50:4000", []string{"X-Forwarded-For", "203.0.113.7", "X-Real-IP", "203.0.113.8"}, "192.0.2.50"},
		{"trusted peer without headers", "127.0.0.1:4000", nil, "127.0.0.1"},
		{"one proxy", "127.0.0.1:4000", []string{"X-Forwarded-For", "203.0.113.7"}, "203.0.113.7"},
		{"client-written entries on the left", "127.0.0.1:4000", []string{"X-Forwarded-For", "198.51.100.1, 1.2.3.4, 203.0.113.7"}, "203.0.113.7"},
		{"a chain of trusted proxies", "127.0.0.1:4000", []string{"X-Forwarded-For", "198.51.100.1, 203.0.113.7, 10.0.0.5, 10.1.2.3"}, "203.0.113.7"},
		{"two header lines read as one list", "127.0.0.1:4000", []string{"X-Forwarded-For", "198.51.100.1", "X-Forwarded-For", "203.0.113.7, 10.0.0.5"}, "203.0.113.7"},
		{"every entry trusted: the left-most", "127.0.0.1:4000", []string{"X-Forwarded-For", "10.0.0.9, 10.0.0.5"}, "10.0.0.9"},
		{"garbage beyond a trusted hop: that hop", "127.0.0.1:4000", []string{"X-Forwarded-For", "203.0.113.7, unknown, 10.0.0.5"}, "10.0.0.5"},
		{"garbage right away: the peer", "127.0.0.1:4000", []string{"X-Forwarded-For", "203.0.113.7, unknown"}, "127.0.0.1"},
		{"empty entries skipped", "127.0.0.1:4000", []string{"X-Forwarded-For", "203.0.113.7, ,"}, "203.0.113.7"},
		{"IPv4 with a port", "127.0.0.1:4000", []string{"X-Forwarded-For", "203.0.113.7:4711"}, "203.0.113.7"},
		{"IPv6", "127.0.0.1:4000", []string{"X-Forwarded-For", "2001:db8::1"}, "2001:db8::1"},
		{"bracketed IPv6 with a port", "127.0.0.1:4000", []string{"X-Forwarded-For", "[2001:db8::1]:4711"}, "2001:db8::1"},
		{"IPv4-mapped IPv6", "127.0.0.1:4000", []string{"X-Forwarded-For", "::ffff:203.0.113.7"}, "203.0.113.7"},
		{"IPv6 peer", "[::1]:4000", []string{"X-Forwarded-For", "203.0.113.7"}, "203.0.113.7"},
		{"X-Real-IP without X-Forwarded-For", "127.0.0.1:4000", []string{"X-Real-IP", "203.0.113.8"}, "203.0.113.8"},
		{"X-Forwarded-For over X-Real-IP", "127.0.0.1:4000", []string{"X-Real-IP", "203.0.113.8", "X-Forwarded-For", "203.0.113.7"}, "203.0.113.7"},
		{"bad X-Real-IP: the peer", "127.0.0.1:4000", []string{"X-Real-IP", "somewhere"}, "127.0.0.1"},
	}
	for _, c := range cases {
		if got := s.clientAddr(proxiedRequest(t, c.peer, c.headers...)).String(); got != c.want {
			t.Errorf("%s: clientAddr %s, want %s", c.name, got, c.want)
		}
	}
	if got := (&Server{}).clientAddr(proxiedRequest(t, "127.0.0.1:4000", "X-Forwarded-For", "203.0.113.7")).String(); got != "127.0.0.1" {
		t.Errorf("no trusted proxies: clientAddr %s, want the peer", got)
	}
}

// TestRemoteAddr: a listener's logged address is the peer with its port
// when it came straight, the forwarded client when it came through a
// trusted proxy.
func TestRemoteAddr(t *testing.T) {
	t.Parallel()
	s := &Server{TrustedProxies: prefixes("127.0.0.1/32")}
	if got := s.remoteAddr(proxiedRequest(t, "192.0.2.50:4000", "X-Forwarded-For", "203.0.113.7")); got != "192.0.2.50:4000" {
		t.Errorf("untrusted peer: %q", got)
	}
	if got := s.remoteAddr(proxiedRequest(t, "127.0.0.1:4000", "X-Forwarded-For", "203.0.113.7")); got != "203.0.113.7" {
		t.Errorf("through the proxy: %q", got)
	}
}

// TestPublicSchemeAndHost: a trusted proxy's X-Forwarded-Proto and
// X-Forwarded-Host make the URLs; nobody else's do; public_url beats both.
func TestPublicSchemeAndHost(t *testing.T) {
	t.Parallel()
	s := &Server{TrustedProxies: prefixes("127.0.0.1/32")}
	public, err := url.Parse("https://radio.example.com:8443/fm/")
	if err != nil {
		t.Fatal(err)
	}
	fixed := &Server{TrustedProxies: s.TrustedProxies, PublicURL: public}
	forwarded := []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "radio.example.com"}
	cases := []struct {
		name    string
		srv     *Server
		peer    string
		headers []string
		want    string // streamURL of "/jazz"
	}{
		{"direct", s, "192.0.2.50:4000", nil, "http://radio.internal:8000/jazz"},
		{"untrusted peer: forwarded headers ignored", s, "192.0.2.50:4000", forwarded, "http://radio.internal:8000/jazz"},
		{"trusted proxy", s, "127.0.0.1:4000", forwarded, "https://radio.example.com/jazz"},
		{"proto only: the Host header", s, "127.0.0.1:4000", []string{"X-Forwarded-Proto", "HTTPS"}, "https://radio.internal:8000/jazz"},
		{"first entries of lists", s, "127.0.0.1:4000", []string{"X-Forwarded-Proto", "https, http", "X-Forwarded-Host", "radio.example.com:444, inner"}, "https://radio.example.com:444/jazz"},
		{"unknown proto", s, "127.0.0.1:4000", []string{"X-Forwarded-Proto", "gopher"}, "http://radio.internal:8000/jazz"},
		{"host that is no host", s, "127.0.0.1:4000", []string{"X-Forwarded-Host", "/evil"}, "http://radio.internal:8000/jazz"},
		{"public_url over a proxy", fixed, "127.0.0.1:4000", forwarded, "https://radio.example.com:8443/fm/jazz"},
		{"public_url over a direct request", fixed, "192.0.2.50:4000", nil, "https://radio.example.com:8443/fm/jazz"},
	}
	for _, c := range cases {
		ctx := proxiedRequest(t, c.peer, c.headers...)
		if got := c.srv.streamURL(c.srv.scheme(ctx), c.srv.host(ctx), "/jazz"); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	ctx := proxiedRequest(t, "192.0.2.50:4000")
	for route, want := range map[string]string{
		"/":     "https://radio.example.com:8443/fm/",
		"/юмор": "https://radio.example.com:8443/fm/%D1%8E%D0%BC%D0%BE%D1%80",
	} {
		if got := fixed.streamURL(fixed.scheme(ctx), fixed.host(ctx), route); got != want {
			t.Errorf("public_url, route %s: %s, want %s", route, got, want)
		}
	}
}

// TestPublicURLInEveryWrittenURL: with public_url, /streams, the status
// page, the three playlist formats and /events all name the stream at
// public_url plus its route, whatever Host the request had.
func TestPublicURLInEveryWrittenURL(t *testing.T) {
	t.Parallel()
	public, err := url.Parse("https://radio.example.com/fm")
	if err != nil {
		t.Fatal(err)
	}
	h := startHarness(t, &Server{PublicURL: public}, stationSpec{
		Station: config.Station{Route: "/jazz"},
		files:   map[string][]byte{"a.mp3": taggedMP3("A", "B", testmedia.Frames(secondsOfFrames(10)))},
	})
	const want = "https://radio.example.com/fm/jazz"
	for _, path := range []string{"/streams", "/status-json.xsl", "/jazz.m3u", "/jazz.pls", "/jazz.xspf"} {
		r := h.raw(t, "GET "+path+" HTTP/1.0", "Host: internal:9999")
		body, _ := io.ReadAll(r.body)
		if !strings.Contains(string(body), want) || strings.Contains(string(body), "internal:9999") {
			t.Errorf("%s: %s\n%s", path, r.status, body)
		}
	}
	r := h.raw(t, "GET /status-json.xsl HTTP/1.0", "Host: internal:9999")
	var status struct {
		Icestats struct{ Host string } `json:"icestats"`
	}
	if err := json.NewDecoder(r.body).Decode(&status); err != nil || status.Icestats.Host != "radio.example.com" {
		t.Errorf("status host %q (%v), want radio.example.com", status.Icestats.Host, err)
	}
	ev := h.raw(t, "GET /events HTTP/1.1", "Host: internal:9999")
	line, err := readEventData(ev.body)
	if err != nil || !strings.Contains(line, `"url":"`+want+`"`) {
		t.Errorf("/events: %q %v", line, err)
	}
}

// readEventData returns the first "data:" line of an event stream.
func readEventData(r *bufio.Reader) (string, error) {
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(line, "data:") {
			return line, nil
		}
	}
}

// TestForwardedClientsCountPerAddress: behind a trusted proxy every
// listener arrives from the proxy's address, and max_conns_per_ip counts
// the forwarded ones: two clients are two addresses, the second
// connection of one of them is refused in its name.
func TestForwardedClientsCountPerAddress(t *testing.T) {
	t.Parallel()
	h := startHarness(t, &Server{MaxConnsPerIP: 1, TrustedProxies: prefixes("127.0.0.1/32")}, stationSpec{
		Station: config.Station{Route: "/"},
		files:   map[string][]byte{"a.mp3": taggedMP3("A", "B", testmedia.Frames(secondsOfFrames(10)))},
	})
	checkListenerHead(t, h.raw(t, "GET / HTTP/1.0", "X-Forwarded-For: 203.0.113.1"), "audio-streamer /", 0)
	checkListenerHead(t, h.raw(t, "GET / HTTP/1.0", "X-Forwarded-For: 203.0.113.2"), "audio-streamer /", 0)
	r := h.raw(t, "GET / HTTP/1.0", "X-Forwarded-For: 198.51.100.9, 203.0.113.1")
	body, _ := io.ReadAll(r.body)
	if r.status != "HTTP/1.0 503 Service Unavailable" || !strings.Contains(string(body), "too many connections from 203.0.113.1 (limit 1)") {
		t.Errorf("second connection of 203.0.113.1 (a spoofed entry on the left): %q %q", r.status, body)
	}
}

// TestSpoofedForwardedHeadersChangeNothing: a client that is not a
// trusted proxy gets nothing by sending proxy headers: the per-address
// limit counts its own address, the playlist names the Host it used.
func TestSpoofedForwardedHeadersChangeNothing(t *testing.T) {
	t.Parallel()
	h := startHarness(t, &Server{MaxConnsPerIP: 1, TrustedProxies: prefixes("192.0.2.0/24")}, stationSpec{
		Station: config.Station{Route: "/"},
		files:   map[string][]byte{"a.mp3": taggedMP3("A", "B", testmedia.Frames(secondsOfFrames(10)))},
	})
	checkListenerHead(t, h.raw(t, "GET / HTTP/1.0", "X-Forwarded-For: 203.0.113.1"), "audio-streamer /", 0)
	r := h.raw(t, "GET / HTTP/1.0", "X-Forwarded-For: 203.0.113.2", "X-Real-IP: 203.0.113.2")
	body, _ := io.ReadAll(r.body)
	if r.status != "HTTP/1.0 503 Service Unavailable" || !strings.Contains(string(body), "too many connections from 127.0.0.1 (limit 1)") {
		t.Errorf("second connection with another spoofed address: %q %q", r.status, body)
	}
	pl := h.raw(t, "GET /listen.m3u HTTP/1.0", "Host: radio.internal:8000",
		"X-Forwarded-Proto: https", "X-Forwarded-Host: evil.example")
	m3u, _ := io.ReadAll(pl.body)
	if !strings.Contains(string(m3u), "http://radio.internal:8000/") || strings.Contains(string(m3u), "https:") || strings.Contains(string(m3u), "evil") {
		t.Errorf("playlist for a spoofing client:\n%s", m3u)
	}
}

// TestAdminBehindProxy: through a trusted proxy the admin checks see the
// forwarded client: without admin_token a remote client is not loopback
// (the proxy is), and wrong tokens lock out that client, not everyone
// behind the proxy.
func TestAdminBehindProxy(t *testing.T) {
	t.Parallel()
	trusted := prefixes("127.0.0.1/32")
	open := &Server{TrustedProxies: trusted}
	if ctx := proxiedRequest(t, "127.0.0.1:4000", "X-Forwarded-For", "203.0.113.1"); open.admin(ctx) || ctx.Response.StatusCode() != 403 {
		t.Errorf("no admin_token, a remote client through the proxy: allowed, or %d, want 403", ctx.Response.StatusCode())
	}
	if !open.admin(proxiedRequest(t, "127.0.0.1:4000")) {
		t.Error("no admin_token, loopback without forwarded headers: refused")
	}
	h := startHarness(t, &Server{TrustedProxies: trusted, AdminToken: "s3cret"}, stationSpec{Station: config.Station{Route: "/"}})
	for range auth.FailLimit {
		h.raw(t, "POST /reload-playlist HTTP/1.0", "X-Forwarded-For: 203.0.113.1", "Authorization: Bearer guess")
	}
	if r := h.raw(t, "POST /reload-playlist HTTP/1.0", "X-Forwarded-For: 203.0.113.1", "Authorization: Bearer s3cret"); !strings.Contains(r.status, " 429 ") {
		t.Errorf("the guessing client: %q, want 429", r.status)
	}
	if r := h.raw(t, "POST /reload-playlist HTTP/1.0", "X-Forwarded-For: 203.0.113.2", "Authorization: Bearer s3cret"); !strings.Contains(r.status, " 200 ") {
		t.Errorf("another client through the same proxy: %q, want 200", r.status)
	}
}

// TestForwardedClientsCountPerAddressForEvents: the /events cap per
// address counts forwarded clients too, not the proxy.
func TestForwardedClientsCountPerAddressForEvents(t *testing.T) {
	t.Parallel()
	h := startHarness(t, &Server{MaxEventStreamsPerIP: 1, TrustedProxies: prefixes("127.0.0.1/32")},
		stationSpec{Station: config.Station{Route: "/"}})
	for _, c := range []struct{ from, want string }{
		{"203.0.113.1", "HTTP/1.1 200 OK"},
		{"203.0.113.2", "HTTP/1.1 200 OK"},
		{"203.0.113.1", "HTTP/1.0 503 Service Unavailable"}, // a refusal is written as a listener's is
	} {
		if r := h.raw(t, "GET /events HTTP/1.1", "Host: radio.example", "X-Forwarded-For: "+c.from); r.status != c.want {
			t.Errorf("/events from %s: %q, want %q", c.from, r.status, c.want)
		}
	}
}
