package station

import (
	"cmp"
	"context"
	"path/filepath"
	"slices"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/loudness"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// maxBoostSteps caps how far a quiet track is raised (10 steps, about
// 15 dB): a track quieter than that is quiet on purpose (an intro, a
// spoken piece) or mostly noise, which levelling would only bring up.
const maxBoostSteps = 10

// levelling is a station's loudness levelling and silence trimming: the
// station's files are measured in the background by the server's
// analyzer, and each file plays at its level once it has been measured
// (unchanged until then).
type levelling struct {
	an     *loudness.Analyzer
	route  string
	target float64 // LUFS; 0: no levelling
	trim   bool
	params loudness.Params
	dec    mount.Decoder
	// runs is set on the one station that runs an analyzer nobody passed
	// in (Deps.Loudness nil).
	runs bool
}

// wantsLevelling reports whether set levels or trims its tracks.
func wantsLevelling(set config.Station) bool { return set.Loudness != 0 || set.TrimSilence }

// newLevelling wires a station to an analyzer; nil when the station
// neither levels nor trims, or no analyzer can run (ffmpeg missing: said
// once at startup).
func newLevelling(set config.Station, an *loudness.Analyzer, dec mount.Decoder) *levelling {
	if !wantsLevelling(set) || an == nil {
		return nil
	}
	return &levelling{
		an: an, route: set.Route, target: set.Loudness, trim: set.TrimSilence,
		params: loudness.Params{SilenceThreshold: set.SilenceThreshold}, dec: dec,
	}
}

// level is mount.FolderSource.Level: how the file at path plays.
func (l *levelling) level(path string) mount.Level {
	a, ok := l.an.Lookup(path, l.params)
	if !ok {
		return mount.Level{}
	}
	encoded := l.dec.NeedsFFmpeg(path)
	var lv mount.Level
	if l.target != 0 {
		if encoded {
			heard := a.Upmixed(cmp.Or(l.dec.Transcode.Channels, 2))
			lv.GainDB = min(heard.Gain(l.target, loudness.DefaultEncodeCeiling), maxBoostSteps*loudness.StepDB)
		} else {
			lv.GainSteps = min(a.Steps(l.target, loudness.DefaultCeiling), maxBoostSteps)
		}
	}
	if l.trim {
		lv.Start, lv.End = a.Trim(!encoded)
	}
	return lv
}

// measure asks the analyzer for every file of the station's libraries, the
// station's folder first.
func (l *levelling) measure(libs []*playlist.Library) {
	var paths []string
	for _, lib := range libs {
		if lib == nil {
			continue
		}
		for _, t := range lib.Tracks() {
			if p := lib.Abs(t); p != "" {
				paths = append(paths, p)
			}
		}
	}
	l.an.Measure(l.route, slices.Compact(paths), l.params)
}

// start runs the analyzer when this station owns it.
func (l *levelling) start(ctx context.Context, s *Station) {
	if l != nil && l.runs {
		s.wg.Go(func() { l.an.Run(ctx) })
	}
}

// analyzerFor returns the analyzer stations share: deps', or a new one
// (cached in the state dir) that the first station using it runs. Nil
// when no station levels or trims, or ffmpeg cannot run.
func analyzerFor(cfg *config.Config, deps Deps, sets []config.Station) (an *loudness.Analyzer, owned bool) {
	if deps.Loudness != nil {
		return deps.Loudness, false
	}
	if deps.FFmpeg != nil || !slices.ContainsFunc(sets, wantsLevelling) {
		return nil, false
	}
	return NewAnalyzer(cfg, deps), true
}

// NewAnalyzer makes the loudness analyzer of a server: its cache is
// loudness.json in the state dir (in memory without one). Run it for as
// long as the stations play.
func NewAnalyzer(cfg *config.Config, deps Deps) *loudness.Analyzer {
	cache := ""
	if cfg.StateDir != "" {
		cache = filepath.Join(cfg.StateDir, "loudness.json")
	}
	return loudness.New(loudness.Options{FFmpegPath: cfg.FFmpegPath, CachePath: cache, Logger: deps.Logger})
}
