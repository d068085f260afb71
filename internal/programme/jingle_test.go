package programme

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/mount"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// kinds returns n picks as a pattern: M for music, J for a jingle, R for
// a request.
func kinds(t *testing.T, p *Programme, n int) string {
	t.Helper()
	var b strings.Builder
	for range n {
		b.WriteByte(kindLetter(next(t, p)))
	}
	return b.String()
}

func kindLetter(p mount.Pick) byte {
	switch p.Kind {
	case mount.KindJingle:
		return 'J'
	case mount.KindRequest:
		return 'R'
	}
	return 'M'
}

func jingleStation(t *testing.T, opt Options) (*Programme, *fakeClock) {
	t.Helper()
	clock := newFakeClock(ts(t, "2025-06-02T12:00:00Z"))
	st := lib(t, files("s", 12)...)
	opt.Library, opt.Music, opt.Clock = st, station(st), clock
	opt.Jingles = Music{Library: lib(t, files("j", 3)...)}
	return newProgramme(t, opt), clock
}

// jingle_every=4 plays a jingle after every fourth track, titled with the
// station's name, from the jingle library.
func TestJingleEveryN(t *testing.T) {
	p, _ := jingleStation(t, Options{Name: "Radio Eins", JingleEvery: 4})
	var pattern strings.Builder
	for range 15 {
		pick := next(t, p)
		pattern.WriteByte(kindLetter(pick))
		if pick.Kind != mount.KindJingle {
			continue
		}
		if !strings.HasPrefix(pick.Rel, "j") || pick.Title == nil || pick.Title.Display != "Radio Eins" || pick.Title.Title != "Radio Eins" {
			t.Fatalf("jingle pick %+v (title %+v)", pick, pick.Title)
		}
	}
	if got, want := pattern.String(), "MMMMJMMMMJMMMMJ"; got != want {
		t.Fatalf("pattern %s, want %s", got, want)
	}
}

// jingle_interval plays a jingle at the first pick once the interval has
// passed since the last jingle (the first one: since the start).
func TestJingleInterval(t *testing.T) {
	p, clock := jingleStation(t, Options{JingleInterval: 10 * time.Minute, JingleTitle: "ID"})
	t0 := clock.Now()
	var got strings.Builder
	for _, minutes := range []int{0, 4, 9, 10, 10, 14, 19, 21, 22, 45, 45} {
		clock.set(t0.Add(time.Duration(minutes) * time.Minute))
		got.WriteByte(kindLetter(next(t, p)))
	}
	// minute:       0  4  9  10 10 14 19 21 22 45 45
	if want := "MMMJMMMJMJM"; got.String() != want {
		t.Fatalf("pattern %s, want %s", got.String(), want)
	}
}

// Never two jingles in a row, whatever the rules say.
func TestNeverTwoJinglesInARow(t *testing.T) {
	p, _ := jingleStation(t, Options{JingleEvery: 1})
	if got, want := kinds(t, p, 8), "MJMJMJMJ"; got != want {
		t.Fatalf("every 1: %s, want %s", got, want)
	}
	// A jingle interval shorter than the time between picks.
	q, clock := jingleStation(t, Options{JingleInterval: time.Minute})
	var got strings.Builder
	for range 6 {
		clock.set(clock.Now().Add(4 * time.Minute))
		got.WriteByte(kindLetter(next(t, q)))
	}
	if want := "JMJMJM"; got.String() != want {
		t.Fatalf("interval shorter than a track: %s, want %s", got.String(), want)
	}
}

// Without a title setting, a jingle shows its file's own tags.
func TestJingleWithoutTitleKeepsTags(t *testing.T) {
	p, _ := jingleStation(t, Options{JingleEvery: 1})
	next(t, p)
	if j := next(t, p); j.Kind != mount.KindJingle || j.Title != nil {
		t.Fatalf("jingle %+v, want one without a title of its own", j)
	}
}

// Picks given back are uncounted: a jingle dropped by a flush is due
// again, the music after it plays in order, and the pattern goes on as if
// nothing had happened.
func TestUnplayedJingleIsDueAgain(t *testing.T) {
	p, _ := jingleStation(t, Options{JingleEvery: 3})
	var picks []mount.Pick
	for range 6 { // M M M J M M
		picks = append(picks, next(t, p))
	}
	p.Unplayed(picks[3:]) // three played; J M M were opened ahead
	var got []string
	for range 9 {
		pick := next(t, p)
		if pick.Kind == mount.KindJingle && len(got) > 0 {
			pick.Rel = "any" // which jingle follows is the shuffle's business
		}
		got = append(got, string(kindLetter(pick))+":"+pick.Rel)
	}
	want := []string{"J:" + picks[3].Rel, "M:s04.mp3", "M:s05.mp3", "M:s06.mp3", "J:any", "M:s07.mp3", "M:s08.mp3", "M:s09.mp3", "J:any"}
	if !slices.Equal(got, want) {
		t.Fatalf("after Unplayed: %q, want %q", got, want)
	}
}

// Requests count as tracks, and play before anything else at the next
// track end; a jingle that is due goes between two requests.
func TestJingleBetweenRequests(t *testing.T) {
	p, _ := jingleStation(t, Options{JingleEvery: 2})
	got := kinds(t, p, 2)
	for _, rel := range []string{"s10.mp3", "s11.mp3", "s12.mp3"} {
		if _, err := p.Enqueue(rel); err != nil {
			t.Fatal(err)
		}
	}
	got += kinds(t, p, 8)
	if want := "MMRJRRJMMJ"; got != want {
		t.Fatalf("pattern %s, want %s", got, want)
	}
}

// A jingle file found bad is left out; the music goes on.
func TestBadJingleIsSkipped(t *testing.T) {
	clock := newFakeClock(ts(t, "2025-06-02T12:00:00Z"))
	st, jl := lib(t, files("s", 4)...), lib(t, "only.mp3")
	p := newProgramme(t, Options{Library: st, Music: station(st), Clock: clock, JingleEvery: 1, Jingles: Music{Library: jl, Order: playlist.NewOrder(jl, false, nil)}})
	next(t, p)
	j := next(t, p)
	if j.Kind != mount.KindJingle || !p.Bad(j) {
		t.Fatalf("pick %+v, want the jingle, news when marked bad", j)
	}
	if got := kinds(t, p, 3); got != "MMM" {
		t.Fatalf("after the only jingle went bad: %s, want MMM", got)
	}
}
