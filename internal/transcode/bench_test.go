package transcode_test

import (
	"context"
	"io"
	"testing"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/internal/transcode"
)

// BenchmarkTranscodeWAV measures ffmpeg throughput (MB/s of WAV input) for
// a 10 s 16-bit 44.1 kHz stereo WAV, including process start and reaping.
func BenchmarkTranscodeWAV(b *testing.B) {
	ffmpeg := testmedia.RequireTool(b, "ffmpeg")
	wav := testmedia.WAV(10, 44100, 2, 16)
	path := testmedia.WriteFile(b, b.TempDir(), "bench.wav", wav)
	b.SetBytes(int64(len(wav)))
	for b.Loop() {
		s, err := transcode.Start(context.Background(), path, transcode.Options{FFmpegPath: ffmpeg})
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, s)
		s.Close()
		if err != nil || n == 0 {
			b.Fatalf("transcode: %d bytes, %v", n, err)
		}
	}
}
