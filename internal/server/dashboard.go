package server

import (
	"fmt"
	"mime"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/aposazhennikov/stream-audio-to-web/internal/auth"
	"github.com/aposazhennikov/stream-audio-to-web/internal/dashboard"
)

// The admin dashboard (/admin/) and its login sessions.
//
// A browser logs in once with the admin token (POST /admin/login) and
// gets a session cookie (HttpOnly, SameSite=Strict, Secure over HTTPS)
// naming a session kept in memory (dashboard.Sessions). The cookie counts
// as the admin credentials (see admin), but a request that changes
// something must also come from the same site (sameSite) and carry the
// session's CSRF token in X-CSRF-Token, which only the dashboard page is
// given: another site can make the browser send the cookie (where
// SameSite is not honoured), never the token. Wrong passwords count in the
// same per-address lockout as wrong admin tokens.

const (
	// sessionCookie names the admin session.
	sessionCookie = "audio_streamer_admin"
	// csrfHeader carries the session's CSRF token; the logout form sends
	// it as the field csrfField.
	csrfHeader = "X-CSRF-Token"
	csrfField  = "csrf"
	// adminUser is the only user name the login accepts (Icecast's admin
	// user); an empty one is taken as it.
	adminUser = "admin"
)

// session is the live session the request's cookie names, if any.
func (s *Server) session(ctx *fasthttp.RequestCtx) (dashboard.Session, bool) {
	id := string(ctx.Request.Header.Cookie(sessionCookie))
	if id == "" {
		return dashboard.Session{}, false
	}
	return s.sessions.Lookup(id, s.clock())
}

// sessionAdmin decides a request carrying a live session cookie: allowed
// when it only reads, or when it changes something from the same site
// with the session's CSRF token (403 otherwise). decided is false when the
// request has no live session: other credentials decide then.
func (s *Server) sessionAdmin(ctx *fasthttp.RequestCtx) (allowed, decided bool) {
	sess, ok := s.session(ctx)
	if !ok {
		return false, false
	}
	if ctx.IsGet() || ctx.IsHead() {
		return true, true
	}
	if !sameSite(ctx) {
		jsonError(ctx, fasthttp.StatusForbidden, "cross-site request refused")
		return false, true
	}
	if !sess.CheckCSRF(string(ctx.Request.Header.Peek(csrfHeader))) {
		jsonError(ctx, fasthttp.StatusForbidden, "missing or wrong "+csrfHeader+" (reload the dashboard)")
		return false, true
	}
	return true, true
}

// hasSessionCookie reports whether the request names a session at all,
// live or not: an expired one gets a 401 without a Basic prompt, so the
// dashboard can show its own login form.
func hasSessionCookie(ctx *fasthttp.RequestCtx) bool {
	return len(ctx.Request.Header.Cookie(sessionCookie)) > 0
}

// dashboardPage serves /admin/ (and redirects /admin there, so the
// page's relative links work under any path prefix): the dashboard with a
// live session, or from loopback when no admin token is set; the login
// form otherwise.
func (s *Server) dashboardPage(ctx *fasthttp.RequestCtx, path string) {
	if !methodIs(ctx, "GET", "HEAD") {
		return
	}
	if !strings.HasSuffix(path, "/") {
		ctx.Response.Header.Set("Location", "admin/")
		ctx.SetStatusCode(fasthttp.StatusPermanentRedirect)
		return
	}
	view := dashboard.View{Mode: dashboard.ModeLogin}
	if s.AdminToken == "" {
		if !s.clientAddr(ctx).IsLoopback() {
			ctx.Error("403 Forbidden: the admin dashboard is only open to localhost until admin_token is set\n", fasthttp.StatusForbidden)
			return
		}
		view = dashboard.View{Mode: dashboard.ModeApp, Open: true}
	} else if sess, ok := s.session(ctx); ok {
		view = dashboard.View{Mode: dashboard.ModeApp, CSRF: sess.CSRF}
	}
	s.writeDashboard(ctx, fasthttp.StatusOK, view)
}

func (s *Server) writeDashboard(ctx *fasthttp.RequestCtx, code int, view dashboard.View) {
	p := dashboard.Render(view)
	h := &ctx.Response.Header
	ctx.SetStatusCode(code)
	h.SetContentType("text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", p.CSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin") // "no-referrer" makes a form post's Origin "null", which sameSite refuses
	ctx.SetBody(p.HTML)
}

// loginForm tells whether the request is the page's HTML form (answered
// with pages and redirects) or a script's JSON (answered with JSON).
func loginForm(ctx *fasthttp.RequestCtx) bool {
	mt, _, _ := mime.ParseMediaType(string(ctx.Request.Header.ContentType()))
	return mt != "application/json"
}

// login is POST /admin/login: user "admin" (or none) and the admin token
// as password, from the form (user, password) or as JSON {"user",
// "password"}. Success sets the session cookie and sends the form back to
// the dashboard (303), or answers JSON with the session's csrf_token.
func (s *Server) login(ctx *fasthttp.RequestCtx) {
	if ctx.IsGet() || ctx.IsHead() {
		ctx.Response.Header.Set("Location", "./")
		ctx.SetStatusCode(fasthttp.StatusSeeOther)
		return
	}
	if !methodIs(ctx, "POST") {
		return
	}
	form := loginForm(ctx)
	fail := func(code int, msg string) {
		if form {
			s.writeDashboard(ctx, code, dashboard.View{Mode: dashboard.ModeLogin, Error: msg})
		} else {
			jsonError(ctx, code, msg)
		}
	}
	if !sameSite(ctx) {
		fail(fasthttp.StatusForbidden, "cross-site login refused")
		return
	}
	if s.AdminToken == "" {
		fail(fasthttp.StatusConflict, "no admin_token is set: the dashboard works without a login from localhost only")
		return
	}
	addr := s.clientAddr(ctx).String()
	now := s.clock()
	if wait := s.authFails.LockedFor(addr, now); wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		fail(fasthttp.StatusTooManyRequests, fmt.Sprintf("too many wrong passwords from %s; try again in %d s", addr, secs))
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(secs))
		return
	}
	var cred struct {
		User     string `json:"user"`
		Password string `json:"password"`
	}
	if form {
		args := ctx.PostArgs()
		cred.User, cred.Password = string(args.Peek("user")), string(args.Peek("password"))
	} else if !readJSON(ctx, &cred) {
		return
	}
	// Both checks run whatever the user name, so the time taken says
	// nothing about which one failed.
	userOK := cred.User == "" || cred.User == adminUser
	if passOK := auth.Equal(cred.Password, s.AdminToken); !userOK || !passOK {
		s.authFails.Fail(addr, now)
		s.Logger.Info("admin login failed", "remote", addr)
		fail(fasthttp.StatusUnauthorized, "wrong user or password")
		return
	}
	s.authFails.Forget(addr)
	sess := s.sessions.Create(now)
	s.setSessionCookie(ctx, sess.ID, false)
	s.Logger.Info("admin logged in", "remote", addr)
	if form {
		ctx.Response.Header.Set("Location", "./")
		ctx.SetStatusCode(fasthttp.StatusSeeOther)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"status": "success", "csrf_token": sess.CSRF})
}

// logout is POST /admin/logout: it ends the session (with its CSRF token
// in X-CSRF-Token or the form's csrf field) and clears the cookie; the
// form goes back to the login page (303), scripts get 204.
func (s *Server) logout(ctx *fasthttp.RequestCtx) {
	if !methodIs(ctx, "POST") {
		return
	}
	if !sameSite(ctx) {
		jsonError(ctx, fasthttp.StatusForbidden, "cross-site request refused")
		return
	}
	if sess, ok := s.session(ctx); ok {
		token := string(ctx.Request.Header.Peek(csrfHeader))
		if token == "" {
			token = string(ctx.PostArgs().Peek(csrfField))
		}
		if !sess.CheckCSRF(token) {
			jsonError(ctx, fasthttp.StatusForbidden, "missing or wrong "+csrfHeader)
			return
		}
		s.sessions.Delete(sess.ID)
		s.Logger.Info("admin logged out", "remote", s.clientAddr(ctx).String())
	}
	s.setSessionCookie(ctx, "", true)
	if loginForm(ctx) && len(ctx.Request.Header.Peek(csrfHeader)) == 0 {
		ctx.Response.Header.Set("Location", "./")
		ctx.SetStatusCode(fasthttp.StatusSeeOther)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

// setSessionCookie sets (or, with clear, removes) the session cookie:
// never readable by scripts, never sent with a request another site
// starts, only over HTTPS when the client came that way.
func (s *Server) setSessionCookie(ctx *fasthttp.RequestCtx, id string, clear bool) {
	c := fasthttp.AcquireCookie()
	defer fasthttp.ReleaseCookie(c)
	c.SetKey(sessionCookie)
	c.SetValue(id)
	c.SetPath("/")
	c.SetHTTPOnly(true)
	c.SetSameSite(fasthttp.CookieSameSiteStrictMode)
	c.SetSecure(s.scheme(ctx) == "https")
	if clear {
		c.SetExpire(fasthttp.CookieExpireDelete)
	}
	ctx.Response.Header.SetCookie(c)
}

// adminStationJSON is a station in GET /api/stations: what only an admin
// sees (never a password).
type adminStationJSON struct {
	Route      string `json:"route"`
	Name       string `json:"name"`
	Mode       string `json:"mode"`
	Bitrate    int    `json:"bitrate"`
	SampleRate int    `json:"sample_rate"`
	Channels   int    `json:"channels"`
	// Programme: the queue, search and skip of the programme API work.
	Programme bool `json:"programme"`
	// Live is how to go live; nil when the station takes no live sources
	// (no source password).
	Live *goLiveJSON `json:"live,omitempty"`
}

// goLiveJSON is what to enter in a source client (BUTT, Mixxx) to go live
// on a station, and the ffmpeg command that does it; the password is
// always the placeholder PASSWORD.
type goLiveJSON struct {
	Host  string `json:"host"`
	Port  int    `json:"port"`
	Mount string `json:"mount"`
	User  string `json:"user"`
	TLS   bool   `json:"tls"`
	// ShoutcastPort is where SHOUTcast v1 clients send this station
	// (password only); 0 when it takes none.
	ShoutcastPort int    `json:"shoutcast_port,omitempty"`
	FFmpeg        string `json:"ffmpeg"`
}

// adminStations serves GET /api/stations, by route.
func (s *Server) adminStations(ctx *fasthttp.RequestCtx) {
	if !methodIs(ctx, "GET", "HEAD") || !s.admin(ctx) {
		return
	}
	list := s.sortedStations()
	out := make([]adminStationJSON, 0, len(list))
	for _, st := range list {
		p := st.Profile()
		j := adminStationJSON{Route: p.Route, Name: p.Name, Mode: string(p.Mode), Bitrate: p.Bitrate,
			SampleRate: p.SampleRate, Channels: p.Channels, Programme: st.Programme() != nil}
		if live, password := st.LiveSource(); live != nil && password != "" {
			j.Live = s.goLive(ctx, p.Route, p.Bitrate, p.SampleRate, p.Channels)
		}
		out = append(out, j)
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"status": "success", "stations": out})
}

// goLive is the source client settings for route as the client reached
// the server (scheme, host, port; public_url's path prefix included).
func (s *Server) goLive(ctx *fasthttp.RequestCtx, route string, bitrate, sampleRate, channels int) *goLiveJSON {
	scheme, host := s.scheme(ctx), s.host(ctx)
	tls := scheme == "https"
	port := 80
	if tls {
		port = 443
	}
	if h, p, err := net.SplitHostPort(host); err == nil {
		host = h
		if n, err := strconv.Atoi(p); err == nil {
			port = n
		}
	}
	mount := route
	if s.PublicURL != nil {
		mount = strings.TrimSuffix(s.PublicURL.Path, "/") + "/" + strings.TrimPrefix(route, "/")
	}
	g := &goLiveJSON{Host: host, Port: port, Mount: mount, User: "source", TLS: tls}
	if s.ShoutcastMount == route {
		g.ShoutcastPort = port + 1
	}
	hostPort := net.JoinHostPort(host, strconv.Itoa(port))
	args := []string{"ffmpeg -re -i input.mp3 -c:a libmp3lame", "-b:a " + strconv.Itoa(bitrate) + "k"}
	if sampleRate > 0 {
		args = append(args, "-ar "+strconv.Itoa(sampleRate))
	}
	if channels > 0 {
		args = append(args, "-ac "+strconv.Itoa(channels))
	}
	args = append(args, "-f mp3 -content_type audio/mpeg")
	if tls {
		args = append(args, "-tls 1")
	}
	args = append(args, "icecast://source:PASSWORD@"+hostPort+mount)
	g.FFmpeg = strings.Join(args, " ")
	return g
}
