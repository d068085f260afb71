package server

import (
	"strings"
	"sync"

	"github.com/valyala/fasthttp"

	"github.com/aposazhennikov/stream-audio-to-web/internal/endpoint"
	"github.com/aposazhennikov/stream-audio-to-web/internal/web"
)

// pageCache is the rendered listener page, rendered again only when the
// logo file changes (its URL names its content).
type pageCache struct {
	mu   sync.Mutex
	logo string // Branding.Logo the page was rendered with
	page *web.Page
}

// listenerPage is the page with the server's branding and its logo as
// the file is now.
func (s *Server) listenerPage() *web.Page {
	b := s.Branding
	b.Logo = ""
	if s.LogoFile != "" {
		if p := s.art.imageFile(s.LogoFile); p != nil {
			b.Logo = artPath(p)
		}
	}
	s.pages.mu.Lock()
	defer s.pages.mu.Unlock()
	if s.pages.page == nil || s.pages.logo != b.Logo {
		p := web.Render(b)
		s.pages.page, s.pages.logo = &p, b.Logo
	}
	return s.pages.page
}

// playerPage serves the listener page: /web lists every station,
// /web/<route> opens on one; /embed/<route> (/embed: the default station)
// is the small player other sites put in an iframe. Only /embed may be
// framed. A route that names no station is a 404, so a mistyped link
// says so.
func (s *Server) playerPage(ctx *fasthttp.RequestCtx, path string) {
	if !methodIs(ctx, "GET", "HEAD") {
		return
	}
	prefix := endpoint.Web
	embed := path == endpoint.Embed || strings.HasPrefix(path, endpoint.Embed+"/")
	if embed {
		prefix = endpoint.Embed
	}
	if route := strings.Trim(strings.TrimPrefix(path, prefix), "/"); route != "" && s.stationFor(route) == nil {
		s.notFound(ctx, "/"+route)
		return
	}
	p := s.listenerPage()
	h := &ctx.Response.Header
	h.SetContentType("text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	if embed {
		h.Set("Content-Security-Policy", p.EmbedCSP)
	} else {
		h.Set("Content-Security-Policy", p.CSP)
		h.Set("X-Frame-Options", "DENY")
	}
	ctx.SetBody(p.HTML)
}
