package mount

import (
	"context"
	"time"
)

// Clock is the time source of a station. Real stations use SystemClock;
// tests use a fake one to check the schedule without waiting.
type Clock interface {
	Now() time.Time
	// SleepUntil returns when t has come or ctx is done.
	SleepUntil(ctx context.Context, t time.Time) error
}

// SystemClock is the monotonic wall clock.
type SystemClock struct{}

// Now returns time.Now, which carries a monotonic reading.
func (SystemClock) Now() time.Time { return time.Now() }

// SleepUntil waits on a timer.
func (SystemClock) SleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Pacer releases audio on a real-time schedule: the frame that starts at
// stream position pts is due at base+pts. Due times are computed from the
// start, never from the previous sleep, so sleep error does not accumulate.
//
// After a stall (a suspended process, a long GC) the pacer catches up by
// releasing what is overdue at once, but never more than MaxCatchup of
// audio: the rest of the debt is forgiven by moving base forward, so a stall
// never floods listeners with more than a burst.
type Pacer struct {
	Clock      Clock
	MaxCatchup time.Duration

	base    time.Time
	started bool
	// Forgiven is the total audio time skipped by stalls and idle gaps.
	Forgiven time.Duration
}

// Restart makes pts due now: used at the start and after an idle gap (no
// playable track), where catching up would be pointless.
func (p *Pacer) Restart(pts time.Duration) {
	now := p.Clock.Now()
	if p.started {
		p.Forgiven += now.Sub(p.base.Add(pts))
	}
	p.base = now.Add(-pts)
	p.started = true
}

// StartAhead starts the schedule with ahead of audio already due: the
// audio at pts+ahead is due now, so what comes before it is released at
// once. Catching up is allowed to release that much. It is the start, not
// a gap, so nothing counts as forgiven.
func (p *Pacer) StartAhead(pts, ahead time.Duration) {
	p.base = p.Clock.Now().Add(-pts - ahead)
	p.started = true
	p.MaxCatchup = max(p.MaxCatchup, ahead)
}

// Behind is how late the audio at pts is on the schedule now (negative
// when it is not due yet; 0 before the schedule starts).
func (p *Pacer) Behind(pts time.Duration) time.Duration {
	if !p.started {
		return 0
	}
	return p.Clock.Now().Sub(p.base.Add(pts))
}

// Release waits until the audio at pts is due and returns that due time.
func (p *Pacer) Release(ctx context.Context, pts time.Duration) (time.Time, error) {
	if !p.started {
		p.Restart(pts)
	}
	due := p.base.Add(pts)
	now := p.Clock.Now()
	if late := now.Sub(due); late > p.MaxCatchup {
		skip := late - p.MaxCatchup
		p.base = p.base.Add(skip)
		p.Forgiven += skip
		due = p.base.Add(pts)
	}
	if due.After(now) {
		if err := p.Clock.SleepUntil(ctx, due); err != nil {
			return due, err
		}
	}
	return due, ctx.Err()
}
