package schedule

import (
	"errors"
	"testing"
	"time"
)

// FuzzParseDays: accepted input gives a non-empty set that its String
// reads back to; rejected input gives a FieldError for "days". Never a
// panic.
func FuzzParseDays(f *testing.F) {
	for _, s := range []string{"mon-fri", "sat,sun", "daily", "weekdays", "weekends", "Monday", "fri-mon", "mon,wed-fri",
		"", ",", "mon-", "ſat", "tue - thu", "every day", "SUNDAY,saturday"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		d, err := ParseDays(in)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != FieldDays || fe.Value != in || d != 0 {
				t.Fatalf("ParseDays(%q): %v, %v", in, d, err)
			}
			return
		}
		if d == 0 || d&^Daily != 0 {
			t.Fatalf("ParseDays(%q) = %#x", in, uint8(d))
		}
		for _, c := range []byte(in) {
			if c >= 0x80 {
				t.Fatalf("ParseDays(%q) accepted a non-ASCII byte", in)
			}
		}
		back, err := ParseDays(d.String())
		if err != nil || back != d {
			t.Fatalf("ParseDays(%q) = %#x, String %q reads back as %#x, %v", in, uint8(d), d.String(), uint8(back), err)
		}
	})
}

// FuzzParseClock: accepted input is 00:00..24:00 and reads back.
func FuzzParseClock(f *testing.F) {
	for _, s := range []string{"00:00", "7:30", "24:00", "24:01", "12:60", "", "1:2", "99:99"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		c, err := ParseClock(in)
		if err != nil {
			return
		}
		if c < 0 || c > Midnight24 {
			t.Fatalf("ParseClock(%q) = %d", in, c)
		}
		if back, err := ParseClock(c.String()); err != nil || back != c {
			t.Fatalf("ParseClock(%q) = %v, reads back as %v, %v", in, c, back, err)
		}
	})
}

// FuzzSchedule: any one-slot schedule in Berlin or Lord Howe keeps the
// At/NextChange properties at any instant of 2025.
func FuzzSchedule(f *testing.F) {
	f.Add(uint8(0x7f), int16(120), int16(180), false, int64(0))
	f.Add(uint8(0x01), int16(150), int16(90), true, int64(7_500_000_000_000_000))
	f.Fuzz(func(t *testing.T, days uint8, start, end int16, lordHowe bool, offset int64) {
		name := "Europe/Berlin"
		if lordHowe {
			name = "Australia/Lord_Howe"
		}
		s, err := New("folder", []Slot{{Days: Days(days), Start: Clock(start), End: Clock(end), Location: zone(t, name)}})
		if err != nil {
			return
		}
		if offset < 0 {
			offset = -offset
		}
		at := ts(t, "2025-01-01T00:00:00Z").Add(time.Duration(offset % int64(365*24*time.Hour)))
		checkProperties(t, s, at)
	})
}
