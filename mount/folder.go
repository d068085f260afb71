package mount

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/icy"
	"github.com/aposazhennikov/stream-audio-to-web/internal/transcode"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// FolderSource plays the files of a library, in a play order, as a
// station's Source. It opens upcoming tracks ahead of time and reads each
// one's first frame, so a broken file is found before its turn and a track
// change has no gap even when an encoder has to start. A file that cannot
// be played is skipped (Feed.Skip) and not offered again until the library
// sees it change; when nothing is playable it looks again after a growing
// pause (1 s up to 30 s), or at once after Poke. An opened track whose file
// the library no longer lists is closed, never played.
//
// Library is required. With the zero values of the other fields the files
// play in name order, MP3 directly and the rest through ffmpeg, with UTF-8
// titles, each track opened only when the station asks for it. Set the
// fields before the station runs.
type FolderSource struct {
	Library *playlist.Library
	// Order is the play order; nil plays the files in name order.
	Order *playlist.Order
	// Decoder opens the files.
	Decoder Decoder
	// Charset encodes the titles (playlist.ReadTitle) for ICY metadata.
	Charset icy.Charset
	// OpenTimeout bounds opening one track, encoder start included (0:
	// 10 s); a file that takes longer (a hung network mount) is skipped.
	OpenTimeout time.Duration
	// Preload is how many upcoming tracks are kept open and checked while
	// one plays; 0 opens the next track only when the station asks for it
	// (at the end of the current one), holding no file or encoder ahead.
	Preload int
	// ResumeInterrupted makes a track that a higher source (a live show)
	// interrupted play on from the frame after the interruption when the
	// folder is back on; false plays the next track instead.
	ResumeInterrupted bool

	// resume starts the first track, if it is resume.Rel, at resume.Offset.
	resume resumePoint
	hooks  folderHooks
	// bad is shared by the sources of one mountpoint (nil: the source's
	// own).
	bad *badFiles
	// dry, if set, is called from Run whenever the play order has nothing
	// playable: a private station's join waits for audio until then.
	dry func()

	once sync.Once
	list trackList
	// demand wakes Run: Next took a track, or found none, or Poke dropped
	// some. Run then checks wantsTrack, so a stale wake costs nothing.
	demand chan struct{}
	poke   chan struct{}

	mu    sync.Mutex
	ready []*Track // opened, first frame read, in play order
	// stopped is set when Run has closed what it held for good: a track
	// interrupted after that is the station's to close.
	stopped bool
	// asked is set when Next found nothing ready, cleared by the next push:
	// with Preload 0 it is the only reason to open a track.
	asked bool
}

// errResumedAtEnd means a resume offset left no frame to play: the saved
// track had ended, which is no fault of the file.
var errResumedAtEnd = errors.New("resume offset at the end of the track")

// resumePoint is where in which file a radio station's live edge was.
type resumePoint struct {
	Rel    string
	Offset int64
}

// folderHooks replace file access in tests (count or fail opens, panic in
// the tag reader, offer files a library would leave out). Nil fields mean
// the real thing; production code never sets them.
type folderHooks struct {
	open   func(ctx context.Context, path string, offset int64) (*FrameReader, io.Closer, error)
	titles func(path string) playlist.Title
	tracks trackList
	// busy, if set, is told when an open found the encoder cap full and
	// the source starts waiting for a free encoder.
	busy func(path string)
}

// trackList is what a FolderSource needs of a play order.
type trackList interface {
	// Next returns the next file (absolute path and path relative to the
	// folder); ok is false when nothing is playable.
	Next() (path, rel string, ok bool)
	// Bad marks the file Next returned last as unplayable; false means it
	// was known to be (another source found it first), so it is not
	// reported again.
	Bad(rel string) (news bool)
}

func (f *FolderSource) init() {
	f.once.Do(func() {
		f.list = f.hooks.tracks
		if f.list == nil {
			order := f.Order
			if order == nil {
				order = playlist.NewOrder(f.Library, false, nil)
			}
			bad := f.bad
			if bad == nil {
				bad = &badFiles{}
			}
			f.list = &orderTracks{lib: f.Library, order: order, bad: bad}
		}
		f.demand = make(chan struct{}, 1)
		f.poke = make(chan struct{}, 1)
	})
}

// Poke tells the source the library was rescanned: opened tracks whose
// files are gone are closed, and a source that found nothing playable
// looks again now. It never blocks on a file.
func (f *FolderSource) Poke() {
	f.init()
	f.dropRemoved()
	select {
	case f.poke <- struct{}{}:
	default:
	}
}

// dropRemoved closes the opened tracks whose files the library no longer
// lists, so a deleted file is not played from a descriptor opened earlier.
func (f *FolderSource) dropRemoved() {
	f.mu.Lock()
	kept := f.ready[:0]
	var gone []*Track
	for _, t := range f.ready {
		if f.removed(t) {
			gone = append(gone, t)
		} else {
			kept = append(kept, t)
		}
	}
	clear(f.ready[len(kept):])
	f.ready = kept
	f.mu.Unlock()
	for _, t := range gone {
		closeTrack(t)
	}
	if len(gone) > 0 {
		f.wakeRun()
	}
}

// removed reports whether the library no longer lists t's file.
func (f *FolderSource) removed(t *Track) bool {
	return f.Library != nil && !f.Library.Contains(t.Info.Rel)
}

func (f *FolderSource) wakeRun() {
	select {
	case f.demand <- struct{}{}:
	default:
	}
}

// Next returns the next opened track, or nil if none is ready yet.
func (f *FolderSource) Next() *Track {
	f.init()
	var gone []*Track
	defer func() {
		for _, t := range gone {
			closeTrack(t)
		}
	}()
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.ready) > 0 {
		t := f.ready[0]
		f.ready[0] = nil
		f.ready = f.ready[1:]
		f.wakeRun()
		if f.removed(t) { // deleted since it was opened; the rescan may not have poked yet
			gone = append(gone, t)
			continue
		}
		return t
	}
	f.asked = true
	f.wakeRun()
	return nil
}

// wantsTrack reports whether Run should open another track now.
func (f *FolderSource) wantsTrack() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.ready) < f.Preload || (f.asked && len(f.ready) == 0)
}

// push queues an opened track. It answers every request made so far:
// under mu, so a Next that finds the queue empty after this is a new one.
func (f *FolderSource) push(t *Track) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ready = append(f.ready, t)
	f.asked = false
}

// Run keeps Preload tracks open ahead of time (or, with Preload 0, opens
// one whenever Next found none) until ctx ends, then closes those Next has
// not taken.
func (f *FolderSource) Run(ctx context.Context, feed *Feed) {
	f.init()
	defer func() {
		// Not after a panic with ctx live: the station runs Run again, which
		// keeps the queue, also when ctx ends before (see Source).
		if ctx.Err() != nil {
			f.drain()
		}
	}()
	backoff := time.Second
	for ctx.Err() == nil {
		if !f.wantsTrack() {
			select {
			case <-f.demand:
			case <-ctx.Done():
				return
			}
			continue
		}
		path, rel, ok := f.list.Next()
		if !ok {
			if f.dry != nil {
				f.dry()
			}
			select {
			case <-ctx.Done():
				return
			case <-f.poke:
			case <-time.After(backoff):
				backoff = min(backoff*2, 30*time.Second)
			}
			continue
		}
		t, err := f.openWhenFree(ctx, path, rel, f.resumeOffset(rel))
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if errors.Is(err, errResumedAtEnd) {
				continue // the next track, as if the server had not stopped
			}
			if errors.Is(err, errOpenTimeout) {
				// A slow disk or a busy machine, not a broken file: said,
				// and tried again when the order comes round to it.
				feed.Skip(path, err)
				continue
			}
			if f.list.Bad(rel) {
				feed.Skip(path, err)
			}
			continue
		}
		backoff = time.Second
		f.push(t)
		feed.Ready()
	}
}

// openWhenFree is openBounded, except that an encoder cap found full
// (transcode.ErrBusy) is no fault of the file: the source waits its turn
// for a free encoder (transcode.Limiter.Await, ahead of new listeners) and
// opens the same file again, so a station never skips or marks a file bad
// for it. It returns the open's error otherwise, or ctx's.
func (f *FolderSource) openWhenFree(ctx context.Context, path, rel string, offset int64) (*Track, error) {
	t, err := f.openBounded(ctx, path, rel, offset)
	lim := f.Decoder.Transcode.Limiter // only a limiter refuses a start
	for err != nil && errors.Is(err, transcode.ErrBusy) && lim != nil && ctx.Err() == nil {
		if f.hooks.busy != nil {
			f.hooks.busy(path)
		}
		lease, werr := lim.Await(ctx)
		if werr != nil {
			return nil, werr
		}
		t, err = f.openBounded(ctx, path, rel, offset)
		lease.Cancel() // used by the open's encoder, unless it needed none
	}
	return t, err
}

// Interrupted takes back a track a higher source interrupted, if
// ResumeInterrupted is set: Next returns its rest first (with a fresh
// Info, as the station sets Started), from the frame after the last one
// played. See interrupter.
func (f *FolderSource) Interrupted(t *Track) bool {
	if !f.ResumeInterrupted {
		return false
	}
	f.init()
	info := *t.Info
	info.Started = time.Time{}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return false
	}
	f.ready = slices.Insert(f.ready, 0, &Track{Info: &info, Frames: t.Frames, Closer: t.Closer})
	return true
}

// drain closes the tracks opened but never taken: they hold files or
// encoders.
func (f *FolderSource) drain() {
	f.mu.Lock()
	left := f.ready
	f.ready = nil
	f.stopped = true
	f.mu.Unlock()
	for _, t := range left {
		closeTrack(t)
	}
}

// resumeOffset is where in rel the first track starts: the saved position
// if rel is the saved track, else 0. Only the first track resumes.
func (f *FolderSource) resumeOffset(rel string) int64 {
	var offset int64
	if f.resume.Rel != "" {
		if rel == f.resume.Rel {
			offset = f.resume.Offset
		}
		f.resume = resumePoint{}
	}
	return offset
}

// openBounded is open with a time limit, so a file on a hung network
// mount cannot stop the station: after OpenTimeout the preloader gives up
// on it and moves on. The abandoned attempt's goroutine cannot be
// interrupted inside the kernel; it ends when the call returns and then
// releases what it opened. Its context ends with the track (or at once
// when abandoned, stopping an encoder).
func (f *FolderSource) openBounded(ctx context.Context, path, rel string, offset int64) (*Track, error) {
	timeout := f.OpenTimeout
	if timeout <= 0 {
		timeout = defaultOpenTimeout
	}
	openCtx, cancel := context.WithCancel(ctx)
	type result struct {
		t        *Track
		err      error
		panicked any // re-raised in Run's goroutine, where the station recovers it
	}
	var mu sync.Mutex
	abandoned := false
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() {
			if v := recover(); v != nil {
				r = result{panicked: v}
			}
			mu.Lock()
			defer mu.Unlock()
			if abandoned {
				if r.t != nil {
					closeTrack(r.t)
				}
				return
			}
			done <- r
		}()
		r.t, r.err = f.open(openCtx, path, rel, offset)
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case r := <-done:
		if r.panicked != nil {
			cancel()
			panic(r.panicked)
		}
		if r.t == nil {
			cancel()
			return nil, r.err
		}
		r.t.Closer = cancelOnClose{r.t.Closer, cancel}
		return r.t, nil
	case <-timer.C:
	case <-ctx.Done():
		// The open sees its context end (an encoder is killed and reaped):
		// wait for that, so nothing it made outlives the station, unless
		// the open is stuck in the kernel.
		cancel()
		select {
		case r := <-done:
			if r.t != nil {
				closeTrack(r.t)
			}
			return nil, ctx.Err()
		case <-time.After(openShutdownGrace):
		}
	}
	mu.Lock()
	abandoned = true
	mu.Unlock()
	cancel()
	// The open may have finished just before it was abandoned: its track
	// is in done, and nobody else will close it.
	select {
	case r := <-done:
		if r.t != nil {
			closeTrack(r.t)
		}
	default:
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return nil, fmt.Errorf("%w after %v", errOpenTimeout, timeout)
}

// defaultOpenTimeout bounds opening a track (and starting its encoder):
// far above a healthy disk or ffmpeg start, short enough to keep playing.
const defaultOpenTimeout = 10 * time.Second

// openShutdownGrace is how long a stopping station waits for an open in
// progress to give up, before leaving it to close what it made by itself.
const openShutdownGrace = 2 * time.Second

var errOpenTimeout = errors.New("opening the file timed out")

// cancelOnClose ends a track's open context when the station closes it.
type cancelOnClose struct {
	io.Closer
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	var err error
	if c.Closer != nil {
		err = c.Closer.Close()
	}
	c.cancel()
	return err
}

// open opens a file, reads its first frame (a file without one is
// broken) and its title.
func (f *FolderSource) open(ctx context.Context, path, rel string, offset int64) (*Track, error) {
	audioPath := path
	if f.Library != nil {
		// Containment again at open: a symlink may have been swapped since
		// the scan. The resolved path is what gets opened; titles keep the
		// name the folder shows.
		resolved, err := f.Library.Resolve(playlist.Track{Rel: rel})
		if err != nil {
			return nil, err
		}
		audioPath = resolved
	}
	open := f.Decoder.Open
	if f.hooks.open != nil {
		open = f.hooks.open
	}
	fr, closer, err := open(ctx, audioPath, offset)
	if err != nil {
		return nil, err
	}
	kept := false
	defer func() {
		if !kept { // an error, or a panic in the tag reader
			closer.Close()
		}
	}()
	first, err := fr.Next()
	if err != nil {
		if offset > 0 && errors.Is(err, ErrNoFrames) {
			// Saved at (or inside) the last frame: the track had ended.
			return nil, errResumedAtEnd
		}
		return nil, err
	}
	first.Data = bytes.Clone(first.Data)
	readTitle := playlist.ReadTitle
	if f.hooks.titles != nil {
		readTitle = f.hooks.titles
	}
	var title playlist.Title
	listed := false
	if f.Library != nil {
		title, listed = f.Library.ListedTitle(rel) // a playlist file's own title wins
	}
	if !listed {
		title = readTitle(path)
	}
	info := &TrackInfo{
		Rel: rel, Path: path, Artist: title.Artist, Title: title.Title, Display: title.Display,
		Meta:    icy.MetaBlock(title.Display, f.Charset),
		Bitrate: first.Bitrate / 1000, SampleRate: first.SampleRate, Channels: first.Channels,
	}
	kept = true
	return &Track{Info: info, Frames: &fileFrames{fr: fr, first: first}, Closer: closer}, nil
}

// fileFrames plays a file: first the frame open read, then the rest.
type fileFrames struct {
	fr    *FrameReader
	first Frame
	begun bool
}

func (ff *fileFrames) Next() (Frame, error) {
	if !ff.begun {
		ff.begun = true
		return ff.first, nil
	}
	return ff.fr.Next()
}

// Offset is the file position after the last frame returned.
func (ff *fileFrames) Offset() int64 { return ff.fr.Offset() }

// orderTracks adapts a play order to the source: only files the library
// still lists are ever opened, and only below its folder; files the
// mountpoint knows to be bad are passed over without opening them. Used
// by the source's Run goroutine only.
type orderTracks struct {
	lib   *playlist.Library
	order *playlist.Order
	bad   *badFiles
	last  playlist.Track // what Next returned last, for Bad
}

func (o *orderTracks) Next() (string, string, bool) {
	removed := 0
	for removed < 3 { // a track removed since the order was made: take the next
		t, ok := o.order.Next()
		if !ok {
			return "", "", false
		}
		if o.bad.known(t) {
			// Marked in this order too, so it is not offered again; a
			// finite number of these, as each is marked once.
			o.order.Skip(t.Rel)
			continue
		}
		// Abs is "" for a path that would leave the folder.
		if p := o.lib.Abs(t); p != "" && o.lib.Contains(t.Rel) {
			o.last = t
			return p, t.Rel, true
		}
		removed++
	}
	return "", "", false
}

func (o *orderTracks) Bad(rel string) bool {
	o.order.Skip(rel)
	t := o.last
	if t.Rel != rel {
		t = playlist.Track{Rel: rel}
	}
	return o.bad.mark(t)
}
