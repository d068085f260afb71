package mount

import (
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/internal/transcode"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// TestRadioStationWaitsForAFreeEncoder: a radio station whose track needs
// ffmpeg while the server's encoders are all taken waits for one and then
// plays the track: a full cap is not the file's fault, so it is neither
// skipped nor remembered as bad.
func TestRadioStationWaitsForAFreeEncoder(t *testing.T) {
	ffmpeg := testmedia.RequireTool(t, "ffmpeg")
	dir := t.TempDir()
	testmedia.WriteFile(t, dir, "a.wav", testmedia.WAV(5, 8000, 1, 16))
	server := transcode.NewLimiter(1)
	held, err := server.Child("/other", 0).Reserve(0) // another station holds the only encoder
	if err != nil {
		t.Fatal(err)
	}
	busy := make(chan string, 8)
	started := make(chan string, 8)
	var skipped atomic.Int32
	m := &Mountpoint{
		Route: "/", Preload: 1,
		Decoder: Decoder{Transcode: transcode.Options{FFmpegPath: ffmpeg, Limiter: server.Child("/", 0)}},
		Station: Config{
			Burst: time.Second, PublishInterval: 50 * time.Millisecond,
			OnSkip:  func(string, error) { skipped.Add(1) },
			OnTrack: func(ti *TrackInfo) { started <- ti.Rel },
		},
		Library: playlist.NewLibrary(dir, playlist.LibraryOptions{}),
		hooks:   folderHooks{busy: func(path string) { busy <- filepath.Base(path) }},
	}
	startMount(t, m)
	select {
	case got := <-busy:
		if got != "a.wav" {
			t.Fatalf("waited to open %s, want a.wav", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the station never found the encoder cap full")
	}
	select {
	case rel := <-started:
		t.Fatalf("%s started while no encoder was free", rel)
	default:
	}
	held.Cancel()
	select {
	case rel := <-started:
		if rel != "a.wav" {
			t.Fatalf("started %s, want a.wav", rel)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("a.wav did not start within 15 s of an encoder becoming free")
	}
	if n := skipped.Load(); n != 0 {
		t.Errorf("%d files skipped for a full encoder cap", n)
	}
	if m.bad.known(playlist.Track{Rel: "a.wav"}) {
		t.Error("a.wav remembered as bad for a full encoder cap")
	}
	if peak := server.Peak(); peak > 1 {
		t.Errorf("%d encoders ran at once, cap 1", peak)
	}
}
