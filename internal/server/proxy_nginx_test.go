package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// TestBehindNginx runs deploy/nginx/audio-streamer.conf in a real nginx
// (HTTPS with a certificate made here) in front of a server that trusts
// it, and checks what a listener meets: playlists and status pages name
// the https:// address nginx serves, max_conns_per_ip counts each client
// (two loopback addresses) rather than nginx, a slot comes back when its
// listener hangs up through nginx, and a stream with ICY metadata arrives
// whole (frames back to back, titles parsed, no chunk markers).
func TestBehindNginx(t *testing.T) {
	t.Parallel()
	cert, certFile, keyFile := testmedia.SelfSignedCert(t)
	h := startHarness(t, &Server{MaxConnsPerIP: 1, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}},
		stationSpec{
			Station: config.Station{Route: "/"},
			files:   map[string][]byte{"a.mp3": taggedMP3("Main", "Song", testmedia.Frames(secondsOfFrames(30)))},
		},
		stationSpec{
			Station: config.Station{Route: "/jazz"},
			files:   map[string][]byte{"a.mp3": taggedMP3("Miles", "Blue", testmedia.Frames(secondsOfFrames(30)))},
		})
	httpsAddr, httpAddr := startNginx(t, h.addr, certFile, keyFile)
	roots := x509.NewCertPool()
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	roots.AddCert(leaf)
	public := "https://" + httpsAddr

	t.Run("URLs", func(t *testing.T) {
		c := nginxClient(t, "127.0.0.1", roots)
		for path, want := range map[string]string{
			"/listen.m3u":      public + "/\n",
			"/jazz.m3u":        public + "/jazz\n",
			"/jazz.pls":        "File1=" + public + "/jazz\n",
			"/jazz.xspf":       "<location>" + public + "/jazz</location>",
			"/status-json.xsl": `"listenurl":"` + public + `/jazz"`,
			"/streams":         `"url":"` + public + `/jazz"`,
		} {
			code, body := get(t, c, public+path)
			if code != 200 || !strings.Contains(strings.ReplaceAll(body, "\r\n", "\n"), want) {
				t.Errorf("%s through nginx: %d, want %q in\n%s", path, code, want, body)
			}
		}
		// Plain HTTP through the same nginx says http://.
		if code, body := get(t, nginxClient(t, "127.0.0.1", roots), "http://"+httpAddr+"/jazz.m3u"); code != 200 || !strings.Contains(body, "http://"+httpAddr+"/jazz\r\n") {
			t.Errorf("/jazz.m3u over plain HTTP: %d\n%s", code, body)
		}
	})

	t.Run("events unbuffered", func(t *testing.T) {
		resp := open(t, nginxClient(t, "127.0.0.1", roots), public+"/events", nil)
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || !strings.HasPrefix(ct, "text/event-stream") {
			t.Fatalf("/events: %d %q", resp.StatusCode, ct)
		}
		// The first event is a few hundred bytes: it arrives only if nginx
		// passes it on instead of waiting to fill a buffer.
		line, err := readEventData(bufio.NewReader(resp.Body))
		if err != nil || !strings.Contains(line, `"url":"`+public+`/jazz"`) {
			t.Errorf("first event: %q %v", line, err)
		}
	})

	t.Run("per-IP limit and a stream", func(t *testing.T) {
		two, three := nginxClient(t, "127.0.0.2", roots), nginxClient(t, "127.0.0.3", roots)
		meta := map[string]string{"Icy-MetaData": "1"}
		first := open(t, two, public+"/jazz", meta)
		if first.StatusCode != 200 {
			t.Fatalf("first listener from 127.0.0.2: %d", first.StatusCode)
		}
		other := open(t, three, public+"/jazz", nil)
		if other.StatusCode != 200 {
			t.Fatalf("listener from 127.0.0.3 while 127.0.0.2 listens: %d (the limit counted nginx?)", other.StatusCode)
		}
		// A second connection of 127.0.0.2, with a forged address on the
		// left of X-Forwarded-For: refused in its own name.
		second := open(t, two, public+"/jazz", map[string]string{"X-Forwarded-For": "192.0.2.99"})
		body, _ := io.ReadAll(second.Body)
		if second.StatusCode != 503 || !strings.Contains(string(body), "too many connections from 127.0.0.2 (limit 1)") {
			t.Errorf("second listener from 127.0.0.2: %d %q", second.StatusCode, body)
		}

		checkProxiedStream(t, first, "Miles - Blue")

		// The listener hangs up: nginx closes its upstream connection and
		// the server gives the slot back.
		first.Body.Close()
		testmedia.PollUntil(t, 10*time.Second, "127.0.0.2's slot after it hung up", func() bool {
			resp := open(t, two, public+"/jazz", nil)
			defer resp.Body.Close()
			return resp.StatusCode == 200
		})
	})
}

// checkProxiedStream reads a listener's response through nginx: audio/mpeg
// with icy-metaint, not chunked, MPEG frames back to back across metadata
// blocks, and the title wantTitle in them.
func checkProxiedStream(t *testing.T, resp *http.Response, wantTitle string) {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "audio/mpeg" {
		t.Errorf("Content-Type %q", ct)
	}
	if len(resp.TransferEncoding) > 0 {
		t.Errorf("stream sent with Transfer-Encoding %v; the snippet turns chunking off", resp.TransferEncoding)
	}
	mi, err := strconv.Atoi(resp.Header.Get("Icy-Metaint"))
	if err != nil || mi <= 0 {
		t.Fatalf("icy-metaint %q", resp.Header.Get("Icy-Metaint"))
	}
	s := &icyStream{r: bufio.NewReader(resp.Body), metaint: mi}
	for range 4 {
		if _, err := s.next(); err != nil {
			t.Fatalf("after %d audio bytes: %v", len(s.audio), err)
		}
	}
	if s.title != wantTitle {
		t.Errorf("title %q in the stream, want %q", s.title, wantTitle)
	}
	frames := 0
	for at := 0; at+4 <= len(s.audio); frames++ {
		n := mpeg1L3Len(s.audio[at:])
		if n == 0 {
			t.Fatalf("no frame at audio byte %d (after %d frames): % x", at, frames, s.audio[at:min(at+8, len(s.audio))])
		}
		at += n
	}
	if frames < 10 {
		t.Errorf("only %d frames", frames)
	}
}

// nginxClient makes requests from the loopback address local (Linux
// routes all of 127/8 on lo), trusting roots for HTTPS; every request has
// its own connection.
func nginxClient(t *testing.T, local string, roots *x509.CertPool) *http.Client {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	tr := &http.Transport{DialContext: d.DialContext, TLSClientConfig: &tls.Config{RootCAs: roots}, DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// open sends GET url with the headers and returns the response, whose
// body is closed (and the request ended) when the test ends; the whole
// exchange has 20 s.
func open(t *testing.T, c *http.Client, url string, headers map[string]string) *http.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET %s: %v", url, err)
	}
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	return resp
}

// get fetches a whole page.
func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp := open(t, c, url, nil)
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

// startNginx runs nginx with deploy/nginx/audio-streamer.conf proxying to
// upstream until the test ends, on free loopback ports, and returns the
// addresses of its HTTPS and plain HTTP listeners once it accepts. Its
// pid, logs and temp files stay in a folder of the test; it runs as one
// process (no master and workers), killed by its PID at the end. Its
// output is shown when the test fails.
func startNginx(t *testing.T, upstream, certFile, keyFile string) (httpsAddr, httpAddr string) {
	t.Helper()
	site, err := os.ReadFile(filepath.Join(testmedia.ModuleRoot(t), "deploy", "nginx", "audio-streamer.conf"))
	if err != nil {
		t.Fatal(err)
	}
	httpsAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(testmedia.FreePort(t)))
	httpAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(testmedia.FreePort(t)))
	// Only addresses and files change; each must be found exactly once,
	// so an edit of the snippet that this test no longer matches fails.
	for _, r := range [][2]string{
		{"server 127.0.0.1:9999;", "server " + upstream + ";"},
		{"listen 80;", "listen " + httpAddr + ";"},
		{"listen [::]:80;", ""},
		{"listen 443 ssl;", "listen " + httpsAddr + " ssl;"},
		{"listen [::]:443 ssl;", ""},
		{"/etc/letsencrypt/live/radio.example.com/fullchain.pem", certFile},
		{"/etc/letsencrypt/live/radio.example.com/privkey.pem", keyFile},
	} {
		if n := bytes.Count(site, []byte(r[0])); n != 1 {
			t.Fatalf("deploy/nginx/audio-streamer.conf has %q %d times, want once", r[0], n)
		}
		site = bytes.Replace(site, []byte(r[0]), []byte(r[1]), 1)
	}
	testmedia.StartNginx(t, t.TempDir(), site, 256, httpsAddr, httpAddr)
	return httpsAddr, httpAddr
}
