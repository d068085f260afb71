package mount

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/icy"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// ClockSource plays a library as a pure function of the wall clock: its
// MP3 files loop on a Timeline (name order, or a shuffle drawn from Seed)
// laid on FrameClock Sync, so the frame on the air at any instant depends
// only on the files, the seed and the clock. Any number of servers with
// the same folder and settings play the same frame at the same moment and
// publish blocks with the same Block.SyncFrame, without talking to each
// other; a listener can move between them without a gap or a repeat.
//
// Each file is read once (again when its size or modification time
// changes) to count its frames; files that would go through ffmpeg, files
// at another sample rate than Sync's, and files without frames are left out
// of the loop and reported once (Feed.Skip). A rescan that changes the
// library changes the loop for every instance alike, from the next track
// on; instances that see different folders play different things.
//
// The station starts a ClockSource's tracks where its schedule stands,
// anchored so that a block's Due is the wall time of its first frame:
// the first track one burst delay in the past (the pre-roll), the next
// ones gapless, and after a gap (nothing to play, a live show, a stall, a
// clock step) at the frame the clock says. Next opens the file itself (an
// MP3 opens with one seek; no encoder), so the station needs no preloaded
// tracks.
//
// Library and Sync are required; set the fields before the station runs.
// A ClockSource belongs to one station.
type ClockSource struct {
	Library *playlist.Library
	// Sync is the station's timeline; its SampleRate is the station's.
	Sync    FrameClock
	Shuffle bool
	Seed    uint64
	// Charset encodes the titles (playlist.ReadTitle) for ICY metadata.
	Charset icy.Charset
	// Poll is how often Run looks for a rescanned library (0: 1 s).
	Poll time.Duration

	once sync.Once
	feed atomic.Pointer[Feed]
	loop atomic.Pointer[clockLoop]
	// stale takes the path of a file found changed under its track (or
	// failing to open): Run counts it again and rebuilds the loop now.
	stale chan string

	// Run only: files counted, by identity, and files reported.
	index    map[fileIdentity]*clockFile
	reported map[fileIdentity]bool

	// short is the loop in which a track ended before its counted frames
	// (the file changed under it); Next offers nothing more from it. The
	// player goroutine only.
	short *clockLoop
}

// clockLoop is one build of the loop: the library version it is of, its
// files in name order and their Timeline.
type clockLoop struct {
	version uint64
	files   []*clockFile
	tl      Timeline
}

// clockFile is one counted file.
type clockFile struct {
	rel, path string // path: the resolved file opened
	frames    int64
	// checkpoints[k] is where the reader stands before frame
	// k×checkpointEvery, so a start inside the file reads at most that
	// many frames to get there.
	checkpoints []int64
	title       playlist.Title
	bitrate     int // kbit/s of the first frame
	channels    int
}

// checkpointEvery is how many frames lie between two checkpoints.
const checkpointEvery = 256

// fileIdentity tells a file from its replacement.
type fileIdentity struct {
	path string
	size int64
	mod  int64
}

var errNotMP3 = errors.New("a clock-synced station plays MP3 files only: ffmpeg's output is not the same byte for byte on every instance")

func (c *ClockSource) init() {
	c.once.Do(func() {
		c.stale = make(chan string, 16)
		c.index = map[fileIdentity]*clockFile{}
		c.reported = map[fileIdentity]bool{}
	})
}

// Run counts the library's frames, and again whenever the library's
// version changes, until ctx ends. It holds no tracks.
func (c *ClockSource) Run(ctx context.Context, feed *Feed) {
	c.init()
	c.feed.Store(feed)
	poll := c.Poll
	if poll <= 0 {
		poll = time.Second
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	force := false
	for ctx.Err() == nil {
		if cur := c.loop.Load(); force || cur == nil || cur.version != c.Library.Version() {
			c.build(ctx, feed)
			feed.Ready()
			force = false
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case path := <-c.stale:
			force = true
			for id := range c.index {
				if id.path == path {
					delete(c.index, id)
				}
			}
		}
	}
}

// build counts what it has not counted yet and publishes the new loop.
func (c *ClockSource) build(ctx context.Context, feed *Feed) {
	version := c.Library.Version()
	tracks := c.Library.Tracks()
	if !c.Library.IsPlaylist() { // a playlist file's order is its own
		slices.SortFunc(tracks, func(a, b playlist.Track) int {
			switch {
			case a.Rel < b.Rel:
				return -1
			case a.Rel > b.Rel:
				return 1
			}
			return 0
		})
	}
	loop := &clockLoop{version: version, tl: Timeline{Shuffle: c.Shuffle, Seed: c.Seed}}
	seen := map[fileIdentity]bool{}
	for _, t := range tracks {
		if ctx.Err() != nil {
			return
		}
		f, id, err := c.count(t)
		if err != nil {
			if !c.reported[id] {
				c.reported[id] = true
				feed.Skip(cmp.Or(c.Library.Abs(t), t.Rel), err)
			}
			continue
		}
		seen[id] = true
		loop.files = append(loop.files, f)
		loop.tl.Frames = append(loop.tl.Frames, f.frames)
	}
	for id := range c.index { // forget files no longer listed
		if !seen[id] {
			delete(c.index, id)
		}
	}
	c.loop.Store(loop)
}

// count returns t's counted file, counting it if its identity is new.
func (c *ClockSource) count(t playlist.Track) (*clockFile, fileIdentity, error) {
	id := fileIdentity{path: t.Rel}
	if !IsMP3(t.Rel) {
		return nil, id, errNotMP3
	}
	path, err := c.Library.Resolve(t)
	if err != nil {
		return nil, id, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, id, err
	}
	id = fileIdentity{path: path, size: st.Size(), mod: st.ModTime().UnixNano()}
	if f, ok := c.index[id]; ok {
		return f, id, nil
	}
	f, err := countMP3(path, c.Sync)
	if err != nil {
		return nil, id, err
	}
	f.rel = t.Rel
	f.title = c.title(t, path)
	c.index[id] = f
	return f, id, nil
}

func (c *ClockSource) title(t playlist.Track, path string) playlist.Title {
	if title, ok := c.Library.ListedTitle(t.Rel); ok {
		return title
	}
	return playlist.ReadTitle(path)
}

// countMP3 reads a file's frames as a station plays them (FrameReader)
// and counts them, noting a checkpoint every checkpointEvery frames. Every
// frame must be on clock's timeline.
func countMP3(path string, clock FrameClock) (*clockFile, error) {
	fr, closer, err := OpenMP3(path)
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	f := &clockFile{path: path, checkpoints: []int64{0}}
	for {
		if f.frames > 0 && f.frames%checkpointEvery == 0 {
			f.checkpoints = append(f.checkpoints, fr.Offset())
		}
		fm, err := fr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if fm.SampleRate != clock.SampleRate || fm.Samples != clock.Samples {
			return nil, fmt.Errorf("frames of %d samples at %d Hz: a clock-synced station at %d Hz plays frames of %d samples only",
				fm.Samples, fm.SampleRate, clock.SampleRate, clock.Samples)
		}
		if f.frames == 0 {
			f.bitrate, f.channels = fm.Bitrate/1000, fm.Channels
		}
		f.frames++
	}
	if n := int64(len(f.checkpoints)); n > 1 && (n-1)*checkpointEvery >= f.frames {
		f.checkpoints = f.checkpoints[:n-1] // noted at the very end
	}
	return f, nil
}

// Next opens the file the clock says plays where the station's schedule
// stands, at that frame; nil before the first count, for an empty loop,
// and while a file that changed under its track is counted again.
func (c *ClockSource) Next() *Track {
	loop, feed := c.loop.Load(), c.feed.Load()
	if loop == nil || feed == nil || loop == c.short {
		return nil
	}
	first := c.Sync.Nearest(feed.st.clockTarget())
	i, off := loop.tl.At(first)
	if i < 0 {
		return nil
	}
	t, err := c.open(loop, loop.files[i], off, first)
	if err != nil {
		feed.Skip(loop.files[i].path, err)
		c.short = loop
		c.restale(loop.files[i].path)
		return nil
	}
	return t
}

// restale asks Run to count path again and rebuild the loop now.
func (c *ClockSource) restale(path string) {
	select {
	case c.stale <- path:
	default: // Run has enough to do: it rebuilds anyway
	}
}

// open opens file at frame off, global frame first.
func (c *ClockSource) open(loop *clockLoop, file *clockFile, off, first int64) (*Track, error) {
	k := off / checkpointEvery
	fr, closer, err := OpenMP3At(file.path, file.checkpoints[k])
	if err != nil {
		return nil, err
	}
	for range off - k*checkpointEvery {
		if _, err := fr.Next(); err != nil {
			closer.Close()
			return nil, fmt.Errorf("seeking to frame %d: %w", off, err)
		}
	}
	info := &TrackInfo{
		Rel: file.rel, Path: file.path, Artist: file.title.Artist, Title: file.title.Title, Display: file.title.Display,
		Meta: icy.MetaBlock(file.title.Display, c.Charset), Bitrate: file.bitrate, SampleRate: c.Sync.SampleRate, Channels: file.channels,
	}
	return &Track{Info: info, Closer: closer, Frames: &clockFrames{
		src: c, loop: loop, path: file.path, fr: fr, first: first, left: file.frames - off, clock: c.Sync,
	}}, nil
}

// clockFrames are a ClockSource track's frames: the next one returned is
// global frame first+returned on clock's timeline. The station reads
// clockStart when the track starts, to anchor its schedule.
type clockFrames struct {
	src      *ClockSource
	loop     *clockLoop
	path     string
	fr       *FrameReader
	first    int64
	returned int64
	left     int64 // frames the count says are still to come
	clock    FrameClock
}

// clockStart is the global frame of the track's first frame, on clock.
func (cf *clockFrames) clockStart() (int64, FrameClock) { return cf.first, cf.clock }

// Next returns the file's next frame, io.EOF once the counted frames are
// out (a file that grew since its count plays no further, so the loop
// stays the same everywhere). A file that ends sooner, or whose frames
// changed rate, ends its track; its loop is counted again before the
// source plays on.
func (cf *clockFrames) Next() (Frame, error) {
	if cf.left <= 0 {
		return Frame{}, io.EOF
	}
	f, err := cf.fr.Next()
	if err == nil && (f.SampleRate != cf.clock.SampleRate || f.Samples != cf.clock.Samples) {
		err = errors.New("the file changed since its frames were counted")
	}
	if err != nil {
		cf.src.short = cf.loop
		cf.src.restale(cf.path)
		if errors.Is(err, io.EOF) {
			return Frame{}, fmt.Errorf("the file ended %d frames early: it changed since its frames were counted", cf.left)
		}
		return Frame{}, err
	}
	cf.left--
	cf.returned++
	return f, nil
}
