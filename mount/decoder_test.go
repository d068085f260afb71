package mount

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

func TestDecoderDecidesWhatNeedsFFmpeg(t *testing.T) {
	for path, want := range map[string]bool{
		"a.mp3": false, "B.MP3": false, "dir.wav/c.Mp3": false,
		"d.wav": true, "e.flac": true, "no-extension": true, "f.mp3.wav": true,
	} {
		if got := (Decoder{}).NeedsFFmpeg(path); got != want {
			t.Errorf("NeedsFFmpeg(%q) = %v, want %v", path, got, want)
		}
		if !(Decoder{Always: true}).NeedsFFmpeg(path) {
			t.Errorf("with Always, %q does not need ffmpeg", path)
		}
	}
}

// Without ffmpeg, MP3 still plays and everything else fails with an error
// that says why (errors.Is the reason given).
func TestDecoderWithoutFFmpeg(t *testing.T) {
	dir := t.TempDir()
	mp3 := testmedia.WriteFile(t, dir, "a.MP3", testmedia.Frames(10))
	wav := testmedia.WriteFile(t, dir, "b.WAV", testmedia.WAV(0.1, 44100, 1, 16))
	missing := errors.New("ffmpeg not found")
	d := Decoder{Unavailable: missing}
	fr, c, err := d.Open(context.Background(), mp3, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fr.Next(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	for _, dec := range []Decoder{d, {Unavailable: missing, Always: true}} {
		for _, path := range []string{wav, mp3} {
			if !dec.NeedsFFmpeg(path) {
				continue
			}
			_, _, err := dec.Open(context.Background(), path, 0)
			if !errors.Is(err, missing) || !strings.Contains(err.Error(), "without ffmpeg") {
				t.Errorf("Open(%s) with Always=%v: %v, want an error wrapping the reason", path, dec.Always, err)
			}
		}
	}
}

func TestIsMP3(t *testing.T) {
	for path, want := range map[string]bool{
		"a.mp3": true, "B.MP3": true, "dir.wav/c.Mp3": true, "/x/y.mP3": true,
		"d.wav": false, "mp3": false, "no-extension": false, "f.mp3.wav": false, "g.mp3/": false, ".mp3.ogg": false,
	} {
		if got := IsMP3(path); got != want {
			t.Errorf("IsMP3(%q) = %v, want %v", path, got, want)
		}
		if got := (Decoder{}).NeedsFFmpeg(path); got == want {
			t.Errorf("NeedsFFmpeg(%q) = %v, IsMP3 %v: they must agree", path, got, want)
		}
	}
}
