package main

import (
	"context"
	"log/slog"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/internal/transcode"
)

// TestTranscodeAlwaysAndExtraExtensions checks the opener buildStations
// gives a station: with transcode = "always" an MP3 is re-encoded to the
// station's bitrate, and a configured extra extension (.flac) plays
// through ffmpeg too.
func TestTranscodeAlwaysAndExtraExtensions(t *testing.T) {
	ffmpeg := testmedia.RequireTool(t, "ffmpeg")
	dir := t.TempDir()
	mp3 := testmedia.WriteFile(t, dir, "a.mp3", testmedia.Frames(200))
	wav := testmedia.WriteFile(t, dir, "src.wav", testmedia.WAV(2, 44100, 2, 16))
	flac := filepath.Join(dir, "b.flac")
	if out, err := exec.Command(ffmpeg, "-v", "error", "-i", wav, flac).CombinedOutput(); err != nil {
		t.Fatalf("making FLAC: %v %s", err, out)
	}
	cfg := config.Defaults()
	cfg.FFmpegPath = ffmpeg
	cfg.Stations = []config.Station{{
		Route: "/", Dir: dir, Transcode: "always", Bitrate: 64, SampleRate: 44100, Channels: 2,
		Extensions: []string{".flac"}, ICYCharset: "utf-8",
	}}
	stations := buildStations(&cfg, transcode.Available(ffmpeg), nil, slog.New(slog.DiscardHandler))
	open := stations[0].Mount.Station.Open
	for _, path := range []string{mp3, flac} {
		fr, closer, err := open(context.Background(), path, 0)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		f, err := fr.Next()
		closer.Close()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if f.Bitrate != 64000 || f.SampleRate != 44100 {
			t.Fatalf("%s: first frame %d bit/s at %d Hz, want the station's 64 kbps 44.1 kHz", filepath.Base(path), f.Bitrate, f.SampleRate)
		}
	}
}
