package programme

import (
	"fmt"
	"testing"

	"github.com/aposazhennikov/stream-audio-to-web/internal/schedule"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// BenchmarkNext is one pick of a station with a show on the air, jingles
// and an empty queue.
func BenchmarkNext(b *testing.B) {
	clock := newFakeClock(ts(b, "2025-06-02T08:00:00Z"))
	st, show := benchLib(b, "s", 1000, false), benchLib(b, "w", 1000, false)
	s, err := schedule.New("station", []schedule.Slot{slot(b, schedule.Spec{Name: "Morning", Days: "daily", Start: "07:00", End: "10:00", Zone: "Europe/Berlin", Plays: "show"})})
	if err != nil {
		b.Fatal(err)
	}
	p, err := New(Options{Library: st, Music: station(st), Clock: clock, Schedule: s,
		Shows: map[string]Music{"show": {Library: show}}, Jingles: Music{Library: benchLib(b, "j", 10, false)}, JingleEvery: 4})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, ok := p.Next(); !ok {
			b.Fatal("nothing to play")
		}
	}
}

// BenchmarkSearch is a two-word search over 5,000 files whose titles were
// read by earlier searches.
func BenchmarkSearch(b *testing.B) {
	st := benchLib(b, "f", 5000, true)
	p, err := New(Options{Library: st})
	if err != nil {
		b.Fatal(err)
	}
	for range 5000/maxTitleReads + 1 {
		p.Search("warm", 1)
	}
	for b.Loop() {
		if len(p.Search("artist 4999 сонг", 10)) != 1 {
			b.Fatal("no match")
		}
	}
}

func benchLib(b *testing.B, prefix string, n int, tags bool) *playlist.Library {
	dir := b.TempDir()
	for i := range n {
		var tag []byte
		if tags {
			tag = testmedia.ID3v2(fmt.Sprintf("Artist %d", i), fmt.Sprintf("Сонг %d", i), 0)
		}
		testmedia.WriteFile(b, dir, fmt.Sprintf("%s%05d.mp3", prefix, i), tag, testmedia.Frames(1))
	}
	l := playlist.NewLibrary(dir, playlist.LibraryOptions{})
	if _, err := l.Scan(); err != nil {
		b.Fatal(err)
	}
	return l
}
