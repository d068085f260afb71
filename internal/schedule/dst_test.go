package schedule

import "testing"

// Europe/Berlin 2025: clocks go forward on 30 March at 02:00 CET (to
// 03:00 CEST, 01:00Z) and back on 26 October at 03:00 CEST (to 02:00 CET,
// 01:00Z).

func TestBerlinSpringForward(t *testing.T) {
	// A slot wholly in the skipped hour does not occur that day.
	gap := mustNew(t, "folder", slot(t, "gap", "daily", "02:00", "03:00", "Europe/Berlin"))
	runAt(t, gap, []atCase{
		{"2025-03-29T02:30:00+01:00", want{"gap", "2025-03-29T02:00:00+01:00", "2025-03-29T03:00:00+01:00"}, want{"", "2025-03-29T03:00:00+01:00", "2025-03-31T02:00:00+02:00"}},
		{"2025-03-30T01:59:59+01:00", want{"", "2025-03-29T03:00:00+01:00", "2025-03-31T02:00:00+02:00"}, want{"gap", "2025-03-31T02:00:00+02:00", "2025-03-31T03:00:00+02:00"}},
		{"2025-03-30T03:00:00+02:00", want{"", "2025-03-29T03:00:00+01:00", "2025-03-31T02:00:00+02:00"}, want{"gap", "2025-03-31T02:00:00+02:00", "2025-03-31T03:00:00+02:00"}},
	})
	// Slots partly in it are shortened, and back-to-back slots stay so.
	s := mustNew(t, "folder",
		slot(t, "early", "sun", "01:00", "02:30", "Europe/Berlin"),
		slot(t, "late", "sun", "02:30", "04:00", "Europe/Berlin"),
	)
	runAt(t, s, []atCase{
		{"2025-03-30T01:59:59+01:00", want{"early", "2025-03-30T01:00:00+01:00", "2025-03-30T03:00:00+02:00"}, want{"late", "2025-03-30T03:00:00+02:00", "2025-03-30T04:00:00+02:00"}},
		{"2025-03-30T03:00:00+02:00", want{"late", "2025-03-30T03:00:00+02:00", "2025-03-30T04:00:00+02:00"}, want{"", "2025-03-30T04:00:00+02:00", "2025-04-06T01:00:00+02:00"}},
		// A week later both are whole again.
		{"2025-04-06T02:29:00+02:00", want{"early", "2025-04-06T01:00:00+02:00", "2025-04-06T02:30:00+02:00"}, want{"late", "2025-04-06T02:30:00+02:00", "2025-04-06T04:00:00+02:00"}},
	})
}

func TestBerlinFallBack(t *testing.T) {
	s := mustNew(t, "folder",
		slot(t, "night", "sat", "22:00", "02:00", "Europe/Berlin"), // crosses midnight into the change day
		slot(t, "short", "sun", "02:00", "02:30", "Europe/Berlin"), // in the repeated hour: once, the first time
		slot(t, "through", "sun", "02:50", "03:10", "Europe/Berlin"),
	)
	runAt(t, s, []atCase{
		{"2025-10-26T01:59:00+02:00", want{"night", "2025-10-25T22:00:00+02:00", "2025-10-26T02:00:00+02:00"}, want{"short", "2025-10-26T02:00:00+02:00", "2025-10-26T02:30:00+02:00"}},
		{"2025-10-26T02:15:00+02:00", want{"short", "2025-10-26T02:00:00+02:00", "2025-10-26T02:30:00+02:00"}, want{"", "2025-10-26T02:30:00+02:00", "2025-10-26T02:50:00+02:00"}},
		// The second 02:15 (CET) is not in "short" again.
		{"2025-10-26T02:15:00+01:00", want{"through", "2025-10-26T02:50:00+02:00", "2025-10-26T03:10:00+01:00"}, want{"", "2025-10-26T03:10:00+01:00", "2025-11-01T22:00:00+01:00"}},
		// 02:50-03:10 runs through the repeated hour: 80 real minutes.
		{"2025-10-26T02:55:00+02:00", want{"through", "2025-10-26T02:50:00+02:00", "2025-10-26T03:10:00+01:00"}, want{"", "2025-10-26T03:10:00+01:00", "2025-11-01T22:00:00+01:00"}},
	})
	// A 02:30 start happens once, at the first 02:30.
	once := mustNew(t, "folder", slot(t, "once", "sun", "02:30", "03:30", "Europe/Berlin"))
	a, _ := once.At(ts(t, "2025-10-26T02:29:59+02:00"))
	b, _ := once.At(ts(t, "2025-10-26T02:30:00+02:00"))
	c, _ := once.At(ts(t, "2025-10-26T02:30:00+01:00"))
	if !a.IsDefault() || b.Name() != "once" || !b.Start.Equal(ts(t, "2025-10-26T00:30:00Z")) || !c.Same(b) || !b.End.Equal(ts(t, "2025-10-26T03:30:00+01:00")) {
		t.Errorf("02:30 on the fall-back day: %+v / %+v / %+v", a, b, c)
	}
	if n := once.NextChange(ts(t, "2025-10-26T02:30:00+01:00")); !n.Equal(ts(t, "2025-10-26T03:30:00+01:00")) {
		t.Errorf("NextChange in the second pass: %s", fmtT(n))
	}
	// A night show across the change lasts an hour longer.
	night := mustNew(t, "folder", slot(t, "night", "sat", "22:00", "04:00", "Europe/Berlin"))
	if o, _ := night.At(ts(t, "2025-10-26T03:59:00+01:00")); o.End.Sub(o.Start).Hours() != 7 {
		t.Errorf("22:00-04:00 across fall-back: %s to %s", fmtT(o.Start), fmtT(o.End))
	}
}

// America/New_York 2025: forward on 9 March at 02:00 EST (07:00Z), back on
// 2 November at 02:00 EDT (06:00Z) to 01:00 EST.
func TestNewYorkDST(t *testing.T) {
	gap := mustNew(t, "folder", slot(t, "gap", "sun", "02:15", "02:45", "America/New_York"))
	runAt(t, gap, []atCase{
		{"2025-03-09T01:59:00-05:00", want{"", "2025-03-02T02:45:00-05:00", "2025-03-16T02:15:00-04:00"}, want{"gap", "2025-03-16T02:15:00-04:00", "2025-03-16T02:45:00-04:00"}},
	})
	cross := mustNew(t, "folder", slot(t, "cross", "sat", "23:00", "02:30", "America/New_York"))
	runAt(t, cross, []atCase{
		// 3.5 wall-clock hours, half an hour of them skipped.
		{"2025-03-09T01:00:00-05:00", want{"cross", "2025-03-08T23:00:00-05:00", "2025-03-09T03:00:00-04:00"}, want{"", "2025-03-09T03:00:00-04:00", "2025-03-15T23:00:00-04:00"}},
		// Across the fall-back: 23:00 EDT to 02:30 EST, 4.5 hours.
		{"2025-11-02T01:30:00-05:00", want{"cross", "2025-11-01T23:00:00-04:00", "2025-11-02T02:30:00-05:00"}, want{"", "2025-11-02T02:30:00-05:00", "2025-11-08T23:00:00-05:00"}},
	})
	fold := mustNew(t, "folder",
		slot(t, "first", "sun", "00:30", "01:30", "America/New_York"),
		slot(t, "fold", "sun", "01:30", "02:30", "America/New_York"),
	)
	runAt(t, fold, []atCase{
		{"2025-11-02T01:00:00-04:00", want{"first", "2025-11-02T00:30:00-04:00", "2025-11-02T01:30:00-04:00"}, want{"fold", "2025-11-02T01:30:00-04:00", "2025-11-02T02:30:00-05:00"}},
		// The second 01:00 (EST) is inside "fold", which runs two real hours.
		{"2025-11-02T01:00:00-05:00", want{"fold", "2025-11-02T01:30:00-04:00", "2025-11-02T02:30:00-05:00"}, want{"", "2025-11-02T02:30:00-05:00", "2025-11-09T00:30:00-05:00"}},
	})
}

// Australia/Lord_Howe changes by 30 minutes: back on 6 April 2025 at 02:00
// (+11:00 to +10:30, 15:00Z on the 5th), forward on 5 October at 02:00
// (+10:30 to +11:00, 15:30Z on the 4th).
func TestLordHowe(t *testing.T) {
	fold := mustNew(t, "folder",
		slot(t, "before", "sun", "01:30", "01:45", "Australia/Lord_Howe"),
		slot(t, "fold", "sun", "01:45", "02:15", "Australia/Lord_Howe"),
	)
	runAt(t, fold, []atCase{
		{"2025-04-06T01:35:00+11:00", want{"before", "2025-04-06T01:30:00+11:00", "2025-04-06T01:45:00+11:00"}, want{"fold", "2025-04-06T01:45:00+11:00", "2025-04-06T02:15:00+10:30"}},
		// The second 01:35 (+10:30) is inside "fold": 01:45 to 02:15 lasts an hour.
		{"2025-04-06T01:35:00+10:30", want{"fold", "2025-04-06T01:45:00+11:00", "2025-04-06T02:15:00+10:30"}, want{"", "2025-04-06T02:15:00+10:30", "2025-04-13T01:30:00+10:30"}},
	})
	gap := mustNew(t, "folder",
		slot(t, "gap", "sun", "02:00", "02:30", "Australia/Lord_Howe"),
		slot(t, "partial", "sun", "02:30", "03:00", "Australia/Lord_Howe"),
		slot(t, "cut", "sat", "23:00", "02:00", "Australia/Lord_Howe"),
	)
	runAt(t, gap, []atCase{
		// 02:00 +10:30 is 02:30 +11:00: "cut" ends there, "gap" does not occur, "partial" is whole.
		{"2025-10-05T01:59:00+10:30", want{"cut", "2025-10-04T23:00:00+10:30", "2025-10-05T02:30:00+11:00"}, want{"partial", "2025-10-05T02:30:00+11:00", "2025-10-05T03:00:00+11:00"}},
		{"2025-10-05T02:30:00+11:00", want{"partial", "2025-10-05T02:30:00+11:00", "2025-10-05T03:00:00+11:00"}, want{"", "2025-10-05T03:00:00+11:00", "2025-10-11T23:00:00+11:00"}},
	})
}
