package relay

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

// maxRedirects is how many redirects a connection attempt follows.
const maxRedirects = 5

// upstream is one answered connection: what its head said, and its body.
type upstream struct {
	info    mount.StreamInfo
	metaint int
	body    io.ReadCloser
}

// icyConn lets net/http read a SHOUTcast v1 head: such servers answer
// "ICY 200 OK" where HTTP has "HTTP/1.0 200 OK", and everything after the
// status line is an ordinary head. Rewriting those four bytes on the
// connection keeps all the rest (redirects, Basic auth, TLS, chunked
// bodies, header parsing) in net/http instead of a second HTTP client.
type icyConn struct {
	net.Conn
	checked bool
	pending []byte // bytes to return before reading the connection again
}

func (c *icyConn) Read(p []byte) (int, error) {
	if !c.checked {
		c.checked = true
		var head [4]byte
		n, err := io.ReadFull(c.Conn, head[:])
		if n == len(head) && string(head[:]) == "ICY " {
			c.pending = []byte("HTTP/1.0 ")
		} else {
			c.pending = bytes.Clone(head[:n])
		}
		if err != nil && len(c.pending) == 0 {
			return 0, err
		}
	}
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// newClient is the relay's HTTP client: one connection per request, no
// keep-alive or compression, every connection read through icyConn.
func (r *Relay) newClient() *http.Client {
	timeout := r.connectTimeout()
	dial := r.Dial
	if dial == nil {
		d := &net.Dialer{KeepAlive: 30 * time.Second}
		dial = d.DialContext
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			c, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &icyConn{Conn: c}, nil
		},
		// Set so that the TLS connection is wrapped, not the raw one.
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			raw, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			cfg := &tls.Config{}
			if r.TLS != nil {
				cfg = r.TLS.Clone()
			}
			if cfg.ServerName == "" {
				cfg.ServerName, _, _ = net.SplitHostPort(addr)
			}
			tc := tls.Client(raw, cfg)
			if err := tc.HandshakeContext(ctx); err != nil {
				raw.Close()
				return nil, err
			}
			return &icyConn{Conn: tc}, nil
		},
		DisableKeepAlives:      true,
		DisableCompression:     true,
		ResponseHeaderTimeout:  timeout,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(_ *http.Request, via []*http.Request) error {
			if len(via) > maxRedirects {
				return fmt.Errorf("more than %d redirects", maxRedirects)
			}
			return nil
		},
	}
}

// connect asks the upstream for its stream with ICY metadata and checks
// the answer. The body is tied to ctx: cancelling ctx ends it.
func (r *Relay) connect(ctx context.Context, client *http.Client) (*upstream, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL, nil)
	if err != nil {
		return nil, errors.New("bad upstream URL")
	}
	// Spelled as Winamp and VLC send it: not every SHOUTcast v1 server
	// matches header names regardless of case.
	req.Header["Icy-MetaData"] = []string{"1"}
	req.Header.Set("User-Agent", r.userAgent())
	resp, err := client.Do(req)
	if err != nil {
		// url.Error carries the URL; say what failed without it.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("upstream answered %s", resp.Status)
	}
	h := resp.Header
	ctype := h.Get("Content-Type")
	if !isMP3(ctype) {
		resp.Body.Close()
		return nil, fmt.Errorf("upstream sends %q, not MP3 (audio/mpeg)", ctype)
	}
	up := &upstream{body: resp.Body}
	if v := strings.TrimSpace(h.Get("Icy-Metaint")); v != "" {
		up.metaint, err = strconv.Atoi(v)
		if err != nil || up.metaint <= 0 {
			resp.Body.Close()
			return nil, fmt.Errorf("upstream sent a bad icy-metaint %q", v)
		}
	}
	up.info = mount.StreamInfo{
		Name:        h.Get("Icy-Name"),
		Description: h.Get("Icy-Description"),
		Genre:       h.Get("Icy-Genre"),
		URL:         h.Get("Icy-Url"),
		Public:      h.Get("Icy-Pub") == "1",
		AudioInfo:   h.Get("Ice-Audio-Info"),
		ContentType: "audio/mpeg",
		UserAgent:   h.Get("Server"), // the upstream's software, as a source's client is
		RemoteAddr:  redact(resp.Request.URL),
	}
	if up.info.AudioInfo == "" {
		if br, err := strconv.Atoi(strings.TrimSpace(h.Get("Icy-Br"))); err == nil && br > 0 {
			up.info.AudioInfo = "bitrate=" + strconv.Itoa(br)
		}
	}
	return up, nil
}

// isMP3 accepts the MPEG audio types servers use, and no type at all or
// octet-stream (old SHOUTcast setups): the LiveSource refuses what holds
// no MPEG frames.
func isMP3(contentType string) bool {
	if strings.TrimSpace(contentType) == "" {
		return true
	}
	t, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch t {
	case "audio/mpeg", "audio/mp3", "audio/mpeg3", "audio/x-mpeg", "audio/x-mp3", "audio/mpg", "application/octet-stream":
		return true
	}
	return false
}

// CheckURL reports whether s can be relayed: an http or https URL with a
// host. Its error never quotes s, which may hold a password.
func CheckURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return errors.New("relay URL does not parse")
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("relay URL must start with http:// or https://, not %q", u.Scheme+":")
	case u.Host == "":
		return errors.New("relay URL has no host")
	}
	return nil
}

// redact is u without its userinfo and query: what logs and status pages
// may show.
func redact(u *url.URL) string {
	c := *u
	// Credentials live in the user part and, for URL-authenticated
	// upstreams, in the query ("?token="): neither is shown.
	c.User, c.RawQuery, c.ForceQuery, c.Fragment, c.RawFragment = nil, "", false, "", ""
	return c.String()
}
