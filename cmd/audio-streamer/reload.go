package main

import (
	"log/slog"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/server"
	"github.com/aposazhennikov/stream-audio-to-web/internal/station"
)

// configReloader returns the configuration reload of SIGHUP and POST
// /api/reload: the same arguments and environment are read again (the
// file may have changed) and the stations made those of the new
// configuration (station.Runner.Apply: unchanged ones keep playing and
// keep their listeners). An invalid configuration is logged as its
// one-line error, returned as a *server.ConfigError, and changes
// nothing.
func configReloader(args []string, env func(string) (string, bool), runner *station.Runner, srv *server.Server,
	log *slog.Logger) func() (server.ReloadSummary, error) {
	return func() (server.ReloadSummary, error) {
		next, err := config.Load(args, env)
		if err == nil {
			for _, w := range next.Warnings {
				log.Warn(w)
			}
			var sum station.Summary
			sum, err = runner.Apply(next, func(list []*station.Station) {
				if err := srv.SetStations(serverViews(list)); err != nil {
					log.Error("cannot serve the reloaded stations", "error", err) // routes are unique: not expected
				}
			})
			if err == nil {
				log.Info("configuration reloaded: "+sum.String(), "stations", len(runner.Stations()))
				return server.ReloadSummary{Added: sum.Added, Removed: sum.Removed, Updated: sum.Updated,
					Restarted: sum.Restarted, NeedsRestart: sum.Ignored}, nil
			}
		}
		log.Error("configuration not reloaded; the running one stays", "error", err.Error())
		return server.ReloadSummary{}, &server.ConfigError{Err: err}
	}
}

// serverViews are the stations as the server sees them.
func serverViews(stations []*station.Station) []server.Station {
	views := make([]server.Station, len(stations))
	for i, st := range stations {
		views[i] = st
	}
	return views
}
