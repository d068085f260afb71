// Package ingest speaks the protocols of live source clients (BUTT, Mixxx,
// Liquidsoap, ffmpeg, libshout, darkice): Icecast's PUT and SOURCE
// requests, the SHOUTcast v1 source port, and the metadata updates of
// /admin/metadata and /admin.cgi. It behaves like Icecast 2.4.4 where
// clients depend on it. The HTTP server owns routing and calls in here;
// the audio goes to the station's mount.LiveSource.
package ingest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/aposazhennikov/stream-audio-to-web/internal/auth"
	"github.com/aposazhennikov/stream-audio-to-web/internal/endpoint"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

// Paths the server hands to ServeMetadata.
const (
	MetadataPath          = endpoint.AdminMetadata
	ShoutcastMetadataPath = endpoint.AdminCGI
)

// SourceUser is the only user name source credentials may carry (Icecast's
// default; no client needs another).
const SourceUser = "source"

// Mount is one station as source clients see it.
type Mount struct {
	Route string
	Live  *mount.LiveSource
	// Password is the station's source password; "" means the station
	// takes no live sources (and no source-credential metadata updates).
	Password string

	// live, if set, stands in for Live (tests of the protocol alone).
	live liveSink
}

// Server answers source clients and metadata updates. Fill the fields;
// the zero values of the optional ones work.
type Server struct {
	// Lookup finds the station at a request path as fasthttp gives it
	// (the server's own matching: trailing slash, NFC).
	Lookup func(path string) (*Mount, bool)
	// Shoutcast lists the stations a SHOUTcast v1 source (and /admin.cgi
	// without mount=) may reach: the presented password picks the one
	// whose source password it is. Give one station to mimic Icecast's
	// <shoutcast-mount>; several work as long as their passwords differ
	// (a password shared by two is refused as ambiguous). Nil: none.
	Shoutcast func() []*Mount
	// AdminToken also authorises metadata updates (Basic with any user
	// and the token as password, or Bearer). "": only source credentials.
	AdminToken string
	// Failures is the lockout table for wrong credentials, shared with
	// the server's admin checks. Nil: a table of this Server's own.
	Failures *auth.Failures
	// HeaderTimeout bounds reading a SHOUTcast source's password and
	// header lines (0: 10 s).
	HeaderTimeout time.Duration
	Clock         func() time.Time // nil: time.Now
	Logger        *slog.Logger     // nil: discard
	// OnSource, if set, is called when a stream that was on the air ends
	// (err nil for a clean end): metrics, and tests wait on it.
	OnSource func(route string, info mount.StreamInfo, err error)
	// OnPanic, if set, is told about a panic recovered in a source
	// connection's goroutine (fasthttp does not recover hijacked ones).
	OnPanic func(v any)

	// Resolved once from the fields above, so serving never writes them.
	once   sync.Once
	fails  *auth.Failures
	own    auth.Failures // the table used when Failures is nil
	now    func() time.Time
	log    *slog.Logger
	header time.Duration
}

func (s *Server) init() {
	s.once.Do(func() {
		s.fails, s.now, s.log, s.header = s.Failures, s.Clock, s.Logger, s.HeaderTimeout
		if s.fails == nil {
			s.fails = &s.own
		}
		if s.now == nil {
			s.now = time.Now
		}
		if s.log == nil {
			s.log = slog.New(slog.DiscardHandler)
		}
		if s.header <= 0 {
			s.header = 10 * time.Second
		}
	})
}

// recoverConn keeps a panic in one source connection from taking the
// server down: logged, reported, the connection closed.
func (s *Server) recoverConn(c net.Conn) {
	if v := recover(); v != nil {
		s.log.Error("panic in a source connection", "remote", c.RemoteAddr().String(), "panic", fmt.Sprint(v))
		if s.OnPanic != nil {
			s.OnPanic(v)
		}
		c.Close()
	}
}

// IsSource reports whether a request comes from a source client: PUT or
// SOURCE, or libshout's "OPTIONS *" TLS probe (which ServeSource refuses
// with 405 so libshout falls back to plain HTTP).
func IsSource(ctx *fasthttp.RequestCtx) bool {
	switch string(ctx.Method()) {
	case fasthttp.MethodPut, "SOURCE":
		return true
	case fasthttp.MethodOptions:
		return string(ctx.Request.Header.RequestURI()) == "*"
	}
	return false
}

// liveSink is what ingest needs of a station's live source:
// *mount.LiveSource, or a stand-in in tests of the protocol alone.
type liveSink interface {
	Claim(mount.StreamInfo) (session, error)
	SetTitle(title string) error
	Status() mount.LiveStatus
}

// session is *mount.Session.
type session interface {
	Stream(ctx context.Context, r io.Reader) error
	SetTitle(title string)
	Close()
}

type liveAdapter struct{ l *mount.LiveSource }

func (a liveAdapter) Claim(info mount.StreamInfo) (session, error) {
	sess, err := a.l.Claim(info)
	if err != nil {
		return nil, err
	}
	return sess, nil
}
func (a liveAdapter) SetTitle(title string) error { return a.l.SetTitle(title) }
func (a liveAdapter) Status() mount.LiveStatus    { return a.l.Status() }

func (m *Mount) sink() liveSink {
	if m.live != nil {
		return m.live
	}
	return liveAdapter{m.Live}
}

// takesSources reports whether the station accepts live sources at all.
func (m *Mount) takesSources() bool { return m.Password != "" && (m.Live != nil || m.live != nil) }

// hostOf is the IP part of a "host:port" address (the whole string if it
// has no port).
func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// text turns a header or query value into valid UTF-8: clients send
// station names and titles in UTF-8 or, older ones, in Latin-1.
func text(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return latin1(b)
}

// latin1 decodes ISO-8859-1.
func latin1(b []byte) string {
	var sb strings.Builder
	sb.Grow(2 * len(b))
	for _, c := range b {
		sb.WriteRune(rune(c))
	}
	return sb.String()
}
