package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// config is one load run.
type config struct {
	URL            string // http://127.0.0.1:PORT/route; "%d" in the path takes the station number
	Stations       int    // with "%d": listener i plays route i mod Stations
	Listeners      int
	Rate           float64       // new listeners per second during the ramp
	Duration       time.Duration // steady window
	Settle         time.Duration // pause after the last listener has its first byte
	ConnectTimeout time.Duration // connect start → first body byte
	HTTP11         bool
	ICY            bool
	Bitrate        int // kbit/s; 0 = from the stream's first frame header
	Burst          int // bytes a listener should get at once on connect
	ReadBuf        int
	PID            int // server process to sample; 0 = none
	AllowRemote    bool
	Label          string
	Progress       io.Writer // phase lines; nil = none

	// Source pushes a live stream of tagged frames to the route (PUT as
	// user "source" with SourcePassword), SourceWarmup before the first
	// listener connects, until the window ends.
	Source         bool
	SourcePassword string
	// HLS: URL is a media playlist; Listeners HLS players poll it and
	// fetch its new segments (hls.go) instead of holding streams.
	HLS          bool
	SourceWarmup time.Duration
	// LatencySample is how many listeners, spread over the ramp, record
	// the latency of every tagged frame (with Source).
	LatencySample int
}

// target is where the listeners connect.
type target struct {
	addr  string   // ip:port, resolved once
	host  string   // Host header
	paths []string // one per station
}

// resolveTarget checks the URL and resolves its host once. Only loopback
// addresses are accepted unless allowRemote: this tool opens thousands of
// connections and must not be pointed at someone else's server by mistake.
func resolveTarget(ctx context.Context, raw string, stations int, allowRemote bool) (target, error) {
	// "%d" is not a valid URL escape: stand it in by a marker while parsing.
	const marker = "listenbench-station-number"
	u, err := url.Parse(strings.ReplaceAll(raw, "%d", marker))
	if err != nil {
		return target{}, err
	}
	if u.Scheme != "http" {
		return target{}, fmt.Errorf("url %q: only http:// is supported", raw)
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "80"
	}
	if host == "" {
		return target{}, fmt.Errorf("url %q has no host", raw)
	}
	var ip net.IP
	if ip = net.ParseIP(host); ip == nil {
		addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
		if err != nil {
			return target{}, err
		}
		for _, a := range addrs {
			if ip == nil || (!ip.IsLoopback() && a.IP.IsLoopback()) {
				ip = a.IP
			}
		}
		if ip == nil {
			return target{}, fmt.Errorf("%s: no address", host)
		}
	}
	if !ip.IsLoopback() && !allowRemote {
		return target{}, fmt.Errorf("refusing %s (%s): only loopback targets (127.0.0.1, ::1) unless --allow-remote", host, ip)
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	if u.RawQuery != "" {
		path += "?" + u.RawQuery
	}
	t := target{addr: net.JoinHostPort(ip.String(), port), host: u.Host}
	if strings.Contains(path, marker) {
		for i := range max(stations, 1) {
			t.paths = append(t.paths, strings.ReplaceAll(path, marker, strconv.Itoa(i)))
		}
	} else {
		t.paths = []string{path}
	}
	return t, nil
}

// request is what a player sends: HTTP/1.0 like Winamp and old players, or
// HTTP/1.1 like VLC, mpv and browsers, asking for metadata when ICY is on.
func request(path, host string, http11, icyMeta bool) []byte {
	var b bytes.Buffer
	proto := "HTTP/1.0"
	if http11 {
		proto = "HTTP/1.1"
	}
	fmt.Fprintf(&b, "GET %s %s\r\nHost: %s\r\nUser-Agent: listenbench/1.0\r\nAccept: */*\r\n", path, proto, host)
	if icyMeta {
		b.WriteString("Icy-MetaData: 1\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// outcome is how a listener's connection went.
type outcome uint8

const (
	pending outcome = iota
	connected
	failed
)

// listener is one simulated player. Only its own goroutine writes it until
// the run ends; the conn pointer is shared so the run can stop it.
type listener struct {
	conn atomic.Pointer[net.TCPConn]

	route     int
	outcome   outcome
	reason    string // why it failed, or why it ended early
	start     int64  // connect start, ns since the run's base
	firstByte int64  // first body byte, ns since base
	burstAt   int64  // when the first Burst audio bytes were in, ns since base; 0 = never
	audio     int64  // audio bytes (metadata stripped)
	winBytes  int64  // audio bytes read inside the steady window
	last      int64  // last read, ns since base
	maxGap    int64  // longest gap between reads inside the window, ns
	winReads  int64  // reads that returned inside the window
	endedAt   int64  // the server closed or broke the connection; 0 = open
	icy       *icyStripper
	walk      frameWalker
	lat       *latState // a sampled listener of a --source run; nil otherwise
}

// load is the state shared by one run's listeners.
type load struct {
	cfg      config
	tgt      target
	requests [][]byte
	base     time.Time
	rampBase time.Time // the first listener's launch (base + source warm-up)

	winStart, winEnd atomic.Int64 // ns since base; MaxInt64 until known
	stop             atomic.Bool
	resolved         atomic.Int64 // listeners that have a first byte or failed
	allResolved      chan struct{}
	bitrate          atomic.Int64 // kbit/s of the first frame anyone saw
	srcStop          atomic.Bool  // the source is being stopped: its write errors are expected
}

func (r *load) now() int64 { return int64(time.Since(r.base)) }

func (r *load) resolve(l *listener, o outcome, reason string) {
	l.outcome, l.reason = o, reason
	if r.resolved.Add(1) == int64(r.cfg.Listeners) {
		close(r.allResolved)
	}
}

// listen is one listener's whole life: connect, request, headers, then
// read until the run stops it. No per-byte work except ICY parsing.
func (r *load) listen(ctx context.Context, l *listener, buf []byte) {
	l.start = r.now()
	l.last = l.start
	deadline := r.base.Add(time.Duration(l.start) + r.cfg.ConnectTimeout)
	d := net.Dialer{Deadline: deadline}
	c, err := d.DialContext(ctx, "tcp", r.tgt.addr)
	if err != nil {
		r.resolve(l, failed, "connect: "+errText(err))
		return
	}
	tc := c.(*net.TCPConn)
	l.conn.Store(tc)
	if r.stop.Load() {
		r.resolve(l, failed, "no first byte before the run ended")
		return
	}
	tc.SetDeadline(deadline)
	if _, err := tc.Write(r.requests[l.route]); err != nil {
		r.resolve(l, failed, "request: "+errText(err))
		return
	}
	body, err := r.readHead(tc, l, buf)
	if err != nil {
		r.resolve(l, failed, err.Error())
		return
	}
	for len(body) == 0 {
		n, err := tc.Read(buf)
		if err != nil {
			r.resolve(l, failed, "no body: "+errText(err))
			return
		}
		body = buf[:n]
	}
	t := r.now()
	l.firstByte = t
	r.resolve(l, connected, "")
	tc.SetDeadline(time.Time{})
	if r.stop.Load() { // the run may have set its stop deadline before the line above
		return
	}
	r.onBody(l, body, t)
	for {
		n, err := tc.Read(buf)
		t := r.now()
		if n > 0 {
			r.onBody(l, buf[:n], t)
		}
		if err != nil {
			if !r.stop.Load() {
				l.endedAt, l.reason = t, errText(err)
			}
			return
		}
	}
}

// readHead reads the response head and returns the body bytes that came
// with it.
func (r *load) readHead(c *net.TCPConn, l *listener, buf []byte) ([]byte, error) {
	n := 0
	for {
		m, err := c.Read(buf[n:])
		n += m
		if i := bytes.Index(buf[:n], []byte("\r\n\r\n")); i >= 0 {
			if err := r.parseHead(l, buf[:i]); err != nil {
				return nil, err
			}
			return buf[i+4 : n], nil
		}
		if err != nil {
			return nil, errors.New("head: " + errText(err))
		}
		if n == len(buf) {
			return nil, fmt.Errorf("head: longer than %d bytes", len(buf))
		}
	}
}

func (r *load) parseHead(l *listener, head []byte) error {
	lines := strings.Split(string(head), "\r\n")
	status := strings.Fields(lines[0])
	if len(status) < 2 || !strings.HasPrefix(status[0], "HTTP/1.") && status[0] != "ICY" {
		return fmt.Errorf("head: bad status line %q", lines[0])
	}
	if status[1] != "200" {
		return fmt.Errorf("status %s", status[1])
	}
	for _, line := range lines[1:] {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "transfer-encoding":
			// A player would hear chunk sizes as noise.
			return fmt.Errorf("head: Transfer-Encoding %s on a stream", value)
		case "icy-metaint":
			mi, err := strconv.Atoi(value)
			if err != nil || mi <= 0 {
				return fmt.Errorf("head: bad icy-metaint %q", value)
			}
			if !r.cfg.ICY {
				return fmt.Errorf("head: icy-metaint %d sent to a client that did not ask for metadata", mi)
			}
			l.icy = newICYStripper(mi)
		}
	}
	return nil
}

// onBody accounts for one read of body bytes that arrived at t.
func (r *load) onBody(l *listener, b []byte, t int64) {
	ws, we := r.winStart.Load(), r.winEnd.Load()
	if l.last < we && t > ws {
		l.maxGap = max(l.maxGap, min(t, we)-max(l.last, ws))
		if t < we {
			l.winReads++
		}
	}
	l.last = t
	if l.icy != nil {
		b = l.icy.strip(b)
	}
	if len(b) == 0 {
		return
	}
	l.walk.feed(b)
	if l.lat != nil {
		for _, m := range l.walk.marks {
			l.lat.onMark(m, t, l.firstByte, t >= ws && t < we)
		}
		l.walk.marks = l.walk.marks[:0]
	}
	if l.walk.confirmed && r.bitrate.Load() == 0 {
		r.bitrate.CompareAndSwap(0, int64(l.walk.kbps))
	}
	l.audio += int64(len(b))
	if l.burstAt == 0 && l.audio >= int64(r.cfg.Burst) {
		l.burstAt = t
	}
	if t >= ws && t < we {
		l.winBytes += int64(len(b))
	}
}

// errText shortens network errors to what matters in a summary.
func errText(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF):
		return "closed by server"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err.Error()
	}
	return err.Error()
}

// bench runs the load and returns the measurements.
func bench(ctx context.Context, cfg config) (*Report, error) {
	if cfg.Listeners < 0 || cfg.Rate <= 0 || cfg.Duration <= 0 || cfg.ReadBuf < 512 || cfg.ConnectTimeout <= 0 {
		return nil, errors.New("listeners ≥ 0, rate > 0, duration > 0, connect timeout > 0 and a read buffer ≥ 512 bytes are needed")
	}
	tgt, err := resolveTarget(ctx, cfg.URL, cfg.Stations, cfg.AllowRemote)
	if err != nil {
		return nil, err
	}
	if cfg.Source && len(tgt.paths) != 1 {
		return nil, errors.New("--source pushes to one route: no \"%d\" in --url")
	}
	progress := cfg.Progress
	if progress == nil {
		progress = io.Discard
	}
	var noteErr string
	if err := raiseNoFile(uint64(cfg.Listeners) + 64); err != nil {
		noteErr = err.Error()
		fmt.Fprintln(progress, "listenbench:", err)
	}
	r := &load{cfg: cfg, tgt: tgt, allResolved: make(chan struct{})}
	for _, p := range tgt.paths {
		r.requests = append(r.requests, request(p, tgt.host, cfg.HTTP11, cfg.ICY))
	}
	r.winStart.Store(math.MaxInt64)
	r.winEnd.Store(math.MaxInt64)
	if cfg.Listeners == 0 {
		close(r.allResolved)
	}

	self, err := openProc(os.Getpid())
	if err != nil {
		return nil, err
	}
	defer self.Close()
	var server *procFiles
	if cfg.PID != 0 {
		if server, err = openProc(cfg.PID); err != nil {
			return nil, fmt.Errorf("server process: %w", err)
		}
		defer server.Close()
	}
	var srv [3]procSample // before the ramp, window start, window end
	var tool [3]procSample
	sample := func(i int) error {
		tool[i] = selfSample(self)
		if server == nil {
			return nil
		}
		s, err := server.sample()
		srv[i] = s
		return err
	}
	r.base = time.Now()
	r.rampBase = r.base
	var src *pusher
	var srcRes sourceResult
	if cfg.Source {
		if src, err = r.startSource(ctx); err != nil {
			return nil, err
		}
		defer func() {
			if !r.srcStop.Load() {
				src.stop(r)
			}
		}()
		fmt.Fprintf(progress, "listenbench: source pushing to %s; %s warm-up\n", tgt.paths[0], cfg.SourceWarmup)
		timer := time.NewTimer(cfg.SourceWarmup)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		}
		if err := src.failed(); err != nil {
			return nil, err
		}
		r.rampBase = time.Now()
	}
	if err := sample(0); err != nil {
		return nil, fmt.Errorf("server process: %w", err)
	}

	ls := make([]listener, cfg.Listeners)
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / cfg.Rate)
	timer := time.NewTimer(0)
	defer timer.Stop()
	fmt.Fprintf(progress, "listenbench: %d listeners → %s at %g/s\n", cfg.Listeners, cfg.URL, cfg.Rate)
	for i := range ls {
		// Absolute due times: a late wake-up launches the backlog at once
		// instead of stretching the ramp.
		if d := time.Until(r.rampBase.Add(time.Duration(i) * interval)); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return nil, r.abort(ls, &wg, ctx.Err())
			}
		}
		l := &ls[i]
		l.route = i % len(tgt.paths)
		if cfg.Source && sampled(i, cfg.Listeners, cfg.LatencySample) {
			l.lat = &latState{}
			l.walk.tagging = true
		}
		wg.Go(func() { r.listen(ctx, l, make([]byte, cfg.ReadBuf)) })
	}
	rampEnd := time.Now()
	fmt.Fprintf(progress, "listenbench: ramp done in %.1fs\n", rampEnd.Sub(r.rampBase).Seconds())
	timer.Reset(time.Until(rampEnd.Add(cfg.ConnectTimeout + time.Second)))
	select {
	case <-r.allResolved:
	case <-timer.C:
	case <-ctx.Done():
		return nil, r.abort(ls, &wg, ctx.Err())
	}
	resolvedAt := time.Now()
	ws := r.now() + int64(cfg.Settle)
	r.winEnd.Store(ws + int64(cfg.Duration))
	r.winStart.Store(ws)
	fmt.Fprintf(progress, "listenbench: %d/%d resolved %.1fs after the ramp; steady window %s\n",
		r.resolved.Load(), cfg.Listeners, resolvedAt.Sub(rampEnd).Seconds(), cfg.Duration)

	if err := r.sleepUntil(ctx, timer, ws); err != nil {
		return nil, r.abort(ls, &wg, err)
	}
	sampleErr := sample(1)
	if err := r.sleepUntil(ctx, timer, ws+int64(cfg.Duration)); err != nil {
		return nil, r.abort(ls, &wg, err)
	}
	if err := sample(2); err != nil && sampleErr == nil {
		sampleErr = err
	}
	r.stopAll(ls, &wg)
	if src != nil {
		srcRes = src.stop(r)
	}
	rep := r.report(ls, srv, tool, rampEnd, resolvedAt)
	if src != nil {
		rep.Source = sourceReport(srcRes, tgt.paths[0], cfg.SourceWarmup)
		if srcRes.err != nil {
			rep.Notes = append(rep.Notes, srcRes.err.Error())
		}
	}
	if noteErr != "" {
		rep.Notes = append(rep.Notes, noteErr)
	}
	if sampleErr != nil {
		// A server that died or vanished: its numbers would be nonsense.
		rep.Server = nil
		rep.Notes = append(rep.Notes, "server sample: "+sampleErr.Error())
	}
	return rep, nil
}

func (r *load) sleepUntil(ctx context.Context, timer *time.Timer, t int64) error {
	d := time.Duration(t - r.now())
	if d <= 0 {
		return nil
	}
	timer.Reset(d)
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stopAll ends every listener: a deadline in the past wakes blocked reads
// at once. Connections are reset, not closed gracefully, so no TIME_WAIT
// socket holds a port for the next run.
func (r *load) stopAll(ls []listener, wg *sync.WaitGroup) {
	r.stop.Store(true)
	past := time.Unix(1, 0)
	for i := range ls {
		if c := ls[i].conn.Load(); c != nil {
			c.SetDeadline(past)
		}
	}
	wg.Wait()
	for i := range ls {
		if c := ls[i].conn.Load(); c != nil {
			c.SetLinger(0)
			c.Close()
		}
	}
}

func (r *load) abort(ls []listener, wg *sync.WaitGroup, err error) error {
	r.stopAll(ls, wg)
	return err
}
