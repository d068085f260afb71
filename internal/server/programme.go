package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"path"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/aposazhennikov/stream-audio-to-web/internal/endpoint"
	"github.com/aposazhennikov/stream-audio-to-web/internal/programme"
	"github.com/aposazhennikov/stream-audio-to-web/internal/schedule"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

// The programme API: what a radio station plays next, requests and skip.
// Every call needs the admin credentials (see admin) and names its
// station with ?route=. Changes must come from the same site: a browser
// holding Basic credentials for the server cannot be made to send them
// from another page (see sameSite).

// trackJSON is a track in the programme API: never a path outside the
// station's folder.
type trackJSON struct {
	Title string `json:"title"`
	File  string `json:"file,omitempty"` // path in its library
	Kind  string `json:"kind,omitempty"` // "", "jingle" or "request"
	Show  string `json:"show,omitempty"`
	ID    string `json:"id,omitempty"` // a request's queue entry
}

func trackOf(t *mount.TrackInfo) trackJSON {
	return trackJSON{Title: t.Display, File: t.Rel, Kind: t.Kind, Show: t.Show}
}

// programmeJSON is GET /api/queue's answer.
type programmeJSON struct {
	Route      string            `json:"route"`
	NowPlaying *trackJSON        `json:"now_playing,omitempty"` // what listeners hear
	NextUp     []trackJSON       `json:"next_up"`               // opened ahead, then what the programme picks next when it knows
	Queue      []programme.Entry `json:"queue"`
	Show       *schedule.Info    `json:"show,omitempty"`
	NextShow   *schedule.Info    `json:"next_show,omitempty"`
}

// upcoming is what plays after the current track, as far as it is known:
// the tracks opened ahead, then the programme's next pick when that is a
// request or a jingle (music is known only once picked).
func upcoming(st Station, status programme.Status) []trackJSON {
	out := []trackJSON{}
	for _, t := range st.Upcoming() {
		out = append(out, trackOf(t))
	}
	if n := status.NextUp; n != nil {
		out = append(out, trackJSON{Title: n.Title, File: n.Rel, Kind: n.Kind, Show: n.Show, ID: n.ID})
	}
	return out
}

// programmeAPI serves /api/queue, /api/queue/move, /api/skip and
// /api/search.
func (s *Server) programmeAPI(ctx *fasthttp.RequestCtx, which string) {
	if !s.admin(ctx) {
		return
	}
	st, ok := s.routeArg(ctx)
	if !ok {
		return
	}
	if st == nil {
		st = s.defaultStation()
	}
	var prog *programme.Programme
	if st != nil {
		prog = st.Programme()
	}
	if prog == nil {
		jsonError(ctx, fasthttp.StatusConflict, "this station has no programme: requests and skips are for radio-mode stations with a folder")
		return
	}
	if !ctx.IsGet() && !ctx.IsHead() && !sameSite(ctx) {
		jsonError(ctx, fasthttp.StatusForbidden, "cross-site request refused")
		return
	}
	switch which {
	case endpoint.APIQueue:
		s.queue(ctx, st, prog)
	case endpoint.APIQueueMove:
		if methodIs(ctx, "POST") {
			var body struct {
				ID       string `json:"id"`
				Position *int   `json:"position"`
			}
			if !readJSON(ctx, &body) {
				return
			}
			if body.ID == "" || body.Position == nil {
				jsonError(ctx, fasthttp.StatusBadRequest, `move needs {"id": "...", "position": n}`)
				return
			}
			if err := prog.Move(body.ID, *body.Position); err != nil {
				jsonError(ctx, queueErrorStatus(err), err.Error())
				return
			}
			s.queue(ctx, st, prog)
		}
	case endpoint.APISkip:
		if methodIs(ctx, "POST") {
			t := st.Skip()
			if t == nil {
				jsonError(ctx, fasthttp.StatusConflict, "nothing to skip: no folder track is on the air (a live source or relay plays, or nothing does)")
				return
			}
			s.Logger.Info("track skipped by admin", "route", st.Profile().Route, "title", t.Display, "remote", s.clientAddr(ctx).String())
			writeJSON(ctx, fasthttp.StatusOK, map[string]any{"status": "success", "skipped": trackOf(t)})
		}
	case endpoint.APISearch:
		if methodIs(ctx, "GET", "HEAD") {
			limit, _ := strconv.Atoi(string(ctx.QueryArgs().Peek("limit")))
			matches := prog.Search(string(ctx.QueryArgs().Peek("q")), limit)
			if matches == nil {
				matches = []programme.Match{}
			}
			writeJSON(ctx, fasthttp.StatusOK, map[string]any{"status": "success", "results": matches})
		}
	}
}

// queue shows the programme (GET), queues a request (POST {"file": ...})
// or takes one out (DELETE ?id=).
func (s *Server) queue(ctx *fasthttp.RequestCtx, st Station, prog *programme.Programme) {
	switch {
	case ctx.IsPost() && path.Clean(string(ctx.Path())) == endpoint.APIQueue:
		var body struct {
			File string `json:"file"`
		}
		if !readJSON(ctx, &body) {
			return
		}
		if body.File == "" {
			jsonError(ctx, fasthttp.StatusBadRequest, `a request needs {"file": "path in the station's folder"} (find it with /api/search)`)
			return
		}
		e, err := prog.Enqueue(body.File)
		if err != nil {
			jsonError(ctx, queueErrorStatus(err), err.Error())
			return
		}
		s.Logger.Info("track requested by admin", "route", st.Profile().Route, "file", e.Rel, "remote", s.clientAddr(ctx).String())
		writeJSON(ctx, fasthttp.StatusCreated, map[string]any{"status": "success", "entry": e})
		return
	case ctx.IsDelete():
		id := string(ctx.QueryArgs().Peek("id"))
		if !prog.Remove(id) {
			jsonError(ctx, fasthttp.StatusNotFound, fmt.Sprintf("no queued request %q (it may have started playing)", id))
			return
		}
	case !ctx.IsGet() && !ctx.IsHead() && !ctx.IsPost():
		methodIs(ctx, "GET", "HEAD", "POST", "DELETE")
		return
	}
	status := prog.Status()
	out := programmeJSON{Route: st.Profile().Route, NextUp: upcoming(st, status), Queue: status.Queue,
		Show: status.Show, NextShow: status.NextShow}
	if t := nowPlaying(st); t != nil {
		j := trackOf(t)
		out.NowPlaying = &j
	}
	writeJSON(ctx, fasthttp.StatusOK, out)
}

// queueErrorStatus maps the programme's errors to HTTP statuses.
func queueErrorStatus(err error) int {
	switch {
	case errors.Is(err, programme.ErrNotListed), errors.Is(err, programme.ErrNoEntry):
		return fasthttp.StatusNotFound
	case errors.Is(err, programme.ErrQueueFull):
		return fasthttp.StatusConflict
	}
	return fasthttp.StatusBadRequest
}

// maxAPIBody bounds a programme API request's JSON.
const maxAPIBody = 64 << 10

// readJSON decodes the request body into v; false after answering 400 or
// 415. Requiring application/json also keeps other sites out: a browser
// sends that type across sites only after a CORS preflight, which this
// server never approves.
func readJSON(ctx *fasthttp.RequestCtx, v any) bool {
	if mt, _, err := mime.ParseMediaType(string(ctx.Request.Header.ContentType())); err != nil || mt != "application/json" {
		jsonError(ctx, fasthttp.StatusUnsupportedMediaType, "send JSON (Content-Type: application/json)")
		return false
	}
	body := ctx.PostBody()
	if len(body) > maxAPIBody {
		jsonError(ctx, fasthttp.StatusRequestEntityTooLarge, "request too large")
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		jsonError(ctx, fasthttp.StatusBadRequest, "bad JSON: "+err.Error())
		return false
	}
	return true
}

// sameSite reports whether a changing request may come from where it
// does: a browser says where a request comes from (Sec-Fetch-Site, or
// Origin), and one from another site is refused. Scripts (curl) send
// neither and are let through; they need the credentials anyway.
func sameSite(ctx *fasthttp.RequestCtx) bool {
	switch string(ctx.Request.Header.Peek("Sec-Fetch-Site")) {
	case "cross-site", "same-site":
		return false
	}
	origin := string(ctx.Request.Header.Peek("Origin"))
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == string(ctx.Host())
}
