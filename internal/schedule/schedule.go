package schedule

import (
	"fmt"
	"math/bits"
	"slices"
	"time"
)

// Schedule is a list of slots and what plays outside them. It is immutable
// and safe for concurrent use.
type Schedule struct {
	slots []Slot
	def   string
}

// CheckYear and CheckYears are the window over which slots in different
// zones are compared (see the package doc): 28 years from 2025, a full
// cycle of weekdays against dates, with the zone rules the binary knows.
const (
	CheckYear  = 2025
	CheckYears = 28
)

// checkWindow is the comparison window as instants.
func checkWindow() (from, until time.Time) {
	from = time.Date(CheckYear, time.January, 1, 0, 0, 0, 0, time.UTC)
	return from, from.AddDate(CheckYears, 0, 0)
}

// New checks the slots and builds a schedule; def is what plays outside
// them. The error is a *FieldError (Index set) for a bad slot, or an
// *OverlapError for two slots that would ever be on the air at once.
// A slot's End of 00:00 is taken as 24:00.
func New(def string, slots []Slot) (*Schedule, error) {
	s := &Schedule{def: def, slots: slices.Clone(slots)}
	for i := range s.slots {
		if err := s.slots[i].check(i); err != nil {
			return nil, err
		}
		if s.slots[i].End == 0 {
			s.slots[i].End = Midnight24
		}
	}
	if err := s.checkWeekly(); err != nil {
		return nil, err
	}
	if err := s.checkAcrossZones(checkWindow()); err != nil {
		return nil, err
	}
	return s, nil
}

// Slots returns a copy of the slots, in the order given to New.
func (s *Schedule) Slots() []Slot { return slices.Clone(s.slots) }

// Default is what plays outside every slot.
func (s *Schedule) Default() string { return s.def }

// Occurrence is one airing: of a slot, or of the default between slots.
type Occurrence struct {
	Index int   // the slot's index in the list given to New; -1 for the default
	Slot  *Slot // nil for the default; do not modify
	Plays string
	Start time.Time // the default of a schedule without slots has zero Start and End: it plays forever
	End   time.Time // exclusive
}

// IsDefault reports whether this is the default, not a slot.
func (o Occurrence) IsDefault() bool { return o.Slot == nil }

// Name is the slot's name; "" for the default or an unnamed slot.
func (o Occurrence) Name() string {
	if o.Slot == nil {
		return ""
	}
	return o.Slot.Name
}

// Cut reports whether the slot switches on a frame boundary.
func (o Occurrence) Cut() bool { return o.Slot != nil && o.Slot.Cut }

// Contains reports whether t is in [Start, End); zero bounds are open.
func (o Occurrence) Contains(t time.Time) bool {
	return (o.Start.IsZero() || !t.Before(o.Start)) && (o.End.IsZero() || t.Before(o.End))
}

// Same reports whether o and p are the same airing.
func (o Occurrence) Same(p Occurrence) bool {
	return o.Index == p.Index && o.Start.Equal(p.Start) && o.End.Equal(p.End)
}

// Cuts reports whether the switch from ending to starting happens at once
// on a frame boundary rather than at the next track end: when either side
// is a slot with Cut set, so a hard-timed show both starts and ends on
// time.
func Cuts(ending, starting Occurrence) bool { return ending.Cut() || starting.Cut() }

// Info is an occurrence for status pages (JSON).
type Info struct {
	Name    string `json:"name,omitempty"`
	Plays   string `json:"plays"`
	Default bool   `json:"default,omitempty"`
	Cut     bool   `json:"cut,omitempty"`
	Zone    string `json:"zone,omitempty"`
	Start   string `json:"start,omitempty"` // RFC 3339 in the slot's zone; "" = unbounded
	End     string `json:"end,omitempty"`
}

// Info describes the occurrence for status pages.
func (o Occurrence) Info() Info {
	in := Info{Name: o.Name(), Plays: o.Plays, Default: o.IsDefault(), Cut: o.Cut()}
	loc := time.UTC
	if o.Slot != nil {
		loc = o.Slot.Location
		in.Zone = loc.String()
	}
	if !o.Start.IsZero() {
		in.Start = o.Start.In(loc).Format(time.RFC3339)
	}
	if !o.End.IsZero() {
		in.End = o.End.In(loc).Format(time.RFC3339)
	}
	return in
}

// At gives the airing in force at t (a slot's, or the default's between
// slots) and the one that follows it at active.End. A schedule without
// slots plays its default forever: both are that, with zero bounds.
func (s *Schedule) At(t time.Time) (active, next Occurrence) {
	active = s.active(t)
	if active.End.IsZero() {
		return active, active
	}
	return active, s.active(active.End)
}

// NextChange is the instant the airing in force at t ends, always after t;
// zero for a schedule without slots (nothing ever changes). Consecutive
// airings of one slot (a daily 00:00-24:00) change at each midnight too:
// compare Index and Plays to decide whether anything needs to switch.
func (s *Schedule) NextChange(t time.Time) time.Time { return s.active(t).End }

// search is how many days around t are searched for airings: a slot
// airs at least weekly, and one airing a year can vanish in a DST gap.
const search = 15

func (s *Schedule) active(t time.Time) Occurrence {
	for i := range s.slots {
		d := dayOf(t, s.slots[i].Location)
		for n := d - 2; n <= d; n++ { // an airing lasts at most 25 hours
			if start, end, ok := s.occurrence(i, n); ok && !t.Before(start) && t.Before(end) {
				return Occurrence{Index: i, Slot: &s.slots[i], Plays: s.slots[i].Plays, Start: start, End: end}
			}
		}
	}
	o := Occurrence{Index: -1, Plays: s.def}
	for i := range s.slots {
		d := dayOf(t, s.slots[i].Location)
		for n := d; n >= d-search; n-- { // ends are in order of n: the first at or before t is the latest
			if _, end, ok := s.occurrence(i, n); ok && !end.After(t) {
				if end.After(o.Start) {
					o.Start = end
				}
				break
			}
		}
		for n := d - 1; n <= d+search; n++ {
			if start, _, ok := s.occurrence(i, n); ok && start.After(t) {
				if o.End.IsZero() || start.Before(o.End) {
					o.End = start
				}
				break
			}
		}
	}
	return o
}

// occurrence is slot i's airing starting on wall-clock day n of its zone;
// ok is false when it does not air that day (not one of its days, or it
// lies wholly in a DST gap).
func (s *Schedule) occurrence(i int, n int64) (start, end time.Time, ok bool) {
	sl := &s.slots[i]
	if !sl.Days.Has(weekdayOf(n)) {
		return time.Time{}, time.Time{}, false
	}
	ws := n*day + int64(sl.Start)*60
	we := ws + int64(sl.Length()/time.Second)
	start, end = resolve(ws, sl.Location), resolve(we, sl.Location)
	return start, end, end.After(start)
}

const week = 7 * int(Midnight24) // minutes

// checkWeekly compares slots of one zone on the weekly wall clock, which
// is exact: resolve keeps wall-clock order (see the package doc).
func (s *Schedule) checkWeekly() error {
	type span struct{ from, to int } // minutes from Monday 00:00; to may pass the week's end
	spans := func(sl *Slot) []span {
		var out []span
		for k, w := range weekOrder {
			if sl.Days.Has(w) {
				from := k*int(Midnight24) + int(sl.Start)
				out = append(out, span{from, from + int(sl.Length()/time.Minute)})
			}
		}
		return out
	}
	for i := range s.slots {
		a := &s.slots[i]
		for j := i + 1; j < len(s.slots); j++ {
			b := &s.slots[j]
			if a.Location.String() != b.Location.String() {
				continue
			}
			for _, x := range spans(a) {
				for _, y := range spans(b) {
					for _, shift := range []int{-week, 0, week} {
						from, to := max(x.from, y.from+shift), min(x.to, y.to+shift)
						if from < to {
							from %= week
							return &OverlapError{A: i, B: j, NameA: a.Label(i), NameB: b.Label(j),
								When: fmt.Sprintf("%s %s %s", weekdayName(weekOrder[from/int(Midnight24)]), Clock(from%int(Midnight24)), a.Location)}
						}
					}
				}
			}
		}
	}
	return nil
}

func weekdayName(w time.Weekday) string { return w.String()[:3] }

// checkAcrossZones compares every airing from..until when the slots are in
// more than one zone.
func (s *Schedule) checkAcrossZones(from, until time.Time) error {
	zones := map[string]bool{}
	for i := range s.slots {
		zones[s.slots[i].Location.String()] = true
	}
	if len(zones) < 2 {
		return nil
	}
	type airing struct {
		i          int
		start, end time.Time
	}
	n := 0
	for i := range s.slots {
		n += bits.OnesCount8(uint8(s.slots[i].Days))
	}
	all := make([]airing, 0, int(until.Sub(from).Hours()/24/7+2)*n)
	for i := range s.slots {
		loc := s.slots[i].Location
		for n, last := dayOf(from, loc), dayOf(until, loc); n <= last; n++ {
			if start, end, ok := s.occurrence(i, n); ok {
				all = append(all, airing{i, start, end})
			}
		}
	}
	slices.SortFunc(all, func(a, b airing) int { return a.start.Compare(b.start) })
	var last airing // the airing so far that ends last
	for k, x := range all {
		if k > 0 && x.start.Before(last.end) && x.i != last.i {
			a, b := min(x.i, last.i), max(x.i, last.i)
			loc := s.slots[a].Location
			at := x.start.In(loc)
			return &OverlapError{A: a, B: b, NameA: s.slots[a].Label(a), NameB: s.slots[b].Label(b),
				When: fmt.Sprintf("%s (%s)", at.Format("Mon 2006-01-02 15:04 MST"), loc)}
		}
		if k == 0 || x.end.After(last.end) {
			last = x
		}
	}
	return nil
}
