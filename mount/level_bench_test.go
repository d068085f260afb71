package mount

import (
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// loopFrames hands out the same real frames over and over, each copied
// into one reused buffer as FrameReader decodes into its own: the frame
// source of a levelled track, without the file.
type loopFrames struct {
	frames [][]byte
	buf    []byte
	n      int
}

func (l *loopFrames) Next() (Frame, error) {
	f := l.frames[l.n%len(l.frames)]
	l.n++
	l.buf = append(l.buf[:0], f...)
	return Frame{Data: l.buf, Samples: 1152, SampleRate: 44100, Bitrate: 320000, Channels: 2}, nil
}

// BenchmarkLevelled is the per-station cost of loudness levelling on the
// folder source's path: the levelled wrapper (trim bounds, the reservoir
// frame) and AdjustGain over real 320 kbps, 44.1 kHz stereo frames (the
// most bytes per frame a station plays), one op per frame. "plain" is the
// frame source alone, copying each frame as FrameReader does; "gain" adds
// the wrapper with 4 steps; "gain+trim" also has trim bounds (a track
// trimmed at both ends, in its middle). "core%" is the share of one core a
// station spends per 320 kbps stream: ns/frame × 38.28 frames/s / 1e9 ×
// 100. Results: docs/benchmarks.md, "Loudness levelling cost".
func BenchmarkLevelled(b *testing.B) {
	ffmpeg := testmedia.RequireTool(b, "ffmpeg")
	frames := gainFrames(b, encodeTone(b, ffmpeg, []string{"-ar", "44100", "-ac", "2", "-b:a", "320k"}))
	if f := frames[0]; len(f) < 1044 || !AdjustGain(append([]byte(nil), f...), 1) {
		b.Fatalf("the encoded frames are not 320 kbps Layer III (%d bytes)", len(f))
	}
	for _, bc := range []struct {
		name  string
		level *Level // nil: the source alone
	}{
		{name: "plain"},
		{name: "gain", level: &Level{GainSteps: 4}},
		{name: "gain+trim", level: &Level{GainSteps: 4, Start: time.Second, End: 1000 * time.Hour}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var src Frames = &loopFrames{frames: frames}
			if bc.level != nil {
				src = &levelled{src: src, level: *bc.level}
				// Past Start: the steady state of a playing track.
				for range 2 * 44100 / 1152 {
					if _, err := src.Next(); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(frames[0])))
			n := 0
			for b.Loop() {
				if _, err := src.Next(); err != nil {
					b.Fatal(err)
				}
				n++
			}
			perFrame := float64(b.Elapsed().Nanoseconds()) / float64(n)
			b.ReportMetric(perFrame, "ns/frame")
			b.ReportMetric(perFrame*44100/1152/1e9*100, "core%")
		})
	}
}
