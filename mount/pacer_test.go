package mount

import (
	"context"
	"testing"
	"time"
)

// fakeClock advances only when someone sleeps (or the test jumps it), so a
// schedule can be checked exactly and instantly.
type fakeClock struct {
	now    time.Time
	sleeps int
	// jump, when set, is added to the clock at sleep number jumpAt: a stall.
	jumpAt int
	jump   time.Duration
}

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) SleepUntil(ctx context.Context, t time.Time) error {
	c.sleeps++
	if t.After(c.now) {
		c.now = t
	}
	if c.jumpAt != 0 && c.sleeps == c.jumpAt {
		c.now = c.now.Add(c.jump)
	}
	return ctx.Err()
}

func TestPacerSchedule(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1000, 0)}
	p := &Pacer{Clock: clock, MaxCatchup: 4 * time.Second}
	start := clock.now
	frame := 1152 * time.Second / 44100
	var pts time.Duration
	// Ten minutes of frames, released in batches of 8 (≈ 209 ms).
	for n := 0; pts < 10*time.Minute; n += 8 {
		pts = time.Duration(int64(n) * 1152 * int64(time.Second) / 44100)
		due, err := p.Release(context.Background(), pts)
		if err != nil {
			t.Fatal(err)
		}
		if !due.Equal(start.Add(pts)) {
			t.Fatalf("frame %d due %v, want start+%v", n, due.Sub(start), pts)
		}
		// Released audio (frames 0..n) never runs ahead of the clock by
		// more than the frame being released, nor behind at all.
		ahead := pts + frame - clock.now.Sub(start)
		if ahead < 0 || ahead > frame {
			t.Fatalf("frame %d: released audio is %v ahead of wall time", n, ahead)
		}
	}
	if drift := clock.now.Sub(start) - pts; drift != 0 {
		t.Fatalf("after 10 min the clock is %v off the audio", drift)
	}
}

func TestPacerCatchesUpAtMostMaxCatchup(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1000, 0), jumpAt: 50, jump: 30 * time.Second}
	p := &Pacer{Clock: clock, MaxCatchup: 4 * time.Second}
	step := 200 * time.Millisecond
	releasedAtOnce, maxAtOnce := time.Duration(0), time.Duration(0)
	last := clock.now
	for i := 0; i < 200; i++ {
		if _, err := p.Release(context.Background(), time.Duration(i)*step); err != nil {
			t.Fatal(err)
		}
		if clock.now.Equal(last) {
			releasedAtOnce += step
		} else {
			releasedAtOnce = step
		}
		last = clock.now
		maxAtOnce = max(maxAtOnce, releasedAtOnce)
	}
	if maxAtOnce > 4*time.Second+2*step { // the batch in flight plus the one that met the stall
		t.Fatalf("released %v of audio at once after a stall, limit 4s", maxAtOnce)
	}
	if maxAtOnce < 4*time.Second {
		t.Fatalf("released only %v at once: the pacer did not catch up", maxAtOnce)
	}
	if p.Forgiven != 30*time.Second-step-4*time.Second { // the stall, less the batch that was due anyway and the catch-up
		t.Fatalf("forgave %v, want 25.8s", p.Forgiven)
	}
}
