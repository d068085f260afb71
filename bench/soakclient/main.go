// Command soakclient is the load of bench/soak.sh: listeners that churn
// (connect, listen 2–10 s, leave, reconnect) against a running
// audio-streamer for a fixed time, one monitor listener per station that
// stays connected throughout, and samples of the server's goroutines
// (/metrics go_goroutines), open files (/proc/PID/fd) and RSS
// (/proc/PID/status VmRSS) after the warm-up and at the end. It prints a
// table and exits 1 when a resource grew by the limit or more, a station
// paused, or sessions failed; 2 on bad usage. Loopback targets only.
//
//	soakclient --addr 127.0.0.1:9999 --routes /,/two --listeners 1000 --duration 30m --pid 1234
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

type options struct {
	addr                 string
	routes               []string
	listeners            int
	duration, warmup     time.Duration
	minListen, maxListen time.Duration
	rate                 float64 // listeners started per second at the beginning
	pid                  int
	maxGap               time.Duration
	growth               float64 // relative growth that fails the run
	maxFailed            float64 // share of failed sessions that fails the run
	window               int     // samples (1 s apart) in the start and end medians
	goroutineSlack       float64 // goroutine growth that never fails (fasthttp's idle workers)
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("soakclient", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	var routes string
	fs.StringVar(&o.addr, "addr", "127.0.0.1:9999", "server address (loopback only)")
	fs.StringVar(&routes, "routes", "/", "comma-separated station routes; listeners take them in turn")
	fs.IntVar(&o.listeners, "listeners", 1000, "churning listeners (each reconnects as soon as it leaves)")
	fs.DurationVar(&o.duration, "duration", 30*time.Minute, "whole run, warm-up included")
	fs.DurationVar(&o.warmup, "warmup", time.Minute, "time before the start sample")
	fs.DurationVar(&o.minListen, "min-listen", 2*time.Second, "shortest session")
	fs.DurationVar(&o.maxListen, "max-listen", 10*time.Second, "longest session")
	fs.Float64Var(&o.rate, "rate", 200, "listeners started per second at the beginning")
	fs.IntVar(&o.pid, "pid", 0, "server process id (for open files and RSS)")
	fs.DurationVar(&o.maxGap, "max-gap", 2*time.Second, "longest read gap a monitor listener may see")
	fs.Float64Var(&o.growth, "growth", 0.05, "relative growth (end vs start) that fails the run")
	fs.Float64Var(&o.maxFailed, "max-failed", 0.001, "share of failed sessions that fails the run")
	fs.IntVar(&o.window, "window", 10, "samples, 1 s apart, in each of the start and end medians")
	fs.Float64Var(&o.goroutineSlack, "goroutine-slack", 10, "goroutine growth that passes whatever its share (fasthttp's pool of idle workers moves by this much)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for r := range strings.SplitSeq(routes, ",") {
		if r = strings.TrimSpace(r); r != "" {
			o.routes = append(o.routes, r)
		}
	}
	host, _, err := net.SplitHostPort(o.addr)
	if err != nil {
		return o, err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return o, fmt.Errorf("--addr %s: only loopback addresses", o.addr)
	}
	switch {
	case o.pid <= 0:
		return o, errors.New("--pid is required")
	case len(o.routes) == 0 || o.listeners < 0 || o.rate <= 0 || o.window < 1:
		return o, errors.New("need routes, listeners ≥ 0, rate > 0, window ≥ 1")
	case o.minListen <= 0 || o.maxListen < o.minListen:
		return o, errors.New("need 0 < min-listen ≤ max-listen")
	case o.warmup+2*time.Duration(o.window)*time.Second >= o.duration:
		return o, errors.New("duration must exceed the warm-up and both sample windows")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "soakclient:", err)
		return 2
	}
	raiseOpenFiles(uint64(o.listeners + 256))
	r, err := soak(ctx, o, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "soakclient:", err)
		return 1
	}
	if !r.print(stdout, o) {
		return 1
	}
	return 0
}

// raiseOpenFiles lifts RLIMIT_NOFILE to need (the hard limit too, as root).
func raiseOpenFiles(need uint64) {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) != nil || l.Cur >= need {
		return
	}
	hard := l.Max
	l.Cur = need
	l.Max = max(l.Max, need)
	if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l) != nil {
		// Not root: the soft limit can still rise to the old hard one.
		l.Cur, l.Max = hard, hard
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l) // best effort: a low limit shows up as connect errors
	}
}

// sample is one reading of the server.
type sample struct {
	at           time.Time
	goroutines   float64
	fds          float64
	rssKiB       float64
	heapMiB      float64 // go_memstats_heap_inuse_bytes
	cpu          time.Duration
	listeners    float64
	trackSeconds map[string]float64
}

var httpClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

func takeSample(o options) (sample, error) {
	s := sample{at: time.Now(), trackSeconds: map[string]float64{}}
	resp, err := httpClient.Get("http://" + o.addr + "/metrics")
	if err != nil {
		return s, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return s, err
	}
	seen := false
	for line := range strings.Lines(string(body)) {
		name, labels, value, ok := parseSample(line)
		if !ok {
			continue
		}
		switch name {
		case "go_goroutines":
			s.goroutines, seen = value, true
		case "go_memstats_heap_inuse_bytes":
			s.heapMiB = value / (1 << 20)
		case "audio_stream_listeners":
			s.listeners += value
		case "audio_stream_track_seconds_total":
			s.trackSeconds[labels] = value
		}
	}
	if !seen {
		return s, errors.New("/metrics has no go_goroutines")
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", o.pid))
	if err != nil {
		return s, err
	}
	s.fds = float64(len(fds))
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", o.pid))
	if err != nil {
		return s, err
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				s.rssKiB, _ = strconv.ParseFloat(f[0], 64)
			}
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", o.pid))
	if err != nil {
		return s, err
	}
	// utime and stime are fields 14 and 15, counted after the command name.
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if len(f) > 12 {
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		s.cpu = time.Duration(ut+st) * time.Second / 100 // USER_HZ
	}
	return s, nil
}

// parseSample splits a Prometheus text line into name, the stream label
// (or the raw label set) and value.
func parseSample(line string) (name, stream string, value float64, ok bool) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return "", "", 0, false
	}
	sp := strings.LastIndexByte(line, ' ')
	if sp < 0 {
		return "", "", 0, false
	}
	v, err := strconv.ParseFloat(line[sp+1:], 64)
	if err != nil {
		return "", "", 0, false
	}
	name = line[:sp]
	if i := strings.IndexByte(name, '{'); i >= 0 {
		stream = name[i:]
		if q, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(stream, "{stream="), "}")); err == nil {
			stream = q
		}
		name = name[:i]
	}
	return name, stream, v, true
}

// sampleWindow takes n samples 1 s apart and returns them.
func sampleWindow(ctx context.Context, o options, n int) ([]sample, error) {
	var out []sample
	for i := range n {
		if i > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Second):
			}
		}
		s, err := takeSample(o)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func median(ss []sample, f func(sample) float64) float64 {
	v := make([]float64, len(ss))
	for i, s := range ss {
		v[i] = f(s)
	}
	slices.Sort(v)
	return v[len(v)/2]
}

// monitor is one listener per station that stays connected all along.
type monitor struct {
	route   string
	mu      sync.Mutex
	bytes   int64
	maxGap  time.Duration
	gapAt   time.Time
	drops   []string // why the connection ended early, and when
	started time.Time
}

func (m *monitor) run(ctx context.Context, o options) {
	for ctx.Err() == nil {
		err := m.listen(ctx, o)
		if ctx.Err() != nil {
			return
		}
		m.mu.Lock()
		m.drops = append(m.drops, fmt.Sprintf("%s after %v: %v", time.Now().Format(time.TimeOnly), time.Since(m.started).Round(time.Second), err))
		m.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (m *monitor) listen(ctx context.Context, o options) error {
	c, br, err := connect(ctx, o.addr, m.route, "soakclient-monitor")
	if err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	buf := make([]byte, 16<<10)
	var last time.Time
	for {
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		n, err := br.Read(buf)
		now := time.Now()
		m.mu.Lock()
		m.bytes += int64(n)
		if !last.IsZero() && now.Sub(last) > m.maxGap {
			m.maxGap, m.gapAt = now.Sub(last), now
		}
		m.mu.Unlock()
		last = now
		if err != nil {
			return err
		}
	}
}

// connect sends a player's request and reads the response head; the
// reader is left at the first body byte.
func connect(ctx context.Context, addr, route, ua string) (net.Conn, *bufio.Reader, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("connect: %w", err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.0\r\nUser-Agent: %s\r\n\r\n", route, ua); err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("request: %w", err)
	}
	br := bufio.NewReaderSize(c, 16<<10)
	status, err := br.ReadString('\n')
	if err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("response: %w", err)
	}
	if !strings.Contains(status, " 200 ") {
		c.Close()
		return nil, nil, fmt.Errorf("status %q", strings.TrimSpace(status))
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			c.Close()
			return nil, nil, fmt.Errorf("response head: %w", err)
		}
		if line == "\r\n" {
			break
		}
	}
	c.SetDeadline(time.Time{})
	return c, br, nil
}

// churn counts the churning listeners' sessions.
type churn struct {
	ok, bytes atomic.Int64
	mu        sync.Mutex
	failed    map[string]int // reason → count
}

func (ch *churn) fail(reason string) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	ch.failed[reason]++
}

// listener connects, listens for a random 2–10 s, leaves and reconnects
// (to the next route) until ctx ends.
func (ch *churn) listener(ctx context.Context, o options, id int, rng *rand.Rand) {
	buf := make([]byte, 16<<10)
	for k := 0; ctx.Err() == nil; k++ {
		route := o.routes[(id+k)%len(o.routes)]
		stay := o.minListen + time.Duration(rng.Int64N(int64(o.maxListen-o.minListen)+1))
		c, br, err := connect(ctx, o.addr, route, "soakclient")
		if err != nil {
			if ctx.Err() == nil {
				ch.fail(reason(err))
				// A refused or failed session is retried after a pause, so
				// failures cannot turn into a connect storm.
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
			continue
		}
		end := time.Now().Add(stay)
		c.SetReadDeadline(end)
		stop := context.AfterFunc(ctx, func() { c.Close() })
		var got int64
		for {
			n, err := br.Read(buf)
			got += int64(n)
			if err != nil {
				var ne net.Error
				switch {
				case errors.As(err, &ne) && ne.Timeout(), ctx.Err() != nil:
					ch.ok.Add(1)
				default:
					ch.fail("dropped: " + reason(err))
				}
				break
			}
		}
		stop()
		c.Close()
		ch.bytes.Add(got)
	}
}

// reason shortens an error to its kind, for counting.
func reason(err error) string {
	s := err.Error()
	for _, k := range []string{"connection refused", "connection reset", "i/o timeout", "EOF", "status"} {
		if strings.Contains(s, k) {
			if k == "status" {
				return s
			}
			return k
		}
	}
	return s
}

// result is a whole run.
type result struct {
	start, end []sample
	monitors   []*monitor
	churn      *churn
	elapsed    time.Duration
}

func soak(ctx context.Context, o options, progress io.Writer) (*result, error) {
	if _, err := takeSample(o); err != nil {
		return nil, fmt.Errorf("server not answering /metrics: %w", err)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	res := &result{churn: &churn{failed: map[string]int{}}}
	began := time.Now()
	for _, r := range o.routes {
		m := &monitor{route: r, started: began}
		res.monitors = append(res.monitors, m)
		wg.Go(func() { m.run(runCtx, o) })
	}
	tick := time.NewTicker(time.Duration(float64(time.Second) / o.rate))
	for i := range o.listeners {
		select {
		case <-ctx.Done():
			tick.Stop()
			stop()
			wg.Wait()
			return nil, ctx.Err()
		case <-tick.C:
		}
		rng := rand.New(rand.NewPCG(uint64(i), uint64(began.UnixNano())))
		wg.Go(func() { res.churn.listener(runCtx, o, i, rng) })
	}
	tick.Stop()
	fmt.Fprintf(progress, "soakclient: %d listeners started in %v; warm-up until %s\n",
		o.listeners, time.Since(began).Round(time.Millisecond), began.Add(o.warmup).Format(time.TimeOnly))

	wait := func(until time.Time) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Until(until)):
			return nil
		}
	}
	var err error
	if err = wait(began.Add(o.warmup)); err == nil {
		res.start, err = sampleWindow(ctx, o, o.window)
	}
	// Progress every minute, so a long run shows it is alive.
	endAt := began.Add(o.duration - time.Duration(o.window)*time.Second)
	for err == nil && time.Now().Before(endAt) {
		next := time.Now().Add(time.Minute)
		if next.After(endAt) {
			next = endAt
		}
		if err = wait(next); err == nil && time.Now().Before(endAt) {
			if s, e := takeSample(o); e == nil {
				fmt.Fprintf(progress, "soakclient: %s goroutines %.0f, fds %.0f, RSS %.1f MiB, heap in use %.1f MiB, listeners %.0f, sessions %d\n",
					s.at.Format(time.TimeOnly), s.goroutines, s.fds, s.rssKiB/1024, s.heapMiB, s.listeners, res.churn.ok.Load())
			}
		}
	}
	if err == nil {
		res.end, err = sampleWindow(ctx, o, o.window)
	}
	stop()
	wg.Wait()
	res.elapsed = time.Since(began)
	return res, err
}

// print writes the report and says whether the run passed.
func (r *result) print(w io.Writer, o options) bool {
	pass := true
	fmt.Fprintf(w, "soak: %d churning listeners (%v–%v sessions) on %s for %v (warm-up %v), server pid %d\n\n",
		o.listeners, o.minListen, o.maxListen, strings.Join(o.routes, " "), r.elapsed.Round(time.Second), o.warmup, o.pid)
	fmt.Fprintf(w, "| resource | start (median of %d) | end (median of %d) | growth | limit | |\n|---|---:|---:|---:|---:|---|\n", o.window, o.window)
	for _, m := range []struct {
		name string
		f    func(sample) float64
		unit string
		// slack is growth that never fails: fasthttp parks one idle
		// worker goroutine per request it served concurrently in the last
		// 10 s, so go_goroutines of an idle-free server swings by that
		// much from one sample to the next (20–32 seen under this load).
		slack float64
	}{
		{"goroutines (/metrics go_goroutines)", func(s sample) float64 { return s.goroutines }, "", o.goroutineSlack},
		{"open files (/proc/PID/fd)", func(s sample) float64 { return s.fds }, "", 0},
		{"RSS (VmRSS)", func(s sample) float64 { return s.rssKiB / 1024 }, " MiB", 0},
	} {
		a, b := median(r.start, m.f), median(r.end, m.f)
		g := (b - a) / a
		ok := g < o.growth || b-a <= m.slack
		pass = pass && ok
		limit := fmt.Sprintf("< %.0f %%", o.growth*100)
		if m.slack > 0 {
			limit += fmt.Sprintf(" or ≤ +%.0f", m.slack)
		}
		fmt.Fprintf(w, "| %s | %.1f%s | %.1f%s | %+.1f %% | %s | %s |\n", m.name, a, m.unit, b, m.unit, g*100, limit, verdict(ok))
	}
	first, last := r.start[0], r.end[len(r.end)-1]
	wall := last.at.Sub(first.at)
	fmt.Fprintf(w, "| Go heap in use (go_memstats_heap_inuse_bytes) | %.1f MiB | %.1f MiB | | | |\n", median(r.start, func(s sample) float64 { return s.heapMiB }), median(r.end, func(s sample) float64 { return s.heapMiB }))
	fmt.Fprintf(w, "| listeners connected (sum of stations) | %.0f | %.0f | | | |\n", median(r.start, func(s sample) float64 { return s.listeners }), median(r.end, func(s sample) float64 { return s.listeners }))
	fmt.Fprintf(w, "| server CPU between the samples | | %.1f %% of one core | | | |\n\n", 100*float64(last.cpu-first.cpu)/float64(wall))

	fmt.Fprintf(w, "| station | audio played | wall time | ratio | monitor longest gap | monitor rate | monitor drops | |\n|---|---:|---:|---:|---:|---:|---:|---|\n")
	for _, m := range r.monitors {
		played := last.trackSeconds[m.route] - first.trackSeconds[m.route]
		ratio := played / wall.Seconds()
		m.mu.Lock()
		// The clock of the stream and the wall clock agree to within a
		// publish interval at each end.
		ok := ratio > 0.99 && ratio < 1.01 && m.maxGap < o.maxGap && len(m.drops) == 0
		pass = pass && ok
		rate := float64(m.bytes) * 8 / 1000 / r.elapsed.Seconds()
		fmt.Fprintf(w, "| %s | %.1f s | %.1f s | %.4f | %v | %.1f kbit/s | %d | %s |\n",
			m.route, played, wall.Seconds(), ratio, m.maxGap.Round(time.Millisecond), rate, len(m.drops), verdict(ok))
		for _, d := range m.drops {
			fmt.Fprintf(w, "  monitor %s: %s\n", m.route, d)
		}
		m.mu.Unlock()
	}
	ok := r.churn.ok.Load()
	failed := 0
	r.churn.mu.Lock()
	reasons := make([]string, 0, len(r.churn.failed))
	for k, n := range r.churn.failed {
		failed += n
		reasons = append(reasons, fmt.Sprintf("%s: %d", k, n))
	}
	r.churn.mu.Unlock()
	slices.Sort(reasons)
	share := float64(failed) / float64(max(ok+int64(failed), 1))
	fine := share <= o.maxFailed
	pass = pass && fine
	fmt.Fprintf(w, "\nsessions: %d completed, %d failed (%.3f %%, limit %.1f %%) %s; %.1f GiB received by churning listeners\n",
		ok, failed, share*100, o.maxFailed*100, verdict(fine), float64(r.churn.bytes.Load())/(1<<30))
	for _, s := range reasons {
		fmt.Fprintf(w, "  failed: %s\n", s)
	}
	fmt.Fprintf(w, "\nresult: %s\n", map[bool]string{true: "PASS", false: "FAIL"}[pass])
	return pass
}

func verdict(ok bool) string {
	if ok {
		return "ok"
	}
	return "FAIL"
}
