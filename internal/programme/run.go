package programme

import (
	"context"
	"errors"
	"path/filepath"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/schedule"
)

// maxSleep bounds one wait of Run: the wall clock may be set, or the
// machine suspended, while a timer runs on the monotonic clock, so Run
// looks at the wall clock at least this often.
const maxSleep = time.Minute

// Run scans the libraries of the shows and the jingles (Rescan), then
// follows the schedule until ctx ends: at every change of show it calls
// the flush control, so the tracks opened ahead for the old show are
// given back and the new one is heard from the next track end; when the
// change cuts (schedule.Cuts: either show has Cut set) it then calls skip
// too, so the new show starts at once. It returns at once without a
// schedule, or when ctx ends. The caller owns its goroutine.
func (p *Programme) Run(ctx context.Context) {
	if err := p.Rescan(); err != nil {
		p.log.Warn("programme: scanning show and jingle libraries", "err", err)
	}
	if p.sched == nil || len(p.sched.Slots()) == 0 {
		return
	}
	current := p.onAir(p.clock.Now())
	for {
		now := p.clock.Now()
		if active := p.onAir(now); switches(current, active) {
			p.change(current, active)
			current = active
		}
		wake := p.sched.NextChange(now)
		if limit := now.Add(maxSleep); wake.IsZero() || wake.After(limit) {
			wake = limit
		}
		if err := p.clock.SleepUntil(ctx, wake); err != nil || ctx.Err() != nil {
			return
		}
	}
}

// switches reports whether going from one airing to the next changes
// anything: consecutive airings of one slot (a daily 00:00-24:00) do not.
func switches(from, to schedule.Occurrence) bool {
	return from.Index != to.Index || from.Plays != to.Plays
}

// change tells the station that the show changed.
func (p *Programme) change(from, to schedule.Occurrence) {
	cut := schedule.Cuts(from, to)
	p.log.Info("programme: show change", "from", showLabel(from), "to", showLabel(to), "cut", cut)
	p.mu.Lock()
	flush, skip := p.flush, p.skip
	p.mu.Unlock()
	if flush != nil {
		flush()
	}
	if cut && skip != nil {
		skip()
	}
}

func showLabel(o schedule.Occurrence) string {
	if o.IsDefault() {
		return "(default)"
	}
	return o.Slot.Label(o.Index)
}

// Rescan scans the libraries of the shows and the jingles (not the
// station's own: its mountpoint does), for a reload; the error joins
// those of the scans that failed (a missing folder, one without playable
// files). A show with nothing playable plays the station's music.
func (p *Programme) Rescan() error {
	var errs []error
	for _, lib := range p.libraries {
		if _, err := lib.Scan(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// plays is what Status shows of an airing's Plays: "live", or the base
// name of the folder or playlist file, never a path.
func plays(s string) string {
	if s == config.PlaysLive || s == "" {
		return s
	}
	return filepath.Base(s)
}
