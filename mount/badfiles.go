package mount

import (
	"sync"

	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// badFiles are the files of a route found unplayable, shared by all its
// folder sources: in individual mode every listener's private source would
// otherwise open (and run ffmpeg on) each broken file again and report it
// again. A file is forgotten once the library sees it change, so a fixed
// file plays.
type badFiles struct {
	mu    sync.Mutex
	files map[string]playlist.Track // by Rel, as the file was when found bad
	// The last anyPlayable answer, for a library version and bad-file
	// count, so a flood of connections does not walk a large folder each.
	answered        bool
	answeredVersion uint64
	answeredBad     int
	answer          bool
}

// mark records t as unplayable and reports whether that is news: false
// when another source found this same file bad first, so only one reports.
func (b *badFiles) mark(t playlist.Track) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if old, ok := b.files[t.Rel]; ok && sameFile(old, t) {
		return false
	}
	if b.files == nil {
		b.files = map[string]playlist.Track{}
	}
	b.files[t.Rel] = t
	return true
}

// known reports whether t is a file found bad and unchanged since.
func (b *badFiles) known(t playlist.Track) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	old, ok := b.files[t.Rel]
	if ok && !sameFile(old, t) {
		delete(b.files, t.Rel) // changed: worth another try
		return false
	}
	return ok
}

func sameFile(a, b playlist.Track) bool { return a.Size == b.Size && a.ModTime.Equal(b.ModTime) }

// anyPlayable reports whether lib lists a track that is not known to be
// bad and does not need an ffmpeg that dec says is missing: without one,
// an individual listener would get nothing but silence.
func (b *badFiles) anyPlayable(lib *playlist.Library, dec Decoder) bool {
	version := lib.Version()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.answered && b.answeredVersion == version && b.answeredBad == len(b.files) {
		return b.answer
	}
	playable := false
	for _, t := range lib.Tracks() {
		if dec.Unavailable != nil && dec.NeedsFFmpeg(t.Rel) {
			continue
		}
		if old, bad := b.files[t.Rel]; bad && sameFile(old, t) {
			continue
		}
		playable = true
		break
	}
	b.answered, b.answeredVersion, b.answeredBad, b.answer = true, version, len(b.files), playable
	return playable
}
