package server

import (
	"bytes"
	"strings"

	"github.com/valyala/fasthttp"
)

// handle routes a request. Stream routes are exact configured paths (a
// trailing slash is tolerated); everything else is a fixed endpoint or 404.
func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	switch path {
	case "/streams":
		s.streams(ctx)
		return
	case "/now-playing":
		s.nowPlaying(ctx)
		return
	case "/history":
		s.history(ctx)
		return
	case "/reload-playlist":
		s.reload(ctx)
		return
	case "/status.json", "/status-json.xsl":
		s.statusJSON(ctx)
		return
	case "/healthz":
		s.healthz(ctx)
		return
	case "/readyz":
		s.readyz(ctx)
		return
	case "/metrics":
		s.metrics(ctx)
		return
	case "/web", "/web/":
		s.webPage(ctx)
		return
	case "/events":
		s.events(ctx)
		return
	case "/stream", "/direct-stream": // the Python seed's aliases of "/"
		if st := s.defaultStation(); st != nil {
			s.stream(ctx, st)
			return
		}
	}
	if st := s.byRoute[path]; st != nil {
		s.stream(ctx, st)
		return
	}
	if len(path) > 1 && strings.HasSuffix(path, "/") {
		if st := s.byRoute[strings.TrimSuffix(path, "/")]; st != nil {
			s.stream(ctx, st)
			return
		}
	}
	if s.playlistFile(ctx, path) {
		return
	}
	s.notFound(ctx, path)
}

func (s *Server) notFound(ctx *fasthttp.RequestCtx, path string) {
	var b bytes.Buffer
	b.WriteString("404 Not Found: no station at ")
	b.WriteString(path)
	b.WriteString("\nStations:")
	for _, st := range s.sortedStations() {
		b.WriteString(" ")
		b.WriteString(st.Settings.Route)
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
