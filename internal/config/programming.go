package config

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aposazhennikov/stream-audio-to-web/internal/schedule"
)

// scheduleKeys returns the keys of a [[station.schedule]] block, in the
// order their values are checked.
func scheduleKeys() []string {
	return []string{
		schedule.FieldName, schedule.FieldDays, schedule.FieldStart, schedule.FieldEnd,
		schedule.FieldZone, schedule.FieldPlays, fieldFallback, fieldCut,
	}
}

const (
	fieldFallback = "fallback"
	fieldCut      = "cut"

	scheduleExpected = `[[station.schedule]] tables`
	playsExpected    = `a folder, a playlist file (.m3u, .m3u8, .pls) or "live" (a leading "~" needs HOME)`
)

// blockError is a rejected value in one [[station.schedule]] block; Load
// names the key and finds its line.
type blockError struct {
	index    int    // the block's index in the station's schedule
	field    string // one of scheduleKeys, or an unknown key
	value    string
	expected string
	reason   string // instead of expected: what went wrong
}

func (e *blockError) Error() string {
	if e.reason != "" {
		return e.reason
	}
	return "expected " + e.expected
}

// scheduleBlocks reads [[station.schedule]] tables (or an inline array of
// tables) into slots, checking only the type of each value: the values
// themselves are checked once the station's other settings are known
// ([loader.checkSchedule]). The error is a *blockError for a bad block.
func scheduleBlocks(v any, _ string) (any, error) {
	var blocks []map[string]any
	switch b := v.(type) {
	case []map[string]any:
		blocks = b
	case []any:
		for _, it := range b {
			m, ok := it.(map[string]any)
			if !ok {
				return nil, errors.New(scheduleExpected)
			}
			blocks = append(blocks, m)
		}
	default:
		return nil, errors.New(scheduleExpected)
	}
	if len(blocks) == 0 {
		return []ScheduleSlot(nil), nil
	}
	out := make([]ScheduleSlot, len(blocks))
	for j, m := range blocks {
		if err := readBlock(&out[j], m); err != nil {
			err.index = j
			return nil, err
		}
	}
	return out, nil
}

// readBlock stores the values of one block in b.
func readBlock(b *ScheduleSlot, m map[string]any) *blockError {
	strField := map[string]*string{
		schedule.FieldName: &b.Name, schedule.FieldDays: &b.Days, schedule.FieldStart: &b.Start,
		schedule.FieldEnd: &b.End, schedule.FieldZone: &b.Zone, schedule.FieldPlays: &b.Plays, fieldFallback: &b.Fallback,
	}
	expected := map[string]string{
		schedule.FieldName: "a string", schedule.FieldDays: schedule.DaysExpected,
		schedule.FieldStart: schedule.ClockExpected, schedule.FieldEnd: schedule.ClockExpected,
		schedule.FieldZone: schedule.ZoneExpected, schedule.FieldPlays: playsExpected,
		fieldFallback: `a folder or a playlist file`, fieldCut: "true or false",
	}
	keys := scheduleKeys()
	for _, key := range keys {
		v, ok := m[key]
		if !ok {
			continue
		}
		if key == fieldCut {
			b.Cut, ok = v.(bool)
		} else {
			*strField[key], ok = v.(string)
		}
		if !ok {
			return &blockError{field: key, value: fmt.Sprint(v), expected: expected[key]}
		}
	}
	var unknown []string
	for key := range m {
		if !slices.Contains(keys, key) {
			unknown = append(unknown, key)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return &blockError{field: unknown[0], reason: reasonUnknownKey}
	}
	return nil
}

// slotOf parses one stored slot.
func slotOf(b ScheduleSlot) (schedule.Slot, error) {
	return schedule.Spec{Name: b.Name, Days: b.Days, Start: b.Start, End: b.End, Zone: b.Zone, Plays: b.Plays, Cut: b.Cut}.Slot()
}

// BuildSchedule returns the station's schedule: slot i is Schedule[i], its
// Plays a path or PlaysLive, and Dir plays outside every slot ("" for a
// station without a folder: nothing of its own). It reads Dir when
// called, so a folder substituted for Dir after Load is the default too.
// For a Station that Load returned the error is always nil; for one built
// in code it is a *schedule.FieldError (Index set) or a
// *schedule.OverlapError.
func (s *Station) BuildSchedule() (*schedule.Schedule, error) {
	slots := make([]schedule.Slot, len(s.Schedule))
	for i, b := range s.Schedule {
		sl, err := slotOf(b)
		if err != nil {
			if fe, ok := errors.AsType[*schedule.FieldError](err); ok {
				fe.Index = i
			}
			return nil, err
		}
		slots[i] = sl
	}
	return schedule.New(s.Dir, slots)
}

// LiveFallback is what live slot i (Schedule[i].Plays is PlaysLive) plays
// while no DJ is connected: its Fallback, else the station's Dir; "" for
// a station without a folder, which then behaves as outside its schedule
// (its fallback route, or off the air). It reads Dir when called.
func (s *Station) LiveFallback(i int) string {
	if f := s.Schedule[i].Fallback; f != "" {
		return f
	}
	return s.Dir
}

// checkSchedule checks a station's schedule blocks, once its mode and Dir
// are final and Config.Timezone is known, and stores them normalised (see
// [ScheduleSlot]). Errors name the block's key and its line; overlapping
// slots are refused naming both.
func (l *loader) checkSchedule(sl *slot, f *document) error {
	st := &sl.st
	if len(st.Schedule) == 0 {
		return nil
	}
	at := func(j int, key string) loc { return f.blockAt(sl.table, j, key) }
	if st.Mode == ModeIndividual {
		if where, ok := sl.given["mode"]; ok {
			return errAt("station.mode", string(st.Mode), "radio for a station with a schedule: shows play on one shared stream", where)
		}
		where := sl.given["schedule"]
		return &Error{Key: "station.schedule", Source: where.source, Line: where.line,
			Reason: `a schedule needs a radio-mode station; this one is individual by stream_mode (set mode = "radio")`}
	}
	if st.Dir == "" {
		where := sl.given["schedule"]
		return &Error{Key: "station.schedule", Source: where.source, Line: where.line,
			Reason: "a schedule needs the station's own dir, which plays between the shows; this station has none (live_only, or a relay or fallback without dir)"}
	}
	slots := make([]schedule.Slot, len(st.Schedule))
	for j := range st.Schedule {
		b := &st.Schedule[j]
		// A key the block leaves out is pointed at by the block's header.
		fail := func(field, value, expected string) error {
			return errAt("station.schedule."+field, value, expected, at(j, field))
		}
		b.Name, b.Zone = strings.TrimSpace(b.Name), strings.TrimSpace(b.Zone)
		if b.Zone == "" {
			b.Zone = l.cfg.Timezone // checked already
		}
		s, err := slotOf(*b)
		if fe, ok := errors.AsType[*schedule.FieldError](err); ok {
			return fail(fe.Field, fe.Value, fe.Expected)
		} else if err != nil {
			return err
		}
		b.Days, b.Start, b.End = s.Days.String(), s.Start.String(), s.End.String()

		if strings.EqualFold(strings.TrimSpace(b.Plays), PlaysLive) {
			b.Plays = PlaysLive
		} else {
			p, ok := slotPath(b.Plays, l.home)
			if !ok || p == "" {
				return fail(schedule.FieldPlays, b.Plays, playsExpected)
			}
			b.Plays = p
		}
		if strings.TrimSpace(b.Fallback) != "" {
			if b.Plays != PlaysLive {
				return fail(fieldFallback, b.Fallback, `no fallback on a slot that plays a folder (fallback is what a "live" slot plays while no DJ is connected)`)
			}
			p, ok := slotPath(b.Fallback, l.home)
			if !ok || strings.EqualFold(strings.TrimSpace(b.Fallback), PlaysLive) {
				return fail(fieldFallback, b.Fallback, `a folder or a playlist file, not "live" (a leading "~" needs HOME)`)
			}
			b.Fallback = p
		} else {
			b.Fallback = ""
		}
		s.Plays = b.Plays
		slots[j] = s
	}
	if _, err := schedule.New(st.Dir, slots); err != nil {
		oe, ok := errors.AsType[*schedule.OverlapError](err)
		if !ok {
			return err // the slots were checked one by one above
		}
		a, b := at(oe.A, ""), at(oe.B, "")
		first, second := oe.NameA, oe.NameB
		if a.line > 0 && a.line != b.line { // not one inline array
			first, second = fmt.Sprintf("%s at line %d", first, a.line), fmt.Sprintf("%s at line %d", second, b.line)
		}
		return &Error{Key: "station.schedule", Source: b.source, Line: b.line,
			Reason: fmt.Sprintf("slots %s and %s overlap: both would play at %s", first, second, oe.When)}
	}
	return nil
}

// slotPath expands and cleans a plays or fallback path like dir. A path
// that cleans to the word "live" (a folder named so) stays "./live".
func slotPath(p, home string) (string, bool) {
	out, ok := expandPath(p, home)
	if out == PlaysLive {
		out = "./" + PlaysLive
	}
	return out, ok
}

// checkJingles checks the jingle settings against each other and against
// what the station plays; it runs after checkSchedule.
func (sl *slot) checkJingles() error {
	st := &sl.st
	at := func(key string) loc { return sl.given[key] }
	switch {
	case st.Jingles == "" && st.JingleEvery != 0:
		return errAt("station.jingle_every", strconv.Itoa(st.JingleEvery), "jingle_every together with jingles (jingles is not set)", at("jingle_every"))
	case st.Jingles == "" && st.JingleInterval != 0:
		return errAt("station.jingle_interval", st.JingleInterval.String(), "jingle_interval together with jingles (jingles is not set)", at("jingle_interval"))
	case st.Jingles != "" && st.JingleEvery == 0 && st.JingleInterval == 0:
		return errAt("station.jingles", st.Jingles, "jingle_every or jingle_interval as well: jingles play after jingle_every tracks or once jingle_interval has passed; set one", at("jingles"))
	case st.Jingles != "" && st.Dir == "":
		return errAt("station.jingles", st.Jingles, "a station with its own dir: jingles play between its tracks, and this station has none", at("jingles"))
	}
	return nil
}

// warnProgramming adds the warnings of a station's schedule and jingles:
// paths that do not exist yet, and live slots no DJ can reach.
func (l *loader) warnProgramming(st *Station) {
	if st.Jingles != "" {
		l.warnPath("jingles", st.Jingles, "route "+st.Route, "no jingle plays until it does")
	}
	for i, b := range st.Schedule {
		owner := fmt.Sprintf("route %s, slot %s", st.Route, (&schedule.Slot{Name: b.Name}).Label(i))
		if b.Plays == PlaysLive {
			if st.SourcePassword == "" {
				l.warnf("%s is live, but the station has no source_password: no DJ can connect, so its fallback plays", owner)
			}
		} else {
			l.warnPath("plays", b.Plays, owner, "the show will wait for files")
		}
		if b.Fallback != "" {
			l.warnPath("fallback", b.Fallback, owner, "the show will wait for files")
		}
	}
}

// at is the block error as an Error at l.
func (e *blockError) at(l loc) *Error {
	key := "station.schedule." + e.field
	if e.reason != "" {
		return &Error{Key: key, Source: l.source, Line: l.line, Reason: e.reason}
	}
	return errAt(key, e.value, e.expected, l)
}
