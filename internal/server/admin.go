package server

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/aposazhennikov/stream-audio-to-web/internal/auth"
)

// reloadMinGap is how often a client without credentials may make one
// station rescan its folder. Within it such clients get the last scan's
// result: a rescan is cheap once, not a thousand times a second.
const reloadMinGap = 5 * time.Second

// reloadResult is one station's answer in /reload-playlist.
type reloadResult struct {
	Route     string `json:"route"`
	Tracks    int    `json:"tracks"`
	Skipped   int    `json:"skipped"`
	Error     string `json:"error,omitempty"`
	ScannedAt string `json:"scanned_at"` // when this scan ended: older than the request when shared
}

// reload rescans one station (?route=) or all. GET (the original Python
// server) and POST (the original Go server) both work, and its only side
// effect is that rescan. Without admin_token anyone may ask (the seed's
// documented curl arrives from the Docker bridge, not loopback): requests
// share a scan in progress, and a client that is neither loopback nor
// authenticated gets the last scan's result if it is under reloadMinGap
// old. With admin_token the token is required.
func (s *Server) reload(ctx *fasthttp.RequestCtx) {
	if !methodIs(ctx, "GET", "POST") {
		return
	}
	fresh := true
	if s.AdminToken != "" {
		if !s.admin(ctx) {
			return
		}
	} else {
		fresh = s.clientAddr(ctx).IsLoopback()
	}
	st, ok := s.routeArg(ctx)
	if !ok {
		return
	}
	cur := s.current()
	targets := cur.list
	msg := "All playlists reloaded"
	if st != nil {
		targets = []Station{st}
		msg = "Playlist for stream " + st.Profile().Route + " reloaded"
	}
	results := make([]reloadResult, 0, len(targets))
	scanned := 0
	for _, t := range targets {
		r, ran := cur.rescanners[t].rescan(t, fresh, s.clock)
		if ran {
			scanned++
		}
		results = append(results, r)
	}
	s.Logger.Info("playlists reloaded", "count", len(results), "scanned", scanned, "remote", s.clientAddr(ctx).String())
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"status": "success", "message": msg, "results": results})
}

// rescanner runs one station's requested rescans one at a time and lets
// requests share them.
type rescanner struct {
	// mu is held during a scan: requests arriving meanwhile queue on it
	// and then share the scan the first of them runs.
	mu      sync.Mutex
	begun   atomic.Uint64 // scans started
	last    reloadResult
	lastEnd time.Time
	// queued, if set, is called when a request is about to wait for a
	// scan in progress (tests synchronise on it).
	queued func()
}

// rescan returns a scan result for st and whether this call ran the scan.
// A scan that began after the call did is as good as its own; when fresh
// is false, so is one that ended less than reloadMinGap ago.
func (r *rescanner) rescan(st Station, fresh bool, now func() time.Time) (reloadResult, bool) {
	arrived := r.begun.Load()
	if !r.mu.TryLock() {
		if r.queued != nil {
			r.queued()
		}
		r.mu.Lock()
	}
	defer r.mu.Unlock()
	if r.begun.Load() > arrived {
		return r.last, false
	}
	if !fresh && arrived > 0 && now().Sub(r.lastEnd) < reloadMinGap {
		return r.last, false
	}
	r.begun.Add(1)
	res, err := st.Reload()
	r.lastEnd = now()
	r.last = reloadResult{Route: st.Profile().Route, Tracks: res.Tracks, Skipped: len(res.Skipped),
		ScannedAt: r.lastEnd.UTC().Format(time.RFC3339Nano)}
	if err != nil {
		r.last.Error = err.Error()
	}
	return r.last, true
}

// admin allows a request carrying the admin token (Bearer, or Basic with
// the token as password, as Icecast's admin pages use) or a dashboard
// session cookie (see sessionAdmin); without a configured token only
// loopback clients are allowed.
func (s *Server) admin(ctx *fasthttp.RequestCtx) bool {
	if s.AdminToken == "" {
		if s.clientAddr(ctx).IsLoopback() {
			return true
		}
		jsonError(ctx, fasthttp.StatusForbidden, "admin endpoints are only open to localhost until admin_token is set")
		return false
	}
	// A dashboard session is as good as the token (with its CSRF rules);
	// a stale cookie is no guess, so it counts for nothing.
	if allowed, decided := s.sessionAdmin(ctx); decided {
		return allowed
	}
	addr := s.clientAddr(ctx).String()
	if wait := s.authFails.LockedFor(addr, s.clock()); wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		jsonError(ctx, fasthttp.StatusTooManyRequests, fmt.Sprintf("too many wrong admin tokens from %s; try again in %d s", addr, secs))
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(secs))
		return false
	}
	cred := auth.Parse(string(ctx.Request.Header.Peek("Authorization")))
	if auth.Equal(cred.Secret, s.AdminToken) {
		s.authFails.Forget(addr)
		return true
	}
	if cred.Presented() {
		s.authFails.Fail(addr, s.clock())
	}
	if !hasSessionCookie(ctx) { // the dashboard shows its own login form
		ctx.Response.Header.Set("WWW-Authenticate", `Basic realm="audio-streamer admin"`)
	}
	jsonError(ctx, fasthttp.StatusUnauthorized, "admin token required (Authorization: Bearer <token>)")
	return false
}
