package mount

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

func countFrames(t *testing.T, r *FrameReader) (n int, data []byte, err error) {
	t.Helper()
	for {
		f, err := r.Next()
		if err != nil {
			return n, data, err
		}
		if f.Data[0] != 0xFF || f.Data[1]&0xE0 != 0xE0 {
			t.Fatalf("frame %d does not start with a sync word", n)
		}
		data = append(data, f.Data...)
		n++
	}
}

func TestFrameReaderStripsTagsAndInfoFrame(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name  string
		parts [][]byte
		want  int
	}{
		{"plain", [][]byte{testmedia.Frames(10)}, 10},
		{"id3v2+info", [][]byte{testmedia.ID3v2("A", "T", 300), testmedia.XingFrame("Info"), testmedia.Frames(10)}, 10},
		{"xing", [][]byte{testmedia.XingFrame("Xing"), testmedia.Frames(5)}, 5},
		{"id3v1", [][]byte{testmedia.Frames(7), testmedia.ID3v1("A", "T")}, 7},
		{"ape+id3v1", [][]byte{testmedia.Frames(7), testmedia.APEv2("\xff\xfb\x90\x64 false sync"), testmedia.ID3v1("A", "T")}, 7},
		{"junk prefix with false sync", [][]byte{[]byte("junk\xff\xfb\x90\x64junk"), testmedia.Frames(6)}, 6},
		{"stacked id3v2", [][]byte{testmedia.ID3v2("A", "T", 10), testmedia.ID3v2("B", "U", 10), testmedia.Frames(3)}, 3},
		{"truncated last frame", [][]byte{testmedia.Frames(4), testmedia.Frames(1)[:200]}, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := testmedia.WriteFile(t, dir, c.name+".mp3", c.parts...)
			fr, cl, err := OpenMP3(p)
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			n, data, err := countFrames(t, fr)
			if !errors.Is(err, io.EOF) {
				t.Fatalf("end: %v", err)
			}
			if n != c.want {
				t.Fatalf("got %d frames, want %d", n, c.want)
			}
			if bytes.Contains(data, []byte("Info")) || bytes.Contains(data, []byte("Xing")) || bytes.Contains(data, []byte("TAG")) || bytes.Contains(data, []byte("APETAGEX")) {
				t.Fatal("tag or header bytes reached the output")
			}
		})
	}
}

func TestFrameReaderRejectsNonAudio(t *testing.T) {
	for _, in := range [][]byte{[]byte("plain text renamed to mp3\n"), testmedia.ID3v2("A", "T", 100), bytes.Repeat([]byte{0xFF}, 5000)} {
		_, _, err := countFrames(t, NewFrameReader(bytes.NewReader(in)))
		if !errors.Is(err, ErrNoFrames) {
			t.Fatalf("got %v, want ErrNoFrames", err)
		}
	}
}

// TestFrameReaderCorpus compares the frames we would send with the frame
// walk recorded in the shared corpus manifest.
func TestFrameReaderCorpus(t *testing.T) {
	dir, m := testmedia.Corpus(t)
	checked := 0
	for _, f := range m.Files {
		if !strings.HasSuffix(strings.ToLower(f.Path), ".mp3") {
			continue
		}
		t.Run(f.Path, func(t *testing.T) {
			fr, cl, err := OpenMP3(filepath.Join(dir, f.Path))
			if err != nil {
				if f.ExpectedBehaviour == "skip: empty" {
					return
				}
				t.Fatal(err)
			}
			defer cl.Close()
			n, _, err := countFrames(t, fr)
			switch {
			case strings.HasPrefix(f.ExpectedBehaviour, "play"), f.ExpectedBehaviour == "skip: hidden":
				if !errors.Is(err, io.EOF) {
					t.Fatalf("end: %v", err)
				}
				if n != f.MpegAudioFrames {
					t.Fatalf("sent %d frames, manifest says %d audio frames", n, f.MpegAudioFrames)
				}
			default:
				if !errors.Is(err, ErrNoFrames) {
					t.Fatalf("%s: got %v after %d frames, want ErrNoFrames", f.ExpectedBehaviour, err, n)
				}
			}
			checked++
		})
	}
	if checked < 15 {
		t.Fatalf("only %d corpus files checked", checked)
	}
}

func TestFrameReaderTruncatedOnlyFrame(t *testing.T) {
	_, _, err := countFrames(t, NewFrameReader(bytes.NewReader(testmedia.Frames(1)[:300])))
	if !errors.Is(err, ErrNoFrames) {
		t.Fatalf("got %v", err)
	}
}
