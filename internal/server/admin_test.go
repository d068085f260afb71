package server

import (
	"context"
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/auth"
	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/station"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// testClock is a clock the test moves by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock { return &testClock{now: time.Unix(1_700_000_000, 0)} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// scanCounter is a real station whose rescans are counted and, with a
// gate, held until the test lets them go.
type scanCounter struct {
	Station
	scans   atomic.Int64
	entered chan struct{} // nil, or told when a scan begins
	gate    chan struct{} // nil, or a scan waits for a value
}

func (c *scanCounter) Reload() (playlist.ScanResult, error) {
	c.scans.Add(1)
	if c.entered != nil {
		c.entered <- struct{}{}
	}
	if c.gate != nil {
		<-c.gate
	}
	return c.Station.Reload()
}

// nonLoopbackIP is an address of this host that is not loopback, as a
// client reaching the server over the Docker bridge has; the test skips
// without one.
func nonLoopbackIP(t *testing.T) net.IP {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Skipf("no interface addresses: %v", err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP
		}
	}
	t.Skip("this host has no non-loopback IPv4 address")
	return nil
}

// serveCounted starts one station at "/" wrapped in c, and srv on a
// listener at ip; it returns the server's address.
func serveCounted(t *testing.T, srv *Server, c *scanCounter, ip net.IP) string {
	t.Helper()
	cfg := config.Defaults()
	cfg.PublishInterval = 50 * time.Millisecond
	set := stationDefaults(t, stationSpec{Station: config.Station{Route: "/"}})
	testmedia.WriteFile(t, set.Dir, "a.mp3", taggedMP3("A", "B", testmedia.Frames(secondsOfFrames(30))))
	st, err := station.Build(&cfg, set, station.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	st.Start(ctx)
	t.Cleanup(func() { cancel(); st.Wait() })
	c.Station = st
	srv.Stations = []Station{c}
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: ip})
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, ln) }()
	t.Cleanup(func() {
		stop()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

type reloadAnswer struct {
	code    int
	status  string
	results []reloadResult
	retry   string
}

// reloadAt asks addr for a reload; safe in any goroutine (failures are
// reported with Errorf and a zero answer).
func reloadAt(t *testing.T, addr, method, auth string) reloadAnswer {
	t.Helper()
	lines := []string{method + " /reload-playlist HTTP/1.0", "Host: " + addr}
	if auth != "" {
		lines = append(lines, "Authorization: "+auth)
	}
	r, err := rawRequest(addr, lines...)
	if err != nil {
		t.Errorf("%s /reload-playlist: %v", method, err)
		return reloadAnswer{}
	}
	defer r.conn.Close()
	var body struct {
		Status  string
		Results []reloadResult
	}
	if err := json.NewDecoder(r.body).Decode(&body); err != nil {
		t.Errorf("%s /reload-playlist: %q: %v", method, r.status, err)
	}
	var code int
	if f := strings.Fields(r.status); len(f) > 1 {
		code, _ = strconv.Atoi(f[1])
	}
	retry, _ := r.header("Retry-After")
	return reloadAnswer{code: code, status: body.Status, results: body.Results, retry: retry}
}

// TestReloadFromBridgeWithoutToken: the seed's documented
// `curl http://localhost:9999/reload-playlist` reaches the server in
// Docker from the bridge gateway, not loopback. With no admin_token it
// works, GET and POST alike, and rapid calls share one rescan per
// reloadMinGap.
func TestReloadFromBridgeWithoutToken(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	c := &scanCounter{}
	addr := serveCounted(t, &Server{clock: clock.Now}, c, nonLoopbackIP(t))

	first := reloadAt(t, addr, "GET", "")
	if first.code != 200 || first.status != "success" || len(first.results) != 1 || first.results[0].Tracks != 1 {
		t.Fatalf("GET from the bridge: %+v", first)
	}
	for _, m := range []string{"POST", "GET", "POST"} {
		again := reloadAt(t, addr, m, "")
		if again.code != 200 || again.status != "success" || again.results[0] != first.results[0] {
			t.Errorf("%s within %v: %+v, want the first scan's result %+v", m, reloadMinGap, again, first.results[0])
		}
	}
	if n := c.scans.Load(); n != 1 {
		t.Errorf("%d rescans for 4 rapid requests, want 1", n)
	}
	clock.Advance(reloadMinGap)
	if a := reloadAt(t, addr, "POST", ""); a.code != 200 || a.results[0].ScannedAt == first.results[0].ScannedAt {
		t.Errorf("after %v: %+v, want a new scan", reloadMinGap, a)
	}
	if n := c.scans.Load(); n != 2 {
		t.Errorf("%d rescans, want 2", n)
	}
}

// TestReloadSharesScanInProgress: requests arriving while a rescan runs
// wait for it and share the one scan after it (which sees any file added
// meanwhile), however many they are.
func TestReloadSharesScanInProgress(t *testing.T) {
	t.Parallel()
	const waiting = 6
	queued := make(chan struct{}, waiting)
	c := &scanCounter{entered: make(chan struct{}, waiting+1), gate: make(chan struct{}, waiting+1)}
	addr := serveCounted(t, &Server{reloadQueued: func() { queued <- struct{}{} }}, c, net.IPv4(127, 0, 0, 1))

	answers := make(chan reloadAnswer, waiting+1)
	go func() { answers <- reloadAt(t, addr, "POST", "") }()
	<-c.entered // the first scan runs (and holds)
	for range waiting {
		go func() { answers <- reloadAt(t, addr, "GET", "") }()
	}
	for range waiting {
		waitFor(t, queued, "a reload queued behind the running scan")
	}
	c.gate <- struct{}{}                                      // the first scan ends
	waitFor(t, c.entered, "the waiting reloads' shared scan") // one of them runs the next
	c.gate <- struct{}{}
	for range waiting + 1 {
		if a := <-answers; a.code != 200 || a.status != "success" {
			t.Errorf("answer %+v", a)
		}
	}
	if n := c.scans.Load(); n != 2 {
		t.Errorf("%d rescans for %d requests, %d of them during the first scan; want 2", n, waiting+1, waiting)
	}
}

// waitFor receives from ch, failing the test if nothing comes for 10 s
// (a guard against hanging, not a synchronisation).
func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s within 10 s", what)
	}
}

// TestAdminTokenGuessesLimited: with admin_token set the token is
// required from everyone, and an address that sends auth.FailLimit wrong
// ones is answered 429 with Retry-After (even with the right token) until
// the window ends; other addresses are not affected.
func TestAdminTokenGuessesLimited(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	c := &scanCounter{}
	ip := nonLoopbackIP(t)
	srv := &Server{AdminToken: "s3cret", clock: clock.Now}
	addr := serveCounted(t, srv, c, net.IPv4zero)
	_, port, _ := net.SplitHostPort(addr)
	bridge, loop := net.JoinHostPort(ip.String(), port), net.JoinHostPort("127.0.0.1", port)

	if a := reloadAt(t, bridge, "GET", ""); a.code != 401 {
		t.Errorf("no token: %+v, want 401", a)
	}
	for i := range auth.FailLimit {
		if a := reloadAt(t, bridge, "POST", "Bearer guess"); a.code != 401 {
			t.Errorf("wrong token %d: %+v, want 401", i+1, a)
		}
	}
	locked := reloadAt(t, bridge, "POST", "Bearer s3cret")
	if locked.code != 429 || locked.retry != "60" {
		t.Errorf("after %d wrong tokens: %+v, want 429 with Retry-After 60", auth.FailLimit, locked)
	}
	if a := reloadAt(t, loop, "POST", "Bearer s3cret"); a.code != 200 {
		t.Errorf("another address with the token: %+v, want 200", a)
	}
	clock.Advance(auth.FailWindow)
	if a := reloadAt(t, bridge, "POST", "Bearer s3cret"); a.code != 200 {
		t.Errorf("after the window: %+v, want 200", a)
	}
	if n := c.scans.Load(); n != 2 {
		t.Errorf("%d rescans, want 2 (only the authorised requests)", n)
	}
}
