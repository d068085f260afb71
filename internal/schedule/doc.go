// Package schedule is the time logic of station schedules: which slot is
// on the air at an instant, when it started, when it ends and what comes
// next. It reads no clock and starts no goroutine: every answer is a pure
// function of the instant it is asked about, so tests pass any time they
// like and the caller owns the timer.
//
// # The model
//
// A slot is a wall-clock time of day in its own time zone, on some days of
// the week: "mon-fri 07:00-10:00 Europe/Berlin" is on the air whenever a
// clock on a wall in Berlin shows a weekday between 07:00 and 10:00. An end
// before the start crosses midnight: "fri 22:00-02:00" starts on Friday
// night and runs into Saturday, so Saturday 01:00 is inside it (the days
// name the day a slot starts). "24:00" is allowed as an end, so a whole day
// is 00:00-24:00; an end equal to the start is an error (it would be
// unclear whether the slot is empty or a whole day long).
//
// Each slot keeps its own zone, so one schedule may mix a show at 09:00 in
// New York with one at 20:00 in Berlin. Outside every slot the schedule's
// default plays. What a slot plays (a folder, a playlist file, "live") is
// an opaque string the caller interprets.
//
// An occurrence is one concrete airing of a slot (or of the default) with
// absolute start and end instants. [Schedule.At] gives the occurrence in
// force at an instant and the one that follows it; [Schedule.NextChange]
// gives the instant they swap, for the caller's timer.
//
// # Daylight saving time
//
// A wall-clock time becomes an instant by one rule, the same for starts and
// ends: it is the first moment a clock on the wall reaches that time. So:
//
//   - A time the clock shows twice (the hour repeated when clocks go back)
//     means the first time it is shown. A slot starting at 02:30 on the
//     fall-back day starts once, at the first 02:30; a slot from 02:50 to
//     03:10 that day runs 80 real minutes, through the repeated hour,
//     because the first time the clock then shows 03:10 is after it.
//   - A time the clock skips (the hour lost when clocks go forward) means
//     the moment the clock skips to. On the spring-forward day in
//     Europe/Berlin (02:00 becomes 03:00) a 02:00-03:00 slot does not occur
//     at all, a 02:30-04:00 slot is shortened to 03:00-04:00, and a
//     01:30-02:30 slot to 01:30-02:00 of real time.
//
// Both rules map wall-clock times to instants in order, so slots that do
// not overlap on the wall clock never overlap in real time, and back-to-back
// slots stay back to back across a change: no gap, no double airing. A
// slot's length in real time is its wall-clock length, minus or plus the
// change when one falls inside it (1 hour, or 30 minutes in
// Australia/Lord_Howe).
//
// # Overlaps
//
// Two slots that would ever be on the air at the same instant are an error
// when the schedule is built ([New] returns an [*OverlapError] naming
// both): an operator who writes two shows for the same hour has made a
// mistake and wants to hear it at load, not find out which one a "first
// wins" rule picked. Slots in one zone are compared exactly on the weekly
// wall clock. Slots in different zones move against each other when their
// zones change clocks on different dates, so they are compared occurrence
// by occurrence over [CheckYears] years from [CheckYear], a fixed window so
// that a configuration is valid or not whatever the date it is loaded.
//
// # Time zones
//
// Zones are IANA names loaded with [time.LoadLocation]. The package imports
// time/tzdata, so the zone database is in the binary (about 400 KB) and
// images without /usr/share/zoneinfo still know every zone; a system
// database, when present, is preferred by the time package.
package schedule
