package relay

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/icy"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

// wait bounds every wait on a signal in these tests.
const wait = 10 * time.Second

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wait):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// fakeClock is a mount.Clock whose sleeps hold the relay still: each is
// reported on sleeps, and ends (moving the clock to its end) when the test
// calls resume, so the test looks at the relay between two attempts.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	sleeps  chan time.Duration
	release chan struct{}
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		sleeps: make(chan time.Duration), release: make(chan struct{})}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func (c *fakeClock) SleepUntil(ctx context.Context, t time.Time) error {
	select {
	case c.sleeps <- t.Sub(c.Now()):
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-c.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
	return nil
}

// sleep waits until the relay sleeps and returns for how long.
func (c *fakeClock) sleep(t *testing.T, what string) time.Duration {
	t.Helper()
	return recv(t, c.sleeps, what)
}

// resume ends the sleep the relay is in.
func (c *fakeClock) resume(t *testing.T) {
	t.Helper()
	select {
	case c.release <- struct{}{}:
	case <-time.After(wait):
		t.Fatal("the relay is not sleeping")
	}
}

// fakeLive stands in for a LiveSource: each claim is a fakeSession that
// reads the stream into a buffer.
type fakeLive struct {
	claims chan *fakeSession
	// during, if set, runs in Stream after the first read (tests move
	// their clock there).
	during func()
}

func newFakeLive() *fakeLive { return &fakeLive{claims: make(chan *fakeSession, 16)} }

func (f *fakeLive) claim(info mount.StreamInfo) (session, error) {
	s := &fakeSession{info: info, during: f.during, ended: make(chan error, 1), progress: make(chan struct{}, 1)}
	f.claims <- s
	return s, nil
}

type fakeSession struct {
	info     mount.StreamInfo
	during   func()
	ended    chan error
	progress chan struct{} // a read or a title arrived
	mu       sync.Mutex
	audio    bytes.Buffer
	titles   []string
}

func (s *fakeSession) Stream(ctx context.Context, r io.Reader) error {
	buf := make([]byte, 4096)
	first := true
	for {
		n, err := r.Read(buf)
		s.mu.Lock()
		s.audio.Write(buf[:n])
		s.mu.Unlock()
		s.signal()
		if first && s.during != nil {
			first = false
			s.during()
		}
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			s.ended <- err
			return err
		}
	}
}

func (s *fakeSession) SetTitle(title string) {
	s.mu.Lock()
	s.titles = append(s.titles, title)
	s.mu.Unlock()
	s.signal()
}

func (s *fakeSession) Close() {}

func (s *fakeSession) signal() {
	select {
	case s.progress <- struct{}{}:
	default:
	}
}

// waitFor waits until cond holds on the session's audio and titles.
func (s *fakeSession) waitFor(t *testing.T, what string, cond func(audio []byte, titles []string) bool) {
	t.Helper()
	for {
		s.mu.Lock()
		ok := cond(s.audio.Bytes(), s.titles)
		s.mu.Unlock()
		if ok {
			return
		}
		recv(t, s.progress, what)
	}
}

// runRelay starts r.Run and stops it when the test ends.
func runRelay(t *testing.T, r *Relay) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(wait):
			t.Error("Run did not return after its context ended")
		}
	})
}

// icyBody interleaves audio with title blocks every metaint bytes.
func icyBody(audio []byte, metaint int, titles ...string) []byte {
	var out []byte
	for i, k := 0, 0; i < len(audio); i += metaint {
		out = append(out, audio[i:min(i+metaint, len(audio))]...)
		if i+metaint <= len(audio) {
			if k < len(titles) {
				out = append(out, icy.MetaBlock(titles[k], icy.UTF8)...)
				k++
			} else {
				out = append(out, 0)
			}
		}
	}
	return out
}

// TestICY200 relays a SHOUTcast v1 server: status line "ICY 200 OK",
// bare-LF header lines, metadata in the body.
func TestICY200(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	audio := bytes.Repeat([]byte("MPEG"), 100)
	requests := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		var head strings.Builder
		for {
			line, err := br.ReadString('\n')
			head.WriteString(line)
			if err != nil || line == "\r\n" {
				break
			}
		}
		requests <- head.String()
		// The test reads what arrived; a failed write shows there.
		_, _ = io.WriteString(c, "ICY 200 OK\r\nicy-notice1:<BR>This stream requires Winamp<BR>\nicy-name:Old Radio\nicy-genre:Jazz\n"+
			"icy-url:http://old.example\ncontent-type:audio/mpeg\nicy-pub:1\nicy-metaint:64\nicy-br:128\n\n")
		_, _ = c.Write(icyBody(audio, 64, "Miles Davis - So What", "Chet Baker - Alone Together"))
	}()
	live := newFakeLive()
	clock := newFakeClock()
	r := &Relay{URL: "http://" + ln.Addr().String() + "/;", claim: live.claim, Clock: clock, UserAgent: "relay-test"}
	runRelay(t, r)

	req := recv(t, requests, "the request")
	for _, want := range []string{"GET /; HTTP/1.1\r\n", "Icy-MetaData: 1\r\n", "User-Agent: relay-test\r\n"} {
		if !strings.Contains(req, want) {
			t.Errorf("request lacks %q:\n%s", want, req)
		}
	}
	s := recv(t, live.claims, "a claim")
	if err := recv(t, s.ended, "the stream to end"); err != nil {
		t.Errorf("Stream: %v", err)
	}
	want := mount.StreamInfo{Name: "Old Radio", Genre: "Jazz", URL: "http://old.example", Public: true,
		AudioInfo: "bitrate=128", ContentType: "audio/mpeg", RemoteAddr: r.URL}
	if s.info != want {
		t.Errorf("info %+v\nwant %+v", s.info, want)
	}
	if !bytes.Equal(s.audio.Bytes(), audio) {
		t.Errorf("audio %q, want %q", s.audio.Bytes(), audio)
	}
	if got := strings.Join(s.titles, "|"); got != "Miles Davis - So What|Chet Baker - Alone Together" {
		t.Errorf("titles %q", got)
	}
	clock.sleep(t, "the retry after the end of stream")
	if st := r.Status(); st.BytesIn != int64(len(icyBody(audio, 64, "Miles Davis - So What", "Chet Baker - Alone Together"))) || st.LastError != "" {
		t.Errorf("status %+v", st)
	}
}

// streamHandler answers like Icecast and streams until the client leaves,
// telling conns about each connection and gone about each that ended.
func streamHandler(conns, gone chan<- *http.Request) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		if conns != nil {
			conns <- req
		}
		if gone != nil {
			defer func() { gone <- req }()
		}
		w.Header().Set("Content-Type", "audio/mpeg")
		w.Header().Set("icy-name", "Upstream")
		w.WriteHeader(http.StatusOK)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			if _, err := w.Write(bytes.Repeat([]byte{0xAA}, 256)); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-tick.C:
			case <-req.Context().Done():
				return
			}
		}
	}
}

func TestRedirects(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/stream", streamHandler(nil, nil))
	for i := range 6 {
		next := fmt.Sprintf("/r%d", i+1)
		if i == 5 {
			next = "/stream"
		}
		mux.Handle(fmt.Sprintf("/r%d", i), http.RedirectHandler(next, http.StatusFound))
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	t.Run("five", func(t *testing.T) {
		live := newFakeLive()
		runRelay(t, &Relay{URL: srv.URL + "/r1", claim: live.claim, Clock: newFakeClock()})
		s := recv(t, live.claims, "a claim after five redirects")
		if s.info.RemoteAddr != srv.URL+"/stream" || s.info.Name != "Upstream" {
			t.Errorf("info %+v", s.info)
		}
	})
	t.Run("six", func(t *testing.T) {
		clock := newFakeClock()
		r := &Relay{URL: srv.URL + "/r0", claim: newFakeLive().claim, Clock: clock}
		runRelay(t, r)
		clock.sleep(t, "the retry")
		if st := r.Status(); !strings.Contains(st.LastError, "more than 5 redirects") || st.Failures != 1 {
			t.Errorf("status %+v", st)
		}
	})
}

// TestRefusals: answers that are not an MP3 stream are failures with a
// reason, retried after a backoff.
func TestRefusals(t *testing.T) {
	cases := []struct {
		name    string
		handler http.HandlerFunc
		reason  string
	}{
		{"404", http.NotFound, "upstream answered 404 Not Found"},
		{"html", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, "<html>")
		}, `upstream sends "text/html; charset=utf-8", not MP3`},
		{"ogg", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/ogg")
		}, `upstream sends "application/ogg", not MP3`},
		{"metaint", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "audio/mpeg")
			w.Header().Set("icy-metaint", "-5")
		}, `bad icy-metaint "-5"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(c.handler)
			t.Cleanup(srv.Close)
			var logs bytes.Buffer
			clock := newFakeClock()
			r := &Relay{URL: srv.URL + "/x", claim: newFakeLive().claim, Clock: clock,
				Logger: slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil))}
			runRelay(t, r)
			clock.sleep(t, "the retry")
			st := r.Status()
			if !strings.Contains(st.LastError, c.reason) || st.State != StateBackoff || st.Connected {
				t.Errorf("status %+v, want LastError with %q", st, c.reason)
			}
		})
	}
}

// TestBackoffSchedule: a failing upstream is retried after 1, 2, 4 … 30 s
// (each up to a quarter shorter); a connection that played for
// StableAfter starts the schedule over.
func TestBackoffSchedule(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if fail.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "audio/mpeg")
		_, _ = io.WriteString(w, "some audio")
	}))
	t.Cleanup(srv.Close)
	clock := newFakeClock()
	live := newFakeLive()
	live.during = func() { clock.advance(StableAfter) }
	r := &Relay{URL: srv.URL, claim: live.claim, Clock: clock}
	runRelay(t, r)
	for i, base := range []time.Duration{1, 2, 4, 8, 16, 30, 30, 30} {
		base *= time.Second
		if got := clock.sleep(t, "a retry"); got > base || got < base*3/4 {
			t.Errorf("wait %d: %v, want %v less up to a quarter", i+1, got, base)
		}
		if st := r.Status(); st.Failures != int64(i+1) || !strings.Contains(st.LastError, "503") || st.State != StateBackoff {
			t.Errorf("status %+v", st)
		}
		if i == 7 {
			fail.Store(false)
		}
		clock.resume(t)
	}
	recv(t, live.claims, "a claim")
	if got := clock.sleep(t, "the retry after a stable stream"); got > time.Second {
		t.Errorf("wait after a stable connection %v, want at most 1 s", got)
	}
	if st := r.Status(); st.LastError != "" || st.Failures != 8 || st.Reconnects != 0 {
		t.Errorf("status after a clean end %+v", st)
	}
}

// TestDefaultBackoff checks the bounds over many draws.
func TestDefaultBackoff(t *testing.T) {
	for attempt := range 12 {
		base := min(time.Second<<max(attempt-1, 0), 30*time.Second)
		for range 200 {
			if d := DefaultBackoff(attempt); d > base || d < base*3/4 {
				t.Fatalf("DefaultBackoff(%d) = %v, want in [%v, %v]", attempt, d, base*3/4, base)
			}
		}
	}
}

// syncWriter serialises writes to a buffer read after the relay stopped.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprint(s.w)
}

// TestNoCredentialsShown: the URL's user and password go upstream as
// Basic auth and nowhere else, whatever fails.
func TestNoCredentialsShown(t *testing.T) {
	const user, pass = "relayuser", "s3cr3t-Pa55"
	auths := make(chan string, 16)
	var mode atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		auths <- req.Header.Get("Authorization")
		switch mode.Load() {
		case 0:
			http.Error(w, "who are you", http.StatusUnauthorized)
		case 1:
			// A redirect to a URL that carries the password again.
			http.Redirect(w, req, "http://"+user+":"+pass+"@127.0.0.1:1/gone", http.StatusFound)
		default:
			streamHandler(nil, nil)(w, req)
		}
	}))
	t.Cleanup(srv.Close)
	logs := &syncWriter{w: &bytes.Buffer{}}
	clock := newFakeClock()
	live := newFakeLive()
	url := strings.Replace(srv.URL, "http://", "http://"+user+":"+pass+"@", 1) + "/live"
	r := &Relay{URL: url, claim: live.claim, Clock: clock,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	check := func(when string) {
		t.Helper()
		st := fmt.Sprintf("%+v", r.Status())
		for _, secret := range []string{pass, user} {
			if strings.Contains(st, secret) {
				t.Errorf("%s: status shows %q: %s", when, secret, st)
			}
			if strings.Contains(logs.String(), secret) {
				t.Errorf("%s: logs show %q:\n%s", when, secret, logs.String())
			}
		}
	}
	runRelay(t, r)
	if got, want := recv(t, auths, "a request"), "Basic cmVsYXl1c2VyOnMzY3IzdC1QYTU1"; got != want {
		t.Errorf("Authorization %q, want %q", got, want)
	}
	clock.sleep(t, "the retry after 401")
	check("after 401")
	mode.Store(1)
	clock.resume(t)
	recv(t, auths, "the second request")
	clock.sleep(t, "the retry after the redirect")
	check("after a failed redirect")
	if st := r.Status(); st.Upstream != srv.URL+"/live" || st.LastError == "" || st.Failures != 2 {
		t.Errorf("status %+v", st)
	}
	mode.Store(2)
	clock.resume(t)
	s := recv(t, live.claims, "a claim")
	s.waitFor(t, "audio", func(a []byte, _ []string) bool { return len(a) > 0 })
	check("while connected")
	if s.info.RemoteAddr != srv.URL+"/live" {
		t.Errorf("RemoteAddr %q", s.info.RemoteAddr)
	}
	t.Logf("status %+v\nlogs:\n%s", r.Status(), logs.String())
}

// TestOnDemand: an on-demand relay connects when the first listener
// arrives and disconnects when the last one leaves, following Wake.
func TestOnDemand(t *testing.T) {
	conns, gone := make(chan *http.Request, 4), make(chan *http.Request, 4)
	srv := httptest.NewServer(streamHandler(conns, gone))
	t.Cleanup(srv.Close)
	var listeners atomic.Int64
	states := make(chan State, 64)
	live := newFakeLive()
	r := &Relay{URL: srv.URL, claim: live.claim, OnDemand: true, Clock: newFakeClock(),
		Listeners: func() int { return int(listeners.Load()) }, onState: func(s State) { states <- s }}
	waitState := func(want State) {
		t.Helper()
		for {
			if s := recv(t, states, "state "+string(want)); s == want {
				return
			}
		}
	}
	runRelay(t, r)
	waitState(StateIdle)
	r.Wake() // no listener yet: stays idle
	if st := r.Status(); st.State != StateIdle || st.Connected {
		t.Errorf("status %+v", st)
	}
	for round := range 2 {
		listeners.Store(int64(round + 1))
		r.Wake()
		recv(t, conns, "the upstream connection")
		waitState(StateConnected)
		s := recv(t, live.claims, "a claim")
		s.waitFor(t, "audio", func(a []byte, _ []string) bool { return len(a) > 0 })
		listeners.Add(1) // another listener: the stream goes on
		r.Wake()
		listeners.Store(0)
		r.Wake()
		recv(t, gone, "the upstream connection to close")
		waitState(StateIdle)
		if err := recv(t, s.ended, "Stream to return"); !errors.Is(err, context.Canceled) {
			t.Errorf("Stream returned %v", err)
		}
	}
	select {
	case <-conns:
		t.Error("an upstream connection with no listener")
	default:
	}
	if st := r.Status(); st.Reconnects != 1 || st.Failures != 0 || st.LastError != "" {
		t.Errorf("status %+v", st)
	}
}

// TestHTTPS relays an https upstream, trusting its certificate through TLS.
func TestHTTPS(t *testing.T) {
	srv := httptest.NewUnstartedServer(streamHandler(nil, nil))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted handshake fails on purpose
	srv.StartTLS()
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	live := newFakeLive()
	r := &Relay{URL: srv.URL + "/secure", TLS: &tls.Config{RootCAs: pool}, claim: live.claim, Clock: newFakeClock()}
	runRelay(t, r)
	s := recv(t, live.claims, "a claim")
	s.waitFor(t, "audio", func(a []byte, _ []string) bool { return len(a) >= 512 })
	if s.info.Name != "Upstream" || !strings.HasPrefix(s.info.RemoteAddr, "https://") {
		t.Errorf("info %+v", s.info)
	}

	t.Run("untrusted", func(t *testing.T) {
		clock := newFakeClock()
		r := &Relay{URL: srv.URL + "/secure", claim: newFakeLive().claim, Clock: clock}
		runRelay(t, r)
		clock.sleep(t, "the retry")
		if st := r.Status(); !strings.Contains(st.LastError, "certificate") {
			t.Errorf("status %+v", st)
		}
	})
}

func TestCheckURL(t *testing.T) {
	for s, ok := range map[string]bool{
		"http://host:8000/stream":          true,
		"https://user:pw@host/x":           true,
		"ftp://host/x":                     false,
		"http:///nohost":                   false,
		"http://user:se cret@host:bad/%zz": false,
	} {
		err := CheckURL(s)
		if (err == nil) != ok {
			t.Errorf("CheckURL(%q) = %v", s, err)
		}
		if err != nil && (strings.Contains(err.Error(), "cret") || strings.Contains(err.Error(), "user")) {
			t.Errorf("CheckURL(%q) quotes the URL: %v", s, err)
		}
	}
}

// A token in the relay URL's query (URL-authenticated upstreams) is as
// private as a password: Status and errors show the URL without it.
func TestQueryTokenNotShown(t *testing.T) {
	const token = "TOPSECRET-token"
	r := &Relay{URL: "http://127.0.0.1:1/stream?token=" + token, Live: &mount.LiveSource{Kind: "relay"},
		Backoff: func(int) time.Duration { return time.Hour }, ConnectTimeout: time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	testmedia.PollUntil(t, wait, "a failed attempt", func() bool { return r.Status().Failures > 0 })
	st := r.Status()
	if strings.Contains(st.Upstream, token) || strings.Contains(st.LastError, token) {
		t.Errorf("status shows the query token: %+v", st)
	}
	if st.Upstream != "http://127.0.0.1:1/stream" {
		t.Errorf("upstream shown as %q", st.Upstream)
	}
}
