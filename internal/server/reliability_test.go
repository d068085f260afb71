package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/aposazhennikov/stream-audio-to-web/icy"
	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/station"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// bytesPerSecond is the rate of testmedia's 128 kbit/s frames (417 bytes,
// 1152 samples at 44.1 kHz).
const bytesPerSecond = 417 * 44100 / 1152.0

// fakeReporter records what would go to Sentry: nothing a client does
// may end up there.
type fakeReporter struct {
	mu    sync.Mutex
	calls []string
}

func (r *fakeReporter) Error(err error, tags map[string]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fmt.Sprintf("Error(%v, %v)", err, tags))
}

func (r *fakeReporter) Panic(v any, tags map[string]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fmt.Sprintf("Panic(%v, %v)", v, tags))
}

func (r *fakeReporter) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

// logRecorder is a slog handler that keeps every record, debug included.
type logRecorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r.Clone())
	return nil
}

// above returns the messages logged above level.
func (l *logRecorder) above(level slog.Level) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.recs {
		if r.Level > level {
			out = append(out, r.Level.String()+" "+r.Message)
		}
	}
	return out
}

func (l *logRecorder) count(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.recs {
		if strings.Contains(r.Message, substr) {
			n++
		}
	}
	return n
}

// steadyListener is an ordinary listener that reads all along; it tells
// whether the bad clients around it cost it any audio.
type steadyListener struct {
	done chan struct{}

	mu     sync.Mutex
	total  int64     // body bytes received
	first  time.Time // first body byte
	start  time.Time // the burst is in: live audio from here on
	live   int64     // bytes received since start
	maxGap time.Duration
	last   time.Time
	err    error
}

func startSteadyListener(t *testing.T, h *harness, route string) *steadyListener {
	t.Helper()
	r := h.raw(t, "GET "+route+" HTTP/1.0")
	if r.status != "HTTP/1.0 200 OK" {
		t.Fatalf("steady listener: %q", r.status)
	}
	l := &steadyListener{done: make(chan struct{})}
	go func() {
		defer close(l.done)
		buf := make([]byte, 16<<10)
		for {
			r.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			n, err := r.body.Read(buf)
			now := time.Now()
			l.mu.Lock()
			l.total += int64(n)
			// The burst is one write on loopback (shorter than configured
			// while the ring is young): 300 ms after the first byte, all
			// that arrives is live.
			switch {
			case !l.start.IsZero():
				l.live += int64(n)
				l.maxGap = max(l.maxGap, now.Sub(l.last))
			case l.first.IsZero():
				l.first = now
			case now.Sub(l.first) >= 300*time.Millisecond:
				l.start = now
			}
			l.last = now
			if err != nil {
				l.err = err
				l.mu.Unlock()
				return
			}
			l.mu.Unlock()
		}
	}()
	t.Cleanup(func() { r.conn.Close(); <-l.done })
	return l
}

// check waits until the listener has heard at least window of live audio
// time, then requires ≥ 90 % of real time over it and an unbroken stream.
func (l *steadyListener) check(t *testing.T, window time.Duration) {
	t.Helper()
	testmedia.PollUntil(t, window+10*time.Second, "the steady listener's window", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.err != nil || !l.start.IsZero() && time.Since(l.start) >= window
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		t.Fatalf("steady listener cut off after %d bytes: %v", l.total, l.err)
	}
	elapsed := time.Since(l.start)
	ratio := float64(l.live) / (bytesPerSecond * elapsed.Seconds())
	if ratio < 0.9 {
		t.Errorf("steady listener got %d bytes in %v: %.0f %% of real time, want ≥ 90 %% (longest gap %v)",
			l.live, elapsed.Round(time.Millisecond), ratio*100, l.maxGap)
	}
	t.Logf("steady listener: %.1f %% of real time over %v, longest gap %v", ratio*100, elapsed.Round(time.Millisecond), l.maxGap)
}

// scrapeMetrics reads /metrics over a connection of its own that closes
// (HTTP/1.0), so no keep-alive connection outlives the call.
func scrapeMetrics(t *testing.T, h *harness) map[string]*promFamily {
	t.Helper()
	r, err := rawRequest(h.addr, "GET /metrics HTTP/1.0")
	if err != nil {
		t.Fatal(err)
	}
	defer r.conn.Close()
	body, err := io.ReadAll(r.body)
	if err != nil || !strings.Contains(r.status, " 200 ") {
		t.Fatalf("/metrics: %q %v", r.status, err)
	}
	return parsePrometheus(t, body)
}

// serverWide returns the value of a metric without labels.
func serverWide(t *testing.T, fams map[string]*promFamily, name string) float64 {
	t.Helper()
	f := fams[name]
	if f == nil || len(f.samples) != 1 {
		t.Fatalf("%s: %+v", name, f)
	}
	return f.samples[0].value
}

// exchange sends req on a new connection and reads until the server
// closes it; err is what ended the read (nil for a clean close).
func exchange(addr string, req []byte, limit time.Duration) (resp []byte, elapsed time.Duration, err error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, 0, err
	}
	defer c.Close()
	start := time.Now()
	c.SetDeadline(start.Add(limit))
	if _, err := c.Write(req); err != nil {
		return nil, time.Since(start), err
	}
	resp, err = io.ReadAll(c)
	return resp, time.Since(start), err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestBadClientsDoNotHurtListeners: a slowloris, a listener that stops
// reading, a TLS handshake on the plain port and garbage requests, all at
// once, while an ordinary listener keeps getting real-time audio. None of
// it reaches the Reporter or the log above debug.
func TestBadClientsDoNotHurtListeners(t *testing.T) {
	t.Parallel()
	const burst = 16 << 10
	rep := &fakeReporter{}
	logs := &logRecorder{}
	srv := &Server{HeaderTimeout: time.Second, Reporter: rep, Logger: slog.New(logs)}
	h := startHarness(t, srv, stationSpec{
		Station:      config.Station{Route: "/", Burst: config.Burst{Bytes: burst}},
		files:        map[string][]byte{"a.mp3": taggedMP3("Steady", "Stream", testmedia.Frames(secondsOfFrames(30)))},
		writeTimeout: time.Second,
	})
	st := h.station(t, "/")
	steady := startSteadyListener(t, h, "/")
	badRequests := 0

	t.Run("clients", func(t *testing.T) {
		t.Run("slowloris", func(t *testing.T) {
			t.Parallel()
			c, err := net.Dial("tcp", h.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			start := time.Now()
			c.SetDeadline(start.Add(10 * time.Second))
			// One byte every 200 ms: the whole request would take 8 s.
			go func() {
				for _, b := range []byte("GET / HTTP/1.0\r\nUser-Agent: slowloris\r\n\r\n") {
					if _, err := c.Write([]byte{b}); err != nil {
						return
					}
					time.Sleep(200 * time.Millisecond)
				}
			}()
			resp, err := io.ReadAll(c)
			elapsed := time.Since(start)
			if err != nil && !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("after %v: %v (%q)", elapsed, err, resp)
			}
			if elapsed > srv.HeaderTimeout+2*time.Second {
				t.Errorf("closed after %v, want within the %v header timeout (+2 s)", elapsed, srv.HeaderTimeout)
			}
			if !bytes.HasPrefix(resp, []byte("HTTP/1.1 408 ")) {
				t.Errorf("answered %q, want 408 and no stream", resp)
			}
		})
		badRequests++

		t.Run("stops reading", func(t *testing.T) {
			t.Parallel()
			d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
				var serr error
				err := rc.Control(func(fd uintptr) {
					serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
				})
				return errors.Join(err, serr)
			}}
			c, err := d.Dial("tcp", h.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			before := st.Stats()
			if _, err := io.WriteString(c, "GET / HTTP/1.0\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			testmedia.PollUntil(t, 30*time.Second, "the listener that stopped reading to be dropped", func() bool {
				s := st.Stats()
				return s.TimeoutDrops+s.SlowDropped > before.TimeoutDrops+before.SlowDropped
			})
			// The server closed it: what the kernel still holds drains, then EOF.
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.Copy(io.Discard, c); isTimeout(err) {
				t.Error("the dropped listener's connection is still open")
			}
			fams := scrapeMetrics(t, h)
			drops := fams["audio_stream_write_timeouts_total"].value(t, "/") + fams["audio_stream_slow_listeners_dropped_total"].value(t, "/")
			if drops < 1 {
				t.Errorf("the drop is not in /metrics (write timeouts + slow drops = %v)", drops)
			}
		})

		t.Run("TLS on the plain port", func(t *testing.T) {
			t.Parallel()
			raw, err := net.Dial("tcp", h.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			c := tls.Client(raw, &tls.Config{ServerName: "localhost"})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			start := time.Now()
			err = c.HandshakeContext(ctx)
			elapsed := time.Since(start)
			if err == nil {
				t.Fatal("TLS handshake with the plain HTTP port succeeded")
			}
			if elapsed > time.Second || ctx.Err() != nil {
				t.Errorf("handshake failed after %v (%v), want a fast failure, not a hang", elapsed, err)
			}
			if !strings.Contains(err.Error(), "protocol version") {
				t.Errorf("handshake error %q, want the protocol_version alert", err)
			}
			testmedia.PollUntil(t, 5*time.Second, "the TLS probe to be counted", func() bool {
				return serverWide(t, scrapeMetrics(t, h), "audio_stream_tls_probes_total") == 1
			})
		})

		garbage := []struct {
			name string
			req  []byte
		}{
			{"binary junk", []byte("\x00\x01\x02\x03\xff\xfe\x80\x7f junk\r\n\r\n")},
			{"method only", []byte("GET\r\n\r\n")},
			{"20 KB header", []byte("GET / HTTP/1.0\r\nX-Filler: " + strings.Repeat("a", 20<<10) + "\r\n\r\n")},
			{"HTTP/2 preface", []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")},
			{"no spaces", []byte("GET/HTTP/1.0\r\n\r\n")},
			{"bad version", []byte("GET / HTTP/9.9x\r\n\r\n")},
			{"header without colon", []byte("GET / HTTP/1.0\r\nIcy-MetaData 1\r\n\r\n")},
		}
		badRequests += len(garbage)
		for _, tc := range garbage {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				resp, elapsed, err := exchange(h.addr, tc.req, 5*time.Second)
				if isTimeout(err) {
					t.Fatalf("connection left open after %v (%q)", elapsed, resp)
				}
				if err != nil && !errors.Is(err, syscall.ECONNRESET) {
					t.Fatal(err)
				}
				status, _, _ := bytes.Cut(resp, []byte("\r\n"))
				if !bytes.HasPrefix(status, []byte("HTTP/1.1 400 ")) && !bytes.HasPrefix(status, []byte("HTTP/1.1 431 ")) {
					t.Errorf("answered %q, want 400 or 431", status)
				}
			})
		}
	})

	steady.check(t, 4*time.Second)
	if calls := rep.list(); len(calls) > 0 {
		t.Errorf("bad clients reached the Reporter: %q", calls)
	}
	if loud := logs.above(slog.LevelDebug); len(loud) > 0 {
		t.Errorf("bad clients logged above debug: %q", loud)
	}
	if logs.count("TLS handshake") == 0 {
		t.Error("the TLS probe was not logged at debug")
	}
	fams := scrapeMetrics(t, h)
	if got := serverWide(t, fams, "audio_stream_bad_requests_total"); got != float64(badRequests) {
		t.Errorf("audio_stream_bad_requests_total %v, want %d", got, badRequests)
	}
	if got := fams["audio_stream_listeners"].value(t, "/"); got != 1 {
		t.Errorf("%v listeners, want only the steady one", got)
	}
}

// idleWorkers counts fasthttp's parked worker goroutines: after a burst
// of connections the pool keeps them for a while (MaxIdleWorkerDuration)
// to serve the next ones. They are not leaks.
func idleWorkers() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	idle := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "[chan receive") && strings.Contains(g, "(*workerPool).workerFunc") && !strings.Contains(g, "serveConn") {
			idle++
		}
	}
	return idle
}

// liveGoroutines is runtime.NumGoroutine without fasthttp's idle workers.
func liveGoroutines() int { return runtime.NumGoroutine() - idleWorkers() }

// TestConnectionChurnLeavesNothingBehind: 200 clients that connect and
// close at once and 50 that send half a request and vanish leave no
// goroutine and no file descriptor behind, and the station plays on.
// Not parallel: it counts the process's goroutines.
func TestConnectionChurnLeavesNothingBehind(t *testing.T) {
	h := startHarness(t, &Server{HeaderTimeout: 2 * time.Second}, stationSpec{
		Station: config.Station{Route: "/"},
		files:   map[string][]byte{"a.mp3": taggedMP3("Steady", "Stream", testmedia.Frames(secondsOfFrames(30)))},
	})
	steady := startSteadyListener(t, h, "/")
	scrapeMetrics(t, h) // warm up what the first request starts lazily
	testmedia.PollUntil(t, 10*time.Second, "the steady listener's burst", func() bool {
		steady.mu.Lock()
		defer steady.mu.Unlock()
		return !steady.start.IsZero()
	})
	goroutines, fds := liveGoroutines(), testmedia.OpenFDs(t)

	var wg sync.WaitGroup
	for i := range 250 {
		wg.Go(func() {
			c, err := net.DialTimeout("tcp", h.addr, 5*time.Second)
			if err != nil {
				t.Error(err)
				return
			}
			if i >= 200 {
				_, _ = io.WriteString(c, "GET / HTTP/1.0\r\nUser-Agent: half a requ") // a refused one is as good
			}
			if i%2 == 1 {
				c.(*net.TCPConn).SetLinger(0) // vanish with a reset instead of a FIN
			}
			c.Close()
		})
	}
	wg.Wait()
	testmedia.PollUntil(t, 10*time.Second, fmt.Sprintf("goroutines back to %d", goroutines), func() bool { return liveGoroutines() <= goroutines })
	testmedia.PollUntil(t, 10*time.Second, fmt.Sprintf("open files back to %d", fds), func() bool { return testmedia.OpenFDs(t) <= fds })
	t.Logf("goroutines %d (plus %d idle fasthttp workers), open files %d", liveGoroutines(), idleWorkers(), testmedia.OpenFDs(t))
	steady.check(t, 3*time.Second)
	if !h.station(t, "/").Ready() {
		t.Error("station stopped")
	}
}

// TestAllBrokenFolderAnswers503: a station whose folder holds only broken
// files stays up, answers listeners 503 with a clear message, and /readyz
// names it.
func TestAllBrokenFolderAnswers503(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// Written before the harness starts (not as spec files), so it does not
	// wait for the station to become ready.
	testmedia.WriteFile(t, dir, "not-audio.mp3", []byte(strings.Repeat("<html>not found</html>\n", 50)))
	testmedia.WriteFile(t, dir, "zeros.mp3", make([]byte, 32<<10))
	testmedia.WriteFile(t, dir, "empty.mp3")
	h := startHarness(t, nil,
		stationSpec{Station: config.Station{Route: "/broken", Dir: dir}, rescan: 200 * time.Millisecond},
		stationSpec{Station: config.Station{Route: "/ok"}, files: map[string][]byte{"a.mp3": taggedMP3("A", "B", testmedia.Frames(secondsOfFrames(10)))}},
	)
	st := h.station(t, "/broken")
	testmedia.PollUntil(t, 10*time.Second, "both broken files to be tried", func() bool { return st.Stats().FilesSkipped >= 2 })
	r := h.raw(t, "GET /broken HTTP/1.0", "Icy-MetaData: 1")
	body, _ := io.ReadAll(r.body)
	if r.status != "HTTP/1.0 503 Service Unavailable" || !bytes.Contains(body, []byte("station /broken has no playable audio")) ||
		bytes.Contains(body, []byte(dir)) {
		t.Errorf("got %q %q, want 503 naming the station, not its folder", r.status, body)
	}
	code, _, b := h.get(t, "GET", "/readyz", "")
	if code != 503 || !strings.Contains(string(b), "/broken") || strings.Contains(string(b), "/ok") {
		t.Errorf("/readyz: %d %q", code, b)
	}
	checkListenerHead(t, h.raw(t, "GET /ok HTTP/1.0"), "audio-streamer /ok", 0)
	if n := st.Stats().FilesSkipped; n != 2 {
		t.Errorf("%d skips, want each broken file tried once", n)
	}
}

// TestLongTitleIsBounded: a 10 KB title goes out as one metadata block of
// at most 255×16 bytes, cut on a character boundary, with a length byte
// that matches, and the audio around it stays intact.
func TestLongTitleIsBounded(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("Я", 5000) // 10,000 bytes of UTF-8
	h := startHarness(t, nil, stationSpec{
		Station: config.Station{Route: "/long", Metaint: 2000},
		files:   map[string][]byte{"a.mp3": taggedMP3("", long, testmedia.Frames(secondsOfFrames(10)))},
	})
	s := newICYStream(t, h.raw(t, "GET /long HTTP/1.0", "Icy-MetaData: 1"))
	for range 3 {
		b, err := s.next()
		if err != nil {
			t.Fatal(err)
		}
		if int(b.raw[0])*16 != len(b.raw)-1 || len(b.raw)-1 > icy.MaxMetaLen {
			t.Fatalf("block of %d bytes with length byte %d (max %d)", len(b.raw), b.raw[0], icy.MaxMetaLen)
		}
	}
	first := s.blocks[0]
	if len(first.raw)-1 != icy.MaxMetaLen {
		t.Errorf("first block carries %d bytes, want the full %d", len(first.raw)-1, icy.MaxMetaLen)
	}
	if !utf8.ValidString(first.title) || !strings.HasPrefix(long, first.title) || len(first.title) < icy.MaxTitleBytes-1 {
		t.Errorf("title of %d bytes (valid UTF-8 %v), want a prefix of the 10 KB title of ≈ %d bytes",
			len(first.title), utf8.ValidString(first.title), icy.MaxTitleBytes)
	}
	if !isFrameSync(s.audio) {
		t.Error("audio does not start on a frame")
	}
}

// TestReloadAccessByAddress: without a token, /reload-playlist (a
// coalesced, rate-limited rescan) answers any address, as the seed's
// curl from the Docker bridge expects, while other admin actions stay
// loopback-only whatever forwarded-for headers claim. With a token, any
// address that has it may reload and none without it.
func TestReloadAccessByAddress(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	testmedia.WriteFile(t, dir, "a.mp3", testmedia.Frames(20))
	newServer := func(token string) (*Server, *station.Station) {
		cfg := config.Defaults()
		st, err := station.Build(&cfg, stationDefaults(t, stationSpec{Station: config.Station{Route: "/", Dir: dir}}), station.Deps{})
		if err != nil {
			t.Fatal(err)
		}
		s := &Server{AdminToken: token, Stations: []Station{st}}
		if err := s.init(); err != nil {
			t.Fatal(err)
		}
		return s, st
	}
	for _, tc := range []struct {
		name, token, remote string
		hdr                 []string
		want                int
	}{
		{"remote, no token configured", "", "198.51.100.7:40000", nil, 200},
		{"remote IPv6", "", "[2001:db8::1]:40000", nil, 200},
		{"loopback", "", "127.0.0.1:40000", nil, 200},
		{"loopback IPv6", "", "[::1]:40000", nil, 200},
		{"remote without the token", "s3cret", "198.51.100.7:40000", nil, 401},
		{"remote with the token", "s3cret", "198.51.100.7:40000", []string{"Authorization", "Bearer s3cret"}, 200},
		{"loopback without the token", "s3cret", "127.0.0.1:40000", nil, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, st := newServer(tc.token)
			ctx := requestFrom(t, "POST", "/reload-playlist", tc.remote, tc.hdr)
			s.handle(ctx)
			if got := ctx.Response.StatusCode(); got != tc.want {
				t.Fatalf("status %d, want %d: %s", got, tc.want, ctx.Response.Body())
			}
			var body struct{ Status, Message string }
			if err := json.Unmarshal(ctx.Response.Body(), &body); err != nil {
				t.Fatalf("%v: %s", err, ctx.Response.Body())
			}
			// Only an allowed request may touch the library.
			if scanned := st.Library().Len() > 0; scanned != (tc.want == 200) {
				t.Errorf("library scanned: %v, status %d (%s)", scanned, tc.want, body.Message)
			}
		})
	}
	// Any other admin action needs loopback or the token.
	for _, tc := range []struct {
		name, remote string
		hdr          []string
		want         bool
	}{
		{"remote", "198.51.100.7:40000", nil, false},
		{"remote claiming loopback", "198.51.100.7:40000", []string{"X-Forwarded-For", "127.0.0.1", "X-Real-IP", "127.0.0.1"}, false},
		{"remote IPv6", "[2001:db8::1]:40000", nil, false},
		{"loopback", "127.0.0.1:40000", nil, true},
	} {
		s, _ := newServer("")
		ctx := requestFrom(t, "GET", "/", tc.remote, tc.hdr)
		if got := s.admin(ctx); got != tc.want || (!got && ctx.Response.StatusCode() != 403) {
			t.Errorf("admin action from %s without a token: allowed %v (%d), want %v", tc.name, got, ctx.Response.StatusCode(), tc.want)
		}
	}
}

// TestNoPathReachesTheFileSystem: only configured routes are served;
// traversal attempts and the names of real files in a station folder
// all get 404 (or 400), never file content.
func TestNoPathReachesTheFileSystem(t *testing.T) {
	t.Parallel()
	song := taggedMP3("Secret", "File", testmedia.Frames(secondsOfFrames(5)))
	h := startHarness(t, nil, stationSpec{Station: config.Station{Route: "/humor"}, files: map[string][]byte{"a.mp3": song}})
	dir := h.station(t, "/humor").Settings().Dir
	passwd, _ := os.ReadFile("/etc/passwd")
	for _, path := range []string{
		"/../../etc/passwd",
		"/%2e%2e/etc/passwd",
		"/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
		"/humor/../../etc/passwd",
		"/humor/..%2f..%2fetc/passwd",
		"//etc/passwd",
		"/humor/a.mp3",
		"/humor%2fa.mp3",
		"/humor/a.mp3.m3u",
		"/a.mp3",
		"/" + filepath.Base(dir) + "/a.mp3",
		dir + "/a.mp3",
		"/etc/passwd",
	} {
		t.Run(path, func(t *testing.T) {
			resp, _, err := exchange(h.addr, []byte("GET "+path+" HTTP/1.0\r\n\r\n"), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			status, body, _ := bytes.Cut(resp, []byte("\r\n"))
			if !bytes.HasPrefix(status, []byte("HTTP/1.1 404 ")) && !bytes.HasPrefix(status, []byte("HTTP/1.1 400 ")) {
				t.Errorf("status %q, want 404 or 400", status)
			}
			if (len(passwd) > 0 && bytes.Contains(body, passwd[:min(len(passwd), 32)])) || bytes.Contains(body, []byte("Secret")) ||
				bytes.Contains(body, []byte{0xFF, 0xFB}) || bytes.Contains(body, []byte("root:")) {
				t.Errorf("answer carries file content: %.200q", body)
			}
		})
	}
}

// requestFrom is a request as the handler sees it, from remote (host:port)
// with the header name/value pairs in hdr.
func requestFrom(t *testing.T, method, uri, remote string, hdr []string) *fasthttp.RequestCtx {
	t.Helper()
	var req fasthttp.Request
	req.Header.SetMethod(method)
	req.SetRequestURI(uri)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	addr, err := net.ResolveTCPAddr("tcp", remote)
	if err != nil {
		t.Fatal(err)
	}
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, addr, nil)
	return &ctx
}
