package mount

import "time"

// clockedFrames are the frames of a clock-synced track (ClockSource):
// clockStart is the global frame of the first one and the timeline it is
// on.
type clockedFrames interface {
	clockStart() (first int64, clock FrameClock)
}

// clockTarget is where on the wall clock a clock-synced track taken now
// should start: one burst delay ago for the station's first audio (its
// pre-roll, released at once), else where the schedule stands, so a track
// follows the one before without a gap or an overlap. A schedule far from
// the clock (the station was idle, a stall, the clock stepped) is given up
// for the clock's now. The player goroutine only (a source's Next).
func (s *Station) clockTarget() time.Time {
	now := s.clock.Now()
	if !s.prerolled {
		return now.Add(-s.BurstDelay())
	}
	at := s.pacer.base.Add(s.pts)
	if d := now.Sub(at); d > s.pacer.MaxCatchup || d < -s.cfg.PublishInterval {
		return now
	}
	return at
}

// startClock anchors the schedule to the wall clock for a clock-synced
// track: the stream position now is due at the wall time of the track's
// first frame, so every block is due when its frames play on the
// timeline. The base has no monotonic reading: sleeps follow the wall
// clock, as the timeline does. The first track starts in the past (see
// clockTarget): catching up may release that much at once, as a pre-roll.
func (s *Station) startClock(c clockedFrames) (int64, FrameClock) {
	first, clock := c.clockStart()
	due := clock.Time(first)
	s.pacer.base = due.Add(-s.pts)
	s.pacer.started = true
	if !s.prerolled {
		s.prerolled = true
		s.pacer.MaxCatchup = max(s.pacer.MaxCatchup, s.clock.Now().Sub(due)+clock.Duration())
	}
	s.log.Debug("clock-synced track starts", "frame", first, "due", due)
	return first, clock
}

// offClock reports whether a clock-synced track's schedule lost the wall
// clock at the frame at pts: the process fell further behind than it may
// catch up (the pacer forgave some audio since forgiven), or the clock
// stepped back so far that the next frame is not due for a long while.
// The track then ends and the source starts the frame the clock says, so
// the station stays on the same frame as every other instance.
func (s *Station) offClock(pts, forgiven time.Duration) bool {
	behind := s.pacer.Behind(pts)
	switch {
	case s.pacer.Forgiven != forgiven, behind > s.pacer.MaxCatchup:
		s.log.Warn("clock-synced station fell behind the wall clock; skipping to the frame the clock says", "behind", behind.String())
		return true
	case behind < -(s.cfg.PublishInterval + s.pacer.MaxCatchup):
		s.log.Warn("the wall clock went back; starting the frame the clock says", "ahead", (-behind).String())
		return true
	}
	return false
}
