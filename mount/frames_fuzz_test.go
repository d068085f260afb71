package mount

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// FuzzFrameReader feeds arbitrary bytes as a file: the reader must never
// panic, must end with io.EOF or ErrNoFrames, and every frame it yields
// must start with a valid header and have that header's length.
func FuzzFrameReader(f *testing.F) {
	f.Add(testmedia.Frames(3))
	f.Add(append(testmedia.ID3v2("A", "T", 20), testmedia.Frames(2)...))
	f.Add(append(testmedia.XingFrame("Xing"), testmedia.Frames(1)...))
	f.Add([]byte("ID3\x04\x00\x10\x7f\x7f\x7f\x7f"))
	f.Add([]byte{0xFF, 0xFB, 0x90, 0x64, 0xFF, 0xFE})
	f.Add(append(testmedia.Frames(2), testmedia.APEv2("x")...))
	f.Fuzz(func(t *testing.T, data []byte) {
		fr := NewFrameReader(bytes.NewReader(data))
		total := 0
		for i := 0; ; i++ {
			fm, err := fr.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, ErrNoFrames) {
					t.Fatalf("unexpected error %v", err)
				}
				if errors.Is(err, ErrNoFrames) && i > 0 {
					t.Fatal("ErrNoFrames after frames")
				}
				break
			}
			if !validHeader(fm.Data) || len(fm.Data) != frameSize(fm.Data) {
				t.Fatalf("frame %d: bad header or length %d", i, len(fm.Data))
			}
			if fm.Duration() <= 0 {
				t.Fatalf("frame %d: duration %v", i, fm.Duration())
			}
			total += len(fm.Data)
		}
		if total > len(data) {
			t.Fatalf("yielded %d bytes from %d", total, len(data))
		}
	})
}
