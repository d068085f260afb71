package mount

import (
	"testing"
	"time"
)

// paddedBlock is n frames of a 128 kbit/s 44.1 kHz stream: 417 bytes, or
// 418 for the frames the encoder pads (every padEvery-th).
func paddedBlock(n, padEvery int) *Block {
	b := &Block{FrameDur: 1152 * time.Second / 44100}
	for i := range n {
		b.Frames = append(b.Frames, int32(len(b.Data)))
		size := 417
		if i%padEvery == 0 {
			size = 418
		}
		b.Data = append(b.Data, make([]byte, size)...)
	}
	return b
}

func TestBurstDelayIgnoresFramePadding(t *testing.T) {
	r := NewRing(1 << 20)
	var first time.Duration
	for i, pad := range []int{1, 2, 3, 25, 1000} {
		r.Append(paddedBlock(15, pad))
		d := r.BurstDelay(64 << 10)
		if i == 0 {
			first = d
			continue
		}
		if d != first {
			t.Fatalf("burst delay moved from %v to %v with frame padding alone", first, d)
		}
	}
	// 64 KiB at 417.96 bytes a frame is 156.8 frames: 157 whole frames.
	if want := 157 * (1152 * time.Second / 44100); first != want {
		t.Fatalf("burst delay %v, want %v (157 frames)", first, want)
	}
}
