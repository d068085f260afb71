package mount

import (
	"bytes"
	"context"
	"io"
	"sync"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/icy"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// FolderSource plays the files of a library, in a play order, as a
// station's Source. It opens upcoming tracks ahead of time and reads each
// one's first frame, so a broken file is found before its turn and a track
// change has no gap even when an encoder has to start. A file that cannot
// be played is skipped (Feed.Skip) and not offered again until the library
// sees it change; when nothing is playable it looks again after a growing
// pause (1 s up to 30 s), or at once after Poke.
//
// Library is required. With the zero values of the other fields the files
// play in name order, MP3 directly and the rest through ffmpeg, with UTF-8
// titles, one track opened ahead. Set the fields before the station runs.
type FolderSource struct {
	Library *playlist.Library
	// Order is the play order; nil plays the files in name order.
	Order *playlist.Order
	// Decoder opens the files.
	Decoder Decoder
	// Charset encodes the titles (playlist.ReadTitle) for ICY metadata.
	Charset icy.Charset
	// Preload is how many upcoming tracks are kept open and checked; 0
	// still opens the next one while the current one plays.
	Preload int

	// resume starts the first track, if it is resume.Rel, at resume.Offset.
	resume resumePoint
	hooks  folderHooks

	once  sync.Once
	list  trackList
	queue chan *Track   // opened, first frame read, in play order
	taken chan struct{} // Next took a track: there is room in queue
	poke  chan struct{}
}

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
}

// trackList is what a FolderSource needs of a play order.
type trackList interface {
	// Next returns the next file (absolute path and path relative to the
	// folder); ok is false when nothing is playable.
	Next() (path, rel string, ok bool)
	// Bad marks a file that could not be played.
	Bad(rel string)
}

func (f *FolderSource) init() {
	f.once.Do(func() {
		f.list = f.hooks.tracks
		if f.list == nil {
			order := f.Order
			if order == nil {
				order = playlist.NewOrder(f.Library, false, nil)
			}
			f.list = orderTracks{lib: f.Library, order: order}
		}
		f.queue = make(chan *Track, max(f.Preload, 1))
		f.taken = make(chan struct{}, 1)
		f.poke = make(chan struct{}, 1)
	})
}

// Poke makes a source that found nothing playable look again now (after
// the library was rescanned). It never blocks.
func (f *FolderSource) Poke() {
	f.init()
	select {
	case f.poke <- struct{}{}:
	default:
	}
}

// Next returns the next opened track, or nil if none is ready yet.
func (f *FolderSource) Next() *Track {
	f.init()
	select {
	case t := <-f.queue:
		select {
		case f.taken <- struct{}{}:
		default:
		}
		return t
	default:
		return nil
	}
}

// Run keeps Preload tracks (at least one) open ahead of time until ctx
// ends, then closes those Next has not taken.
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
		if len(f.queue) == cap(f.queue) {
			select {
			case <-f.taken:
			case <-ctx.Done():
				return
			}
			continue
		}
		path, rel, ok := f.list.Next()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-f.poke:
			case <-time.After(backoff):
				backoff = min(backoff*2, 30*time.Second)
			}
			continue
		}
		t, err := f.open(ctx, path, rel)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			f.list.Bad(rel)
			feed.Skip(path, err)
			continue
		}
		backoff = time.Second
		f.queue <- t // there is room: Run is the only sender
		feed.Ready()
	}
}

// drain closes the tracks opened but never taken: they hold files or
// encoders.
func (f *FolderSource) drain() {
	for {
		select {
		case t := <-f.queue:
			closeTrack(t)
		default:
			return
		}
	}
}

// open opens a file, reads its first frame (a file without one is
// broken) and its title.
func (f *FolderSource) open(ctx context.Context, path, rel string) (*Track, error) {
	var offset int64
	if f.resume.Rel != "" {
		if rel == f.resume.Rel {
			offset = f.resume.Offset
		}
		f.resume = resumePoint{} // only the first track resumes
	}
	open := f.Decoder.Open
	if f.hooks.open != nil {
		open = f.hooks.open
	}
	fr, closer, err := open(ctx, path, offset)
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
		return nil, err
	}
	first.Data = bytes.Clone(first.Data)
	readTitle := playlist.ReadTitle
	if f.hooks.titles != nil {
		readTitle = f.hooks.titles
	}
	title := readTitle(path)
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
// still lists are ever opened, and only below its folder.
type orderTracks struct {
	lib   *playlist.Library
	order *playlist.Order
}

func (o orderTracks) Next() (string, string, bool) {
	for range 3 { // a track removed since the order was made: take the next
		t, ok := o.order.Next()
		if !ok {
			return "", "", false
		}
		// Abs is "" for a path that would leave the folder.
		if p := o.lib.Abs(t); p != "" && o.lib.Contains(t.Rel) {
			return p, t.Rel, true
		}
	}
	return "", "", false
}

func (o orderTracks) Bad(rel string) { o.order.Skip(rel) }
