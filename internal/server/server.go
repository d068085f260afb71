// Package server is the HTTP face of audio-streamer: stream routes handed
// over to their stations, the JSON and Icecast-compatible status endpoints,
// playlist files, the web player, health and metrics, admin actions.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/aposazhennikov/stream-audio-to-web/internal/auth"
	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/dashboard"
	"github.com/aposazhennikov/stream-audio-to-web/internal/ingest"
	"github.com/aposazhennikov/stream-audio-to-web/internal/programme"
	"github.com/aposazhennikov/stream-audio-to-web/internal/station"
	"github.com/aposazhennikov/stream-audio-to-web/internal/web"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// Station is what the HTTP layer needs of a station: what to tell
// listeners about it (no folder paths), how to hand it a listener, and its
// state for status pages. *station.Station is the implementation.
type Station interface {
	Profile() station.Profile
	Ready() bool
	// WaitReady returns nil once Ready is true, or ctx's error.
	WaitReady(ctx context.Context) error
	Join(mount.JoinRequest) error
	NowPlaying() *mount.TrackInfo
	BurstDelay() time.Duration
	Listeners() int
	Stats() mount.Stats
	History() []playlist.Entry
	Reload() (playlist.ScanResult, error)
	// OnAir says which source plays (folder, live, relay, fallback).
	OnAir() station.OnAir
	// LiveSource is where source clients stream, with their password;
	// nil if the station takes none.
	LiveSource() (*mount.LiveSource, string)
	// Programme is the radio station's shows, jingles and requests; nil
	// for a station that has none (individual mode, no folder).
	Programme() *programme.Programme
	// Skip ends the folder track on the air (nil: none plays); Upcoming
	// lists the folder tracks opened to play next.
	Skip() *mount.TrackInfo
	Upcoming() []*mount.TrackInfo
}

// Server serves the stations over HTTP. Fill the fields, then call Serve.
// Zero values: MaxListeners and MaxConnsPerIP 0 mean unlimited;
// HeaderTimeout 0 means 10 s; Logger nil discards; AdminToken "" allows
// admin requests from loopback only.
type Server struct {
	// Stations are the stations served at first; SetStations replaces
	// them at run time (a configuration reload).
	Stations      []Station
	AdminToken    string
	MaxListeners  int
	MaxConnsPerIP int
	HeaderTimeout time.Duration
	ServerID      string // Server header and Icecast's server_id
	// Admin and Location are Icecast's <admin> and <location>, shown as
	// they are on the status page (configuration supplies the defaults).
	Admin, Location string
	Logger          *slog.Logger
	Reporter        station.Reporter // nil: nothing is reported
	// TLSListener, if set, serves HTTPS with TLSCertFile and TLSKeyFile
	// (PEM) beside the plain listener; streams work the same on both.
	TLSListener             net.Listener
	TLSCertFile, TLSKeyFile string
	// Live-update (/events) connections: at most MaxEventStreams in total
	// (0: 1024) and MaxEventStreamsPerIP per address (0: 32); a page that
	// does not take an update within EventsWriteTimeout (0: 10 s) is
	// dropped.
	MaxEventStreams, MaxEventStreamsPerIP int
	EventsWriteTimeout                    time.Duration
	// ShoutcastMount is the route SHOUTcast v1 source clients feed
	// (ServeShoutcast); "" = none.
	ShoutcastMount string
	// AccessLog, if set, gets a line per finished listener session.
	AccessLog *AccessLog
	// TrustedProxies are the reverse proxies whose forwarded headers are
	// believed (X-Forwarded-For, X-Real-IP, X-Forwarded-Proto,
	// X-Forwarded-Host; see proxy.go); nil: none, every client is its TCP
	// peer.
	TrustedProxies []netip.Prefix
	// PublicURL, if set, is where clients reach the server (scheme, host
	// and an optional path prefix, as in "https://radio.example.com/fm"):
	// every URL the server writes starts with it, whatever the request
	// or a proxy says. nil: from the request.
	PublicURL *url.URL
	// ReloadConfig, if set, reads the configuration again and applies it
	// (POST /api/reload, as SIGHUP); a *ConfigError is an invalid new
	// configuration, refused with nothing changed. nil: the API answers 501.
	ReloadConfig func() (ReloadSummary, error)
	// Branding is what the listener page (/web) says about the server;
	// its Logo is filled from LogoFile, an image file ("" = none) served
	// by content hash, never by its path.
	Branding web.Branding
	LogoFile string

	// set is the stations served and what derives from them (stations.go);
	// swapMu orders SetStations calls.
	set     atomic.Pointer[stationSet]
	swapMu  sync.Mutex
	started time.Time
	http    *fasthttp.Server
	perIP   connsPerIP // open stream connections per address (counted only with MaxConnsPerIP)
	// private counts admitted private streams.
	private   privateStreams
	tlsProbe  atomic.Uint64
	badReqs   atomic.Uint64
	stats     statsCache  // per-station Stats shared by /events and the status endpoints
	eventData eventsCache // /events data shared by all pages
	art       artCache    // covers, station images and the logo (art.go)
	pages     pageCache   // the rendered listener page (embed.go)

	eventConns eventStreams // open /events connections
	hls        hlsStreams   // the radio stations' HLS segmenters (hls.go)
	// eventsDropped, if set, is called when an /events write fails (tests
	// synchronise on it).
	eventsDropped func()

	// ingest answers source clients and title updates; streams it
	// accepted end when serveCtx does.
	ingest   *ingest.Server
	serveCtx context.Context
	initOnce sync.Once
	initErr  error

	authFails auth.Failures      // wrong admin tokens per address
	sessions  dashboard.Sessions // admin dashboard logins (dashboard.go)
	// clock is the time of rate limits; nil: time.Now. Tests move it.
	clock func() time.Time
	// upSince is clock at start: the start-up window of awaitReady.
	upSince time.Time
	// readyWait, if set, is called when a listener starts waiting for a
	// station that is not ready yet (tests synchronise on it).
	readyWait func()
	// connState, if set, is fasthttp's ConnState hook (tests synchronise
	// on connections ending).
	connState func(net.Conn, fasthttp.ConnState)
	// reloadQueued, if set, is called when a reload waits for a scan in
	// progress (tests synchronise on it).
	reloadQueued func()

	acceptErrs     atomic.Uint64
	lastExhaustLog atomic.Int64
}

// Serve answers on ln until ctx ends, then stops accepting and returns
// once in-flight requests are done (at most 5 s). Stream connections
// belong to the stations, which close them when their context ends.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if err := s.init(); err != nil {
		return err
	}
	s.serveCtx = ctx
	stopHLS := s.startHLS(ctx)
	defer stopHLS()
	ln = &sniffListener{Listener: ln, onTLS: s.onTLSProbe, onExhausted: s.onAcceptExhausted}
	errc := make(chan error, 2)
	go func() { errc <- s.http.Serve(ln) }()
	if s.TLSListener != nil {
		go func() { errc <- s.http.ServeTLS(s.TLSListener, s.TLSCertFile, s.TLSKeyFile) }()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.http.ShutdownWithContext(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// init resolves the fields once; Serve and ServeShoutcast both call it.
func (s *Server) init() error {
	s.initOnce.Do(func() { s.initErr = s.setup() })
	return s.initErr
}

func (s *Server) setup() error {
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.Reporter == nil {
		s.Reporter = nopReporter{}
	}
	if s.HeaderTimeout <= 0 {
		s.HeaderTimeout = 10 * time.Second
	}
	if s.ServerID == "" {
		s.ServerID = "audio-streamer"
	}

	if s.clock == nil {
		s.clock = time.Now
	}

	s.started = time.Now()
	s.upSince = s.clock()
	set, err := s.newStationSet(s.Stations, nil)
	if err != nil {
		return err
	}
	s.set.Store(set)
	s.ingest = &ingest.Server{
		Lookup: s.sourceMount,
		Shoutcast: func() []*ingest.Mount {
			if m, ok := s.sourceMount(s.ShoutcastMount); ok && m.Password != "" {
				return []*ingest.Mount{m}
			}
			return nil
		},
		AdminToken: s.AdminToken, Failures: &s.authFails, HeaderTimeout: s.HeaderTimeout,
		Clock: s.clock, Logger: s.Logger,
		OnPanic: func(v any) { s.Reporter.Panic(v, map[string]string{"path": "source"}) },
	}
	s.http = &fasthttp.Server{
		Handler:               s.recoverHandler(s.handle),
		Name:                  s.ServerID,
		ReadTimeout:           s.HeaderTimeout,
		IdleTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		ReadBufferSize:        4 << 10, // also the header size limit; hijacked connections keep it until collected
		KeepHijackedConns:     true,
		SecureErrorLogMessage: true,
		NoDefaultContentType:  true,
		Logger:                fasthttpLogger{s.Logger},
		ErrorHandler:          s.badRequest,
		ConnState:             s.connState,
		// Source clients that send "Expect: 100-continue" get the 100
		// only once their password and route check out.
		ExpectHandler: s.ingest.Expect,
	}
	return nil
}

// sourceMount is a station as source clients see it: its live source and
// password ("" when it takes none).
func (s *Server) sourceMount(path string) (*ingest.Mount, bool) {
	st := s.stationFor(path)
	if st == nil {
		return nil, false
	}
	live, password := st.LiveSource()
	return &ingest.Mount{Route: st.Profile().Route, Live: live, Password: password}, true
}

// ServeShoutcast takes SHOUTcast v1 source clients on ln (the port after
// the HTTP port) for ShoutcastMount until ctx ends. Call it after Serve
// has started.
func (s *Server) ServeShoutcast(ctx context.Context, ln net.Listener) error {
	if err := s.init(); err != nil {
		return err
	}
	return s.ingest.ServeShoutcast(ctx, ln)
}

// recoverHandler keeps one failing request from taking the server down.
func (s *Server) recoverHandler(h fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		defer func() {
			if v := recover(); v != nil {
				path := string(ctx.Path())
				s.Logger.Error("handler panic", "path", path, "panic", fmt.Sprint(v))
				s.Reporter.Panic(v, map[string]string{"path": path})
				ctx.ResetBody()
				ctx.Error("internal error\n", fasthttp.StatusInternalServerError)
			}
		}()
		h(ctx)
	}
}

// badRequest answers what fasthttp could not parse: headers larger than
// the read buffer get 431, headers not complete within HeaderTimeout 408
// (a slowloris), anything else 400. All are the client's doing: counted,
// logged at debug, never reported.
func (s *Server) badRequest(ctx *fasthttp.RequestCtx, err error) {
	s.badReqs.Add(1)
	s.Logger.Debug("bad request", "remote", ctx.RemoteIP().String(), "error", err.Error())
	ctx.SetConnectionClose()
	var small *fasthttp.ErrSmallBuffer
	var ne net.Error
	switch {
	case errors.As(err, &small):
		ctx.Error("431 Request Header Fields Too Large\n", fasthttp.StatusRequestHeaderFieldsTooLarge)
	case errors.As(err, &ne) && ne.Timeout():
		ctx.Error("408 Request Timeout: request headers not received in time\n", fasthttp.StatusRequestTimeout)
	default:
		ctx.Error("400 Bad Request: this is an HTTP radio server\n", fasthttp.StatusBadRequest)
	}
}

// onAcceptExhausted logs running out of file descriptors (or memory) at
// most once a minute: under a flood it would otherwise be a line per try.
func (s *Server) onAcceptExhausted(err error) {
	s.acceptErrs.Add(1)
	now := time.Now().Unix()
	if last := s.lastExhaustLog.Load(); now-last >= 60 && s.lastExhaustLog.CompareAndSwap(last, now) {
		s.Logger.Warn("cannot accept connections, retrying (raise the open-file limit or set max_listeners)", "error", err.Error())
	}
}

func (s *Server) onTLSProbe(remote string) {
	if s.tlsProbe.Add(1) == 1 || s.Logger.Enabled(context.Background(), slog.LevelDebug) {
		s.Logger.Debug("TLS handshake on the plain HTTP port; answered with a TLS alert", "remote", remote)
	}
}

// defaultStation is what "/stream" and "/direct-stream" play: "/" if
// configured, else the first station.
func (s *Server) defaultStation() Station {
	set := s.current()
	if st, ok := set.byRoute["/"]; ok {
		return st
	}
	if len(set.list) > 0 {
		return set.list[0]
	}
	return nil
}

// stationFor finds a station by a route as users type it: with or without
// the leading slash, with a trailing slash.
func (s *Server) stationFor(route string) Station {
	if route == "" {
		return nil
	}
	r, err := config.NormalizeRoute(route)
	if err != nil {
		return nil
	}
	return s.current().byRoute[r]
}

// sortedStations lists stations by route, "/" first.
func (s *Server) sortedStations() []Station {
	out := append([]Station(nil), s.current().list...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Profile().Route < out[j].Profile().Route })
	return out
}

func (s *Server) totalListeners() int {
	n := 0
	for _, st := range s.current().list {
		n += st.Listeners()
	}
	return n
}

type nopReporter struct{}

func (nopReporter) Error(error, map[string]string) {}
func (nopReporter) Panic(any, map[string]string)   {}

// fasthttpLogger sends fasthttp's own messages to the debug log: they are
// about clients (bad requests, closed connections), not about us.
type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Debug(strings.TrimSpace(fmt.Sprintf(format, args...)), "component", "fasthttp")
}
