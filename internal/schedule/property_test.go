package schedule

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

var propertyZones = []string{"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Australia/Sydney",
	"America/Santiago", "Asia/Kolkata", "Pacific/Chatham", "Africa/Casablanca", "Europe/London"}

// oracleResolve is the first instant at which the wall clock in loc
// reaches w, found by walking a day and a half in steps of step (every
// transition and every w must be on that grid).
func oracleResolve(w int64, loc *time.Location, step int64) time.Time {
	for u := w - 15*3600; u <= w+15*3600; u += step {
		if wallOf(time.Unix(u, 0), loc) >= w {
			return time.Unix(u, 0)
		}
	}
	panic("no instant reaches the wall time")
}

// TestResolveAgainstOracle compares resolve with a plain walk along the
// clock, minute by minute, around every 2025 and 2040 transition of the
// zones above and at random times, the last day of a leap year included
// (golang/go#81583).
func TestResolveAgainstOracle(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, name := range propertyZones {
		loc := zone(t, name)
		var ws []int64
		for _, y := range []int{2025, 2040} {
			at := time.Date(y, 1, 1, 0, 0, 0, 0, loc)
			for at.Year() == y {
				_, end := at.ZoneBounds()
				if end.IsZero() || !end.After(at) || end.Year() > y {
					break
				}
				for d := int64(-150); d <= 150; d += 15 { // minutes around the change, on the wall clock
					ws = append(ws, wallOf(end, loc)+d*60, wallOf(end.Add(-time.Second), loc)+1+d*60)
				}
				at = end
			}
			for range 50 {
				ws = append(ws, time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC).Unix()+r.Int64N(366*day)/60*60)
			}
		}
		ws = append(ws, time.Date(2040, 12, 31, 0, 0, 0, 0, time.UTC).Unix(), time.Date(2040, 12, 31, 12, 0, 0, 0, time.UTC).Unix(), time.Date(2041, 1, 1, 0, 0, 0, 0, time.UTC).Unix())
		for _, w := range ws {
			w -= ((w % 60) + 60) % 60
			got, want := resolve(w, loc), oracleResolve(w, loc, 60)
			if !got.Equal(want) {
				t.Errorf("%s: wall %s resolves to %s; the clock first reaches it at %s", name,
					time.Unix(w, 0).UTC().Format("2006-01-02 15:04"), got.Format(time.RFC3339), want.In(loc).Format(time.RFC3339))
			}
		}
	}
}

// checkProperties: the airing at t contains t, ends after t, is still
// the airing a nanosecond before it ends, and is followed by next.
func checkProperties(t *testing.T, s *Schedule, at time.Time) {
	t.Helper()
	active, next := s.At(at)
	nc := s.NextChange(at)
	if !active.Contains(at) || !nc.After(at) || !nc.Equal(active.End) {
		t.Fatalf("At(%s) = [%s, %s), NextChange %s", fmtT(at), fmtT(active.Start), fmtT(active.End), fmtT(nc))
	}
	if before, _ := s.At(nc.Add(-time.Nanosecond)); !before.Same(active) {
		t.Fatalf("At(%s): %+v, but a nanosecond before its end %+v", fmtT(at), active, before)
	}
	if !active.Start.IsZero() {
		if start, _ := s.At(active.Start); !start.Same(active) {
			t.Fatalf("At(%s): %+v, but at its start %+v", fmtT(at), active, start)
		}
		if prev, _ := s.At(active.Start.Add(-time.Nanosecond)); prev.Same(active) || !prev.End.Equal(active.Start) {
			t.Fatalf("At(%s): %+v, but just before its start %+v", fmtT(at), active, prev)
		}
	}
	after, _ := s.At(nc)
	if after.Same(active) || !after.Same(next) || !next.Start.Equal(nc) {
		t.Fatalf("At(%s): %+v, next %+v, but at NextChange %+v", fmtT(at), active, next, after)
	}
	if !active.IsDefault() && active.Plays != active.Slot.Plays || active.IsDefault() && active.Plays != s.Default() {
		t.Fatalf("At(%s): plays %q", fmtT(at), active.Plays)
	}
}

// oracleActive finds the slot on the air at t by building every airing
// around t with oracleResolve (-1 for the default).
func oracleActive(s *Schedule, at time.Time) int {
	for i := range s.slots {
		sl := &s.slots[i]
		d := dayOf(at, sl.Location)
		for n := d - 2; n <= d; n++ {
			if !sl.Days.Has(weekdayOf(n)) {
				continue
			}
			ws := n*day + int64(sl.Start)*60
			start := oracleResolve(ws, sl.Location, 15*60)
			end := oracleResolve(ws+int64(sl.Length()/time.Second), sl.Location, 15*60)
			if !at.Before(start) && at.Before(end) {
				return i
			}
		}
	}
	return -1
}

// TestPropertiesOverAYear: random instants of 2025 (and around the 2040
// leap-year end) in a schedule of slots in four zones.
func TestPropertiesOverAYear(t *testing.T) {
	s := mustNew(t, "folder",
		slot(t, "berlin-night", "fri", "22:00", "02:00", "Europe/Berlin"),
		slot(t, "berlin-gap", "sun", "02:00", "03:00", "Europe/Berlin"),
		slot(t, "berlin-fold", "sun", "03:00", "04:00", "Europe/Berlin"),
		slot(t, "ny-morning", "weekdays", "06:00", "09:00", "America/New_York"),
		slot(t, "ny-fold", "sun", "01:00", "01:45", "America/New_York"),
		slot(t, "lhi", "daily", "01:45", "02:15", "Australia/Lord_Howe"),
		slot(t, "utc-day", "wed", "16:00", "24:00", "UTC"),
	)
	r := rand.New(rand.NewPCG(3, 4))
	from := ts(t, "2025-01-01T00:00:00Z")
	for range 3000 {
		at := from.Add(time.Duration(r.Int64N(int64(366 * 24 * time.Hour))))
		checkProperties(t, s, at)
	}
	for range 300 {
		at := ts(t, "2040-12-28T00:00:00Z").Add(time.Duration(r.Int64N(int64(8 * 24 * time.Hour))))
		checkProperties(t, s, at)
	}
	// Against the oracle, on the 15-minute grid everything here is on,
	// and at random instants.
	for range 400 {
		at := from.Add(time.Duration(r.Int64N(366*24*4)) * 15 * time.Minute)
		if r.IntN(2) == 0 {
			at = at.Add(time.Duration(r.Int64N(int64(15 * time.Minute))))
		}
		active, _ := s.At(at)
		if want := oracleActive(s, at); active.Index != want {
			t.Fatalf("At(%s) = slot %d, oracle %d", fmtT(at), active.Index, want)
		}
	}
}

// TestPropertiesRandomSchedules builds random schedules (those New
// accepts) in random zones and checks them at random instants.
func TestPropertiesRandomSchedules(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	built := 0
	for built < 40 {
		var slots []Slot
		zoneName := propertyZones[r.IntN(len(propertyZones))]
		for range 1 + r.IntN(5) {
			if r.IntN(4) == 0 {
				zoneName = propertyZones[r.IntN(len(propertyZones))]
			}
			start := Clock(r.IntN(96) * 15)
			end := Clock(1 + r.IntN(96)*15)
			if r.IntN(3) == 0 {
				end = Clock((r.IntN(96) + 1) * 15)
			}
			if end == start {
				continue
			}
			slots = append(slots, Slot{Days: Days(1 + r.IntN(int(Daily))), Start: start, End: end, Location: zone(t, zoneName), Plays: "p"})
		}
		s, err := New("folder", slots)
		var oe *OverlapError
		if errors.As(err, &oe) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		built++
		from := ts(t, "2025-01-01T00:00:00Z")
		for range 200 {
			at := from.Add(time.Duration(r.Int64N(int64(366 * 24 * time.Hour))))
			checkProperties(t, s, at)
		}
		for range 20 {
			at := from.Add(time.Duration(r.Int64N(366*24*4)) * 15 * time.Minute)
			if active, _ := s.At(at); active.Index != oracleActive(s, at) {
				t.Fatalf("%v: At(%s) = slot %d, oracle %d", slots, fmtT(at), active.Index, oracleActive(s, at))
			}
		}
	}
}
