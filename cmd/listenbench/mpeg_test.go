package main

import (
	"bytes"
	"testing"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

func TestHeaderFields(t *testing.T) {
	for _, tc := range []struct {
		frame       testmedia.Frame
		kbps, size  int
		sampleRate  int
		description string
	}{
		{testmedia.Frame{Kbps: 128}, 128, 417, 44100, "128k"},
		{testmedia.Frame{Kbps: 128, Padding: true}, 128, 418, 44100, "128k padded"},
		{testmedia.Frame{Kbps: 320, Mono: true}, 320, 1044, 44100, "320k mono"},
		{testmedia.Frame{Kbps: 32}, 32, 104, 44100, "32k"},
	} {
		var h header
		copy(h[:], tc.frame.Bytes())
		if !h.valid() || h.kbps() != tc.kbps || h.size() != tc.size || h.sampleRate() != tc.sampleRate {
			t.Errorf("%s: valid %v kbps %d size %d rate %d, want true %d %d %d",
				tc.description, h.valid(), h.kbps(), h.size(), h.sampleRate(), tc.kbps, tc.size, tc.sampleRate)
		}
		if got := len(tc.frame.Bytes()); got != tc.size {
			t.Errorf("%s: fixture is %d bytes, header says %d", tc.description, got, tc.size)
		}
	}
	// MPEG-2 Layer III, 64 kbit/s, 22050 Hz: 72 × 64000 / 22050 = 208 bytes.
	h := header{0xFF, 0xF3, 0x80, 0x44}
	if !h.valid() || h.kbps() != 64 || h.sampleRate() != 22050 || h.size() != 208 {
		t.Errorf("MPEG-2 L3: valid %v kbps %d rate %d size %d", h.valid(), h.kbps(), h.sampleRate(), h.size())
	}
}

func TestHeaderInvalid(t *testing.T) {
	good := header{0xFF, 0xFB, 0x90, 0x64}
	if !good.valid() {
		t.Fatal("the reference header is invalid")
	}
	for name, h := range map[string]header{
		"no sync":          {0xFF, 0x1B, 0x90, 0x64},
		"ID3 tag":          {'I', 'D', '3', 4},
		"reserved version": {0xFF, 0xEB, 0x90, 0x64},
		"reserved layer":   {0xFF, 0xF9, 0x90, 0x64},
		"free bitrate":     {0xFF, 0xFB, 0x00, 0x64},
		"bad bitrate":      {0xFF, 0xFB, 0xF0, 0x64},
		"reserved rate":    {0xFF, 0xFB, 0x9C, 0x64},
		"reserved emph":    {0xFF, 0xFB, 0x90, 0x66},
	} {
		if h.valid() {
			t.Errorf("%s: %x accepted", name, h[:])
		}
	}
}

// feedChunks feeds b in pieces of varying size, as reads deliver it.
func feedChunks(w *frameWalker, b []byte) {
	sizes := []int{1, 3, 4, 7, 417, 1000, 2, 4096}
	for i := 0; len(b) > 0; i++ {
		n := min(sizes[i%len(sizes)], len(b))
		w.feed(b[:n])
		b = b[n:]
	}
}

func TestWalkerAligned(t *testing.T) {
	var w frameWalker
	feedChunks(&w, testmedia.Frames(60))
	if !w.frameStart() || w.kbps != 128 || w.resyncs != 0 {
		t.Fatalf("frameStart %v kbps %d resyncs %d, want true 128 0", w.frameStart(), w.kbps, w.resyncs)
	}
}

func TestWalkerMidFrame(t *testing.T) {
	var w frameWalker
	feedChunks(&w, testmedia.Frames(60)[100:])
	if w.frameStart() || !w.confirmed || w.resyncs != 0 || w.kbps != 128 {
		t.Fatalf("frameStart %v confirmed %v resyncs %d kbps %d, want false true 0 128", w.frameStart(), w.confirmed, w.resyncs, w.kbps)
	}
	if w.firstRun != 417-100 {
		t.Errorf("first frame found at %d, want %d", w.firstRun, 417-100)
	}
}

func TestWalkerLosesSync(t *testing.T) {
	frames := testmedia.Frames(60)
	var stream []byte
	stream = append(stream, frames[:20*417]...)
	stream = append(stream, bytes.Repeat([]byte{0x55}, 37)...) // a cut in the stream
	stream = append(stream, frames[20*417:]...)
	var w frameWalker
	feedChunks(&w, stream)
	if !w.frameStart() || w.resyncs != 1 {
		t.Fatalf("frameStart %v resyncs %d, want true 1", w.frameStart(), w.resyncs)
	}
}

func TestWalkerTagFirst(t *testing.T) {
	var w frameWalker
	feedChunks(&w, append(testmedia.ID3v2("A", "T", 64), testmedia.Frames(20)...))
	if w.frameStart() || !w.confirmed {
		t.Fatalf("frameStart %v confirmed %v, want false true", w.frameStart(), w.confirmed)
	}
}
