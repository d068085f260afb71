package server

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/valyala/fasthttp"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/endpoint"
	"github.com/aposazhennikov/stream-audio-to-web/internal/hls"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

// HLS: every radio station is also an HLS stream (see internal/hls and
// docs/hls.md). Its media playlist is /<route>.m3u8 (/listen.m3u8 for
// "/"), its segments /hls/<route>/<name>.mp3 under the reserved /hls
// prefix, so no route can be mistaken for a segment whatever slashes or
// letters it holds.
//
// The segmenters run for as long as Serve does, whether anyone uses HLS
// or not: a player's first request then finds a full window (a lazily
// started one would keep it waiting for several segments), and the cost
// is small (a window of audio in memory, about 1 MB at 128 kbit/s, and a
// copy of each frame).

// hlsStreams is the server's segmenters, one per radio station, made
// when Serve starts and, for stations a reload adds, on first sight; a
// segmenter whose station a reload removed stops when another is made.
type hlsStreams struct {
	mu        sync.Mutex
	ctx       context.Context // Serve's; nil while not serving
	wg        sync.WaitGroup
	byStation map[Station]*hlsStream
}

type hlsStream struct {
	seg    *hls.Segmenter
	stop   context.CancelFunc
	target Station
}

// mountpointOf is how the server reaches a station's engine for HLS;
// *station.Station has it.
type mountpointOf interface{ Mountpoint() *mount.Mountpoint }

// startHLS runs a segmenter for every radio station until ctx ends or
// the returned stop is called; stop waits for them all.
func (s *Server) startHLS(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	h := &s.hls
	h.mu.Lock()
	h.ctx, h.byStation = ctx, map[Station]*hlsStream{}
	h.mu.Unlock()
	for _, st := range s.current().list {
		s.hlsFor(st)
	}
	return func() {
		cancel()
		h.mu.Lock()
		h.ctx = nil
		h.mu.Unlock()
		h.wg.Wait()
	}
}

// hlsFor returns st's segmenter, starting it if st is a radio station
// seen for the first time; nil for a station without HLS or while the
// server is not serving.
func (s *Server) hlsFor(st Station) *hlsStream {
	h := &s.hls
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ctx == nil {
		return nil
	}
	if hs, ok := h.byStation[st]; ok {
		return hs
	}
	mp, ok := st.(mountpointOf)
	if !ok || st.Profile().Mode == config.ModeIndividual {
		h.byStation[st] = nil // remembered: asked again on every status page
		return nil
	}
	// Stations a reload removed are stopped with their segmenters.
	current := s.current().byRoute
	for old, hs := range h.byStation {
		if current[old.Profile().Route] != old {
			if hs != nil {
				hs.stop()
			}
			delete(h.byStation, old)
		}
	}
	m := mp.Mountpoint()
	ctx, stop := context.WithCancel(h.ctx)
	hs := &hlsStream{seg: hls.New(hls.Config{}), stop: stop, target: st}
	h.byStation[st] = hs
	h.wg.Go(func() {
		hs.seg.Run(ctx, func() hls.Feed {
			if r := m.Radio(); r != nil {
				return r
			}
			return nil
		})
	})
	return hs
}

// hlsPlaylistPath is the path of route's media playlist.
func hlsPlaylistPath(route string) string {
	if route == "/" {
		return "/listen.m3u8"
	}
	return route + ".m3u8"
}

// hlsURL is the absolute URL of st's media playlist for status pages, ""
// for a station without HLS.
func (s *Server) hlsURL(st Station, scheme, host string) string {
	if s.hlsFor(st) == nil {
		return ""
	}
	return s.streamURL(scheme, host, hlsPlaylistPath(st.Profile().Route))
}

// hlsPlaylist serves /<route>.m3u8; false if p names no station.
func (s *Server) hlsPlaylist(ctx *fasthttp.RequestCtx, p string) bool {
	route, ok := strings.CutSuffix(p, ".m3u8")
	if !ok {
		return false
	}
	if route == "/listen" {
		if _, taken := s.current().byRoute["/listen"]; !taken {
			route = "/"
		}
	}
	st := s.current().byRoute[route]
	if st == nil {
		return false
	}
	if !hlsMethods(ctx) {
		return true
	}
	h := s.hlsFor(st)
	if h == nil {
		hlsRefuse(ctx, fasthttp.StatusNotFound, "404 Not Found: "+route+" has no HLS stream (it plays a private stream for each listener)\n")
		return true
	}
	segs := h.seg.Listed()
	if len(segs) == 0 {
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(h.seg.TargetDuration()))
		hlsRefuse(ctx, fasthttp.StatusServiceUnavailable, "503 Service Unavailable: the first HLS segment of "+route+" is not ready yet\n")
		return true
	}
	// Segment URIs are relative to the playlist, so they work under any
	// host and path prefix a proxy puts in front.
	up := strings.Repeat("../", strings.Count(hlsPlaylistPath(route), "/")-1)
	dir := up + strings.TrimPrefix(endpoint.HLS, "/") + escapeRoute(route)
	if route == "/" {
		dir = up + strings.TrimPrefix(endpoint.HLS, "/")
	}
	body := h.seg.AppendPlaylist(make([]byte, 0, 2048), segs, func(seg *hls.Segment) string {
		return dir + "/" + seg.Name + hls.SegmentExt
	})
	ctx.SetContentType(hls.MIMEPlaylist)
	ctx.Response.Header.Set("Cache-Control", "public, max-age="+strconv.Itoa(h.seg.CacheSeconds()))
	ctx.Response.Header.Set("Access-Control-Allow-Origin", "*")
	ctx.SetBody(body)
	return true
}

// escapeRoute percent-encodes each element of route for a URL path.
func escapeRoute(route string) string {
	parts := strings.Split(route, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// hlsSegment serves /hls/<route>/<name>.mp3; false if p is not under
// /hls/.
func (s *Server) hlsSegment(ctx *fasthttp.RequestCtx, p string) bool {
	rest, ok := strings.CutPrefix(p, endpoint.HLS+"/")
	if !ok {
		return false
	}
	if !hlsMethods(ctx) {
		return true
	}
	route, file := "/", rest
	if i := strings.LastIndexByte(rest, '/'); i >= 0 {
		route, file = "/"+rest[:i], rest[i+1:]
	}
	name, ok := strings.CutSuffix(file, hls.SegmentExt)
	var h *hlsStream
	if st := s.current().byRoute[route]; st != nil {
		h = s.hlsFor(st)
	}
	if !ok || h == nil {
		hlsRefuse(ctx, fasthttp.StatusNotFound, "404 Not Found: no HLS stream at "+p+"\n")
		return true
	}
	seg := h.seg.Segment(name)
	if seg == nil {
		// Gone (or never made): a cache may remember that briefly; it
		// never becomes a different segment under this name.
		ctx.Response.Header.Set("Cache-Control", "public, max-age=10")
		hlsRefuse(ctx, fasthttp.StatusNotFound, "404 Not Found: segment "+file+" is not (or no longer) in the window\n")
		return true
	}
	etag := `"` + seg.Name + `"`
	ctx.Response.Header.Set("Cache-Control", "public, max-age=86400, immutable")
	ctx.Response.Header.Set("Access-Control-Allow-Origin", "*")
	ctx.Response.Header.Set("ETag", etag)
	if string(ctx.Request.Header.Peek("If-None-Match")) == etag {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		return true
	}
	ctx.SetContentType(hls.MIMESegment)
	ctx.Response.SetBodyRaw(seg.Data) // shared and immutable: fasthttp only reads it
	return true
}

// hlsMethods answers a CORS preflight and refuses methods other than GET
// and HEAD; true if the request is a GET or HEAD to serve.
func hlsMethods(ctx *fasthttp.RequestCtx) bool {
	if ctx.IsOptions() {
		ctx.Response.Header.Set("Access-Control-Allow-Origin", "*")
		ctx.Response.Header.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
		ctx.Response.Header.Set("Access-Control-Max-Age", "86400")
		ctx.SetStatusCode(fasthttp.StatusNoContent)
		return false
	}
	return methodIs(ctx, "GET", "HEAD")
}

// hlsRefuse answers an error that browsers on other origins can read.
func hlsRefuse(ctx *fasthttp.RequestCtx, code int, msg string) {
	cc := string(ctx.Response.Header.Peek("Cache-Control"))
	retry := string(ctx.Response.Header.Peek("Retry-After"))
	ctx.Error(msg, code) // resets the headers
	if cc == "" {
		cc = "no-store"
	}
	ctx.Response.Header.Set("Cache-Control", cc)
	if retry != "" {
		ctx.Response.Header.Set("Retry-After", retry)
	}
	ctx.Response.Header.Set("Access-Control-Allow-Origin", "*")
}
