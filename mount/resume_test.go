package mount

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// A saved position at or after the last frame of a track (saved just as
// it ended) resumes with the next track: the file is not skipped,
// excluded or reported.
func TestResumeAtTheEndOfATrackPlaysTheNextOne(t *testing.T) {
	const frames, frameSize = 40, 417
	for _, tc := range []struct {
		name   string
		offset int64
	}{
		{"at the end", frames * frameSize},
		{"inside the last frame", frames*frameSize - 100},
		{"past the end", frames*frameSize + 4096},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			testmedia.WriteFile(t, dir, "a.mp3", testmedia.FramesFrom(0, frames))
			testmedia.WriteFile(t, dir, "b.mp3", testmedia.FramesFrom(1000, frames))
			state := filepath.Join(t.TempDir(), "root.json")
			if err := playlist.SaveState(state, playlist.State{
				Order: []string{"a.mp3", "b.mp3"}, Pos: 1, Current: "a.mp3", OffsetBytes: tc.offset,
			}); err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			var skipped []string
			clock := newStepClock()
			started := make(chan string, 16)
			m := &Mountpoint{
				Route: "/", StatePath: state,
				Station: Config{
					PublishInterval: 50 * time.Millisecond, Clock: clock,
					OnTrack: func(ti *TrackInfo) { started <- ti.Rel },
					OnSkip: func(path string, err error) {
						mu.Lock()
						defer mu.Unlock()
						skipped = append(skipped, filepath.Base(path)+": "+err.Error())
					},
				},
				Library: playlist.NewLibrary(dir, playlist.LibraryOptions{}),
			}
			startMount(t, m)
			if before := playUntilStarted(t, clock, started, "b.mp3"); len(before) != 0 {
				t.Fatalf("tracks before b.mp3: %v, want none (a.mp3 had ended when saved)", before)
			}
			mu.Lock()
			reported := skipped
			mu.Unlock()
			if len(reported) != 0 {
				t.Fatalf("reported as unplayable: %v", reported)
			}
			// a.mp3 is still in the rotation: the next cycle plays it.
			playUntilStarted(t, clock, started, "a.mp3")
		})
	}
}
