package mount

import (
	"context"
	"io"
)

// A Source supplies a station with audio, one Track at a time. A station
// plays from a list of sources in priority order (see New): it plays a
// track of the first source that has one ready, and when a source earlier
// in the list gets a track ready while a later one plays, the station ends
// the playing track at the next frame boundary and plays the new one.
// When that track ends, the station again takes the first ready track in
// list order, so a lower source resumes with its next track, or with the
// rest of the interrupted one if it takes that back (see interrupter).
// All sources
// feed the same buffer: listeners never notice a switch except by the
// audio and the ICY title, which changes when they hear the new track.
//
// The station owns the goroutines. It calls Run once, in a goroutine of
// its own, when the station starts. A source does its slow work in Run:
// opening files and encoders ahead of time, waiting for a client to push
// audio, dialing an upstream. Run must return when ctx ends; a source that
// has nothing to do in the background may return at once.
//
// Cleanup is Run's too: a Run that returns (or panics) with ctx ended, or
// is called with ctx already ended, first closes every track it made that
// Next has not returned; the station closes nothing a source still holds.
// If Run panics, the panic is recovered, logged, counted in Stats.Panics
// and passed to Config.OnPanic, and Run is called again: after a second,
// or at once with ctx ended if the station stops before then or stopped
// during the run that panicked. So a source's last Run always sees ctx
// ended and gets to clean up, unless that call, begun with ctx ended,
// panics too: then it is not called again.
//
// Next is called from the station's player goroutine, concurrently with
// Run, whenever the station looks for a track: at the end of a track, and
// after any source's Feed.Ready while idle or playing a lower source
// (between two frames). It must not block;
// it returns nil when the source has no track ready now. A returned track
// belongs to the station, which plays it and closes it.
//
// After making a track available to Next, a source calls Feed.Ready, so
// an idle station, or one playing a lower source, looks at once; calling
// Ready when Next turns out to return nil is harmless. A source that cannot
// play something (a broken file) reports it with Feed.Skip.
//
// A source belongs to one station. Adding a kind of source (a live push,
// a pull relay, a schedule) is one new type implementing these two methods
// (FolderSource, in folder.go, is the model); the station needs no change.
type Source interface {
	Run(ctx context.Context, f *Feed)
	Next() *Track
}

// interrupter is a Source that may take back a track a higher source
// interrupted. The station calls Interrupted from its player goroutine
// after the track's last frame went on the air; true means the source
// keeps t (the station does not close it) and will return its remaining
// frames from Next again, with a new Info; false, and the station closes
// t as usual. FolderSource implements it (ResumeInterrupted).
type interrupter interface {
	Interrupted(t *Track) bool
}

// Track is one run of audio from a source: a file, a pushed stream, an
// upstream connection. Tracks are played whole unless a higher-priority
// source takes over.
type Track struct {
	// Info is what listeners and status pages see while the track plays:
	// the title with its ICY metadata block (Meta) already encoded, the
	// format of its first frame, and for files the path. Required, and a
	// new one for every Track: the station sets Started when the first
	// frame goes on the air, and changes nothing else.
	Info *TrackInfo
	// Frames is the audio. The station reads it from its player goroutine
	// only, paced in real time; io.EOF ends the track, any other error
	// ends it early (logged and passed to Config.OnSkip). A Frames that
	// also has an Offset() int64 method (a file's *FrameReader does) gives
	// the position a restarted radio station resumes from.
	Frames Frames
	// Closer, if not nil, is closed exactly once, by the station when it
	// stops playing the track, whatever the reason: the track ended, a
	// higher source took over, or the station stopped.
	Closer io.Closer

	// pick is what a FolderSource's programme chose; resumed marks the
	// rest of an interrupted track, which a Flush does not give back.
	pick    Pick
	resumed bool
}

// Frames is a track's audio as MPEG audio frames. *FrameReader is one.
type Frames interface {
	// Next returns the next frame: a whole, valid frame (Samples and
	// SampleRate set), whose Data need only stay valid until the following
	// call, as the station copies it. Next may wait for audio (a network
	// source), but it is called between the station's checks for a higher
	// source, so it should not wait long, and it must return once the ctx
	// given to its source's Run has ended.
	Next() (Frame, error)
}

// A Feed is a source's line to the station playing it. The station makes
// one per source and passes it to Source.Run (the zero Feed is not
// usable). Its methods may be called from any goroutine, also after Run
// has returned.
type Feed struct {
	st *Station
}

// Ready tells the station that the source's Next may now return a track.
// It never blocks.
func (f *Feed) Ready() {
	select {
	case f.st.wake <- struct{}{}:
	default:
	}
}

// Skip reports something the source could not play: it is counted in
// Stats.FilesSkipped, logged with its reason and passed to Config.OnSkip.
func (f *Feed) Skip(path string, err error) {
	s := f.st
	s.count.skipped.Add(1)
	s.log.Warn("skipping file", "path", path, "reason", err.Error())
	if s.cfg.OnSkip != nil {
		s.cfg.OnSkip(path, err)
	}
}

// closeTrack releases a track the station took from a source.
func closeTrack(t *Track) {
	if t.Closer != nil {
		t.Closer.Close()
	}
}
