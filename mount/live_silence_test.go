package mount

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// maxVolume decodes an MP3 with ffmpeg and returns its peak in dB.
func maxVolume(t *testing.T, ffmpeg string, mp3 []byte) float64 {
	t.Helper()
	p := filepath.Join(t.TempDir(), "in.mp3")
	if err := os.WriteFile(p, mp3, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(ffmpeg, "-hide_banner", "-nostats", "-i", p, "-af", "volumedetect", "-f", "null", "-").CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`max_volume: (-?[0-9.]+|-inf) dB`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no max_volume in ffmpeg's output:\n%s", out)
	}
	if string(m[1]) == "-inf" {
		return -1000
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Silent frames built from real encoded frames (a loud tone, in the
// layouts a source sends: stereo 44.1 kHz, mono, MPEG-2 22.05 kHz, with
// CRC) keep each frame's size and decode as digital silence.
func TestSilentFramesDecodeAsSilence(t *testing.T) {
	ffmpeg := testmedia.RequireTool(t, "ffmpeg")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"stereo 44.1 kHz 128k", []string{"-ar", "44100", "-ac", "2", "-b:a", "128k"}},
		{"mono 48 kHz 64k", []string{"-ar", "48000", "-ac", "1", "-b:a", "64k"}},
		{"MPEG-2 22.05 kHz", []string{"-ar", "22050", "-ac", "2", "-b:a", "64k"}},
		// lame writes no CRC: the frames' headers are marked as having one.
		{"with CRC", []string{"-ar", "44100", "-ac", "2", "-b:a", "192k"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=3"}, tc.args...)
			args = append(args, "-c:a", "libmp3lame", "-f", "mp3", "-")
			tone, err := exec.Command(ffmpeg, args...).Output()
			if err != nil {
				t.Skipf("ffmpeg cannot encode this layout: %v", err)
			}
			if v := maxVolume(t, ffmpeg, tone); v < -40 {
				t.Fatalf("the tone itself peaks at %v dB: the check could not tell silence", v)
			}
			fr := NewFrameReader(bytes.NewReader(tone))
			var silent []byte
			for {
				f, err := fr.Next()
				if err != nil {
					break
				}
				if tc.name == "with CRC" {
					f.Data[1] &^= 1 // protection_bit 0: a CRC follows
				}
				s := silentFrame(f.Data)
				if len(s) != len(f.Data) || s[0] != f.Data[0] || s[1]|1 != f.Data[1]|1 || s[2] != f.Data[2] || s[3] != f.Data[3] {
					t.Fatalf("silent frame % x (%d bytes) for % x (%d bytes)", s[:4], len(s), f.Data[:4], len(f.Data))
				}
				silent = append(silent, s...)
			}
			if n := len(readFrames(t, silent)); n < 50 {
				t.Fatalf("only %d silent frames", n)
			}
			if v := maxVolume(t, ffmpeg, silent); v > -90 {
				t.Fatalf("silent frames peak at %v dB, want ≤ -90", v)
			}
		})
	}
}
