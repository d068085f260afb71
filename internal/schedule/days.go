package schedule

import (
	"strings"
	"time"
)

// Days is a set of weekdays: bit n is [time.Weekday](n).
type Days uint8

// Common sets of days.
const (
	Daily    Days = 1<<7 - 1
	Weekends Days = 1<<time.Saturday | 1<<time.Sunday
	Weekdays Days = Daily &^ Weekends
)

// DaysOf is the set of the given weekdays.
func DaysOf(ws ...time.Weekday) Days {
	var d Days
	for _, w := range ws {
		d |= 1 << (w % 7)
	}
	return d
}

// Has reports whether w is in the set.
func (d Days) Has(w time.Weekday) bool { return d&(1<<(w%7)) != 0 }

// weekOrder is the order days are written in: Monday first.
var weekOrder = [7]time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}

// dayNames are the 3-letter names, by time.Weekday.
var dayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// String writes the set as ParseDays reads it: "daily", "weekdays",
// "weekends", or Monday-first runs like "mon-wed,fri"; "" for none.
func (d Days) String() string {
	switch d & Daily {
	case Daily:
		return "daily"
	case Weekdays:
		return "weekdays"
	case Weekends:
		return "weekends"
	}
	var parts []string
	for i := 0; i < 7; {
		if !d.Has(weekOrder[i]) {
			i++
			continue
		}
		j := i
		for j+1 < 7 && d.Has(weekOrder[j+1]) {
			j++
		}
		part := dayNames[weekOrder[i]]
		if j > i {
			part += "-" + dayNames[weekOrder[j]]
		}
		parts = append(parts, part)
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// DaysExpected says what ParseDays accepts.
const DaysExpected = `days like "mon-fri", "sat,sun", "daily", "weekdays" or "weekends" (English names or their first three letters)`

// ParseDays reads a comma-separated list of days, ranges of days and the
// words "daily", "weekdays" and "weekends", in any case: "mon-fri",
// "Sat, Sun", "monday,wednesday-friday", "fri-mon" (a range may wrap past
// Sunday). Days are English names or their first three letters. The error
// is a *FieldError for field "days".
func ParseDays(s string) (Days, error) {
	fail := func() (Days, error) {
		return 0, &FieldError{Index: -1, Field: FieldDays, Value: s, Expected: DaysExpected}
	}
	var d Days
	for item := range strings.SplitSeq(s, ",") {
		item = asciiLower(strings.TrimSpace(item))
		switch item {
		case "daily", "everyday", "every day":
			d |= Daily
			continue
		case "weekdays":
			d |= Weekdays
			continue
		case "weekends", "weekend":
			d |= Weekends
			continue
		}
		from, to, isRange := strings.Cut(item, "-")
		a, ok := parseDay(strings.TrimSpace(from))
		if !ok {
			return fail()
		}
		b := a
		if isRange {
			if b, ok = parseDay(strings.TrimSpace(to)); !ok {
				return fail()
			}
		}
		for w := a; ; w = (w + 1) % 7 {
			d |= DaysOf(w)
			if w == b {
				break
			}
		}
	}
	if d == 0 {
		return fail()
	}
	return d, nil
}

// fullDayNames are the English names, by time.Weekday.
var fullDayNames = [7]string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}

func parseDay(s string) (time.Weekday, bool) {
	for w := range 7 {
		if s == dayNames[w] || s == fullDayNames[w] {
			return time.Weekday(w), true
		}
	}
	return 0, false
}

// asciiLower lowers ASCII letters only, so no other script's letter can
// fold into a day name (strings.EqualFold matches "ſat" to "sat").
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
