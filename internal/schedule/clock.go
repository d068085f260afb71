package schedule

import "fmt"

// Clock is a wall-clock time of day in minutes after midnight, 0 (00:00)
// to 1440 (24:00, allowed only as an end).
type Clock int16

// Midnight24 is "24:00", the end of a day.
const Midnight24 Clock = 24 * 60

// ClockExpected says what ParseClock accepts.
const ClockExpected = `a time of day "HH:MM" from "00:00" to "24:00", like "07:30"`

// ParseClock reads "HH:MM" (or "H:MM"), 00:00 to 24:00. The error is a
// *FieldError without a field: the caller knows whether it read a start or
// an end.
func ParseClock(s string) (Clock, error) {
	h, m, ok := 0, 0, true
	switch {
	case len(s) == 5 && s[2] == ':':
		h, m = digits(s[0:2], &ok), digits(s[3:5], &ok)
	case len(s) == 4 && s[1] == ':':
		h, m = digits(s[0:1], &ok), digits(s[2:4], &ok)
	default:
		ok = false
	}
	if !ok || h > 24 || m > 59 || h == 24 && m != 0 {
		return 0, &FieldError{Index: -1, Value: s, Expected: ClockExpected}
	}
	return Clock(h*60 + m), nil
}

func digits(s string, ok *bool) int {
	n := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			*ok = false
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// String gives "HH:MM".
func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", c/60, c%60) }
