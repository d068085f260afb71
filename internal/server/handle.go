package server

import (
	"bytes"
	"strings"

	"github.com/valyala/fasthttp"
	"golang.org/x/text/unicode/norm"

	"github.com/aposazhennikov/stream-audio-to-web/internal/endpoint"
	"github.com/aposazhennikov/stream-audio-to-web/internal/ingest"
)

// handle routes a request. Stream routes are exact configured paths (a
// trailing slash is tolerated); everything else is a fixed endpoint or 404.
// The server's own paths are matched first, so no spelling of a request
// reaches a station in their place.
func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	path := requestPath(ctx)
	// A DJ's encoder going live (PUT or SOURCE) on any path but the
	// server's own, which answer 405 to such methods.
	if ingest.IsSource(ctx) && endpoint.Shadowed(path) == "" {
		s.ingest.ServeSource(ctx, s.serveCtx)
		return
	}
	switch path {
	case endpoint.AdminMetadata, endpoint.AdminCGI:
		s.ingest.ServeMetadata(ctx)
		return
	case endpoint.AdminStats, endpoint.AdminListMounts, endpoint.AdminListClients,
		endpoint.AdminKillClient, endpoint.AdminKillSource, endpoint.AdminMoveClients:
		s.icecastAdmin(ctx, path)
		return
	case endpoint.APIQueue, endpoint.APIQueueMove, endpoint.APISkip, endpoint.APISearch:
		s.programmeAPI(ctx, path)
		return
	case endpoint.APIListeners:
		s.listenersAPI(ctx)
		return
	case endpoint.APIStations:
		s.adminStations(ctx)
		return
	case endpoint.Admin, endpoint.Admin + "/":
		s.dashboardPage(ctx, path)
		return
	case endpoint.AdminLogin:
		s.login(ctx)
		return
	case endpoint.AdminLogout:
		s.logout(ctx)
		return
	case endpoint.Streams:
		s.streams(ctx)
		return
	case endpoint.NowPlaying:
		s.nowPlaying(ctx)
		return
	case endpoint.History:
		s.history(ctx)
		return
	case endpoint.ReloadPlaylist:
		s.reload(ctx)
		return
	case endpoint.APIReload:
		s.reloadConfig(ctx)
		return
	case endpoint.StatusJSON, endpoint.StatusXSL:
		s.statusJSON(ctx)
		return
	case endpoint.Healthz:
		s.healthz(ctx)
		return
	case endpoint.Readyz:
		s.readyz(ctx)
		return
	case endpoint.Metrics:
		s.metrics(ctx)
		return
	case endpoint.Art:
		s.artHandler(ctx, path)
		return
	case endpoint.Events:
		s.events(ctx)
		return
	case endpoint.Stream, endpoint.DirectStream: // aliases of the default station
		if st := s.defaultStation(); st != nil {
			s.stream(ctx, st)
			return
		}
	}
	switch {
	case path == endpoint.Web || path == endpoint.Embed || strings.HasPrefix(path, endpoint.Web+"/") || strings.HasPrefix(path, endpoint.Embed+"/"):
		s.playerPage(ctx, path)
		return
	case strings.HasPrefix(path, endpoint.Art+"/"):
		s.artHandler(ctx, path)
		return
	}
	if s.hlsSegment(ctx, path) {
		return
	}
	if st := s.current().byRoute[path]; st != nil {
		s.stream(ctx, st)
		return
	}
	if len(path) > 1 && strings.HasSuffix(path, "/") {
		if st := s.current().byRoute[strings.TrimSuffix(path, "/")]; st != nil {
			s.stream(ctx, st)
			return
		}
	}
	if s.playlistFile(ctx, path) || s.hlsPlaylist(ctx, path) {
		return
	}
	s.notFound(ctx, path)
}

// requestPath is the request's path in the form routes are configured in.
// fasthttp has already percent-decoded it and removed dot segments and
// repeated slashes; NFC normalisation lets "й" sent as "и" plus a combining
// breve (as some systems type it) find the precomposed route configuration
// stores.
func requestPath(ctx *fasthttp.RequestCtx) string {
	p := ctx.Path()
	if norm.NFC.IsNormal(p) {
		return string(p)
	}
	return norm.NFC.String(string(p))
}

func (s *Server) notFound(ctx *fasthttp.RequestCtx, path string) {
	var b bytes.Buffer
	b.WriteString("404 Not Found: no station at ")
	b.WriteString(path)
	b.WriteString("\nStations:")
	for _, st := range s.sortedStations() {
		b.WriteString(" ")
		b.WriteString(st.Profile().Route)
	}
	b.WriteString("\n")
	ctx.SetStatusCode(fasthttp.StatusNotFound)
	ctx.SetContentType("text/plain; charset=utf-8")
	ctx.SetBody(b.Bytes())
}

func methodIs(ctx *fasthttp.RequestCtx, methods ...string) bool {
	m := ctx.Method()
	for _, want := range methods {
		if string(m) == want {
			return true
		}
	}
	ctx.Error("405 Method Not Allowed\n", fasthttp.StatusMethodNotAllowed)
	// After Error, which resets the response headers.
	ctx.Response.Header.Set("Allow", strings.Join(methods, ", "))
	return false
}
