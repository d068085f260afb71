package server

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/aposazhennikov/stream-audio-to-web/icy"
	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/station"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

// stream answers a listener: checks, then the response head and audio are
// written by the station on the hijacked connection (fasthttp's own
// streaming would answer HTTP/1.0 players with chunked encoding).
func (s *Server) stream(ctx *fasthttp.RequestCtx, st Station) {
	switch string(ctx.Method()) {
	case fasthttp.MethodOptions:
		ctx.HijackSetNoResponse(true)
		resp := icy.CORSPreflight(nil)
		ctx.Hijack(func(c net.Conn) { writeAndClose(c, resp) })
		return
	case fasthttp.MethodGet, fasthttp.MethodHead:
	default:
		methodIs(ctx, "GET", "HEAD", "OPTIONS")
		return
	}
	set := st.Profile()
	if !st.Ready() && !s.awaitReady(ctx, st) {
		s.refuse(ctx, st, refusedNoAudio, noAudioWhy(set))
		return
	}
	if set.MaxListeners > 0 && st.Listeners() >= set.MaxListeners {
		s.refuse(ctx, st, refusedStationListeners, fmt.Sprintf("station %s is full (%d listeners)", set.Route, set.MaxListeners))
		return
	}
	if s.MaxListeners > 0 && s.totalListeners() >= s.MaxListeners {
		s.refuse(ctx, st, refusedServerListeners, fmt.Sprintf("server is full (%d listeners)", s.MaxListeners))
		return
	}
	ip := s.clientAddr(ctx).String()

	ua := ctx.Request.Header.UserAgent()
	metaint := 0
	if icy.WantsMetadata(ctx.Request.Header.Peek("Icy-MetaData")) {
		metaint = set.Metaint
	}
	h := icy.Head{
		Legacy: set.LegacyICYStatus && !icy.IsBrowser(ua),
		Name:   set.Name, Description: set.Description, Genre: set.Genre, URL: set.URL, Public: set.Public,
		Bitrate: set.Bitrate, SampleRate: set.SampleRate, Channels: set.Channels,
		Metaint: metaint, ServerID: s.ServerID,
	}
	if t := st.NowPlaying(); t != nil && t.Bitrate > 0 {
		h.Bitrate, h.SampleRate, h.Channels = t.Bitrate, t.SampleRate, t.Channels
	}
	head := h.Append(make([]byte, 0, 640))
	sndbuf := mount.SendBuffer(st.BurstDelay(), h.Bitrate)
	isHead := string(ctx.Method()) == fasthttp.MethodHead
	remote := s.remoteAddr(ctx)
	userAgent := string(ua)
	connID := ctx.ConnID()
	var onEnd func(mount.ListenerInfo, time.Time)
	if log := s.AccessLog; log != nil {
		req := AccessRequest{Method: string(ctx.Method()), Path: string(ctx.Path()), Proto: string(ctx.Request.Header.Protocol()),
			Referer: string(ctx.Request.Header.Referer())}
		onEnd = func(info mount.ListenerInfo, ended time.Time) { log.Session(req, info, ended) }
	}
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(c net.Conn) {
		defer s.recoverHijack(c, set.Route)
		// Slots are taken here, on the hijacked connection, not in the
		// handler: fasthttp skips this callback when it cannot hand the
		// connection over (a failed flush of an earlier pipelined
		// response, a failed SetDeadline), and a slot taken before would
		// never be given back. The station gives them back when it closes
		// the connection (HEAD: at once).
		release, refused, why := s.admit(st, set, ip)
		if release == nil {
			s.refuseConn(c, st, refused, why)
			return
		}
		if isHead {
			// HEAD: the headers a GET would get, then close; not a listener.
			release() // first: a client that read the reply may connect again at once
			writeAndClose(c, head)
			return
		}
		sc := streamConn(c)
		if tc, ok := sc.(*net.TCPConn); ok {
			tc.SetWriteBuffer(sndbuf)
		}
		// The station owns the connection from here and runs release
		// when it closes it, whatever the outcome.
		req := mount.JoinRequest{Conn: sc, Head: head, Metaint: metaint, Remote: remote, UserAgent: userAgent,
			ID: connID, OnEnd: onEnd, OnLeave: release}
		// A private station that finds nothing to play refuses the
		// listener as the check above would have (mount.ErrNoAudio).
		req.NoAudio = func() []byte {
			s.refusalsOf(st)[refusedNoAudio].Add(1)
			return icy.ErrorResponse(nil, fasthttp.StatusServiceUnavailable, "503 Service Unavailable: "+noAudioWhy(set))
		}
		if err := st.Join(req); err != nil {
			s.Logger.Debug("listener not joined", "route", set.Route, "remote", remote, "error", err.Error())
		}
	})
}

// noAudioWhy is the 503 message for a station with nothing to play.
func noAudioWhy(set station.Profile) string {
	if set.LiveOnly {
		return fmt.Sprintf("station %s is off the air: it plays only while a live show or its relay is on.", set.Route)
	}
	return fmt.Sprintf("station %s has no playable audio yet. It starts by itself when a playable file appears.", set.Route)
}

// admit takes the slots a listener of st from ip needs (a private
// stream, a connection of ip) and returns the function that gives them
// back, or why there is none (nothing is held then).
func (s *Server) admit(st Station, set station.Profile, ip string) (release func(), reason refusal, why string) {
	var releases []func()
	release = func() {
		for _, r := range releases {
			r()
		}
	}
	if set.Mode == config.ModeIndividual {
		give, refused, why := s.private.acquire(st, set.MaxPrivateStreams, s.current().maxPrivateStreams)
		if give == nil {
			return nil, refused, why
		}
		releases = append(releases, give)
	}
	if s.MaxConnsPerIP > 0 {
		if !s.perIP.acquire(ip, s.MaxConnsPerIP) {
			release()
			return nil, refusedConnsPerIP, fmt.Sprintf("too many connections from %s (limit %d)", ip, s.MaxConnsPerIP)
		}
		releases = append(releases, func() { s.perIP.release(ip) })
	}
	return release, 0, ""
}

// Start-up: the server accepts before the stations publish, so a listener
// arriving within startupWindow of the start waits up to startupReadyWait
// for a station that is not ready yet instead of an immediate 503.
const (
	startupWindow    = 10 * time.Second
	startupReadyWait = 3 * time.Second
	// onDemandReadyWait is how long a listener of an on-demand relay that
	// is not connected waits for it: a connect plus the live buffer.
	onDemandReadyWait = 10 * time.Second
)

// awaitReady reports whether st became ready, waiting for it only within
// the start-up window: later, a station that is not ready is refused at
// once, holding nothing.
func (s *Server) awaitReady(ctx context.Context, st Station) bool {
	wait := startupReadyWait
	switch {
	case st.Profile().OnDemand:
		wait = onDemandReadyWait // the relay connects for this listener
	case s.clock().Sub(s.upSince) >= startupWindow:
		return false
	}
	if s.readyWait != nil {
		s.readyWait()
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	return st.WaitReady(wctx) == nil
}

// refuseConn is refuse on a connection already hijacked.
func (s *Server) refuseConn(c net.Conn, st Station, reason refusal, why string) {
	s.refusalsOf(st)[reason].Add(1)
	writeAndClose(c, icy.ErrorResponse(nil, fasthttp.StatusServiceUnavailable, "503 Service Unavailable: "+why))
}

// refuse turns a listener of st away with a 503 saying why, and counts it.
func (s *Server) refuse(ctx *fasthttp.RequestCtx, st Station, reason refusal, why string) {
	s.refusalsOf(st)[reason].Add(1)
	s.reply(ctx, fasthttp.StatusServiceUnavailable, "503 Service Unavailable: "+why)
}

// reply answers on the hijacked connection too, so the status line and
// headers are exactly Icecast-like and the connection is closed.
func (s *Server) reply(ctx *fasthttp.RequestCtx, code int, msg string) {
	resp := icy.ErrorResponse(nil, code, msg)
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(c net.Conn) { writeAndClose(c, resp) })
}

// recoverHijack keeps a panic while handing over a connection from taking
// the server down (fasthttp runs hijack handlers outside its handler).
func (s *Server) recoverHijack(c net.Conn, route string) {
	if v := recover(); v != nil {
		s.Logger.Error("panic while joining a listener", "route", route, "panic", fmt.Sprint(v))
		s.Reporter.Panic(v, map[string]string{"route": route})
		c.Close()
	}
}

// writeAndClose sends a short, complete reply and closes: best effort, a
// client that left has nothing to be told.
func writeAndClose(c net.Conn, b []byte) {
	c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, _ = c.Write(b)
	c.Close()
}
