package mount

import (
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// A state dir the server cannot write logs one warning, not one per save
// (every 5 s); a different failure is logged again, and so is recovery.
func TestStateSaveFailureIsLoggedOncePerChange(t *testing.T) {
	dir := t.TempDir()
	testmedia.WriteFile(t, dir, "music/a.mp3", testmedia.Frames(10))
	lib := playlist.NewLibrary(filepath.Join(dir, "music"), playlist.LibraryOptions{})
	if _, err := lib.Scan(); err != nil {
		t.Fatal(err)
	}
	stateDir := filepath.Join(dir, "state")
	logs := &logRecorder{}
	m := &Mountpoint{Route: "/r", StatePath: filepath.Join(stateDir, "station.json"), Library: lib, Logger: logs.logger()}
	m.radio = New(Config{})
	m.radio.position.Store(&resumePoint{Rel: "a.mp3", Offset: 417})
	saver := stateSaver{m: m, order: playlist.NewOrder(lib, false, nil)}
	warnings := func() int { return len(logs.matching(slog.LevelWarn, "saving station state failed")) }

	for range 5 { // the state dir is missing
		saver.save()
	}
	if n := warnings(); n != 1 {
		t.Fatalf("%d warnings for 5 failed saves, want 1", n)
	}
	testmedia.WriteFile(t, dir, "state", []byte("a file, not a folder"))
	for range 5 {
		saver.save()
	}
	if n := warnings(); n != 2 {
		t.Fatalf("%d warnings after the failure changed, want 2", n)
	}
	if err := os.Remove(stateDir); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(stateDir, 0o755); err != nil {
		t.Fatal(err)
	}
	saver.save()
	if n := len(logs.matching(slog.LevelInfo, "saving station state works again")); n != 1 || warnings() != 2 {
		t.Fatalf("recovery logged %d times (warnings %d), want 1 (2)", n, warnings())
	}
	if _, err := playlist.LoadState(m.StatePath); err != nil {
		t.Fatal(err)
	}
}

// A folder of tiny files starts many tracks a second: "track started" is
// written at most once a second per station, the next line counting the
// tracks started unlogged; OnTrack still hears of every track.
func TestTrackStartedLinesAreRateLimited(t *testing.T) {
	clock := newStepClock()
	logs := &logRecorder{}
	var tracks atomic.Int64
	tiny := testmedia.Frames(2) // 52 ms: one block each
	st := startStation(t, Config{
		PublishInterval: 50 * time.Millisecond, Clock: clock, Logger: logs.logger(),
		OnTrack: func(*TrackInfo) { tracks.Add(1) },
	}, tiny, tiny, tiny)
	start := clock.Now()
	const steps = 100 // about 5 s of audio, 100 tracks
	for range steps {
		clock.step(t)
	}
	clock.park(t) // the player waits again: every line so far is written
	span := clock.Now().Sub(start)
	lines := logs.matching(slog.LevelInfo, "track started")
	if max := int(span/trackLineInterval) + 1; len(lines) > max || len(lines) < 2 {
		t.Fatalf("%d \"track started\" lines in %v of tiny tracks, want 2..%d", len(lines), span, max)
	}
	logged := int64(0)
	for _, rec := range lines {
		logged++
		if v, ok := attr(rec, "unlogged_since_last_line"); ok {
			logged += v.Int64()
		}
	}
	// The tracks after the last line are folded into the line to come.
	if n := tracks.Load(); logged > n || n-logged > int64(trackLineInterval/(52*time.Millisecond))+1 {
		t.Fatalf("lines account for %d tracks of %d started", logged, n)
	}
	st.stop()
}
