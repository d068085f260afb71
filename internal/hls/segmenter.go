package hls

import (
	"context"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tcolgate/mp3"

	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

// Feed is the station a Segmenter follows; *mount.Station is one.
type Feed interface {
	// Tail returns the newest published block, or nil before the first.
	Tail() *mount.Block
	// Published returns a channel closed at the next publish.
	Published() <-chan struct{}
}

// Config sets a Segmenter's sizes. Zero values are noted.
type Config struct {
	// Target is the nominal segment length (0: 4 s); segments run from
	// one frame to 1.5 × Target (see the package doc).
	Target time.Duration
	// Window is how many segments the playlist lists (0: 8). It lists
	// more while they add up to less than 3.5 × the target duration, as
	// RFC 8216 asks of a live playlist.
	Window int
	// Keep is how many segments stay in memory (0: 2 × Window): a segment
	// that has left the playlist must stay downloadable for a while, for
	// players that read the playlist just before it moved on.
	Keep int
}

func (c Config) withDefaults() Config {
	if c.Target <= 0 {
		c.Target = 4 * time.Second
	}
	if c.Window <= 0 {
		c.Window = 8
	}
	if c.Keep < c.Window {
		c.Keep = 2 * c.Window
	}
	return c
}

// Segment is one finished segment. It never changes once published, so
// any number of requests may write Data at once.
type Segment struct {
	Seq  uint64
	Name string // the due time of its first frame, ms since the Unix epoch
	// Start is when its first frame was due on the station's live edge
	// (EXT-X-PROGRAM-DATE-TIME); Duration is the audio it holds.
	Start    time.Time
	Duration time.Duration
	// Title and Artist are its track's, as in its ID3 tag; Display is
	// what ICY listeners see.
	Title, Artist, Display string
	// Discontinuity: its audio does not continue the previous segment's
	// (the station was silent in between, or the format changed).
	Discontinuity bool
	// Data is the ID3 tag followed by whole MP3 frames.
	Data []byte

	discontinuities uint64 // discontinuity tags up to and including this one
}

// Segmenter cuts a station's blocks into segments. Create it with New;
// Run (or Add, for a caller with its own blocks) feeds it, and any number
// of goroutines read it meanwhile.
type Segmenter struct {
	cfg Config

	mu      sync.RWMutex
	segs    []*Segment // oldest first, at most cfg.Keep
	updated chan struct{}

	// The segment being built and what came before; the feeding goroutine
	// only.
	cur      *Segment
	curRate  int // sample rate and channels of cur's frames
	curChans int
	prevT    time.Time // due time of the previous frame; zero before any
	prevEnd  time.Time // when the previous frame ended
	prevTrk  *mount.TrackInfo
	prevSync int64 // global frame of the previous frame if clock-synced, else 0
	started  bool  // a first cut point was met
	gap      bool  // the next segment starts a discontinuity
	nextSeq  uint64
	discs    uint64
}

// New returns a Segmenter with cfg's defaults filled in.
func New(cfg Config) *Segmenter {
	return &Segmenter{cfg: cfg.withDefaults(), updated: make(chan struct{})}
}

// Target is the nominal segment length.
func (s *Segmenter) Target() time.Duration { return s.cfg.Target }

// TargetDuration is the playlist's EXT-X-TARGETDURATION in seconds: no
// segment, its length rounded, is longer.
func (s *Segmenter) TargetDuration() int {
	return int(math.Ceil(1.5 * s.cfg.Target.Seconds()))
}

// Run follows the station station returns (nil while there is none yet)
// from its newest block on, and returns when ctx ends. A station that
// station starts returning instead (a restart) is followed from its
// newest block, after a discontinuity.
func (s *Segmenter) Run(ctx context.Context, station func() Feed) {
	var feed Feed
	var at *mount.Block
	for {
		if f := station(); f != feed {
			// A station replaced by another: its audio does not continue.
			s.gap = s.gap || feed != nil
			feed, at = f, nil
		}
		if feed == nil {
			t := time.NewTimer(100 * time.Millisecond)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return
			}
			continue
		}
		changed := feed.Published()
		if at == nil {
			at = feed.Tail()
			if at != nil {
				s.Add(at)
			}
		}
		for at != nil {
			n := at.Next()
			if n == nil {
				break
			}
			s.Add(n)
			at = n
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return
		}
	}
}

// Add feeds one block. Blocks are given in the order the station
// published them; Run calls it, and only one goroutine may.
func (s *Segmenter) Add(b *mount.Block) {
	for i := range b.Frames {
		end := len(b.Data)
		if i+1 < len(b.Frames) {
			end = int(b.Frames[i+1])
		}
		frame := b.Data[b.Frames[i]:end]
		if len(frame) < 4 {
			continue
		}
		h := mp3.FrameHeader(frame[:4])
		f := frameInfo{rate: int(h.SampleRate()), chans: 2, track: b.Track}
		if h.ChannelMode() == mp3.SingleChannel {
			f.chans = 1
		}
		if b.SyncFrame != 0 {
			s.addSynced(frame, b.SyncFrame+int64(i), f)
			continue
		}
		s.addFrame(frame, b.Due.Add(time.Duration(i)*b.FrameDur), b.FrameDur, f)
	}
}

// frameInfo is what a frame's header and block say about it.
type frameInfo struct {
	rate, chans int
	track       *mount.TrackInfo
}

// addFrame adds a frame of an unsynced station (or a live track on a
// synced one), due at t.
func (s *Segmenter) addFrame(frame []byte, t time.Time, dur time.Duration, f frameInfo) {
	// A frame that does not follow the previous one within half a frame
	// (the station was idle, or this segmenter restarted) breaks the
	// timeline; so does a new sample rate or channel count, or the end
	// of clock-synced audio.
	if !s.prevEnd.IsZero() {
		if d := t.Sub(s.prevEnd); d > dur/2 || d < -dur/2 {
			s.gap = true
		}
	}
	if s.prevSync != 0 {
		s.dropSynced()
	}
	if s.cur != nil && (f.rate != s.curRate || f.chans != s.curChans) {
		s.gap = true
	}
	slotChange := !s.prevT.IsZero() && s.slot(t) != s.slot(s.prevT)
	trackChange := s.prevTrk != nil && f.track != s.prevTrk
	s.prevT, s.prevEnd, s.prevTrk = t, t.Add(dur), f.track

	switch {
	case s.cur == nil && !s.started:
		// Start only at a cut point, as a server that ran all along would.
		if !slotChange && !trackChange {
			return
		}
		s.started = true
	case s.cur != nil && (s.gap || trackChange || slotChange && t.Sub(s.cur.Start) >= s.cfg.Target/2):
		s.finish()
	}
	if s.cur == nil {
		seq := s.nextSeq
		if seq == 0 {
			seq = uint64(s.slot(t))
		}
		s.begin(t, seq, f)
	}
	s.cur.Data = append(s.cur.Data, frame...)
	s.cur.Duration = t.Add(dur).Sub(s.cur.Start)
}

// addSynced adds global frame g of a clock-synced station. Its time is
// the FrameClock's exact one, never Due plus a sum of rounded frame
// lengths, so every instance sees the same instant whatever its block
// grouping. A segment is exactly the frames starting in one Target slot
// of the wall clock, numbered by the slot and named by its first frame's
// time: the same bytes, name and number on every instance. A track
// change does not cut (the segment's tag has its first frame's title),
// and a segment this segmenter did not see whole (it started, the
// station skipped frames, or live audio came in between) is dropped
// rather than published short under a name other instances use for the
// whole one.
func (s *Segmenter) addSynced(frame []byte, g int64, f frameInfo) {
	clock := mount.FrameClockFor(f.rate)
	t := clock.Time(g)
	if s.prevSync == 0 && s.cur != nil {
		s.finish() // live audio's segment, this instance's own: kept
	}
	if s.prevSync == 0 && !s.prevEnd.IsZero() || s.prevSync != 0 && g != s.prevSync+1 ||
		s.cur != nil && (f.rate != s.curRate || f.chans != s.curChans) {
		s.gap = true
	}
	if s.gap {
		s.cur = nil
	}
	end := clock.Time(g + 1)
	s.prevT, s.prevEnd, s.prevTrk, s.prevSync = t, end, f.track, g
	slot := s.slot(t)
	boundary := slot != s.slot(clock.Time(g-1))
	if s.cur != nil && boundary {
		s.finish()
	}
	if s.cur == nil {
		// Only from a slot's first frame, and never a number already used
		// (a replaced station's pre-roll repeats audio already cut).
		if !boundary || slot < 0 || uint64(slot) < s.nextSeq {
			return
		}
		s.started = true
		s.begin(t, uint64(slot), f)
	}
	s.cur.Data = append(s.cur.Data, frame...)
	s.cur.Duration = end.Sub(s.cur.Start)
}

// dropSynced ends clock-synced audio: the unfinished segment is not
// published (see addSynced) and what follows is a discontinuity.
func (s *Segmenter) dropSynced() {
	s.cur, s.prevSync, s.gap = nil, 0, true
}

// slot is the number of Target periods from the Unix epoch to t.
func (s *Segmenter) slot(t time.Time) int64 {
	return t.UnixNano() / int64(s.cfg.Target)
}

func (s *Segmenter) begin(t time.Time, seq uint64, f frameInfo) {
	seg := &Segment{Seq: seq, Start: t, Name: strconv.FormatInt(t.UnixMilli(), 10), Discontinuity: s.gap}
	s.nextSeq = seq + 1
	if s.gap {
		s.discs++
	}
	seg.discontinuities = s.discs
	track := f.track
	if track != nil {
		seg.Title = strings.ToValidUTF8(track.Title, "\uFFFD")
		seg.Artist = strings.ToValidUTF8(track.Artist, "\uFFFD")
		seg.Display = strings.ToValidUTF8(track.Display, "\uFFFD")
		if seg.Title == "" {
			seg.Title = seg.Display
		}
	}
	// About one and a half targets of 128 kbit/s; a bigger segment grows.
	seg.Data = appendID3(make([]byte, 0, 16<<10*int(s.cfg.Target/time.Second)*3/2+1024), PTS(t), seg.Title, seg.Artist)
	s.cur, s.curRate, s.curChans, s.gap = seg, f.rate, f.chans, false
}

// finish publishes the segment being built.
func (s *Segmenter) finish() {
	seg := s.cur
	s.cur = nil
	s.mu.Lock()
	s.segs = append(s.segs, seg)
	if n := len(s.segs) - s.cfg.Keep; n > 0 {
		clear(s.segs[:n])
		s.segs = append(s.segs[:0], s.segs[n:]...)
	}
	close(s.updated)
	s.updated = make(chan struct{})
	s.mu.Unlock()
}

// Updated returns a channel closed when the next segment is published.
func (s *Segmenter) Updated() <-chan struct{} {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.updated
}

// Segment returns the segment called name while it is kept, or nil.
func (s *Segmenter) Segment(name string) *Segment {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for i := len(s.segs) - 1; i >= 0; i-- {
		if s.segs[i].Name == name {
			return s.segs[i]
		}
	}
	return nil
}

// Listed returns the segments the playlist lists now, oldest first: the
// newest Window, or more while they hold less than 3.5 target durations,
// but none before a break in sequence numbers (a clock-synced station
// drops the segment it did not see whole, and a playlist numbers its
// segments consecutively). The slice is the caller's; the segments are
// shared and immutable.
func (s *Segmenter) Listed() []*Segment {
	s.mu.RLock()
	defer s.mu.RUnlock()
	minTotal := time.Duration(3.5 * float64(s.TargetDuration()) * float64(time.Second))
	var total time.Duration
	i := len(s.segs)
	for i > 0 && (len(s.segs)-i < s.cfg.Window || total < minTotal) &&
		(i == len(s.segs) || s.segs[i-1].Seq+1 == s.segs[i].Seq) {
		i--
		total += s.segs[i].Duration
	}
	return append([]*Segment(nil), s.segs[i:]...)
}
