package ingest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/aposazhennikov/stream-audio-to-web/internal/auth"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

const (
	testPassword = "hackme-7"
	testToken    = "admin-token-9"
)

// fakeLive stands in for a station's LiveSource in the protocol tests:
// one stream at a time, everything it read kept.
type fakeLive struct {
	mu      sync.Mutex
	on      bool
	info    mount.StreamInfo
	title   string
	titles  []string
	data    bytes.Buffer
	claimed chan mount.StreamInfo // each successful claim
	titled  chan string           // each title set
}

func newFakeLive() *fakeLive {
	return &fakeLive{claimed: make(chan mount.StreamInfo, 16), titled: make(chan string, 16)}
}

func (f *fakeLive) Claim(info mount.StreamInfo) (session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.on {
		return nil, mount.ErrBusy
	}
	f.on, f.info = true, info
	f.data.Reset()
	f.claimed <- info
	return &fakeSession{f: f}, nil
}

func (f *fakeLive) SetTitle(title string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.on {
		return mount.ErrNoStream
	}
	f.setTitleLocked(title)
	return nil
}

func (f *fakeLive) setTitleLocked(title string) {
	f.title = title
	f.titles = append(f.titles, title)
	f.titled <- title
}

func (f *fakeLive) Status() mount.LiveStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return mount.LiveStatus{OnAir: f.on, Info: f.info, Title: f.title, BytesIn: int64(f.data.Len())}
}

func (f *fakeLive) bytes() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return bytes.Clone(f.data.Bytes())
}

type fakeSession struct {
	f    *fakeLive
	once sync.Once
}

func (s *fakeSession) Stream(ctx context.Context, r io.Reader) error {
	defer s.Close()
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		s.f.mu.Lock()
		s.f.data.Write(buf[:n])
		s.f.mu.Unlock()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
	}
}

func (s *fakeSession) SetTitle(title string) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	s.f.setTitleLocked(title)
}

func (s *fakeSession) Close() {
	s.once.Do(func() {
		s.f.mu.Lock()
		s.f.on = false
		s.f.mu.Unlock()
	})
}

// ended is one OnSource call.
type ended struct {
	route string
	info  mount.StreamInfo
	err   error
}

// rig is an ingest Server behind a real fasthttp server on loopback, wired
// as the HTTP server will wire it.
type rig struct {
	srv   *Server
	addr  string // HTTP
	icy   string // SHOUTcast port ("" unless started)
	ended chan ended
	fake  map[string]*fakeLive
	// stop ends the streams (the context ServeSource is given), as the
	// server's shutdown does.
	stop context.CancelFunc

	mu   sync.Mutex
	seen []string // "METHOD URI [Expect] [auth]" of every request, in order
}

// requests returns what the rig's server has been asked so far.
func (r *rig) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

func (r *rig) note(c *fasthttp.RequestCtx) {
	line := string(c.Method()) + " " + string(c.RequestURI())
	if c.Request.MayContinue() {
		line += " [Expect]"
	}
	if len(c.Request.Header.Peek("Authorization")) > 0 {
		line += " [auth]"
	}
	r.mu.Lock()
	r.seen = append(r.seen, line)
	r.mu.Unlock()
}

// newRig serves mounts; a mount without Live gets a fakeLive.
func newRig(t *testing.T, mounts ...*Mount) *rig {
	t.Helper()
	r := &rig{ended: make(chan ended, 16), fake: map[string]*fakeLive{}}
	byRoute := map[string]*Mount{}
	for _, m := range mounts {
		if m.Live == nil {
			f := newFakeLive()
			m.live = f
			r.fake[m.Route] = f
		}
		byRoute[m.Route] = m
	}
	r.srv = &Server{
		Lookup: func(path string) (*Mount, bool) {
			m, ok := byRoute[path]
			return m, ok
		},
		Shoutcast:  func() []*Mount { return mounts },
		AdminToken: testToken,
		Failures:   &auth.Failures{},
		Clock:      time.Now,
		OnSource:   func(route string, info mount.StreamInfo, err error) { r.ended <- ended{route, info, err} },
	}
	streams, stop := context.WithCancel(context.Background())
	r.stop = stop
	t.Cleanup(stop)
	r.addr = testmedia.ServeLoopback(t, func(ctx context.Context, ln net.Listener) error {
		hs := &fasthttp.Server{
			Handler: func(c *fasthttp.RequestCtx) {
				r.note(c)
				switch {
				case IsSource(c):
					r.srv.ServeSource(c, streams)
				case string(c.Path()) == MetadataPath, string(c.Path()) == ShoutcastMetadataPath:
					r.srv.ServeMetadata(c)
				default:
					c.Error("not found", fasthttp.StatusNotFound)
				}
			},
			ExpectHandler: func(c *fasthttp.RequestCtx) int {
				code := r.srv.Expect(c)
				if code != fasthttp.StatusContinue {
					r.note(c) // the handler will not run
				}
				return code
			},
			ReadTimeout:          10 * time.Second,
			ReadBufferSize:       4 << 10,
			KeepHijackedConns:    true,
			NoDefaultContentType: true,
		}
		errc := make(chan error, 1)
		go func() { errc <- hs.Serve(ln) }()
		<-ctx.Done()
		err := hs.Shutdown()
		// Shutdown misses a Serve that has not registered ln yet.
		ln.Close()
		<-errc //nolint:errcheck // Serve's own error after a shutdown says nothing new
		return err
	})
	return r
}

// serveShoutcast starts the SHOUTcast port.
func (r *rig) serveShoutcast(t *testing.T) {
	t.Helper()
	r.icy = testmedia.ServeLoopback(t, r.srv.ServeShoutcast)
}

// waitEnded returns the next OnSource call.
func (r *rig) waitEnded(t *testing.T) ended {
	t.Helper()
	select {
	case e := <-r.ended:
		return e
	case <-time.After(15 * time.Second):
		t.Fatal("no source ended")
		return ended{}
	}
}

func waitClaim(t *testing.T, f *fakeLive) mount.StreamInfo {
	t.Helper()
	select {
	case info := <-f.claimed:
		return info
	case <-time.After(10 * time.Second):
		t.Fatal("the stream never reached the live source")
		return mount.StreamInfo{}
	}
}

func waitTitle(t *testing.T, f *fakeLive) string {
	t.Helper()
	select {
	case title := <-f.titled:
		return title
	case <-time.After(10 * time.Second):
		t.Fatal("no title reached the live source")
		return ""
	}
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// dial opens a raw connection with a deadline on everything.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(15 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

// request writes raw lines joined by CRLF, then a blank line, then body.
func request(t *testing.T, c net.Conn, body []byte, lines ...string) {
	t.Helper()
	raw := strings.Join(lines, "\r\n") + "\r\n\r\n"
	if _, err := c.Write(append([]byte(raw), body...)); err != nil {
		t.Fatal(err)
	}
}

// response is a parsed reply to a source request.
type response struct {
	status int
	header map[string]string // lower-case names
	body   string
}

// readResponse reads a head and, with Content-Length, the body.
func readResponse(t *testing.T, br *bufio.Reader) response {
	t.Helper()
	var resp fasthttp.Response
	if err := resp.Read(br); err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	out := response{status: resp.StatusCode(), header: map[string]string{}, body: string(resp.Body())}
	for k, v := range resp.Header.All() {
		out.header[strings.ToLower(string(k))] = string(v)
	}
	return out
}

// readAll reads until the server closes.
func readAll(t *testing.T, c net.Conn) string {
	t.Helper()
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading until close: %v", err)
	}
	return string(b)
}
