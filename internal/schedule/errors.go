package schedule

import (
	"fmt"
	"strings"
)

// The fields of a slot, as a [[station.schedule]] block would name them.
const (
	FieldName  = "name"
	FieldDays  = "days"
	FieldStart = "start"
	FieldEnd   = "end"
	FieldZone  = "zone"
	FieldPlays = "plays"
)

// FieldError is a rejected value of one field of one slot. Config turns it
// into its own error naming key, source and line.
type FieldError struct {
	Index    int    // the slot's index in the list given to New; -1 when not known (the Parse functions)
	Field    string // FieldDays, FieldStart, …; "" from ParseClock, which does not know
	Value    string // the rejected value as given
	Expected string // what would have been accepted
	Err      error  // the underlying error, if any (time.LoadLocation's)
}

func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString("schedule: ")
	if e.Index >= 0 {
		fmt.Fprintf(&b, "slot #%d: ", e.Index+1)
	}
	if e.Field != "" {
		b.WriteString(e.Field + " ")
	}
	fmt.Fprintf(&b, "%q: expected %s", e.Value, e.Expected)
	return b.String()
}

func (e *FieldError) Unwrap() error { return e.Err }

// OverlapError names two slots that would be on the air at the same time.
type OverlapError struct {
	A, B         int    // indices in the list given to New, A < B
	NameA, NameB string // their labels (Slot.Label)
	When         string // an instant both cover, like "Mon 08:00 Europe/Berlin" or "Sun 2026-03-29 09:00 CEST (Europe/Berlin)"
}

func (e *OverlapError) Error() string {
	return fmt.Sprintf("schedule: slots %s and %s overlap: both would play at %s", e.NameA, e.NameB, e.When)
}
