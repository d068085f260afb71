package mount

import (
	"bufio"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// writeBigMP3 writes an ID3v2 tag and then silent 128 kbps frames until the
// file holds at least size bytes, one reused chunk at a time (real data, not
// a sparse file, so reading it really reads). It returns the frame count.
func writeBigMP3(tb testing.TB, path string, size int64) int {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	tag := testmedia.ID3v2("Bench", "Huge MP3", 512)
	if _, err := w.Write(tag); err != nil {
		tb.Fatal(err)
	}
	const perChunk = 4096
	chunk := testmedia.Frames(perChunk)
	frameLen := len(chunk) / perChunk
	written := int64(len(tag))
	frames := 0
	for written < size {
		n := min(perChunk, int((size-written+int64(frameLen)-1)/int64(frameLen)))
		if _, err := w.Write(chunk[:n*frameLen]); err != nil {
			tb.Fatal(err)
		}
		written += int64(n * frameLen)
		frames += n
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return frames
}

// readAllFrames reads every frame of path through OpenMP3, as fast as
// possible, sampling HeapInuse every `every` frames. base is HeapInuse
// after a GC just before opening; peak is the highest sample.
func readAllFrames(tb testing.TB, path string, every int) (frames int, base, peak uint64) {
	tb.Helper()
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base, peak = ms.HeapInuse, ms.HeapInuse
	sample := func() {
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
	}
	fr, cl, err := OpenMP3(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer cl.Close()
	sample()
	for {
		f, err := fr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatalf("frame %d: %v", frames, err)
		}
		if f.Data[0] != 0xFF {
			tb.Fatalf("frame %d does not start with a sync byte", frames)
		}
		frames++
		if frames%every == 0 {
			sample()
		}
	}
	sample()
	return frames, base, peak
}

// Reading a file frame by frame must not keep what it has read: the heap
// grows by the reader's buffers, not by the file size.
func TestFrameReaderMemoryIsFlat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.mp3")
	want := writeBigMP3(t, path, 50<<20)
	frames, base, peak := readAllFrames(t, path, 1024)
	if frames != want {
		t.Fatalf("read %d frames, want %d", frames, want)
	}
	const limit = 2 << 20
	if growth := int64(peak) - int64(base); growth >= limit {
		t.Fatalf("heap in use grew by %d bytes while reading a 50 MB file (limit %d)", growth, limit)
	}
}

// hugeSelected reports whether -test.bench names this benchmark's group
// explicitly: a general "-bench ." sweep must not write 1.5 GB.
func hugeSelected() bool {
	f := flag.Lookup("test.bench")
	return f != nil && strings.Contains(f.Value.String(), "Huge")
}

// BenchmarkHugeFileMemory reads a 15 MB and a 1.5 GB file without pacing
// and reports the peak heap of each: equal figures show memory does not
// depend on the file size. Run with
//
//	go test ./mount -run '^$' -bench HugeFileMemory -benchtime 1x
func BenchmarkHugeFileMemory(b *testing.B) {
	if testing.Short() || !hugeSelected() {
		b.Skip("writes 1.5 GB; select it with -bench HugeFileMemory")
	}
	dir := b.TempDir()
	for _, c := range []struct {
		name string
		size int64
	}{{"size=15MB", 15 << 20}, {"size=1.5GB", 1536 << 20}} {
		b.Run(c.name, func(b *testing.B) {
			path := filepath.Join(dir, c.name+".mp3")
			want := writeBigMP3(b, path, c.size)
			defer os.Remove(path)
			b.SetBytes(c.size)
			var frames int
			var base, peak uint64
			for b.Loop() {
				frames, base, peak = readAllFrames(b, path, 4096)
			}
			if frames != want {
				b.Fatalf("read %d frames, want %d", frames, want)
			}
			b.ReportMetric(float64(peak)/(1<<20), "MB-peak-heap")
			b.ReportMetric((float64(peak)-float64(base))/(1<<20), "MB-heap-growth")
			b.ReportMetric(float64(frames)*float64(b.N)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}
