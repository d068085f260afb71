package station

import (
	"slices"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

// buildSync makes a clock-synced station (sync = "clock") play its folder
// from a mount.ClockSource, after its live sources (live): what plays is
// a function of the folder, the seed and the wall clock, so instances
// agree without talking (docs/scaling.md). The mountpoint's own folder
// source stays for scanning and readiness but is given a programme that
// never picks, so it opens nothing; the position is the clock's, so no
// state is saved. Load has refused what would make instances differ
// (shows, jingles, levelling, ffmpeg for every file): the programming is
// empty, and a skip has nothing to cut.
func buildSync(set config.Station, mp *mount.Mountpoint, live []mount.Source) *programming {
	src := &mount.ClockSource{
		Library: mp.Library,
		Sync:    mount.FrameClockFor(set.SampleRate),
		Shuffle: set.Shuffle,
		Seed:    mount.SeedOf(set.SyncSeed),
		Charset: set.ICYCharset,
	}
	sources := append(slices.Clone(live), src)
	mp.Sources = func() []mount.Source { return sources } // radio mode: called once
	mp.Programme = func(*mount.OrderProgramme) mount.Programme { return noPicks{} }
	mp.StatePath = ""
	mp.Preload = 0
	return &programming{}
}

// noPicks is the programme of a clock-synced station's folder source: it
// never has a file to play, the ClockSource plays them all.
type noPicks struct{}

func (noPicks) Next() (mount.Pick, bool)    { return mount.Pick{}, false }
func (noPicks) Bad(mount.Pick) bool         { return false }
func (noPicks) Unplayed(picks []mount.Pick) {}
