package programme

import (
	"slices"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/schedule"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// showFixture is a station with one show and the helpers to drive it.
type showFixture struct {
	p       *Programme
	clock   *fakeClock
	calls   *controls
	libs    map[*playlist.Library]string
	station *playlist.Library
	show    *playlist.Library
}

func newShowFixture(t *testing.T, now time.Time, slots ...schedule.Slot) *showFixture {
	t.Helper()
	f := &showFixture{clock: newFakeClock(now), station: lib(t, files("s", 5)...), show: lib(t, files("w", 5)...)}
	f.libs = map[*playlist.Library]string{f.station: "S", f.show: "W"}
	f.p = newProgramme(t, Options{
		Library: f.station, Music: station(f.station),
		Schedule: mustSchedule(t, "station", slots...),
		Shows:    map[string]Music{"show": {Library: f.show}},
		Clock:    f.clock,
	})
	f.calls = &controls{clock: f.clock}
	f.calls.attach(f.p)
	return f
}

// from returns which library the next pick comes from, and its show.
func (f *showFixture) from(t *testing.T) (string, string) {
	t.Helper()
	p := next(t, f.p)
	return f.libs[p.Library], p.Show
}

func (f *showFixture) expectFrom(t *testing.T, wantLib, wantShow string) {
	t.Helper()
	gotLib, gotShow := f.from(t)
	if gotLib != wantLib || gotShow != wantShow {
		t.Fatalf("at %s: pick from %s (show %q), want %s (show %q)",
			f.clock.Now().UTC().Format(time.RFC3339), gotLib, gotShow, wantLib, wantShow)
	}
}

func expectCalls(t *testing.T, c *controls, want ...string) {
	t.Helper()
	if got := c.take(); !slices.Equal(got, want) {
		t.Fatalf("controls called %q, want %q", got, want)
	}
}

func expectDeadline(t *testing.T, got time.Time, want string) {
	t.Helper()
	if w := ts(t, want); !got.Equal(w) {
		t.Fatalf("Run sleeps until %s, want %s", got.UTC().Format(time.RFC3339), w.UTC().Format(time.RFC3339))
	}
}

// A show without cut takes over at the next track end: at its start and
// its end Run flushes the tracks opened ahead, exactly at the boundary,
// and never skips the playing track.
func TestShowSwitchesAtTrackEnd(t *testing.T) {
	f := newShowFixture(t, ts(t, "2025-06-02T06:59:30Z"),
		slot(t, schedule.Spec{Name: "Morning", Days: "daily", Start: "07:00", End: "10:00", Zone: "UTC", Plays: "show"}))
	r, deadline := start(t, f.p, f.clock)
	expectDeadline(t, deadline, "2025-06-02T07:00:00Z")
	f.expectFrom(t, "S", "")

	if d := r.at(ts(t, "2025-06-02T06:59:59Z")); !d.IsZero() {
		t.Fatalf("Run woke before its deadline, now sleeps until %s", d)
	}
	expectCalls(t, f.calls)
	f.expectFrom(t, "S", "")

	deadline = r.at(ts(t, "2025-06-02T07:00:00Z"))
	expectCalls(t, f.calls, "flush@2025-06-02T07:00:00Z")
	expectDeadline(t, deadline, "2025-06-02T07:01:00Z") // looks at the wall clock every minute
	f.expectFrom(t, "W", "Morning")
	f.expectFrom(t, "W", "Morning")

	// An hour later, nothing has changed.
	r.at(ts(t, "2025-06-02T08:00:00Z"))
	expectCalls(t, f.calls)
	f.expectFrom(t, "W", "Morning")

	deadline = r.at(ts(t, "2025-06-02T09:59:59Z"))
	expectDeadline(t, deadline, "2025-06-02T10:00:00Z")
	r.at(ts(t, "2025-06-02T10:00:00Z"))
	expectCalls(t, f.calls, "flush@2025-06-02T10:00:00Z")
	f.expectFrom(t, "S", "")
}

// A show with cut starts and ends on time: the flush is followed by a skip
// of the playing track, at the boundary instant.
func TestCutShowFlushesThenSkips(t *testing.T) {
	f := newShowFixture(t, ts(t, "2025-06-02T11:59:30Z"),
		slot(t, schedule.Spec{Name: "News", Days: "daily", Start: "12:00", End: "12:10", Zone: "UTC", Plays: "show", Cut: true}))
	r, _ := start(t, f.p, f.clock)
	r.at(ts(t, "2025-06-02T12:00:00Z"))
	expectCalls(t, f.calls, "flush@2025-06-02T12:00:00Z", "skip@2025-06-02T12:00:00Z")
	f.expectFrom(t, "W", "News")
	r.at(ts(t, "2025-06-02T12:09:59Z"))
	expectCalls(t, f.calls)
	r.at(ts(t, "2025-06-02T12:10:00Z"))
	expectCalls(t, f.calls, "flush@2025-06-02T12:10:00Z", "skip@2025-06-02T12:10:00Z")
	f.expectFrom(t, "S", "")
}

// Spring forward in Berlin (2025-03-30, 02:00 becomes 03:00): a show from
// 01:30 to 02:30 ends when the clock skips to 03:00, after 30 minutes.
func TestShowAcrossSpringForward(t *testing.T) {
	f := newShowFixture(t, ts(t, "2025-03-30T01:29:30+01:00"),
		slot(t, schedule.Spec{Name: "Night", Days: "daily", Start: "01:30", End: "02:30", Zone: "Europe/Berlin", Plays: "show"}))
	r, deadline := start(t, f.p, f.clock)
	expectDeadline(t, deadline, "2025-03-30T01:30:00+01:00")
	r.at(ts(t, "2025-03-30T01:30:00+01:00"))
	expectCalls(t, f.calls, "flush@2025-03-30T00:30:00Z")
	f.expectFrom(t, "W", "Night")

	deadline = r.at(ts(t, "2025-03-30T01:59:59+01:00"))
	expectDeadline(t, deadline, "2025-03-30T03:00:00+02:00")
	f.expectFrom(t, "W", "Night")
	r.at(ts(t, "2025-03-30T03:00:00+02:00"))
	expectCalls(t, f.calls, "flush@2025-03-30T01:00:00Z")
	f.expectFrom(t, "S", "")
}

// Fall back in Berlin (2025-10-26, 03:00 becomes 02:00 again): a show
// from 02:50 to 03:10 runs through the repeated hour, 80 minutes.
func TestShowAcrossFallBack(t *testing.T) {
	f := newShowFixture(t, ts(t, "2025-10-26T02:49:30+02:00"),
		slot(t, schedule.Spec{Name: "Long", Days: "daily", Start: "02:50", End: "03:10", Zone: "Europe/Berlin", Plays: "show"}))
	r, _ := start(t, f.p, f.clock)
	r.at(ts(t, "2025-10-26T02:50:00+02:00"))
	expectCalls(t, f.calls, "flush@2025-10-26T00:50:00Z")

	// 03:05 summer time, then 02:30 winter time: the clock went back, the
	// show goes on.
	r.at(ts(t, "2025-10-26T03:05:00+02:00"))
	f.expectFrom(t, "W", "Long")
	r.at(ts(t, "2025-10-26T02:30:00+01:00"))
	f.expectFrom(t, "W", "Long")
	expectCalls(t, f.calls)

	deadline := r.at(ts(t, "2025-10-26T03:09:30+01:00"))
	expectDeadline(t, deadline, "2025-10-26T03:10:00+01:00")
	r.at(ts(t, "2025-10-26T03:10:00+01:00"))
	expectCalls(t, f.calls, "flush@2025-10-26T02:10:00Z")
	f.expectFrom(t, "S", "")
}

// A Friday night show from 22:00 to 02:00 runs into Saturday.
func TestShowAcrossMidnight(t *testing.T) {
	f := newShowFixture(t, ts(t, "2025-03-28T21:59:00Z"), // a Friday
		slot(t, schedule.Spec{Name: "Late", Days: "fri", Start: "22:00", End: "02:00", Zone: "UTC", Plays: "show"}))
	r, _ := start(t, f.p, f.clock)
	f.expectFrom(t, "S", "")
	r.at(ts(t, "2025-03-28T22:00:00Z"))
	expectCalls(t, f.calls, "flush@2025-03-28T22:00:00Z")
	f.expectFrom(t, "W", "Late")
	r.at(ts(t, "2025-03-29T00:00:00Z"))
	r.at(ts(t, "2025-03-29T01:00:00Z"))
	expectCalls(t, f.calls)
	f.expectFrom(t, "W", "Late")
	r.at(ts(t, "2025-03-29T02:00:00Z"))
	expectCalls(t, f.calls, "flush@2025-03-29T02:00:00Z")
	f.expectFrom(t, "S", "")
	// Saturday night is not Friday night.
	r.at(ts(t, "2025-03-29T23:00:00Z"))
	f.expectFrom(t, "S", "")
}

// Music flushed at a change of show is not lost: the station's tracks
// given back at a show's start play first when the show is over, and the
// show's own order is not disturbed.
func TestMusicGivenBackResumesAfterTheShow(t *testing.T) {
	f := newShowFixture(t, ts(t, "2025-06-02T06:59:00Z"),
		slot(t, schedule.Spec{Name: "Morning", Days: "daily", Start: "07:00", End: "10:00", Zone: "UTC", Plays: "show"}))
	a, b, c := next(t, f.p), next(t, f.p), next(t, f.p) // s01 plays; s02, s03 opened ahead
	f.clock.set(ts(t, "2025-06-02T07:00:00Z"))
	f.p.Unplayed([]mount.Pick{b, c})
	if w := next(t, f.p); w.Rel != "w01.mp3" {
		t.Fatalf("first pick of the show is %s, want w01.mp3", w.Rel)
	}
	f.clock.set(ts(t, "2025-06-02T10:00:00Z"))
	var got []string
	for range 4 {
		got = append(got, next(t, f.p).Rel)
	}
	if want := []string{"s02.mp3", "s03.mp3", "s04.mp3", "s05.mp3"}; !slices.Equal(got, want) || a.Rel != "s01.mp3" {
		t.Fatalf("after the show: %q (before it %s), want %q", got, a.Rel, want)
	}
}

// A live show plays its fallback while no DJ is connected; one without a
// fallback plays the station's music. Both carry the show's name.
func TestLiveShowPlaysItsFallback(t *testing.T) {
	clock := newFakeClock(ts(t, "2025-06-02T20:30:00Z"))
	st, fb := lib(t, files("s", 3)...), lib(t, files("f", 3)...)
	libs := map[*playlist.Library]string{st: "S", fb: "F"}
	p := newProgramme(t, Options{
		Library: st, Music: station(st), Clock: clock,
		Schedule: mustSchedule(t, "station",
			slot(t, schedule.Spec{Name: "DJ Anna", Days: "daily", Start: "20:00", End: "21:00", Zone: "UTC", Plays: config.PlaysLive}),
			slot(t, schedule.Spec{Name: "DJ Bob", Days: "daily", Start: "21:00", End: "22:00", Zone: "UTC", Plays: config.PlaysLive})),
		Shows:     map[string]Music{"/srv/fallback": {Library: fb}},
		Fallbacks: []string{"/srv/fallback"},
	})
	if got := next(t, p); libs[got.Library] != "F" || got.Show != "DJ Anna" {
		t.Fatalf("live show with fallback picked from %s (show %q)", libs[got.Library], got.Show)
	}
	clock.set(ts(t, "2025-06-02T21:30:00Z"))
	if got := next(t, p); libs[got.Library] != "S" || got.Show != "DJ Bob" {
		t.Fatalf("live show without fallback picked from %s (show %q)", libs[got.Library], got.Show)
	}
}

// A show whose folder has nothing to play does not leave the air silent.
func TestEmptyShowPlaysStationMusic(t *testing.T) {
	clock := newFakeClock(ts(t, "2025-06-02T08:00:00Z"))
	st, empty := lib(t, files("s", 2)...), lib(t)
	p := newProgramme(t, Options{
		Library: st, Music: station(st), Clock: clock,
		Schedule: mustSchedule(t, "station", slot(t, schedule.Spec{Name: "Gone", Days: "daily", Start: "07:00", End: "10:00", Zone: "UTC", Plays: "gone"})),
		Shows:    map[string]Music{"gone": {Library: empty}},
	})
	if got := next(t, p); got.Library != st || got.Show != "Gone" {
		t.Fatalf("pick from %s for show %q, want the station's library for show Gone", got.Library.Dir(), got.Show)
	}
}

// A file found unplayable in a show is not picked again.
func TestBadShowFileIsNotPickedAgain(t *testing.T) {
	f := newShowFixture(t, ts(t, "2025-06-02T08:00:00Z"),
		slot(t, schedule.Spec{Name: "Morning", Days: "daily", Start: "07:00", End: "10:00", Zone: "UTC", Plays: "show"}))
	bad := next(t, f.p)
	if !f.p.Bad(bad) {
		t.Fatal("Bad: not news the first time")
	}
	for range 12 {
		if got := next(t, f.p); got.Rel == bad.Rel {
			t.Fatalf("%s picked again after Bad", bad.Rel)
		}
	}
}

// Wiring mistakes are found at New.
func TestNewRejectsSlotsWithoutMusic(t *testing.T) {
	st := lib(t, "a.mp3")
	s := mustSchedule(t, "/music", slot(t, schedule.Spec{Name: "X", Days: "daily", Start: "07:00", End: "08:00", Zone: "UTC", Plays: "/jazz"}))
	if _, err := New(Options{Library: st, Schedule: s}); err == nil {
		t.Fatal("a slot playing music Shows does not give: no error")
	}
	live := mustSchedule(t, "/music", slot(t, schedule.Spec{Days: "daily", Start: "07:00", End: "08:00", Zone: "UTC", Plays: config.PlaysLive}))
	if _, err := New(Options{Library: st, Schedule: live, Fallbacks: []string{"/nowhere"}}); err == nil {
		t.Fatal("a live slot whose fallback Shows does not give: no error")
	}
	if _, err := New(Options{Library: st, Schedule: live}); err != nil {
		t.Fatalf("a live slot without fallback: %v", err)
	}
	if _, err := New(Options{Library: st, Schedule: live, Fallbacks: []string{"/music"}}); err != nil {
		t.Fatalf("a live slot falling back to the default: %v", err)
	}
	def := mustSchedule(t, "/music", slot(t, schedule.Spec{Days: "daily", Start: "07:00", End: "08:00", Zone: "UTC", Plays: "/music"}))
	if _, err := New(Options{Library: st, Schedule: def}); err != nil {
		t.Fatalf("a slot playing the default: %v", err)
	}
	if _, err := New(Options{}); err == nil {
		t.Fatal("no library: no error")
	}
}

// A show every day from 00:00 to 24:00 is one show: its airings follow
// each other at midnight without a flush.
func TestWholeDayShowDoesNotFlushAtMidnight(t *testing.T) {
	f := newShowFixture(t, ts(t, "2025-06-02T23:59:30Z"),
		slot(t, schedule.Spec{Name: "Always", Days: "daily", Start: "00:00", End: "24:00", Zone: "UTC", Plays: "show"}))
	r, deadline := start(t, f.p, f.clock)
	expectDeadline(t, deadline, "2025-06-03T00:00:00Z")
	r.at(ts(t, "2025-06-03T00:00:00Z"))
	expectCalls(t, f.calls)
	f.expectFrom(t, "W", "Always")
}
