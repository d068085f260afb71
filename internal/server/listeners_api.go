package server

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
)

// The listeners API (admin credentials, as the programme API): who listens
// to which station, and disconnecting one of them. The dashboard uses it;
// so can scripts.

// listenerJSON is one connected listener in GET /api/listeners.
type listenerJSON struct {
	Route string `json:"route"`
	// ID names the listener to DELETE /api/listeners?id=; it is the same
	// id Icecast's /admin/listclients shows.
	ID          uint64 `json:"id"`
	Address     string `json:"address"`    // the client's IP address (behind a trusted proxy: the forwarded one)
	UserAgent   string `json:"user_agent"` // "" when the client sent none
	ConnectedAt string `json:"connected_at"`
	ConnectedS  int64  `json:"connected_s"`
	Bytes       int64  `json:"bytes"` // sent to it so far, response head included
}

// listenersAPI serves GET /api/listeners[?route=] (every station's
// listeners without route, oldest connection first) and DELETE
// /api/listeners?id=[&route=] (204, or 404 when no such listener is
// connected; it is disconnected within a second).
func (s *Server) listenersAPI(ctx *fasthttp.RequestCtx) {
	if !methodIs(ctx, "GET", "HEAD", "DELETE") || !s.admin(ctx) {
		return
	}
	st, ok := s.routeArg(ctx)
	if !ok {
		return
	}
	targets := s.sortedStations()
	if st != nil {
		targets = []Station{st}
	}
	if ctx.IsDelete() {
		if !sameSite(ctx) {
			jsonError(ctx, fasthttp.StatusForbidden, "cross-site request refused")
			return
		}
		s.kickListener(ctx, targets)
		return
	}
	now := s.clock()
	out := []listenerJSON{}
	for _, t := range targets {
		as, ok := t.(audienceStation)
		if !ok {
			continue
		}
		route := t.Profile().Route
		for _, l := range as.Mountpoint().ListListeners() {
			out = append(out, listenerJSON{Route: route, ID: l.ID, Address: hostOf(l.Remote), UserAgent: l.UserAgent,
				ConnectedAt: l.Connected.UTC().Format(time.RFC3339), ConnectedS: seconds(now.Sub(l.Connected)), Bytes: l.BytesSent})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ConnectedS > out[j].ConnectedS })
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"status": "success", "listeners": out})
}

// kickListener disconnects the listener ?id= of one of targets.
func (s *Server) kickListener(ctx *fasthttp.RequestCtx, targets []Station) {
	raw := string(ctx.QueryArgs().Peek("id"))
	id, err := strconv.ParseUint(raw, 10, 64)
	if err != nil || id == 0 {
		jsonError(ctx, fasthttp.StatusBadRequest, "give the listener's id (?id=, from GET /api/listeners)")
		return
	}
	for _, t := range targets {
		if as, ok := t.(audienceStation); ok && as.Mountpoint().KickListener(id) {
			s.Logger.Info("listener removed by admin", "route", t.Profile().Route, "id", id, "remote", s.clientAddr(ctx).String())
			ctx.SetStatusCode(fasthttp.StatusNoContent)
			return
		}
	}
	jsonError(ctx, fasthttp.StatusNotFound, fmt.Sprintf("no listener %d is connected (it may have left)", id))
}
