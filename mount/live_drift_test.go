package mount

import (
	"bytes"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// A source on its own clock, 0.1 % fast or slow, bursting 5 s on
// connect or not, plays for 20 simulated minutes (long enough for 0.1 %
// to cross the jitter buffer's margins at least once each way). Every
// frame it sent is due on the station at most Buffer + 1 s after it
// arrived, however long the run; the stream's frames play in order,
// whole, with gaps only where frames were dropped (counted) and silent
// frames of the stream's format only where the buffer ran dry (counted).
func TestLiveClockDriftStaysBounded(t *testing.T) {
	const minutes = 20
	for _, tc := range []struct {
		name  string
		speed float64
		burst time.Duration
		// what the run must have needed
		drops, inserts bool
	}{
		{"fast", 1.001, 0, true, false},
		{"slow", 0.999, 0, false, true},
		{"burst on connect, then fast", 1.001, 5 * time.Second, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newLiveRig(t, nil)
			r.step(2 * time.Second) // the folder plays
			r.attach(StreamInfo{Name: "Live"})
			total := float64(minutes * time.Minute)
			n := int(total / liveFrameNs)
			burst := int(float64(tc.burst) / liveFrameNs)
			sent := r.sendPaced(r.clk.Now(), 1_000_000, n, burst, tc.speed)
			if err := r.hangUp(); err != nil {
				t.Fatalf("Stream: %v", err)
			}
			r.waitTrack("Folder - B")
			r.sleepQuiet()

			limit := r.live.buffer() + time.Second
			silent := silentFrame(testmedia.FramesFrom(0, 1))
			var worst time.Duration
			var live, inserted, missing int
			last := -1
			for _, f := range r.ringFrames() {
				if f.track.Display != "Live" {
					continue
				}
				if len(f.data) != 417 || !bytes.Equal(f.data[:4], silent[:4]) {
					t.Fatalf("live frame %d is not a frame of the stream's format: % x", live, f.data[:4])
				}
				live++
				if bytes.Equal(f.data, silent) {
					inserted++
					continue
				}
				k := int(testmedia.FrameIndex(f.data)) - 1_000_000
				if k <= last || k >= n {
					t.Fatalf("stream frame %d played after frame %d", k, last)
				}
				missing += k - last - 1
				last = k
				delay := f.due.Sub(sent[k])
				if delay > limit {
					t.Fatalf("frame %d (sent %v in) is due %v after it arrived, limit %v",
						k, sent[k].Sub(sent[0]), delay, limit)
				}
				if delay < 0 {
					t.Fatalf("frame %d is due before it arrived (%v)", k, delay)
				}
				worst = max(worst, delay)
			}
			if last != n-1 {
				t.Fatalf("the stream's last frame played was %d of %d: its end was lost", last, n)
			}
			st := r.live.Status()
			if int64(missing) != st.Dropped || int64(inserted) != st.Inserted {
				t.Fatalf("%d frames missing and %d silent on the air; Status says %d dropped, %d inserted",
					missing, inserted, st.Dropped, st.Inserted)
			}
			if tc.drops != (missing > 0) || tc.inserts != (inserted > 0) {
				t.Fatalf("%d frames dropped, %d silent frames: want drops %v, silence %v", missing, inserted, tc.drops, tc.inserts)
			}
			if tc.burst > 0 && missing < burst-int(float64(limit)/liveFrameNs) {
				t.Fatalf("a %v burst lost only %d frames: not trimmed to the bound", tc.burst, missing)
			}
			t.Logf("worst delay %v, dropped %d, inserted %d", worst, missing, inserted)
		})
	}
}
