package server

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

func TestHTTPSListenerServesStreamsAndAPI(t *testing.T) {
	_, cert, key := testmedia.SelfSignedCert(t)
	tlsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{TLSListener: tlsLn, TLSCertFile: cert, TLSKeyFile: key}
	startHarness(t, srv, stationSpec{
		Station: config.Station{Route: "/secure"},
		files:   map[string][]byte{"a.mp3": taggedMP3("Safe", "Song", testmedia.Frames(secondsOfFrames(20)))},
	})
	get := func(path string, icyMeta bool) (*tls.Conn, *bufio.Reader, string) {
		c, err := tls.Dial("tcp", tlsLn.Addr().String(), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		req := "GET " + path + " HTTP/1.1\r\nHost: " + tlsLn.Addr().String() + "\r\n"
		if icyMeta {
			req += "Icy-MetaData: 1\r\n"
		}
		if _, err := c.Write([]byte(req + "\r\n")); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		var head strings.Builder
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("head: %v", err)
			}
			head.WriteString(line)
			if line == "\r\n" {
				return c, br, head.String()
			}
		}
	}
	_, br, head := get("/secure", true)
	if !strings.HasPrefix(head, "HTTP/1.0 200 OK\r\n") || !strings.Contains(head, "icy-metaint:16000\r\n") {
		t.Fatalf("head over TLS:\n%s", head)
	}
	first := make([]byte, 4)
	if _, err := io.ReadFull(br, first); err != nil || !isFrameSync(first) {
		t.Fatalf("first audio bytes % x, %v", first, err)
	}
	// At least a burst's worth of audio arrives through TLS.
	if n, _ := io.CopyN(io.Discard, br, 30_000); n < 30_000 {
		t.Fatalf("only %d bytes over TLS", n)
	}
	if _, _, head := get("/streams", false); !strings.Contains(head, "200 OK") {
		t.Fatalf("/streams over TLS:\n%s", head)
	}
}
