package station

import (
	"path/filepath"
	"sync"

	"github.com/aposazhennikov/stream-audio-to-web/mount"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// unplayable remembers which files of a station would not play, as they
// were (size, modification time) when they failed, so that an
// individual-mode station whose every file is broken answers like an
// idle radio station instead of handing each listener silence. In
// individual mode every listener's private station tries the files on its
// own; this memory is the station's, shared by all of them.
type unplayable struct {
	lib     *playlist.Library
	decoder mount.Decoder
	// ffmpegMissing: files that need ffmpeg cannot play at all.
	ffmpegMissing bool
	// marked, if set, is told after a file is remembered.
	marked func(path string)

	mu  sync.Mutex
	bad map[string]playlist.Track // by Rel
	// The answer of anyPlayable for a library version and bad set, so a
	// flood of connections does not walk a large folder each time.
	answeredVersion uint64
	answeredBad     int
	answered        bool
	answer          bool
}

// mark remembers the file at path (as the station's sources name it) as
// unplayable in its current state.
func (u *unplayable) mark(path string) {
	rel, err := filepath.Rel(u.lib.Dir(), path)
	if err != nil || !filepath.IsLocal(rel) {
		return
	}
	rel = filepath.ToSlash(rel)
	for _, t := range u.lib.Tracks() {
		if t.Rel == rel {
			u.mu.Lock()
			if u.bad == nil {
				u.bad = map[string]playlist.Track{}
			}
			u.bad[rel] = t
			u.answered = false
			u.mu.Unlock()
			break
		}
	}
	if u.marked != nil {
		u.marked(path)
	}
}

// anyPlayable reports whether the library has a track not known to be
// unplayable. A remembered file that has since changed (new size or
// modification time) counts as playable again.
func (u *unplayable) anyPlayable() bool {
	version := u.lib.Version()
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.answered && u.answeredVersion == version && u.answeredBad == len(u.bad) {
		return u.answer
	}
	playable := false
	for _, t := range u.lib.Tracks() {
		if u.ffmpegMissing && u.decoder.NeedsFFmpeg(t.Rel) {
			continue
		}
		if was, bad := u.bad[t.Rel]; bad && was.Size == t.Size && was.ModTime.Equal(t.ModTime) {
			continue
		}
		playable = true
		break
	}
	u.answeredVersion, u.answeredBad, u.answered, u.answer = version, len(u.bad), true, playable
	return playable
}
