package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/aposazhennikov/stream-audio-to-web/icy"
	"github.com/aposazhennikov/stream-audio-to-web/internal/auth"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

// allowed is sent with every refusal: libshout's first, credential-less
// request learns from it that PUT works (else it falls back to SOURCE).
const allowed = "GET, PUT, OPTIONS, SOURCE"

// okResponse is Icecast 2.4's answer to an accepted source, after the 100
// for clients that sent Expect (fasthttp writes that one).
const okResponse = "HTTP/1.0 200 OK\r\n\r\n"

// refusal is a source request turned away.
type refusal struct {
	code       int
	msg        string // the body, as Icecast words it where it has words
	retryAfter int    // seconds; 429 only
}

// Expect is for fasthttp.Server.ExpectHandler. For a source request it
// runs every check ServeSource runs before the stream (station, password,
// lockout, busy, format) and returns 100 only when they pass, so clients
// learn of a refusal before sending audio. A refusal is written here, in
// the same words as ServeSource's, and the connection closed.
func (s *Server) Expect(ctx *fasthttp.RequestCtx) int {
	if !IsSource(ctx) {
		return fasthttp.StatusContinue
	}
	s.init()
	if _, ref := s.check(ctx); ref != nil {
		s.refuse(ctx, ref)
		return ref.code
	}
	return fasthttp.StatusContinue
}

// ServeSource answers a request for which IsSource is true: checks, then
// on the hijacked connection "HTTP/1.0 200 OK" and the stream goes to the
// station's LiveSource until the client leaves, stalls, is kicked, or stop
// ends.
func (s *Server) ServeSource(ctx *fasthttp.RequestCtx, stop context.Context) {
	s.init()
	m, ref := s.check(ctx)
	if ref != nil {
		s.refuse(ctx, ref)
		return
	}
	info := streamInfo(ctx)
	metaint, _ := strconv.Atoi(strings.TrimSpace(string(ctx.Request.Header.Peek("icy-metaint"))))
	// A body fasthttp read itself (a PUT with Content-Length) is stream
	// data too; without Content-Length the hijacked connection replays
	// whatever arrived after the headers.
	early := bytes.Clone(ctx.Request.Body())
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(c net.Conn) {
		defer s.recoverConn(c)
		var r io.Reader = c
		if len(early) > 0 {
			r = io.MultiReader(bytes.NewReader(early), c)
		}
		s.stream(stop, c, r, m, info, metaint, []byte(okResponse))
	})
}

// stream claims m's live source for info and plays r into it: the
// connection's life as a source, shared by HTTP and SHOUTcast clients.
// ok is written first once the claim holds (nil: nothing to write).
func (s *Server) stream(stop context.Context, c net.Conn, r io.Reader, m *Mount, info mount.StreamInfo, metaint int, ok []byte) {
	defer c.Close()
	sess, err := m.sink().Claim(info)
	if err != nil {
		s.log.Info("source refused", "route", m.Route, "remote", info.RemoteAddr, "error", err.Error())
		if ok != nil { // HTTP: say why; a SHOUTcast client just sees the close
			resp := errorResponse(fasthttp.StatusForbidden, "Mountpoint in use")
			if !errors.Is(err, mount.ErrBusy) { // the station is stopping
				resp = errorResponse(fasthttp.StatusServiceUnavailable, "this station is not taking streams now")
			}
			writeAll(c, resp)
		}
		return
	}
	if ok != nil {
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write(ok); err != nil {
			sess.Close()
			return
		}
		c.SetWriteDeadline(time.Time{})
	}
	// Ending stop ends the stream: the read in progress fails at once.
	unwatch := context.AfterFunc(stop, func() { c.Close() })
	defer unwatch()
	s.log.Info("source connected", "route", m.Route, "remote", info.RemoteAddr,
		"user_agent", info.UserAgent, "name", info.Name, "content_type", info.ContentType)
	in := io.Reader(&stallReader{c: c, r: r, timeout: stallTimeout(m)})
	if metaint > 0 {
		in = icy.NewDemuxer(in, metaint, sess.SetTitle) // listeners get the title in their own metadata
	}
	err = sess.Stream(stop, in)
	sess.Close()
	attrs := []any{"route", m.Route, "remote", info.RemoteAddr}
	if err != nil {
		attrs = append(attrs, "error", err.Error())
	}
	s.log.Info("source disconnected", attrs...)
	if s.OnSource != nil {
		s.OnSource(m.Route, info, err)
	}
}

// stallTimeout bounds one read from a source: a little over the live
// source's own Timeout, so the station normally reports the stall, while
// a read can never block for ever whatever the source does.
func stallTimeout(m *Mount) time.Duration {
	t := 10 * time.Second
	if m.Live != nil && m.Live.Timeout > 0 {
		t = m.Live.Timeout
	}
	return t + time.Second
}

// stallReader reads r (c's data) with a deadline renewed on every read.
type stallReader struct {
	c       net.Conn
	r       io.Reader
	timeout time.Duration
}

func (r *stallReader) Read(p []byte) (int, error) {
	if err := r.c.SetReadDeadline(time.Now().Add(r.timeout)); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

// check runs the checks of a source request in Icecast's order (after
// the station, which Icecast would create): password, busy, format. It
// returns the station, or why the request is refused.
func (s *Server) check(ctx *fasthttp.RequestCtx) (*Mount, *refusal) {
	if string(ctx.Method()) == fasthttp.MethodOptions {
		// libshout's "OPTIONS *" TLS upgrade probe: 405 makes it go on
		// in plain HTTP (404 or 501 would make it give up).
		return nil, &refusal{code: fasthttp.StatusMethodNotAllowed, msg: "TLS upgrade is not supported; use plain HTTP or the TLS port"}
	}
	path := string(ctx.Path())
	m, ok := s.Lookup(path)
	if !ok || m == nil {
		return nil, &refusal{code: fasthttp.StatusNotFound, msg: "no such station"}
	}
	if !m.takesSources() {
		return nil, &refusal{code: fasthttp.StatusForbidden, msg: "this station takes no live sources (it has no source password)"}
	}
	addr := ctx.RemoteIP().String()
	if ref := s.authorize(m, addr, string(ctx.Request.Header.Peek(fasthttp.HeaderAuthorization))); ref != nil {
		return nil, ref
	}
	if m.sink().Status().OnAir {
		return nil, &refusal{code: fasthttp.StatusForbidden, msg: "Mountpoint in use"}
	}
	if te := ctx.Request.Header.Peek(fasthttp.HeaderTransferEncoding); len(te) > 0 && !bytes.EqualFold(te, []byte("identity")) {
		// fasthttp would read a chunked body whole before any handler.
		return nil, &refusal{code: fasthttp.StatusNotImplemented, msg: "chunked source streams are not supported"}
	}
	ct := ctx.Request.Header.ContentType()
	switch {
	case len(ct) == 0 && string(ctx.Method()) == fasthttp.MethodPut:
		return nil, &refusal{code: fasthttp.StatusForbidden, msg: "No Content-type given"}
	case len(ct) > 0 && !isMP3(string(ct)) && (!isConvertible(string(ct)) || !m.converts()):
		// AAC and Ogg are played only through the station's converter.
		return nil, &refusal{code: fasthttp.StatusForbidden, msg: "Content-type not supported"}
	}
	if why := m.formatRefused(string(ctx.Request.Header.Peek("ice-audio-info"))); why != "" {
		return nil, &refusal{code: fasthttp.StatusUnsupportedMediaType, msg: why}
	}
	return m, nil
}

// isConvertible reports whether a Content-Type names a format ffmpeg turns
// into the station's MP3: AAC (BUTT, Mixxx, phone apps) and Ogg.
func isConvertible(ct string) bool {
	t, _, err := mime.ParseMediaType(ct)
	if err != nil {
		t = strings.ToLower(strings.TrimSpace(ct))
	}
	switch t {
	case "audio/aac", "audio/aacp", "audio/x-aac", "audio/ogg", "application/ogg", "audio/opus":
		return true
	}
	return false
}

// converts reports whether the station converts live streams that differ
// from its format.
func (m *Mount) converts() bool {
	return m.Live != nil && m.Live.Convert != nil && m.Live.Transcode != mount.TranscodeNever
}

// formatRefused explains why a station that does not convert refuses a
// stream whose ice-audio-info (libshout's "samplerate=44100;channels=2",
// BUTT's "ice-samplerate=44100;ice-channels=2") differs from its format,
// so the client hears why before it streams; "" when it may stream.
// Without the header the stream's own frames decide, after the 200.
func (m *Mount) formatRefused(audioInfo string) string {
	if m.Live == nil || m.converts() || m.Live.Format == (mount.StreamFormat{}) || audioInfo == "" {
		return ""
	}
	want := m.Live.Format
	var got mount.StreamFormat
	for kv := range strings.SplitSeq(audioInfo, ";") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			continue
		}
		switch strings.TrimPrefix(strings.ToLower(strings.TrimSpace(k)), "ice-") {
		case "samplerate":
			got.SampleRate = n
		case "channels":
			got.Channels = n
		case "bitrate":
			got.Bitrate = n
		}
	}
	if (got.SampleRate == 0 || got.SampleRate == want.SampleRate) && (got.Channels == 0 || got.Channels == want.Channels) &&
		(got.Bitrate == 0 || got.Bitrate == want.Bitrate) {
		return ""
	}
	return fmt.Sprintf("Unsupported Media Type: this station plays %d Hz, %d channel(s), %d kbit/s MP3 and does not convert live streams; the stream announced %s",
		want.SampleRate, want.Channels, want.Bitrate, audioInfo)
}

// authorize checks source credentials for m from addr: user "source" and
// the station's password, compared in constant time, unless addr is
// locked out for earlier wrong guesses.
func (s *Server) authorize(m *Mount, addr, header string) *refusal {
	now := s.now()
	if wait := s.fails.LockedFor(addr, now); wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		s.log.Warn("source refused: address locked out after wrong passwords", "route", m.Route, "remote", addr)
		return &refusal{code: fasthttp.StatusTooManyRequests, msg: fmt.Sprintf("too many wrong passwords; try again in %d s", secs), retryAfter: secs}
	}
	cred := auth.Parse(header)
	if strings.EqualFold(cred.Scheme, "Basic") && auth.Equal(cred.Secret, m.Password) && cred.User == SourceUser {
		s.fails.Forget(addr)
		return nil
	}
	if cred.Presented() {
		s.fails.Fail(addr, now)
		s.log.Warn("source refused: wrong credentials", "route", m.Route, "remote", addr)
	} else {
		// libshout asks without credentials first, to learn the methods.
		s.log.Debug("source request without credentials", "route", m.Route, "remote", addr)
	}
	return &refusal{code: fasthttp.StatusUnauthorized, msg: "You need to authenticate\r\n"}
}

// isMP3 reports whether a Content-Type names MP3, in any of the spellings
// clients use.
func isMP3(ct string) bool {
	t, _, err := mime.ParseMediaType(ct)
	if err != nil {
		t = strings.ToLower(strings.TrimSpace(ct))
	}
	switch t {
	case "audio/mpeg", "audio/mp3", "audio/mpeg3", "audio/x-mpeg", "audio/x-mp3", "audio/x-mpeg3":
		return true
	}
	return false
}

// streamInfo reads what the client says about its stream; for each field
// the first header present wins, in Icecast's order.
func streamInfo(ctx *fasthttp.RequestCtx) mount.StreamInfo {
	h := &ctx.Request.Header
	first := func(names ...string) string {
		for _, n := range names {
			if v := h.Peek(n); len(v) > 0 {
				return text(bytes.TrimSpace(v))
			}
		}
		return ""
	}
	info := mount.StreamInfo{
		Name:        first("ice-name", "icy-name"),
		Description: first("ice-description", "icy-description"),
		URL:         first("ice-url", "icy-url", "x-audiocast-url"),
		Genre:       first("ice-genre", "icy-genre", "x-audiocast-genre"),
		Public:      atoi(first("ice-public", "icy-pub", "x-audiocast-public", "icy-public")) != 0,
		AudioInfo:   first("ice-audio-info"),
		ContentType: "audio/mpeg",
		UserAgent:   text(h.UserAgent()),
		RemoteAddr:  ctx.RemoteAddr().String(),
	}
	if ct := text(h.ContentType()); ct != "" && !isMP3(ct) {
		info.ContentType = ct // AAC or Ogg: the live source converts it
	}
	if info.AudioInfo == "" {
		if br := atoi(first("ice-bitrate", "icy-br", "x-audiocast-bitrate")); br > 0 {
			info.AudioInfo = "bitrate=" + strconv.Itoa(br)
		}
	}
	return info
}

// atoi reads a leading decimal number as C's atoi does ("1abc" is 1,
// "yes" 0): what Icecast does with ice-public and bitrates.
func atoi(s string) int {
	s = strings.TrimSpace(s)
	n, i := 0, 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9' && n < 1<<20; i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// refuse answers a source request with ref on the hijacked connection, so
// the bytes are Icecast-like whether or not fasthttp ran the handler (an
// Expect refusal does not) and the connection closes.
func (s *Server) refuse(ctx *fasthttp.RequestCtx, ref *refusal) {
	switch ref.code {
	case fasthttp.StatusUnauthorized, fasthttp.StatusTooManyRequests:
		// authorize logged these, without noise for libshout's probe
	default:
		s.log.Info("source refused", "path", string(ctx.Path()), "remote", ctx.RemoteAddr().String(),
			"status", ref.code, "reason", strings.TrimSpace(ref.msg))
	}
	var extra []string
	switch ref.code {
	case fasthttp.StatusUnauthorized:
		extra = append(extra, `WWW-Authenticate: Basic realm="Icecast2 Server"`)
	case fasthttp.StatusTooManyRequests:
		extra = append(extra, "Retry-After: "+strconv.Itoa(ref.retryAfter))
	}
	resp := errorResponse(ref.code, ref.msg, extra...)
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(c net.Conn) {
		writeAll(c, resp)
		c.Close()
	})
}

// errorResponse is a complete plain-text HTTP/1.0 refusal.
func errorResponse(code int, body string, extra ...string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.0 %d %s\r\n", code, reason(code))
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	b.WriteString("Cache-Control: no-cache, no-store\r\nPragma: no-cache\r\nExpires: Mon, 26 Jul 1997 05:00:00 GMT\r\n")
	b.WriteString("Allow: " + allowed + "\r\n")
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	fmt.Fprintf(&b, "Connection: Close\r\nContent-Length: %d\r\n\r\n", len(body))
	b.WriteString(body)
	return b.Bytes()
}

// reason is the reason phrase, Icecast's own for 401.
func reason(code int) string {
	if code == fasthttp.StatusUnauthorized {
		return "Authentication Required"
	}
	return fasthttp.StatusMessage(code)
}

// writeAll sends a short reply, best effort: a client that left has
// nothing to be told.
func writeAll(c net.Conn, b []byte) {
	c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, _ = c.Write(b)
}
