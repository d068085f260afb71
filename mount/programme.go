package mount

import (
	"io"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// A Programme decides which file a FolderSource opens next: the folder's
// play order, or a schedule's show, a jingle, a listener's request from
// the queue. Without one (FolderSource.Programme nil) a FolderSource plays
// its Library in its Order.
//
// A FolderSource calls Next and Bad from its Run goroutine only, ahead of
// time (it keeps Preload tracks open); Unplayed may come from any
// goroutine. A programme that changes its mind about picks already handed
// out (a show starts, a request is queued) calls FolderSource.Flush: the
// picks opened but not yet played come back through Unplayed, and the
// programme is asked again.
type Programme interface {
	// Next returns the next file to play; ok is false when nothing is
	// playable now (the source looks again after a pause, or at once after
	// FolderSource.Poke).
	Next() (p Pick, ok bool)
	// Bad marks p, returned by Next, as unplayable; false means it was
	// known to be (so it is not reported again).
	Bad(p Pick) (news bool)
	// Unplayed gives back picks that were opened ahead but will not play
	// (FolderSource.Flush, or a rescan that removed their files), in the
	// order they would have played.
	Unplayed(picks []Pick)
}

// Pick is one file a Programme chose.
type Pick struct {
	// Library holds the file: its folder bounds what may be opened, a
	// title its playlist file lists wins over the file's tags, and a
	// rescan that no longer finds the file drops an opened track of it.
	Library *playlist.Library
	// Rel is the file's path relative to Library.
	Rel string
	// Title, if set, is what listeners see instead of the file's tags (a
	// jingle shows the station's name).
	Title *playlist.Title
	// Kind says why the file plays (TrackInfo.Kind): "" for the folder's
	// or a show's order, KindJingle, KindRequest.
	Kind string
	// Show names the schedule slot the pick was made for (TrackInfo.Show).
	Show string
	// ID identifies a pick among those of its programme (a queue entry);
	// the programme's business.
	ID string
}

// Kinds of picks, shown in TrackInfo.Kind.
const (
	KindJingle  = "jingle"
	KindRequest = "request"
)

// Level is what loudness levelling and silence trimming do to one file as
// it plays; the zero Level plays it unchanged.
type Level struct {
	// GainSteps changes an MP3 file's every granule's global_gain by this
	// many steps of 1.505 dB (AdjustGain), without re-encoding.
	GainSteps int
	// GainDB is the exact gain for files that go through ffmpeg anyway.
	GainDB float64
	// Start and End bound the audible part: frames wholly before Start or
	// after End are skipped. End 0 plays to the end.
	Start, End time.Duration
}

// IsZero reports whether l changes nothing.
func (l Level) IsZero() bool { return l == Level{} }

// levelled applies a Level to an MP3 file's frames as they are read:
// frames wholly outside Start..End are skipped, the rest get GainSteps.
// One frame before Start is kept, since a Layer III frame may take part
// of its data from the frame before it (the bit reservoir).
type levelled struct {
	src   Frames
	level Level
	pos   time.Duration // start of the next frame from src
	prev  Frame         // the last frame skipped before Start
	held  bool          // prev is to be played before the next frame
	begun bool
}

func (l *levelled) Next() (Frame, error) {
	for {
		if l.held {
			l.held = false
			return l.adjust(l.prev), nil
		}
		f, err := l.src.Next()
		if err != nil {
			return Frame{}, err
		}
		start := l.pos
		l.pos += f.Duration()
		if end := l.level.End; end > 0 && start >= end {
			return Frame{}, io.EOF
		}
		if !l.begun && l.pos <= l.level.Start {
			l.prev = Frame{Data: append(l.prev.Data[:0], f.Data...), Samples: f.Samples,
				SampleRate: f.SampleRate, Bitrate: f.Bitrate, Channels: f.Channels}
			continue
		}
		if !l.begun {
			l.begun = true
			if l.prev.Data != nil {
				// Play the reservoir frame first, then this one.
				l.held = true
				l.prev, f = f, l.prev
			}
		}
		return l.adjust(f), nil
	}
}

func (l *levelled) adjust(f Frame) Frame {
	if l.level.GainSteps != 0 {
		AdjustGain(f.Data, l.level.GainSteps)
	}
	return f
}
