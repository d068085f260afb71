package mount

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
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
	// Programme chooses the files (a schedule, jingles, requests); nil
	// plays Library in Order. Its picks may come from other libraries.
	Programme Programme
	// Level, if set, says how a file (by absolute path) is levelled and
	// trimmed as it plays; it is asked when the file opens and must not
	// block (a lookup, not a measurement).
	Level func(path string) Level

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
	// flushes counts Flush calls: a track picked before one and opened
	// after it is given back, not queued.
	flushes uint64
	// opening is the pick being opened, if any: it plays after ready.
	// openingGiven is set when a Flush gave it back meanwhile.
	opening      *Pick
	openingGiven bool
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

// trackList is what a FolderSource needs of a programme.
type trackList interface {
	// Next returns the next file: its absolute path and the pick; ok is
	// false when nothing is playable.
	Next() (path string, p Pick, ok bool)
	// Bad marks p, which Next returned, as unplayable; false means it was
	// known to be (another source found it first), so it is not reported
	// again.
	Bad(p Pick) (news bool)
	// Unplayed gives back picks opened but dropped unplayed (Flush).
	Unplayed(picks []Pick)
}

func (f *FolderSource) init() {
	f.once.Do(func() {
		f.list = f.hooks.tracks
		if f.list == nil {
			prog := f.Programme
			if prog == nil {
				prog = f.defaultProgramme()
			}
			bad := f.bad
			if bad == nil {
				bad = &badFiles{}
			}
			f.list = &pickTracks{lib: f.Library, prog: prog, bad: bad}
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

// removed reports whether t's library no longer lists its file.
func (f *FolderSource) removed(t *Track) bool {
	lib := t.pick.Library
	if lib == nil {
		lib = f.Library
	}
	return lib != nil && !lib.Contains(t.Info.Rel)
}

// Flush closes the tracks opened ahead and gives their picks back to the
// programme (Programme.Unplayed), which is asked again: a programme that
// changed its mind (a show began, a request was queued) is heard from the
// next track on. The playing track is not affected.
func (f *FolderSource) Flush() {
	f.init()
	f.mu.Lock()
	dropped := f.ready
	f.ready = nil
	f.flushes++
	// The pick being opened goes back too, after the others, so the
	// programme gets them in the order it made them; Run closes it.
	var opening *Pick
	if f.opening != nil && !f.openingGiven {
		opening, f.openingGiven = f.opening, true
	}
	f.mu.Unlock()
	f.giveBack(dropped, opening)
	f.wakeRun()
	select { // a source that found nothing playable looks again now
	case f.poke <- struct{}{}:
	default:
	}
}

// giveBack closes tracks that will not play and hands their picks back
// to the programme, except the rest of an interrupted track, which is not
// a pick of its own.
func (f *FolderSource) giveBack(tracks []*Track, opening *Pick) {
	picks := make([]Pick, 0, len(tracks)+1)
	for _, t := range tracks {
		if !t.resumed {
			picks = append(picks, t.pick)
		}
		closeTrack(t)
	}
	if opening != nil {
		picks = append(picks, *opening)
	}
	if len(picks) > 0 {
		f.list.Unplayed(picks)
	}
}

// Upcoming describes the tracks opened ahead, in the order they will
// play (while the programme does not change its mind), and last the one
// being opened, titled from its pick or its file name (tags are read once
// it is open).
func (f *FolderSource) Upcoming() []*TrackInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]*TrackInfo, len(f.ready), len(f.ready)+1)
	for i, t := range f.ready {
		out[i] = t.Info
	}
	if p := f.opening; p != nil && !f.openingGiven {
		info := &TrackInfo{Rel: p.Rel, Kind: p.Kind, Show: p.Show, Display: strings.TrimSuffix(path.Base(p.Rel), path.Ext(p.Rel))}
		title := p.Title
		if title == nil && p.Library != nil {
			t, listed := p.Library.ListedTitle(p.Rel)
			if !listed {
				// Tags, as the open will read them: an admin page asks.
				if abs := p.Library.Abs(playlist.Track{Rel: p.Rel}); abs != "" {
					t, listed = playlist.ReadTitle(abs), true
				}
			}
			if listed {
				title = &t
			}
		}
		if title != nil {
			info.Artist, info.Title, info.Display = title.Artist, title.Title, title.Display
		}
		out = append(out, info)
	}
	return out
}

// setOpening records the pick being opened (nil: none); it returns
// whether a Flush gave the previous one back meanwhile.
func (f *FolderSource) setOpening(p *Pick) (given bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	given = f.openingGiven
	f.opening, f.openingGiven = p, false
	return given
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
// It returns false, queuing nothing, when a Flush came since the track
// was picked (flushes was then at gen).
func (f *FolderSource) push(t *Track, gen uint64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.flushes != gen {
		return false
	}
	f.ready = append(f.ready, t)
	f.asked = false
	return true
}

// flushGen is the number of Flush calls so far.
func (f *FolderSource) flushGen() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.flushes
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
		gen := f.flushGen()
		path, pick, ok := f.list.Next()
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
		f.setOpening(&pick)
		t, err := f.openWhenFree(ctx, path, pick, f.resumeOffset(pick))
		given := f.setOpening(nil)
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
			if f.list.Bad(pick) {
				feed.Skip(path, err)
			}
			continue
		}
		backoff = time.Second
		if !f.push(t, gen) {
			// Picked before a Flush: the programme has changed its mind.
			closeTrack(t)
			if !given {
				f.list.Unplayed([]Pick{pick})
			}
			continue
		}
		feed.Ready()
	}
}

// openWhenFree is openBounded, except that an encoder cap found full
// (transcode.ErrBusy) is no fault of the file: the source waits its turn
// for a free encoder (transcode.Limiter.Await, ahead of new listeners) and
// opens the same file again, so a station never skips or marks a file bad
// for it. It returns the open's error otherwise, or ctx's.
func (f *FolderSource) openWhenFree(ctx context.Context, path string, pick Pick, offset int64) (*Track, error) {
	t, err := f.openBounded(ctx, path, pick, offset)
	lim := f.Decoder.Transcode.Limiter // only a limiter refuses a start
	for err != nil && errors.Is(err, transcode.ErrBusy) && lim != nil && ctx.Err() == nil {
		if f.hooks.busy != nil {
			f.hooks.busy(path)
		}
		lease, werr := lim.Await(ctx)
		if werr != nil {
			return nil, werr
		}
		t, err = f.openBounded(ctx, path, pick, offset)
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
	f.ready = slices.Insert(f.ready, 0, &Track{Info: &info, Frames: t.Frames, Closer: t.Closer, pick: t.pick, resumed: true})
	return true
}

// drain closes the tracks opened but never taken (they hold files or
// encoders) and gives their picks back, so a programme that saves its
// queue keeps the requests that never played.
func (f *FolderSource) drain() {
	f.mu.Lock()
	left := f.ready
	f.ready = nil
	f.stopped = true
	f.mu.Unlock()
	f.giveBack(left, nil)
}

// resumeOffset is where in p's file the first track starts: the saved
// position if p is the saved track of the folder, else 0. Only the first
// track resumes.
func (f *FolderSource) resumeOffset(p Pick) int64 {
	var offset int64
	if f.resume.Rel != "" {
		if p.Rel == f.resume.Rel && (p.Library == nil || p.Library == f.Library) {
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
func (f *FolderSource) openBounded(ctx context.Context, path string, pick Pick, offset int64) (*Track, error) {
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
		r.t, r.err = f.open(openCtx, path, pick, offset)
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
func (f *FolderSource) open(ctx context.Context, path string, pick Pick, offset int64) (*Track, error) {
	audioPath := path
	if lib := pick.Library; lib != nil {
		// Containment again at open: a symlink may have been swapped since
		// the scan. The resolved path is what gets opened; titles keep the
		// name the folder shows.
		resolved, err := lib.Resolve(playlist.Track{Rel: pick.Rel})
		if err != nil {
			return nil, err
		}
		audioPath = resolved
	}
	var level Level
	if f.Level != nil {
		level = f.Level(path)
	}
	if offset > 0 {
		level.Start, level.End = 0, 0 // the position in time is unknown
	}
	fr, closer, err := f.openFile(ctx, audioPath, offset, level)
	if err != nil {
		return nil, err
	}
	kept := false
	defer func() {
		if !kept { // an error, or a panic in the tag reader
			closer.Close()
		}
	}()
	var frames Frames = fr
	if !f.Decoder.NeedsFFmpeg(audioPath) && !level.IsZero() {
		frames = &levelled{src: fr, level: level}
	}
	first, err := frames.Next()
	if err != nil {
		if offset > 0 && errors.Is(err, ErrNoFrames) {
			// Saved at (or inside) the last frame: the track had ended.
			return nil, errResumedAtEnd
		}
		return nil, err
	}
	first.Data = bytes.Clone(first.Data)
	info := &TrackInfo{
		Rel: pick.Rel, Path: path, Kind: pick.Kind, Show: pick.Show,
		Bitrate: first.Bitrate / 1000, SampleRate: first.SampleRate, Channels: first.Channels,
	}
	if !f.Decoder.NeedsFFmpeg(audioPath) {
		info.Duration = fileDuration(audioPath, fr, first, offset, level)
	}
	title := f.title(path, pick)
	info.Artist, info.Title, info.Display = title.Artist, title.Title, title.Display
	info.Meta = icy.MetaBlock(title.Display, f.Charset)
	kept = true
	return &Track{Info: info, Frames: &fileFrames{src: frames, fr: fr, first: first}, Closer: closer, pick: pick}, nil
}

// fileDuration estimates how long an MP3 file plays from its first frame
// that plays: its Xing frame count when it has one and plays from the
// start, else the bytes left at that frame's bitrate (exact for constant
// bitrate), bounded by level's trim. 0 when it cannot tell.
func fileDuration(path string, fr *FrameReader, first Frame, offset int64, level Level) time.Duration {
	var d time.Duration
	if fr.InfoFrames > 0 && offset == 0 {
		d = time.Duration(int64(fr.InfoFrames)*int64(first.Samples)*int64(time.Second)/int64(first.SampleRate)) - level.Start
	} else if fi, err := os.Stat(path); err == nil && first.Bitrate > 0 {
		// From the first frame that plays: trimmed lead-in already left out.
		left := fi.Size() - fr.Offset() + int64(len(first.Data))
		d = time.Duration(left * 8 * int64(time.Second) / int64(first.Bitrate))
	}
	if level.End > 0 {
		d = min(d, level.End-level.Start)
	}
	return max(d, 0)
}

// openFile opens the audio, through the test hook if one is set.
func (f *FolderSource) openFile(ctx context.Context, path string, offset int64, level Level) (*FrameReader, io.Closer, error) {
	if f.hooks.open != nil {
		return f.hooks.open(ctx, path, offset)
	}
	return f.Decoder.OpenLevelled(ctx, path, offset, level)
}

// title is what listeners see: the pick's own title (a jingle's), a title
// the playlist file lists, or the file's tags.
func (f *FolderSource) title(path string, pick Pick) playlist.Title {
	if pick.Title != nil {
		return *pick.Title
	}
	if lib := pick.Library; lib != nil {
		if t, ok := lib.ListedTitle(pick.Rel); ok {
			return t
		}
	}
	if f.hooks.titles != nil {
		return f.hooks.titles(path)
	}
	return playlist.ReadTitle(path)
}

// fileFrames plays a file: first the frame open read, then the rest.
type fileFrames struct {
	src   Frames
	fr    *FrameReader
	first Frame
	begun bool
}

func (ff *fileFrames) Next() (Frame, error) {
	if !ff.begun {
		ff.begun = true
		return ff.first, nil
	}
	return ff.src.Next()
}

// Offset is the file position after the last frame returned.
func (ff *fileFrames) Offset() int64 { return ff.fr.Offset() }

// defaultProgramme plays the library in its order.
func (f *FolderSource) defaultProgramme() Programme {
	order := f.Order
	if order == nil {
		order = playlist.NewOrder(f.Library, false, nil)
	}
	return &OrderProgramme{Library: f.Library, Order: order}
}

// OrderProgramme is the plain programme: a library in a play order. Picks
// given back (FolderSource.Flush) play first, in their order, so nothing
// is skipped or repeated.
type OrderProgramme struct {
	Library *playlist.Library
	Order   *playlist.Order

	mu   sync.Mutex
	back []Pick
}

// Next returns a pick given back, else the order's next file.
func (o *OrderProgramme) Next() (Pick, bool) {
	o.mu.Lock()
	if len(o.back) > 0 {
		p := o.back[0]
		o.back = o.back[1:]
		o.mu.Unlock()
		return p, true
	}
	o.mu.Unlock()
	t, ok := o.Order.Next()
	if !ok {
		return Pick{}, false
	}
	return Pick{Library: o.Library, Rel: t.Rel}, true
}

// Bad leaves p out of the order until the library sees it change.
func (o *OrderProgramme) Bad(p Pick) bool {
	o.Order.Skip(p.Rel)
	return true
}

// Unplayed keeps picks to play before the order goes on.
func (o *OrderProgramme) Unplayed(picks []Pick) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.back = append(slices.Clone(picks), o.back...)
}

// pickTracks adapts a programme to the source: only files their library
// still lists are ever opened, and only below its folder; files of the
// station's own library that the mountpoint knows to be bad are passed
// over without opening them. Used by the source's Run goroutine, except
// Unplayed.
type pickTracks struct {
	lib  *playlist.Library // the station's own
	prog Programme
	bad  *badFiles
}

func (o *pickTracks) Next() (string, Pick, bool) {
	removed := 0
	for removed < 3 { // a file removed since it was picked: take the next
		p, ok := o.prog.Next()
		if !ok {
			return "", Pick{}, false
		}
		if p.Library == nil {
			p.Library = o.lib
		}
		t, listed := p.Library.Track(p.Rel)
		if listed && p.Library == o.lib && o.bad.known(t) {
			// Marked in the programme too, so it is not offered again; a
			// finite number of these, as each is marked once.
			o.prog.Bad(p)
			continue
		}
		// Abs is "" for a path that would leave the folder.
		if path := p.Library.Abs(t); listed && path != "" {
			return path, p, true
		}
		removed++
	}
	return "", Pick{}, false
}

func (o *pickTracks) Bad(p Pick) bool {
	news := o.prog.Bad(p)
	if p.Library != o.lib {
		return news
	}
	t, ok := p.Library.Track(p.Rel)
	if !ok {
		t = playlist.Track{Rel: p.Rel}
	}
	return o.bad.mark(t)
}

func (o *pickTracks) Unplayed(picks []Pick) { o.prog.Unplayed(picks) }
