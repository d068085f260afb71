package schedule

import (
	"fmt"
	"strings"
	"time"
)

// Slot is a show: on Days, from Start to End on the wall clock of
// Location, Plays plays. An End before Start crosses midnight into the next
// day; Days names the day an airing starts.
type Slot struct {
	Name     string         // for display and errors; may be empty
	Days     Days           // the days an airing starts on
	Start    Clock          // 00:00..23:59
	End      Clock          // 00:01..24:00 (00:00 is taken as 24:00), not Start; before Start = the next day
	Location *time.Location // the zone of the wall clock
	Plays    string         // what plays, for the caller: a folder, a playlist file, "live", …
	Cut      bool           // switch at the boundary on a frame, not at the next track end
}

// Label names the slot in messages: its name quoted, or "#n" (1-based)
// when it has none.
func (s *Slot) Label(index int) string {
	if s.Name != "" {
		return fmt.Sprintf("%q (#%d)", s.Name, index+1)
	}
	return fmt.Sprintf("#%d", index+1)
}

// Length is the slot's wall-clock length (real time differs by a DST
// change inside it).
func (s *Slot) Length() time.Duration {
	n := s.End - s.Start
	if s.End < s.Start {
		n += Midnight24
	}
	return time.Duration(n) * time.Minute
}

// String is like "mon-fri 07:00-10:00 Europe/Berlin".
func (s *Slot) String() string {
	zone := "?"
	if s.Location != nil {
		zone = s.Location.String()
	}
	return fmt.Sprintf("%s %s-%s %s", s.Days, s.Start, s.End, zone)
}

// check validates a slot built in code (Spec.Slot validates as it parses).
func (s *Slot) check(index int) error {
	fail := func(field, value, expected string) error {
		return &FieldError{Index: index, Field: field, Value: value, Expected: expected}
	}
	switch {
	case s.Days == 0 || s.Days&^Daily != 0:
		return fail(FieldDays, fmt.Sprintf("%#x", uint8(s.Days)), DaysExpected)
	case s.Start < 0 || s.Start >= Midnight24:
		return fail(FieldStart, s.Start.String(), startExpected)
	case s.End < 0 || s.End > Midnight24:
		return fail(FieldEnd, s.End.String(), ClockExpected)
	case s.End == s.Start:
		return fail(FieldEnd, s.End.String(), endExpected)
	case s.Location == nil:
		return fail(FieldZone, "", ZoneExpected)
	}
	return nil
}

const (
	startExpected = `a start "HH:MM" from "00:00" to "23:59"`
	endExpected   = `an end other than the start: a slot may not be empty (a whole day is "00:00" to "24:00")`
)

// Spec is a slot as the configuration writes it, every field a string.
type Spec struct {
	Name  string
	Days  string // ParseDays
	Start string // "HH:MM"
	End   string // "HH:MM", "24:00" allowed
	Zone  string // IANA name
	Plays string
	Cut   bool
}

// Slot parses and checks the spec. The error is a *FieldError naming the
// field (Index -1: the caller knows which block it read).
func (sp Spec) Slot() (Slot, error) {
	s := Slot{Name: sp.Name, Plays: sp.Plays, Cut: sp.Cut}
	var err error
	if s.Days, err = ParseDays(sp.Days); err != nil {
		return Slot{}, err
	}
	if s.Start, err = ParseClock(strings.TrimSpace(sp.Start)); err != nil || s.Start == Midnight24 {
		return Slot{}, &FieldError{Index: -1, Field: FieldStart, Value: sp.Start, Expected: startExpected}
	}
	if s.End, err = ParseClock(strings.TrimSpace(sp.End)); err != nil {
		return Slot{}, &FieldError{Index: -1, Field: FieldEnd, Value: sp.End, Expected: ClockExpected}
	}
	if s.End == s.Start {
		return Slot{}, &FieldError{Index: -1, Field: FieldEnd, Value: sp.End, Expected: endExpected}
	}
	if s.End == 0 {
		s.End = Midnight24 // "00:00" as an end is the midnight that ends the day
	}
	if s.Location, err = LoadZone(strings.TrimSpace(sp.Zone)); err != nil {
		return Slot{}, err
	}
	return s, nil
}
