package server

import (
	"errors"
	"fmt"
	"strings"

	"github.com/valyala/fasthttp"
)

// stationSet is the stations served and everything derived from them,
// as one value that is never changed once published: a request reads
// the set once (Server.current) and sees one consistent list, whatever
// a reload swaps meanwhile.
type stationSet struct {
	list    []Station // in configuration order
	byRoute map[string]Station
	// rescanners are /reload-playlist's coalesced scans, one per station.
	rescanners map[Station]*rescanner
	// refusals are the listeners refused per station (/metrics).
	refusals map[Station]*refusalCounts
	// maxPrivateStreams is the cap over all individual-mode stations
	// (from their profiles, 0: none).
	maxPrivateStreams int
}

// newStationSet derives a set from list. A station also in prev keeps
// its rescanner and refusal counts, so a reload resets no counter of a
// station it kept.
func (s *Server) newStationSet(list []Station, prev *stationSet) (*stationSet, error) {
	set := &stationSet{
		list:              append([]Station(nil), list...),
		byRoute:           make(map[string]Station, len(list)),
		rescanners:        make(map[Station]*rescanner, len(list)),
		refusals:          make(map[Station]*refusalCounts, len(list)),
		maxPrivateStreams: serverPrivateStreamCap(list),
	}
	for _, st := range list {
		route := st.Profile().Route
		if _, dup := set.byRoute[route]; dup {
			return nil, fmt.Errorf("server: route %s configured twice", route)
		}
		set.byRoute[route] = st
		if prev != nil && prev.rescanners[st] != nil {
			set.rescanners[st], set.refusals[st] = prev.rescanners[st], prev.refusals[st]
			continue
		}
		set.rescanners[st] = &rescanner{queued: s.reloadQueued}
		set.refusals[st] = &refusalCounts{}
	}
	return set, nil
}

// current is the station set requests read: the Stations field's until
// the first SetStations. Call it once per request and keep the result.
func (s *Server) current() *stationSet {
	if set := s.set.Load(); set != nil {
		return set
	}
	return &stationSet{} // before setup: nothing served yet
}

// SetStations replaces the stations served, at once for every new
// request: listeners and sources already handed to a station stay with
// it, whether or not list keeps it (stopping a station, and so its
// listeners, is its owner's business). A station kept keeps its counters.
// Routes must be unique. Safe to call before or while Serve runs; the
// Stations field is not changed.
func (s *Server) SetStations(list []Station) error {
	if err := s.init(); err != nil {
		return err
	}
	s.swapMu.Lock()
	defer s.swapMu.Unlock()
	set, err := s.newStationSet(list, s.set.Load())
	if err != nil {
		return err
	}
	s.set.Store(set)
	// Forget the shared Stats of stations no longer served.
	s.stats.mu.Lock()
	for st := range s.stats.m {
		if _, ok := set.rescanners[st]; !ok {
			delete(s.stats.m, st)
		}
	}
	s.stats.mu.Unlock()
	return nil
}

// refusalsOf is where st's refused listeners are counted: a station no
// longer served (a listener arriving as a reload removed it) gets counts
// nobody reads.
func (set *stationSet) refusalsOf(st Station) *refusalCounts {
	if c := set.refusals[st]; c != nil {
		return c
	}
	return &refusalCounts{}
}

// ReloadSummary is what a configuration reload changed, by route, as
// POST /api/reload answers it.
type ReloadSummary struct {
	Added     []string `json:"added"`
	Removed   []string `json:"removed"`
	Updated   []string `json:"updated"`
	Restarted []string `json:"restarted"`
	// NeedsRestart are the server-wide settings that changed in the file
	// but apply only when the process restarts.
	NeedsRestart []string `json:"needs_restart"`
}

// reloadConfig is POST /api/reload: the admin asks the process to read
// its configuration again, as SIGHUP does. 200 with the summary, 422
// with the configuration's one-line error (nothing changed then), 501
// when the server has no ReloadConfig.
func (s *Server) reloadConfig(ctx *fasthttp.RequestCtx) {
	if !methodIs(ctx, "POST") {
		return
	}
	if !sameSite(ctx) {
		jsonError(ctx, fasthttp.StatusForbidden, "cross-site request refused")
		return
	}
	if !s.admin(ctx) {
		return
	}
	if s.ReloadConfig == nil {
		jsonError(ctx, fasthttp.StatusNotImplemented, "this server cannot reload its configuration")
		return
	}
	sum, err := s.ReloadConfig()
	if err != nil {
		var unprocessable *ConfigError
		if errors.As(err, &unprocessable) {
			jsonError(ctx, fasthttp.StatusUnprocessableEntity, strings.TrimSpace(err.Error()))
			return
		}
		jsonError(ctx, fasthttp.StatusInternalServerError, strings.TrimSpace(err.Error()))
		return
	}
	s.Logger.Info("configuration reloaded (API)", "remote", s.clientAddr(ctx).String())
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"status": "success", "summary": nonNil(sum)})
}

// ConfigError is a reload refused because the new configuration is
// invalid (POST /api/reload answers 422); any other ReloadConfig error is
// the server's (500).
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// nonNil makes the summary's empty lists [] in JSON, not null.
func nonNil(sum ReloadSummary) ReloadSummary {
	for _, l := range []*[]string{&sum.Added, &sum.Removed, &sum.Updated, &sum.Restarted, &sum.NeedsRestart} {
		if *l == nil {
			*l = []string{}
		}
	}
	return sum
}

// refusalsOf is the current set's refusalsOf.
func (s *Server) refusalsOf(st Station) *refusalCounts { return s.current().refusalsOf(st) }

// stationList is the stations served now, in configuration order (read
// only: it is shared).
func (s *Server) stationList() []Station { return s.current().list }
