package station_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/aposazhennikov/stream-audio-to-web/internal/station"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/internal/transcode"
)

// TestTranscodeAlwaysAndExtraExtensions checks a station that station.Build
// makes, with the real ffmpeg: with transcode = "always" an MP3 is
// re-encoded to the station's bitrate, and a configured extra extension
// (.flac) is in its playlist and plays through ffmpeg too.
func TestTranscodeAlwaysAndExtraExtensions(t *testing.T) {
	ffmpeg := testmedia.RequireTool(t, "ffmpeg")
	dir := t.TempDir()
	mp3 := testmedia.WriteFile(t, dir, "a.mp3", testmedia.Frames(200))
	wav := testmedia.WriteFile(t, dir, "src.wav", testmedia.WAV(2, 44100, 2, 16))
	flac := filepath.Join(dir, "b.flac")
	if out, err := exec.Command(ffmpeg, "-v", "error", "-i", wav, flac).CombinedOutput(); err != nil {
		t.Fatalf("making FLAC: %v %s", err, out)
	}
	toml := testmedia.WriteFile(t, t.TempDir(), "station.toml", []byte(`[[station]]
route = "/"
dir = "`+dir+`"
transcode = "always"
bitrate = 64
extensions = [".flac"]
`))
	cfg := load(t, map[string]string{"FFMPEG_PATH": ffmpeg}, "--config", toml)
	st, err := station.Build(cfg, cfg.Stations[0], station.Deps{FFmpeg: transcode.Available(ffmpeg)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Library().Scan(); err != nil {
		t.Fatal(err)
	}
	if !st.Library().Contains("b.flac") {
		t.Errorf("the playlist %v lacks b.flac", st.Library().Tracks())
	}
	for _, path := range []string{mp3, flac} {
		fr, closer, err := st.Decoder().Open(context.Background(), path, 0)
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
