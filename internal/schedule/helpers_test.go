package schedule

import (
	"testing"
	"time"
)

func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := LoadZone(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// slot builds a slot from its spec strings: "mon-fri 07:00-10:00 Europe/Berlin".
func slot(t testing.TB, name, days, start, end, zoneName string) Slot {
	t.Helper()
	s, err := Spec{Name: name, Days: days, Start: start, End: end, Zone: zoneName, Plays: name}.Slot()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustNew(t testing.TB, def string, slots ...Slot) *Schedule {
	t.Helper()
	s, err := New(def, slots)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ts reads an RFC 3339 instant; the offset makes it unambiguous.
func ts(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
