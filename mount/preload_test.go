package mount

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// openLog opens files as stations do and tells the test about every open
// (file name) and keeps a close counter per file name.
type openLog struct {
	opened chan string
	closed map[string]*atomic.Int64
}

func newOpenLog(names ...string) *openLog {
	ol := &openLog{opened: make(chan string, 16), closed: map[string]*atomic.Int64{}}
	for _, n := range names {
		ol.closed[n] = new(atomic.Int64)
	}
	return ol
}

func (ol *openLog) hooks() folderHooks {
	return folderHooks{open: func(ctx context.Context, path string, offset int64) (*FrameReader, io.Closer, error) {
		fr, c, err := Decoder{}.Open(ctx, path, offset)
		if err != nil {
			return nil, nil, err
		}
		name := filepath.Base(path)
		select {
		case ol.opened <- name:
		case <-ctx.Done():
		}
		return fr, trackedCloser{c, ol.closed[name]}, nil
	}}
}

func (ol *openLog) waitOpened(t *testing.T, name string) {
	t.Helper()
	for {
		select {
		case got := <-ol.opened:
			if got == name {
				return
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s was never opened", name)
		}
	}
}

// startSteppedMount runs a radio mountpoint over files (name → audio) on
// a step clock, reporting every track start on the returned channel.
func startSteppedMount(t *testing.T, preload int, hooks folderHooks, files map[string][]byte) (*Mountpoint, *stepClock, chan string, string) {
	t.Helper()
	return startSteppedMountWith(t, &Mountpoint{Preload: preload, hooks: hooks}, files)
}

// startSteppedMountWith is startSteppedMount with m's other settings.
func startSteppedMountWith(t *testing.T, m *Mountpoint, files map[string][]byte) (*Mountpoint, *stepClock, chan string, string) {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		testmedia.WriteFile(t, dir, name, data)
	}
	clock := newStepClock()
	started := make(chan string, 16)
	m.Route = "/"
	m.Station.PublishInterval, m.Station.Clock = 50*time.Millisecond, clock
	m.Station.OnTrack = func(ti *TrackInfo) { started <- ti.Rel }
	m.Library = playlist.NewLibrary(dir, playlist.LibraryOptions{})
	startMount(t, m)
	return m, clock, started, dir
}

// playUntilStarted lets the station play, block by block, until track rel
// starts, and returns the tracks that started before it.
func playUntilStarted(t *testing.T, clock *stepClock, started chan string, rel string) []string {
	t.Helper()
	var before []string
	limit := time.After(20 * time.Second)
	for {
		select {
		case got := <-started:
			if got == rel {
				return before
			}
			before = append(before, got)
			if len(before) > 10 {
				t.Fatalf("%s not started after %d other tracks: %v", rel, len(before), before)
			}
		case until := <-clock.sleeping:
			clock.release(until)
		case <-limit:
			t.Fatalf("%s never started; started before: %v", rel, before)
		}
	}
}

// A file deleted and reloaded while copies of it are already opened ahead
// is never played: the reload closes them at once.
func TestReloadClosesPreloadedTracksOfDeletedFiles(t *testing.T) {
	ol := newOpenLog("a.mp3", "b.mp3", "c.mp3")
	m, clock, started, dir := startSteppedMount(t, 2, ol.hooks(), map[string][]byte{
		"a.mp3": testmedia.FramesFrom(0, 40),
		"b.mp3": testmedia.FramesFrom(1000, 40),
		"c.mp3": testmedia.FramesFrom(2000, 40),
	})
	// a plays (the clock holds it on its first block), b and c are open.
	ol.waitOpened(t, "c.mp3")
	if err := os.Remove(filepath.Join(dir, "b.mp3")); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Reload(); err != nil {
		t.Fatal(err)
	}
	if n := ol.closed["b.mp3"].Load(); n != 1 {
		t.Fatalf("the preloaded copy of the deleted b.mp3 was closed %d times by the reload, want 1", n)
	}
	if before := playUntilStarted(t, clock, started, "c.mp3"); len(before) != 1 || before[0] != "a.mp3" {
		t.Fatalf("tracks before c.mp3: %v, want only a.mp3 (b.mp3 was deleted)", before)
	}
}

// Preload 0 opens the next track only once the current one has ended and
// been closed; Preload 2 keeps two open while one plays.
func TestPreloadZeroOpensTheNextTrackOnlyWhenNeeded(t *testing.T) {
	files := map[string][]byte{
		"a.mp3": testmedia.FramesFrom(0, 40),
		"b.mp3": testmedia.FramesFrom(1000, 40),
		"c.mp3": testmedia.FramesFrom(2000, 40),
	}
	t.Run("preload 0", func(t *testing.T) {
		ol := newOpenLog("a.mp3", "b.mp3", "c.mp3")
		open := ol.hooks().open
		aClosedAtOpenOfB := make(chan int64, 1)
		_, clock, started, _ := startSteppedMount(t, 0, folderHooks{open: func(ctx context.Context, path string, offset int64) (*FrameReader, io.Closer, error) {
			if filepath.Base(path) == "b.mp3" {
				select {
				case aClosedAtOpenOfB <- ol.closed["a.mp3"].Load():
				default:
				}
			}
			return open(ctx, path, offset)
		}}, files)
		playUntilStarted(t, clock, started, "b.mp3")
		if n := <-aClosedAtOpenOfB; n != 1 {
			t.Fatal("with preload 0, b.mp3 was opened while a.mp3 still played")
		}
	})
	t.Run("preload 2", func(t *testing.T) {
		ol := newOpenLog("a.mp3", "b.mp3", "c.mp3")
		startSteppedMount(t, 2, ol.hooks(), files)
		// The clock holds a on its first block: b and c open meanwhile.
		ol.waitOpened(t, "c.mp3")
		if n := ol.closed["a.mp3"].Load(); n != 0 {
			t.Fatal("a.mp3 ended before the clock moved")
		}
	})
}
