package schedule

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// want is an expected airing: a slot's name ("" = the default) and its
// bounds as RFC 3339 ("" = unbounded).
type want struct{ name, start, end string }

func check(t *testing.T, what string, got Occurrence, w want) {
	t.Helper()
	name := got.Name()
	if got.IsDefault() {
		name = ""
	}
	if name != w.name || !sameInstant(t, got.Start, w.start) || !sameInstant(t, got.End, w.end) {
		t.Errorf("%s = %q [%s, %s); want %q [%s, %s)", what, name, fmtT(got.Start), fmtT(got.End), w.name, w.start, w.end)
	}
}

func sameInstant(t *testing.T, got time.Time, w string) bool {
	if w == "" {
		return got.IsZero()
	}
	return got.Equal(ts(t, w))
}

func fmtT(t time.Time) string {
	if t.IsZero() {
		return "∞"
	}
	return t.Format(time.RFC3339)
}

type atCase struct {
	at           string
	active, next want
}

func runAt(t *testing.T, s *Schedule, cases []atCase) {
	t.Helper()
	for _, tc := range cases {
		at := ts(t, tc.at)
		active, next := s.At(at)
		check(t, tc.at+" active", active, tc.active)
		check(t, tc.at+" next", next, tc.next)
		if !active.Contains(at) {
			t.Errorf("%s: active [%s, %s) does not contain it", tc.at, fmtT(active.Start), fmtT(active.End))
		}
		if nc := s.NextChange(at); !nc.Equal(active.End) {
			t.Errorf("%s: NextChange %s, active ends %s", tc.at, fmtT(nc), fmtT(active.End))
		}
	}
}

func TestMidnightCrossing(t *testing.T) {
	// Friday 2025-06-13 22:00 to Saturday 02:00, Berlin summer time (+02:00).
	s := mustNew(t, "folder", slot(t, "late", "fri", "22:00", "02:00", "Europe/Berlin"))
	late := want{"late", "2025-06-13T22:00:00+02:00", "2025-06-14T02:00:00+02:00"}
	before := want{"", "2025-06-07T02:00:00+02:00", "2025-06-13T22:00:00+02:00"}
	after := want{"", "2025-06-14T02:00:00+02:00", "2025-06-20T22:00:00+02:00"}
	runAt(t, s, []atCase{
		{"2025-06-13T21:59:59+02:00", before, late},
		{"2025-06-13T22:00:00+02:00", late, after},
		{"2025-06-13T23:59:59.999+02:00", late, after},
		{"2025-06-14T00:00:00+02:00", late, after},
		{"2025-06-14T01:00:00+02:00", late, after}, // "Sat 01:00" is inside Friday's show
		{"2025-06-14T01:59:59.999999999+02:00", late, after},
		{"2025-06-14T02:00:00+02:00", after, want{"late", "2025-06-20T22:00:00+02:00", "2025-06-21T02:00:00+02:00"}},
		{"2025-06-15T01:00:00+02:00", after, want{"late", "2025-06-20T22:00:00+02:00", "2025-06-21T02:00:00+02:00"}}, // Sunday 01:00 is not: Saturday is not a day of the slot
		{"2025-06-13T20:00:00Z", late, after},                                                                        // the instant is what counts, not the zone it is written in
	})
}

func TestMidnightBoundaryBackToBack(t *testing.T) {
	// Two shows meeting at midnight, and a whole-day slot: no gap, no default between.
	s := mustNew(t, "folder",
		slot(t, "evening", "daily", "20:00", "24:00", "UTC"),
		slot(t, "night", "daily", "00:00", "03:00", "UTC"),
		slot(t, "sunday", "sun", "09:00", "12:00", "UTC"),
	)
	runAt(t, s, []atCase{
		{"2025-01-01T23:59:59Z", want{"evening", "2025-01-01T20:00:00Z", "2025-01-02T00:00:00Z"}, want{"night", "2025-01-02T00:00:00Z", "2025-01-02T03:00:00Z"}},
		{"2025-01-02T00:00:00Z", want{"night", "2025-01-02T00:00:00Z", "2025-01-02T03:00:00Z"}, want{"", "2025-01-02T03:00:00Z", "2025-01-02T20:00:00Z"}},
		{"2025-01-05T10:00:00Z", want{"sunday", "2025-01-05T09:00:00Z", "2025-01-05T12:00:00Z"}, want{"", "2025-01-05T12:00:00Z", "2025-01-05T20:00:00Z"}},
	})
	whole := mustNew(t, "folder", slot(t, "all", "mon,tue", "00:00", "24:00", "UTC"))
	runAt(t, whole, []atCase{
		// 2025-01-06 is a Monday: Monday's airing ends at midnight and Tuesday's begins.
		{"2025-01-06T12:00:00Z", want{"all", "2025-01-06T00:00:00Z", "2025-01-07T00:00:00Z"}, want{"all", "2025-01-07T00:00:00Z", "2025-01-08T00:00:00Z"}},
		{"2025-01-07T23:00:00Z", want{"all", "2025-01-07T00:00:00Z", "2025-01-08T00:00:00Z"}, want{"", "2025-01-08T00:00:00Z", "2025-01-13T00:00:00Z"}},
	})
}

func TestFullWeek(t *testing.T) {
	// A week of programming in UTC; every minute of a week agrees with a
	// plain reading of the table.
	s := mustNew(t, "music",
		slot(t, "breakfast", "weekdays", "06:00", "09:00", "UTC"),
		slot(t, "news", "mon-fri", "12:00", "12:15", "UTC"),
		slot(t, "party", "fri,sat", "22:00", "03:00", "UTC"),
		slot(t, "brunch", "weekends", "10:00", "13:00", "UTC"),
		slot(t, "chart", "sun", "18:00", "20:00", "UTC"),
	)
	expect := func(wd time.Weekday, m int) string {
		prev := (wd + 6) % 7
		switch {
		case wd >= time.Monday && wd <= time.Friday && m >= 360 && m < 540:
			return "breakfast"
		case wd >= time.Monday && wd <= time.Friday && m >= 720 && m < 735:
			return "news"
		case (wd == time.Friday || wd == time.Saturday) && m >= 1320:
			return "party"
		case (prev == time.Friday || prev == time.Saturday) && m < 180:
			return "party"
		case (wd == time.Saturday || wd == time.Sunday) && m >= 600 && m < 780:
			return "brunch"
		case wd == time.Sunday && m >= 1080 && m < 1200:
			return "chart"
		}
		return ""
	}
	start := ts(t, "2025-01-06T00:00:00Z") // a Monday
	for m := 0; m < 7*1440; m++ {
		at := start.Add(time.Duration(m) * time.Minute)
		active, next := s.At(at)
		if got, w := active.Name(), expect(at.Weekday(), at.Hour()*60+at.Minute()); got != w {
			t.Fatalf("%s: %q, want %q", at.Format("Mon 15:04"), got, w)
		}
		if active.IsDefault() && active.Plays != "music" || !active.IsDefault() && active.Plays != active.Name() {
			t.Fatalf("%s: plays %q", at.Format("Mon 15:04"), active.Plays)
		}
		if !next.Start.Equal(active.End) || next.Same(active) {
			t.Fatalf("%s: next %+v does not follow %+v", at.Format("Mon 15:04"), next, active)
		}
	}
}

func TestDefaultOnly(t *testing.T) {
	s := mustNew(t, "folder", nil...)
	at := ts(t, "2025-03-30T02:30:00+02:00")
	active, next := s.At(at)
	if !active.IsDefault() || active.Plays != "folder" || !active.Start.IsZero() || !active.End.IsZero() || !next.Same(active) {
		t.Errorf("no slots: %+v, %+v", active, next)
	}
	if nc := s.NextChange(at); !nc.IsZero() {
		t.Errorf("no slots: NextChange %v, want zero (never)", nc)
	}
	if info := active.Info(); info.Start != "" || info.End != "" || !info.Default || info.Plays != "folder" {
		t.Errorf("info %+v", info)
	}
}

func TestOverlapErrors(t *testing.T) {
	for _, tc := range []struct {
		a, b [4]string // days, start, end, zone
		when string    // "" = no overlap
	}{
		{[4]string{"mon-fri", "08:00", "10:00", "Europe/Berlin"}, [4]string{"wed", "09:00", "11:00", "Europe/Berlin"}, "Wed 09:00 Europe/Berlin"},
		{[4]string{"mon-fri", "08:00", "10:00", "Europe/Berlin"}, [4]string{"mon-fri", "10:00", "11:00", "Europe/Berlin"}, ""}, // back to back
		{[4]string{"sun", "23:00", "01:00", "UTC"}, [4]string{"mon", "00:30", "02:00", "UTC"}, "Mon 00:30 UTC"},                // across the week's end
		{[4]string{"sat", "22:00", "02:00", "UTC"}, [4]string{"sun", "01:59", "03:00", "UTC"}, "Sun 01:59 UTC"},
		{[4]string{"sat", "22:00", "02:00", "UTC"}, [4]string{"sun", "02:00", "03:00", "UTC"}, ""},
		{[4]string{"mon-fri", "00:00", "24:00", "UTC"}, [4]string{"thu", "12:00", "12:01", "UTC"}, "Thu 12:00 UTC"},
		{[4]string{"daily", "10:00", "11:00", "UTC"}, [4]string{"daily", "10:30", "10:45", "UTC"}, "Mon 10:30 UTC"},
		// Different zones: the same hour in Berlin and New York always.
		{[4]string{"daily", "20:00", "21:00", "Europe/Berlin"}, [4]string{"daily", "14:00", "15:00", "America/New_York"}, "Wed 2025-01-01 20:00 CET (Europe/Berlin)"},
		// 15:00-16:00 New York follows 20:00-21:00 Berlin for most of the year, but
		// overlaps it in the weeks the US has moved its clocks and Europe has not.
		{[4]string{"daily", "20:00", "21:00", "Europe/Berlin"}, [4]string{"daily", "15:00", "16:00", "America/New_York"}, "Sun 2025-03-09 20:00 CET (Europe/Berlin)"},
		// 13:00-14:00 New York never meets 20:00-21:00 Berlin.
		{[4]string{"daily", "20:00", "21:00", "Europe/Berlin"}, [4]string{"daily", "13:00", "14:00", "America/New_York"}, ""},
		// One instant, two names for the zone.
		{[4]string{"daily", "20:00", "21:00", "Europe/Berlin"}, [4]string{"mon", "20:30", "20:45", "CET"}, "Mon 2025-01-06 20:30 CET (Europe/Berlin)"},
	} {
		a, b := slot(t, "a", tc.a[0], tc.a[1], tc.a[2], tc.a[3]), slot(t, "", tc.b[0], tc.b[1], tc.b[2], tc.b[3])
		_, err := New("folder", []Slot{slot(t, "other", "sat", "05:00", "06:00", "UTC"), a, b})
		if tc.when == "" {
			if err != nil {
				t.Errorf("%v / %v: %v", tc.a, tc.b, err)
			}
			continue
		}
		var oe *OverlapError
		if !errors.As(err, &oe) || oe.A != 1 || oe.B != 2 || oe.NameA != `"a" (#2)` || oe.NameB != "#3" || oe.When != tc.when {
			t.Errorf("%v / %v: %v; want an overlap of #2 and #3 at %s", tc.a, tc.b, err, tc.when)
			continue
		}
		t.Log(err)
	}
}

func TestTwoZones(t *testing.T) {
	// A morning show in New York and an evening show in Berlin; in the
	// weeks between the US and the EU changing clocks, the gap between
	// them is an hour shorter.
	s := mustNew(t, "folder",
		slot(t, "ny", "daily", "13:00", "14:00", "America/New_York"),
		slot(t, "berlin", "daily", "20:00", "21:00", "Europe/Berlin"),
	)
	runAt(t, s, []atCase{
		// Winter: NY 18:00-19:00Z, Berlin 19:00-20:00Z: back to back.
		{"2025-01-15T18:30:00Z", want{"ny", "2025-01-15T18:00:00Z", "2025-01-15T19:00:00Z"}, want{"berlin", "2025-01-15T19:00:00Z", "2025-01-15T20:00:00Z"}},
		// US summer time, Europe not yet: NY 17:00-18:00Z, Berlin 19:00-20:00Z.
		{"2025-03-20T17:30:00Z", want{"ny", "2025-03-20T17:00:00Z", "2025-03-20T18:00:00Z"}, want{"", "2025-03-20T18:00:00Z", "2025-03-20T19:00:00Z"}},
		{"2025-03-20T18:30:00Z", want{"", "2025-03-20T18:00:00Z", "2025-03-20T19:00:00Z"}, want{"berlin", "2025-03-20T19:00:00Z", "2025-03-20T20:00:00Z"}},
		// Both summer: NY 17:00-18:00Z, Berlin 18:00-19:00Z.
		{"2025-07-01T18:59:00Z", want{"berlin", "2025-07-01T18:00:00Z", "2025-07-01T19:00:00Z"}, want{"", "2025-07-01T19:00:00Z", "2025-07-02T17:00:00Z"}},
	})
}

func TestCutsAndInfo(t *testing.T) {
	news := slot(t, "news", "daily", "12:00", "12:05", "Europe/Berlin")
	news.Cut = true
	s := mustNew(t, "folder", news, slot(t, "show", "daily", "12:05", "13:00", "Europe/Berlin"))
	before, news0 := s.At(ts(t, "2025-06-01T11:00:00+02:00"))
	newsOcc, show := s.At(news0.Start)
	_, after := s.At(show.Start)
	if !Cuts(before, newsOcc) || !Cuts(newsOcc, show) || Cuts(show, after) {
		t.Errorf("cuts: into news %v, out of news %v, out of show %v", Cuts(before, newsOcc), Cuts(newsOcc, show), Cuts(show, after))
	}
	b, err := json.Marshal(newsOcc.Info())
	if err != nil {
		t.Fatal(err)
	}
	const wantJSON = `{"name":"news","plays":"news","cut":true,"zone":"Europe/Berlin","start":"2025-06-01T12:00:00+02:00","end":"2025-06-01T12:05:00+02:00"}`
	if string(b) != wantJSON {
		t.Errorf("info %s\nwant %s", b, wantJSON)
	}
	if got := s.Slots(); len(got) != 2 || got[0].Name != "news" || s.Default() != "folder" {
		t.Errorf("Slots %v, Default %q", got, s.Default())
	}
	if got := news.String(); got != "daily 12:00-12:05 Europe/Berlin" {
		t.Errorf("String %q", got)
	}
	if !strings.Contains((&OverlapError{NameA: "a", NameB: "b", When: "x"}).Error(), "a and b overlap") {
		t.Error("overlap message")
	}
}

func TestNextChangeMonotonic(t *testing.T) {
	s := mustNew(t, "folder",
		slot(t, "a", "daily", "02:00", "03:00", "Europe/Berlin"),
		slot(t, "b", "sun", "03:00", "01:30", "Europe/Berlin"),
		slot(t, "c", "weekdays", "01:00", "02:00", "America/New_York"),
		slot(t, "d", "sat", "01:45", "02:15", "Australia/Lord_Howe"),
	)
	// Through both of 2025's changes in Berlin and New York, 7 minutes
	// (plus a prime number of seconds) at a time.
	for _, from := range []string{"2025-03-08T00:00:00Z", "2025-03-29T00:00:00Z", "2025-10-25T00:00:00Z", "2025-11-01T00:00:00Z", "2025-04-04T00:00:00Z"} {
		prev := time.Time{}
		at := ts(t, from)
		for range 2000 {
			nc := s.NextChange(at)
			if !nc.After(at) {
				t.Fatalf("NextChange(%s) = %s, not after it", fmtT(at), fmtT(nc))
			}
			if nc.Before(prev) {
				t.Fatalf("NextChange(%s) = %s went back from %s", fmtT(at), fmtT(nc), fmtT(prev))
			}
			prev = nc
			at = at.Add(7*time.Minute + 13*time.Second)
		}
	}
}

// BenchmarkNewTwoZones is the cost of checking a schedule with slots in
// several zones at load (every airing over the check window).
func BenchmarkNewTwoZones(b *testing.B) {
	slots := []Slot{
		slot(b, "ny", "daily", "13:00", "14:00", "America/New_York"),
		slot(b, "berlin", "daily", "20:00", "21:00", "Europe/Berlin"),
		slot(b, "berlin2", "weekdays", "06:00", "09:00", "Europe/Berlin"),
		slot(b, "lhi", "weekends", "10:00", "12:00", "Australia/Lord_Howe"),
	}
	for b.Loop() {
		if _, err := New("folder", slots); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAt(b *testing.B) {
	s, err := New("folder", []Slot{
		slot(b, "ny", "daily", "13:00", "14:00", "America/New_York"),
		slot(b, "berlin", "daily", "20:00", "21:00", "Europe/Berlin"),
		slot(b, "berlin2", "weekdays", "06:00", "09:00", "Europe/Berlin"),
		slot(b, "lhi", "weekends", "10:00", "12:00", "Australia/Lord_Howe"),
	})
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2025, 6, 1, 3, 0, 0, 0, time.UTC)
	for b.Loop() {
		s.At(at)
	}
}
