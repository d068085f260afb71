package schedule

import (
	"time"
	// The zone database in the binary (about 400 KB): images without
	// /usr/share/zoneinfo still know every IANA zone.
	_ "time/tzdata"
)

// ZoneExpected says what LoadZone accepts.
const ZoneExpected = `an IANA time zone like "Europe/Berlin", "America/New_York" or "UTC"`

// LoadZone loads an IANA zone by name ("Europe/Berlin"). An empty name is
// an error: a schedule's times mean nothing until the operator says where
// the clock on the wall hangs. "UTC" and "Local" (the machine's zone) are
// accepted. The error is a *FieldError for field "zone".
func LoadZone(name string) (*time.Location, error) {
	if name == "" {
		return nil, &FieldError{Index: -1, Field: FieldZone, Value: name, Expected: ZoneExpected}
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, &FieldError{Index: -1, Field: FieldZone, Value: name, Expected: ZoneExpected, Err: err}
	}
	return loc, nil
}

const day = 24 * 60 * 60 // seconds

// A wall-clock time is held as seconds since 1970-01-01 00:00 on a wall
// clock, as if the wall clock were UTC: day numbers and times of day are
// then plain arithmetic.

// wallOf is the wall-clock reading of t in loc.
func wallOf(t time.Time, loc *time.Location) int64 {
	_, off := t.In(loc).Zone()
	return t.Unix() + int64(off)
}

// dayOf is the wall-clock day number (days since 1970-01-01) of t in loc.
func dayOf(t time.Time, loc *time.Location) int64 { return floorDiv(wallOf(t, loc), day) }

// weekdayOf is the weekday of a day number.
func weekdayOf(n int64) time.Weekday { return time.Weekday((n%7 + 7 + 4) % 7) } // day 0 was a Thursday

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// resolve turns a wall-clock time in loc into an instant: the first
// moment a clock on the wall in loc reaches w. A time shown twice is its
// first showing; a time skipped is the moment the clock skips to (see the
// package doc). The map is monotonic: w1 < w2 gives resolve(w1) <=
// resolve(w2).
func resolve(w int64, loc *time.Location) time.Time {
	// Every instant showing w lies within a day of w read as UTC (offsets
	// are -12h..+14h); walk the zone's periods over that stretch. Each
	// period's offset gives a candidate, valid when the clock then really
	// shows w; for a time shown twice the earlier wins, and for a skipped
	// time none is valid and the transition that skips it is the answer.
	const reach = 16 * 60 * 60
	best, found := int64(0), false
	gap, gapFound := int64(0), false
	t := time.Unix(w-reach, 0).In(loc)
	for {
		_, off := t.Zone()
		if u := w - int64(off); wallOf(time.Unix(u, 0), loc) == w && (!found || u < best) {
			best, found = u, true
		}
		_, end := t.ZoneBounds()
		if end.IsZero() || end.Unix() > w+reach {
			break
		}
		if !end.After(t) {
			// ZoneBounds can report an end before the instant asked about
			// (golang/go#81583: the last day of a leap year in the part of a
			// zone served by its TZ rule). That end is a year boundary, not a
			// change of offset: step over it.
			t = t.Add(time.Hour)
			continue
		}
		_, offNext := end.Zone()
		if T := end.Unix(); !gapFound && T+int64(off) <= w && w < T+int64(offNext) {
			gap, gapFound = T, true
		}
		t = end.In(loc)
	}
	switch {
	case found:
		return time.Unix(best, 0).In(loc)
	case gapFound:
		return time.Unix(gap, 0).In(loc)
	}
	// Unreachable with real zone data; keep the time package's choice.
	_, off := time.Unix(w, 0).In(loc).Zone()
	return time.Unix(w-int64(off), 0).In(loc)
}
