package schedule

import (
	"errors"
	"testing"
	"time"
)

func TestParseDays(t *testing.T) {
	mon, tue, wed, thu, fri, sat, sun := time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday
	for _, tc := range []struct {
		in   string
		want Days
	}{
		{"mon-fri", Weekdays},
		{"Mon-Fri", Weekdays},
		{"sat,sun", Weekends},
		{"Sat, Sun", Weekends},
		{"daily", Daily},
		{"DAILY", Daily},
		{"every day", Daily},
		{"weekdays", Weekdays},
		{"weekends", Weekends},
		{"weekend", Weekends},
		{"monday", DaysOf(mon)},
		{"Wednesday", DaysOf(wed)},
		{"tue,thu", DaysOf(tue, thu)},
		{"monday-wednesday,friday", DaysOf(mon, tue, wed, fri)},
		{"fri-mon", DaysOf(fri, sat, sun, mon)},
		{"sun-sat", Daily},
		{"mon-sun", Daily},
		{"thu-thu", DaysOf(thu)},
		{"sat - sun", Weekends},
		{"weekdays,sat", Weekdays | DaysOf(sat)},
		{"mon,mon", DaysOf(mon)},
		{" sun ", DaysOf(sun)},
	} {
		got, err := ParseDays(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseDays(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", " ", ",", "mon,", ",mon", "mo", "tues", "thurs", "fir", "mon-", "-fri", "mon-fri-sat",
		"mon--fri", "weekdays-fri", "1", "sunday monday", "ſat", "mon\x00", "MÖN", "mon;tue"} {
		_, err := ParseDays(in)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != FieldDays || fe.Value != in || fe.Expected != DaysExpected {
			t.Errorf("ParseDays(%q) error = %v; want a FieldError for days", in, err)
		}
	}
}

func TestDaysStringRoundTrip(t *testing.T) {
	for d := Days(1); d <= Daily; d++ {
		s := d.String()
		back, err := ParseDays(s)
		if err != nil || back != d {
			t.Errorf("%#x → %q → %#x, %v", uint8(d), s, uint8(back), err)
		}
	}
	for d, want := range map[Days]string{
		Daily: "daily", Weekdays: "weekdays", Weekends: "weekends",
		DaysOf(time.Monday, time.Tuesday, time.Wednesday, time.Friday): "mon-wed,fri",
		DaysOf(time.Friday, time.Saturday, time.Sunday, time.Monday):   "mon,fri-sun",
		DaysOf(time.Sunday): "sun",
	} {
		if got := d.String(); got != want {
			t.Errorf("%#x.String() = %q, want %q", uint8(d), got, want)
		}
	}
}

func TestParseClock(t *testing.T) {
	for in, want := range map[string]Clock{
		"00:00": 0, "0:00": 0, "07:30": 450, "7:30": 450, "23:59": 1439, "24:00": Midnight24, "12:05": 725,
	} {
		got, err := ParseClock(in)
		if err != nil || got != want {
			t.Errorf("ParseClock(%q) = %v, %v; want %v", in, got, err, want)
		}
		if back, err := ParseClock(got.String()); err != nil || back != got {
			t.Errorf("%v: String %q does not read back", got, got.String())
		}
	}
	for _, in := range []string{"", "7", "07", "0730", "07:3", "07:300", "24:01", "25:00", "12:60", "-1:00", "+1:00", " 7:30",
		"07.30", "07:30:00", "٠٧:٣٠", "1a:00", "7:5x", "007:30"} {
		_, err := ParseClock(in)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Value != in || fe.Expected != ClockExpected {
			t.Errorf("ParseClock(%q) error = %v; want a FieldError", in, err)
		}
	}
}

func TestSpecErrorsNameTheField(t *testing.T) {
	ok := Spec{Name: "morning", Days: "mon-fri", Start: "07:00", End: "10:00", Zone: "Europe/Berlin", Plays: "/music/morning"}
	if s, err := ok.Slot(); err != nil || s.Days != Weekdays || s.Start != 420 || s.End != 600 || s.Location.String() != "Europe/Berlin" {
		t.Fatalf("valid spec: %+v, %v", s, err)
	}
	for _, tc := range []struct {
		edit  func(*Spec)
		field string
	}{
		{func(s *Spec) { s.Days = "someday" }, FieldDays},
		{func(s *Spec) { s.Days = "" }, FieldDays},
		{func(s *Spec) { s.Start = "7am" }, FieldStart},
		{func(s *Spec) { s.Start = "24:00" }, FieldStart},
		{func(s *Spec) { s.End = "" }, FieldEnd},
		{func(s *Spec) { s.End = "10:61" }, FieldEnd},
		{func(s *Spec) { s.End = s.Start }, FieldEnd},                   // zero length
		{func(s *Spec) { s.Start, s.End = "00:00", "00:00" }, FieldEnd}, // zero length, not a whole day
		{func(s *Spec) { s.Zone = "" }, FieldZone},
		{func(s *Spec) { s.Zone = "Europe/Atlantis" }, FieldZone},
		{func(s *Spec) { s.Zone = "europe/berlin" }, FieldZone}, // IANA names are case-sensitive
		{func(s *Spec) { s.Zone = "../../etc/passwd" }, FieldZone},
	} {
		sp := ok
		tc.edit(&sp)
		_, err := sp.Slot()
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || fe.Index != -1 || fe.Expected == "" {
			t.Errorf("%+v: error %v; want a FieldError for %s", sp, err, tc.field)
			continue
		}
		t.Log(err)
	}
	// "00:00" as an end is the midnight that ends the day.
	sp := ok
	sp.Start, sp.End = "22:00", "00:00"
	if s, err := sp.Slot(); err != nil || s.End != Midnight24 || s.Length() != 2*time.Hour {
		t.Errorf("22:00-00:00: %+v, %v", s, err)
	}
}

func TestNewRejectsBadSlots(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	good := Slot{Days: Daily, Start: 60, End: 120, Location: berlin}
	for _, tc := range []struct {
		edit  func(*Slot)
		field string
	}{
		{func(s *Slot) { s.Days = 0 }, FieldDays},
		{func(s *Slot) { s.Days = 0x80 }, FieldDays},
		{func(s *Slot) { s.Start = Midnight24 }, FieldStart},
		{func(s *Slot) { s.Start = -1 }, FieldStart},
		{func(s *Slot) { s.End = Midnight24 + 1 }, FieldEnd},
		{func(s *Slot) { s.End = s.Start }, FieldEnd},
		{func(s *Slot) { s.Location = nil }, FieldZone},
	} {
		bad := good
		tc.edit(&bad)
		_, err := New("", []Slot{good, bad})
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || fe.Index != 1 {
			t.Errorf("%+v: error %v; want a FieldError for %s of slot index 1", bad, err, tc.field)
		}
	}
}
