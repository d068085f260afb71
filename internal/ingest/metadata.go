package ingest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/aposazhennikov/stream-audio-to-web/icy"
	"github.com/aposazhennikov/stream-audio-to-web/internal/auth"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

// Icecast 2.4.4's metadata answers, byte for byte: clients and scripts
// match on them.
const (
	xmlHead           = "<?xml version=\"1.0\"?>\n<iceresponse><message>"
	msgUpdated        = "Metadata update successful"
	msgNoSuchAction   = "No such action"
	msgNoURLUpdates   = "Mountpoint will not accept URL updates"
	msgMissing        = "Missing parameter"
	msgNoSource       = "Source does not exist"
	msgNotAvailable   = "Source is not available"
	htmlSuccessFormat = "<html><head><title>Admin request successful</title></head><body><p>%s</p></body></html>"
)

// ServeMetadata answers a title update: GET /admin/metadata (Icecast 2.4's
// XML answers) and GET /admin.cgi?mode=updinfo&pass=…&song=… (SHOUTcast
// DSP style, HTML answers). Route both paths (MetadataPath,
// ShoutcastMetadataPath) here.
func (s *Server) ServeMetadata(ctx *fasthttp.RequestCtx) {
	s.init()
	switch string(ctx.Method()) {
	case fasthttp.MethodGet, fasthttp.MethodPost:
	default:
		ctx.Error("405 Method Not Allowed\n", fasthttp.StatusMethodNotAllowed)
		ctx.Response.Header.Set("Allow", "GET, POST")
		return
	}
	switch string(ctx.Path()) {
	case MetadataPath:
		s.adminMetadata(ctx)
	case ShoutcastMetadataPath:
		s.shoutcastMetadata(ctx)
	default:
		ctx.Error("404 Not Found\n", fasthttp.StatusNotFound)
	}
}

// level is what a metadata request's credentials allow.
type level int

const (
	denied level = iota
	sourceLevel
	adminLevel
)

// adminMetadata is Icecast's command_metadata: credentials first (the
// admin token, or the station's source credentials), then the station,
// its stream, mode, the source's address, and the title.
func (s *Server) adminMetadata(ctx *fasthttp.RequestCtx) {
	args := ctx.QueryArgs()
	addr := ctx.RemoteIP().String()
	route := string(args.Peek("mount"))
	var m *Mount
	if route != "" {
		m, _ = s.Lookup(route)
	}
	cred := auth.Parse(string(ctx.Request.Header.Peek(fasthttp.HeaderAuthorization)))
	lvl, ok := s.metadataAuth(ctx, addr, cred, m)
	if !ok {
		return
	}
	switch {
	case route == "":
		htmlError(ctx, msgMissing)
		return
	case m == nil:
		htmlError(ctx, msgNoSource)
		return
	}
	st, on := m.status()
	if !on {
		htmlError(ctx, msgNotAvailable)
		return
	}
	if !args.Has("mode") {
		htmlError(ctx, msgMissing)
		return
	}
	if string(args.Peek("mode")) != "updinfo" {
		xmlResponse(ctx, msgNoSuchAction, 0)
		return
	}
	if lvl != adminLevel && hostOf(st.Info.RemoteAddr) != addr {
		// Like Icecast: only the source's own address may use its
		// credentials for titles (a leaked password changes nothing).
		s.log.Warn("metadata update refused: source credentials from another address", "route", m.Route, "remote", addr)
		xmlResponse(ctx, msgNoURLUpdates, 1)
		return
	}
	charset := string(args.Peek("charset"))
	title := ""
	switch song, artist, name := args.Peek("song"), args.Peek("artist"), args.Peek("title"); {
	case song != nil:
		title = decode(song, charset)
	case artist != nil && name != nil:
		title = decode(artist, charset) + " - " + decode(name, charset)
	}
	if title != "" && !s.setTitle(ctx, m, title, addr) {
		htmlError(ctx, msgNotAvailable)
		return
	}
	xmlResponse(ctx, msgUpdated, 1)
}

// shoutcastMetadata is Icecast's /admin.cgi: the password comes as pass=,
// the station from mount= or else from the password (Shoutcast).
func (s *Server) shoutcastMetadata(ctx *fasthttp.RequestCtx) {
	args := ctx.QueryArgs()
	addr := ctx.RemoteIP().String()
	if !args.Has("pass") {
		htmlError(ctx, "missing pass parameter")
		return
	}
	pass := string(args.Peek("pass"))
	var m *Mount
	if route := string(args.Peek("mount")); route != "" {
		m, _ = s.Lookup(route)
	} else {
		m = s.shoutcastMount(pass)
	}
	lvl, ok := s.metadataAuth(ctx, addr, auth.Credentials{Scheme: "Basic", User: SourceUser, Secret: pass}, m)
	if !ok {
		return
	}
	if m == nil {
		htmlError(ctx, msgNoSource)
		return
	}
	if !args.Has("mode") || !args.Has("song") {
		htmlError(ctx, msgMissing)
		return
	}
	if string(args.Peek("mode")) != "updinfo" {
		htmlError(ctx, msgNoSuchAction)
		return
	}
	st, on := m.status()
	if !on {
		htmlError(ctx, msgNotAvailable)
		return
	}
	if lvl != adminLevel && hostOf(st.Info.RemoteAddr) != addr {
		s.log.Warn("metadata update refused: source credentials from another address", "route", m.Route, "remote", addr)
		htmlError(ctx, msgNoURLUpdates)
		return
	}
	if title := decode(args.Peek("song"), string(args.Peek("charset"))); title != "" && !s.setTitle(ctx, m, title, addr) {
		htmlError(ctx, msgNotAvailable)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("text/html; charset=utf-8")
	ctx.SetBodyString(fmt.Sprintf(htmlSuccessFormat, msgUpdated))
}

// metadataAuth authorises a metadata update on m (nil: unknown station,
// only the admin token can pass) and answers 401 or 429 itself.
func (s *Server) metadataAuth(ctx *fasthttp.RequestCtx, addr string, cred auth.Credentials, m *Mount) (level, bool) {
	now := s.now()
	if wait := s.fails.LockedFor(addr, now); wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(secs))
		plain(ctx, fasthttp.StatusTooManyRequests, fmt.Sprintf("too many wrong passwords; try again in %d s", secs))
		return denied, false
	}
	admin := auth.Equal(cred.Secret, s.AdminToken)
	source := m != nil && m.Password != "" && auth.Equal(cred.Secret, m.Password) &&
		strings.EqualFold(cred.Scheme, "Basic") && cred.User == SourceUser
	switch {
	case admin:
		s.fails.Forget(addr)
		return adminLevel, true
	case source:
		s.fails.Forget(addr)
		return sourceLevel, true
	}
	if cred.Presented() {
		s.fails.Fail(addr, now)
		s.log.Warn("metadata update refused: wrong credentials", "remote", addr)
	}
	ctx.Response.Header.Set("WWW-Authenticate", `Basic realm="Icecast2 Server"`)
	plain(ctx, fasthttp.StatusUnauthorized, "You need to authenticate\r\n")
	return denied, false
}

// shoutcastMount is the station among Shoutcast whose source password is
// pass; nil for none, or when several share it (which one would be a
// guess). Every candidate is compared, in constant time.
func (s *Server) shoutcastMount(pass string) *Mount {
	if s.Shoutcast == nil {
		return nil
	}
	var found *Mount
	n := 0
	for _, m := range s.Shoutcast() {
		if m != nil && auth.Equal(pass, m.Password) {
			found = m
			n++
		}
	}
	if n > 1 {
		s.log.Warn("SHOUTcast password is shared by several stations; refused as ambiguous", "stations", n)
		return nil
	}
	return found
}

// setTitle sets m's stream title; false if the stream has just ended.
func (s *Server) setTitle(ctx *fasthttp.RequestCtx, m *Mount, title, addr string) bool {
	if err := m.sink().SetTitle(title); err != nil {
		if !errors.Is(err, mount.ErrNoStream) {
			s.log.Warn("metadata update failed", "route", m.Route, "remote", addr, "error", err.Error())
		}
		return false
	}
	s.log.Info("metadata updated", "route", m.Route, "remote", addr, "title", title)
	return true
}

// status is m's live state; on is false when no stream is on the air (or
// the station has no live source).
func (m *Mount) status() (mount.LiveStatus, bool) {
	if m.Live == nil && m.live == nil {
		return mount.LiveStatus{}, false
	}
	st := m.sink().Status()
	return st, st.OnAir
}

// decode turns a query value into a UTF-8 title: charset=latin1 (any
// spelling icy.ParseCharset knows) is converted; otherwise valid UTF-8 is
// taken as is and anything else read as Latin-1.
func decode(v []byte, charset string) string {
	if cs, err := icy.ParseCharset(charset); err == nil && cs == icy.Latin1 {
		return latin1(v)
	}
	return text(v)
}

func xmlResponse(ctx *fasthttp.RequestCtx, msg string, ret int) {
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("text/xml; charset=utf-8")
	ctx.SetBodyString(xmlHead + msg + "</message><return>" + strconv.Itoa(ret) + "</return></iceresponse>\n")
}

// htmlError is Icecast 2.4's 400 page.
func htmlError(ctx *fasthttp.RequestCtx, msg string) {
	ctx.SetStatusCode(fasthttp.StatusBadRequest)
	ctx.SetContentType("text/html; charset=utf-8")
	ctx.SetBodyString("<html><head><title>Error 400</title></head><body><b>400 - " + msg + "</b></body></html>\r\n")
}

func plain(ctx *fasthttp.RequestCtx, code int, body string) {
	ctx.SetStatusCode(code)
	ctx.SetContentType("text/plain; charset=utf-8")
	ctx.SetBodyString(body)
}
