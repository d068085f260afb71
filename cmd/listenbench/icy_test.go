package main

import (
	"bytes"
	"testing"

	"github.com/aposazhennikov/stream-audio-to-web/icy"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// interleave builds what a server sends: metaint audio bytes, a metadata
// block, and again; blocks[i] goes after the i-th run of audio (the
// "unchanged" block once they run out).
func interleave(audio []byte, metaint int, blocks ...[]byte) []byte {
	var out []byte
	for i := 0; len(audio) > 0; i++ {
		n := min(metaint, len(audio))
		out = append(out, audio[:n]...)
		audio = audio[n:]
		if n < metaint {
			break
		}
		if i < len(blocks) {
			out = append(out, blocks[i]...)
		} else {
			out = append(out, icy.Unchanged()...)
		}
	}
	return out
}

func stripChunks(s *icyStripper, b []byte, sizes []int) []byte {
	var out []byte
	b = bytes.Clone(b)
	for i := 0; len(b) > 0; i++ {
		n := min(sizes[i%len(sizes)], len(b))
		out = append(out, s.strip(b[:n])...)
		b = b[n:]
	}
	return out
}

func TestICYStrip(t *testing.T) {
	audio := testmedia.Frames(40)
	stream := interleave(audio, 1000,
		icy.MetaBlock("Artist - First", icy.UTF8), icy.Unchanged(), icy.MetaBlock("Artist - Second", icy.UTF8))
	for _, sizes := range [][]int{{1}, {7, 1, 333}, {1001}, {16 << 10}} {
		s := newICYStripper(1000)
		got := stripChunks(s, stream, sizes)
		if !bytes.Equal(got, audio) {
			t.Fatalf("chunks %v: %d audio bytes out, want %d identical", sizes, len(got), len(audio))
		}
		if s.blocks != 2 || s.bad != 0 || s.title != "Artist - Second" {
			t.Errorf("chunks %v: blocks %d bad %d title %q", sizes, s.blocks, s.bad, s.title)
		}
		var w frameWalker
		w.feed(got)
		if !w.frameStart() || w.resyncs != 0 {
			t.Errorf("chunks %v: stripped audio is not a clean frame stream", sizes)
		}
	}
}

func TestICYStripBadBlock(t *testing.T) {
	bad := append([]byte{2}, bytes.Repeat([]byte{'x'}, 32)...)
	stream := interleave(testmedia.Frames(10), 500, bad)
	s := newICYStripper(500)
	got := stripChunks(s, stream, []int{100})
	if s.bad != 1 || s.title != "" || len(got) != 10*417 {
		t.Fatalf("bad %d title %q audio %d, want 1 \"\" %d", s.bad, s.title, len(got), 10*417)
	}
}

// A wrong metaint shows up as lost frame sync in the audio: the check the
// bench relies on to tell a server that interleaves in the wrong place.
func TestICYWrongMetaintBreaksFrames(t *testing.T) {
	stream := interleave(testmedia.Frames(40), 1000, icy.MetaBlock("A - B", icy.UTF8))
	s := newICYStripper(999)
	var w frameWalker
	w.feed(stripChunks(s, stream, []int{4096}))
	if w.resyncs == 0 && s.bad == 0 {
		t.Fatal("a wrong metaint went unnoticed")
	}
}
