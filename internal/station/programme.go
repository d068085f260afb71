package station

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/programme"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// programming is what a station plays from its folder beyond the plain
// play order: a radio station's shows, jingles and request queue
// (internal/programme), or, in individual mode, jingles in every
// listener's private stream.
type programming struct {
	// radio is the radio station's programme; nil in individual mode.
	radio *programme.Programme
	// libraries are the jingle and show libraries, scanned at Start, every
	// rescan interval and on Reload.
	libraries []*playlist.Library
}

// buildProgramming makes the station's programme and hands it to the
// mountpoint. A radio station with a folder always gets one (its queue);
// an individual-mode station only for jingles.
func buildProgramming(cfg *config.Config, set config.Station, mp *mount.Mountpoint, deps Deps, log *slog.Logger) (*programming, error) {
	if mp.Library == nil {
		if len(set.Schedule) > 0 || set.Jingles != "" {
			return nil, fmt.Errorf("station %s: shows and jingles need the station's own folder (dir) for now", set.Route)
		}
		return &programming{}, nil
	}
	libOpts := playlist.LibraryOptions{Extensions: set.Extensions, Logger: log}
	opt := programme.Options{
		Name: cmp.Or(set.Name, set.Route), Library: mp.Library,
		JingleEvery: set.JingleEvery, JingleInterval: set.JingleInterval, JingleTitle: set.JingleTitle,
		Clock: deps.WallClock, Logger: log,
	}
	if set.Jingles != "" {
		opt.Jingles = programme.Music{Library: playlist.NewLibrary(set.Jingles, libOpts)}
	}
	if set.Mode == config.ModeIndividual {
		p := &programming{}
		if opt.Jingles.Library == nil {
			return p, nil
		}
		p.libraries = []*playlist.Library{opt.Jingles.Library}
		// A programme serves one folder source: each listener's private
		// stream gets its own, over the shared jingle library.
		mp.Programme = func(music *mount.OrderProgramme) mount.Programme {
			own := opt
			own.Jingles.Order = nil
			own.Music = music
			prog, err := programme.New(own)
			if err != nil { // checked when the station was built
				log.Error("programme", "route", set.Route, "err", err.Error())
				return music
			}
			return prog
		}
		if _, err := programme.New(opt); err != nil {
			return nil, fmt.Errorf("station %s: %w", set.Route, err)
		}
		return p, nil
	}
	if err := addShows(&opt, set, libOpts); err != nil {
		return nil, fmt.Errorf("station %s: %w", set.Route, err)
	}
	if cfg.StateDir != "" {
		opt.QueuePath = filepath.Join(cfg.StateDir, strings.TrimSuffix(stateName(set.Route), ".json")+".queue.json")
	}
	prog, err := programme.New(opt)
	if err != nil {
		return nil, fmt.Errorf("station %s: %w", set.Route, err)
	}
	mp.Programme = func(music *mount.OrderProgramme) mount.Programme {
		prog.SetMusic(music)
		return prog
	}
	prog.SetControls(mp.Flush, func() { mp.Skip() })
	p := &programming{radio: prog}
	if opt.Jingles.Library != nil {
		p.libraries = append(p.libraries, opt.Jingles.Library)
	}
	for _, m := range opt.Shows {
		p.libraries = append(p.libraries, m.Library)
	}
	return p, nil
}

// addShows gives opt the station's schedule and a library for every
// folder or playlist file a show plays, one per distinct path.
func addShows(opt *programme.Options, set config.Station, libOpts playlist.LibraryOptions) error {
	if len(set.Schedule) == 0 {
		return nil
	}
	sched, err := set.BuildSchedule()
	if err != nil {
		return err
	}
	opt.Schedule = sched
	opt.Shows = map[string]programme.Music{}
	add := func(path string) {
		if path == "" || path == config.PlaysLive || path == set.Dir {
			return
		}
		if _, ok := opt.Shows[path]; !ok {
			lib := playlist.NewLibrary(path, libOpts)
			opt.Shows[path] = programme.Music{Library: lib, Order: playlist.NewOrder(lib, set.Shuffle, nil)}
		}
	}
	opt.Fallbacks = make([]string, len(set.Schedule))
	for i, slot := range set.Schedule {
		add(slot.Plays)
		if slot.Plays == config.PlaysLive {
			opt.Fallbacks[i] = set.LiveFallback(i)
			add(opt.Fallbacks[i])
		}
	}
	return nil
}

// start scans the show and jingle libraries once, then runs the radio
// programme and rescans them every interval until ctx ends; changed is
// told after a scan that changed one.
func (p *programming) start(ctx context.Context, s *Station, interval time.Duration, changed func()) {
	p.scan(s.log)
	if p.radio != nil {
		s.wg.Go(func() { p.radio.Run(ctx) })
	}
	if len(p.libraries) == 0 || interval <= 0 {
		return
	}
	s.wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if p.scan(s.log) && changed != nil {
					changed()
				}
			}
		}
	})
}

// scan scans the show and jingle libraries and reports whether one
// changed; a library with nothing to play is logged.
func (p *programming) scan(log *slog.Logger) (changed bool) {
	for _, lib := range p.libraries {
		res, err := lib.Scan()
		changed = changed || res.Changed
		if err != nil && res.Changed {
			log.Warn("show or jingle library has nothing to play yet", "dir", lib.Dir(), "reason", err.Error())
		}
	}
	return changed
}
