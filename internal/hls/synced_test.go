package hls

import (
	"bytes"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

// syncClock is the timeline of the test's 44.1 kHz frames.
var syncClock = mount.FrameClockFor(44100)

// syncRun is a clock-synced track: global frames first..first+n-1, each
// carrying its offset from base as its testmedia index.
type syncRun struct {
	track *mount.TrackInfo
	first int64
	n     int
}

// syncedBlocks cuts runs into blocks as a clock-synced station publishes
// them: sizes in turn (the last block of a run shorter), Due exactly the
// clock's time of SyncFrame.
func syncedBlocks(base int64, sizes []int, runs ...syncRun) []*mount.Block {
	var out []*mount.Block
	k := 0
	for _, r := range runs {
		for i := 0; i < r.n; k++ {
			n := min(sizes[k%len(sizes)], r.n-i)
			g := r.first + int64(i)
			data := testmedia.FramesFrom(uint32(g-base), n)
			b := &mount.Block{Data: data, FrameDur: syncClock.Duration(), Track: r.track, Due: syncClock.Time(g), SyncFrame: g}
			for f := range n {
				b.Frames = append(b.Frames, int32(f*len(data)/n))
			}
			out = append(out, b)
			i += n
		}
	}
	return out
}

// Two instances of a clock-synced station, with different block sizes
// (so Due + i × FrameDur would round differently) and started at
// different moments, mid-slot, publish the same segments: same names,
// same sequence numbers, same bytes; every segment is one whole Target
// slot of global frames, numbered by the slot, and a track change inside
// one does not cut it.
func TestSyncedSegmentsAreTheSameOnEveryInstance(t *testing.T) {
	base := syncClock.FrameAt(epoch) + 37 // 37 frames into a slot
	a, b := track("A", "One"), track("B", "Two")
	runs := []syncRun{{track: a, first: base, n: 700}, {track: b, first: base + 700, n: 1500}}
	early := New(Config{Keep: 100})
	feed(early, syncedBlocks(base, []int{11}, runs...))
	late := New(Config{Keep: 100})
	lateBlocks := syncedBlocks(base, []int{3, 17, 8}, runs...)
	feed(late, lateBlocks[len(lateBlocks)/4:]) // joined several seconds later

	byName := map[string]*Segment{}
	for i, seg := range all(early) {
		byName[seg.Name] = seg
		_, idx := framesOf(t, seg)
		first := base + int64(idx[0])
		slot := syncClock.Time(first).UnixNano() / int64(4*time.Second)
		if seg.Seq != uint64(slot) || !seg.Start.Equal(syncClock.Time(first)) {
			t.Fatalf("segment %d: seq %d starting %v, want slot %d starting at frame %d's time %v", i, seg.Seq, seg.Start, slot, first, syncClock.Time(first))
		}
		// Whole slot: the frame before the first and the one after the
		// last lie in other slots, and the frames are consecutive.
		last := base + int64(idx[len(idx)-1])
		if syncClock.Time(first-1).UnixNano()/int64(4*time.Second) == slot || syncClock.Time(last+1).UnixNano()/int64(4*time.Second) == slot {
			t.Fatalf("segment %d (frames %d..%d) is not all of slot %d", i, first, last, slot)
		}
		if int64(len(idx)) != last-first+1 {
			t.Fatalf("segment %d has %d frames for %d..%d", i, len(idx), first, last)
		}
		if want := syncClock.Time(last + 1).Sub(seg.Start); seg.Duration != want {
			t.Errorf("segment %d: duration %v, want %v", i, seg.Duration, want)
		}
		wantTitle := "One"
		if first >= base+700 {
			wantTitle = "Two"
		}
		if seg.Title != wantTitle {
			t.Errorf("segment %d (from frame %d) has title %q, want its first frame's %q", i, first, seg.Title, wantTitle)
		}
		if i > 0 && seg.Seq != all(early)[i-1].Seq+1 {
			t.Errorf("segment %d: seq %d after %d", i, seg.Seq, all(early)[i-1].Seq)
		}
	}
	if first := all(early)[0]; syncClock.FrameAt(first.Start) <= base {
		t.Errorf("the first segment starts at the station's first frame, mid-slot")
	}
	lateSegs := all(late)
	if len(lateSegs) < 5 {
		t.Fatalf("the late instance made %d segments", len(lateSegs))
	}
	for _, seg := range lateSegs {
		other := byName[seg.Name]
		if other == nil {
			t.Fatalf("segment %s of the late instance is not one of the early one's", seg.Name)
		}
		if seg.Seq != other.Seq || !bytes.Equal(seg.Data, other.Data) || seg.Duration != other.Duration || !seg.Start.Equal(other.Start) {
			t.Errorf("segment %s differs: seq %d/%d, %d/%d bytes, %v/%v", seg.Name, seg.Seq, other.Seq, len(seg.Data), len(other.Data), seg.Duration, other.Duration)
		}
	}
}

// A clock-synced station that skips frames (it fell behind and jumped to
// the frame the clock says) does not publish the slot it saw only part
// of, under a name and number other instances give the whole slot; its
// playlist starts after the break, with a discontinuity.
func TestSyncedSkipDropsThePartialSegment(t *testing.T) {
	base := syncClock.FrameAt(epoch)
	song := track("A", "Song")
	s := New(Config{Keep: 100})
	feed(s, syncedBlocks(base, []int{10}, syncRun{track: song, first: base, n: 300}))
	before := all(s)
	// Skip 30 frames in the middle of a slot.
	feed(s, syncedBlocks(base, []int{10}, syncRun{track: song, first: base + 330, n: 600}))
	segs := all(s)
	if len(before) == 0 || len(segs) <= len(before) {
		t.Fatalf("%d segments before the skip, %d in all", len(before), len(segs))
	}
	for i, seg := range segs {
		_, idx := framesOf(t, seg)
		for j := 1; j < len(idx); j++ {
			if idx[j] != idx[j-1]+1 {
				t.Fatalf("segment %d holds frames %d then %d", i, idx[j-1], idx[j])
			}
		}
	}
	// The slot in progress at the skip and the one the skip lands in are
	// both seen in part; the next whole one follows.
	slotOf := func(g int64) uint64 { return uint64(syncClock.Time(g).UnixNano() / int64(4*time.Second)) }
	if slotOf(base+330) != slotOf(base+329) || slotOf(base+299) != before[len(before)-1].Seq+1 {
		t.Fatal("the skip is not in the middle of a slot after an unfinished one; the test's numbers are wrong")
	}
	after := segs[len(before)]
	if want := slotOf(base+330) + 1; after.Seq != want || !after.Discontinuity {
		t.Fatalf("after the skip: seq %d (discontinuity %v), want %d; the last before was %d", after.Seq, after.Discontinuity, want, before[len(before)-1].Seq)
	}
	listed := s.Listed()
	if listed[0] != after {
		t.Errorf("the playlist lists from seq %d, want %d (no break in its numbering)", listed[0].Seq, after.Seq)
	}
}
