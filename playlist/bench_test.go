package playlist

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// BenchmarkScan100k scans a tree of 100,000 small files (100 artists × 10
// albums × 100 tracks) and reports the heap the resulting Library keeps per
// track. Targets: < 2 s per scan, ≤ 500 B/track.
func BenchmarkScan100k(b *testing.B) {
	const artists, albums, tracks = 100, 10, 100
	const n = artists * albums * tracks
	dir := b.TempDir()
	for a := range artists {
		for al := range albums {
			d := filepath.Join(dir, fmt.Sprintf("Artist %03d", a), fmt.Sprintf("Album %02d", al))
			if err := os.MkdirAll(d, 0o755); err != nil {
				b.Fatal(err)
			}
			for t := range tracks {
				name := filepath.Join(d, fmt.Sprintf("%02d - Track title number %d.mp3", t, t))
				if err := os.WriteFile(name, []byte{0xFF}, 0o644); err != nil {
					b.Fatal(err)
				}
			}
		}
	}

	// Memory kept by a scanned library, measured once outside the timing.
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	lib := NewLibrary(dir, LibraryOptions{})
	if _, err := lib.Scan(); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if lib.Len() != n {
		b.Fatalf("scanned %d tracks, want %d", lib.Len(), n)
	}
	perTrack := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / n
	runtime.KeepAlive(lib)

	b.ReportAllocs()
	for b.Loop() {
		// A fresh Library each time so every scan builds a new list (a
		// rescan of an unchanged tree would keep the old one).
		if _, err := NewLibrary(dir, LibraryOptions{}).Scan(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(perTrack, "B/track")
}

// BenchmarkOrderNext100k measures Next over a 100k-track library, including
// the cycle reshuffle every 100k calls.
func BenchmarkOrderNext100k(b *testing.B) {
	const n = 100_000
	ts := make([]Track, n)
	for i := range ts {
		ts[i] = Track{Rel: fmt.Sprintf("a%03d/b%02d/%05d.mp3", i/1000, i/100%10, i), Size: 1}
	}
	lib := NewLibrary(b.TempDir(), LibraryOptions{})
	lib.snap.Store(&snapshot{tracks: ts, version: 1})
	o := NewOrder(lib, true, seeded(1))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := o.Next(); !ok {
			b.Fatal("empty")
		}
	}
}

func BenchmarkReadTitle(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "t.mp3")
	data := append(append([]byte{}, id3Bench()...), make([]byte, 64<<10)...)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ReadTitle(path).Display != "Artist - Title" {
			b.Fatal("wrong title")
		}
	}
}

func id3Bench() []byte {
	return tagV2(3, 0, append(append(frame23("TPE1", []byte("\x00Artist")), frame23("TIT2", []byte("\x00Title"))...), make([]byte, 256)...))
}
