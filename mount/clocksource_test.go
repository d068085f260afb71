package mount

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// fileBase spaces the frame counters of the files of clockFolder: frame k
// of file i carries i×fileBase+k.
const fileBase = 100_000

// clockFolder writes one MP3 per count (00.mp3, 01.mp3, …) with that many
// frames; the first starts with an ID3v2 tag and a Xing frame, which are
// not audio, the last ends with an ID3v1 tag.
func clockFolder(t *testing.T, counts ...int) string {
	t.Helper()
	dir := t.TempDir()
	for i, n := range counts {
		parts := [][]byte{testmedia.ID3v2("Artist", fmt.Sprintf("Track %d", i), 0)}
		if i == 0 {
			parts = append(parts, testmedia.XingFrame("Xing"))
		}
		parts = append(parts, testmedia.FramesFrom(uint32(i*fileBase), n))
		if i == len(counts)-1 {
			parts = append(parts, testmedia.ID3v1("Artist", "last"))
		}
		testmedia.WriteFile(t, dir, fmt.Sprintf("%02d.mp3", i), parts...)
	}
	return dir
}

// scanned is a freshly scanned library of dir: each instance has its own.
func scanned(t *testing.T, dir string) *playlist.Library {
	t.Helper()
	lib := playlist.NewLibrary(dir, playlist.LibraryOptions{})
	if _, err := lib.Scan(); err != nil {
		t.Fatal(err)
	}
	return lib
}

// clockRig runs clock-synced stations on one simulated clock; the test
// moves it, once every running station sleeps.
type clockRig struct {
	t        *testing.T
	clk      *simClock
	poll     time.Duration // ClockSource.Poll (0: an hour: no rescans)
	stations []*Station
	sources  []*ClockSource
	mu       sync.Mutex
	skipped  []string
}

func newClockRig(t *testing.T, start time.Time) *clockRig {
	clk := newSimClock()
	clk.now = start
	return &clockRig{t: t, clk: clk}
}

// start runs a station playing lib and returns once it has published its
// pre-roll and sleeps.
func (r *clockRig) start(lib *playlist.Library, shuffle bool) *Station {
	r.t.Helper()
	poll := r.poll
	if poll == 0 {
		poll = time.Hour
	}
	src := &ClockSource{Library: lib, Sync: FrameClockFor(44100), Shuffle: shuffle, Seed: SeedOf("/sync"), Poll: poll}
	st := New(Config{
		Route: "/sync", Burst: 2 * time.Second, PublishInterval: 200 * time.Millisecond,
		BufferSize: 64 << 20, Clock: r.clk,
		OnSkip: func(path string, _ error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.skipped = append(r.skipped, filepath.Base(path))
		},
	}, src)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { st.Run(ctx); close(done) }()
	r.t.Cleanup(func() { cancel(); <-done })
	r.clk.sleepers(r.t, len(r.stations)+1, nil)
	r.stations = append(r.stations, st)
	r.sources = append(r.sources, src)
	return st
}

// stepTo moves the clock to at, through every wake-up on the way.
func (r *clockRig) stepTo(at time.Time) {
	r.t.Helper()
	for len(r.stations) > 0 {
		next, _ := r.clk.sleepers(r.t, len(r.stations), nil)
		if next.After(at) {
			r.clk.advance(at)
			return
		}
		r.clk.advance(next)
	}
	r.clk.advance(at)
}

// blocks lists what st has published, oldest first.
func blocks(st *Station) []*Block {
	var out []*Block
	for b := st.ring.Head(); b != nil; b = b.Next() {
		out = append(out, b)
	}
	return out
}

// counterAt is the frame counter the timeline puts at global frame f.
func counterAt(tl Timeline, f int64) uint32 {
	i, off := tl.At(f)
	return uint32(int64(i)*fileBase + off)
}

// frameAt returns frame i of b.
func frameAt(b *Block, i int) []byte {
	end := len(b.Data)
	if i+1 < len(b.Frames) {
		end = int(b.Frames[i+1])
	}
	return b.Data[b.Frames[i]:end]
}

// checkOnTimeline checks that every block of st is due when the timeline
// plays its first frame and holds the frames the timeline puts there;
// it returns the global frames where the blocks do not continue each
// other.
func checkOnTimeline(t *testing.T, st *Station, tl Timeline) (jumps []int64) {
	t.Helper()
	clock := FrameClockFor(44100)
	var next int64
	for _, b := range blocks(st) {
		if b.SyncFrame == 0 {
			t.Fatalf("block %d has no SyncFrame", b.Seq)
		}
		if want := clock.Time(b.SyncFrame); !b.Due.Equal(want) {
			t.Fatalf("block %d (frame %d) is due at %v, the timeline plays it at %v", b.Seq, b.SyncFrame, b.Due, want)
		}
		for i := range b.Frames {
			if got, want := testmedia.FrameIndex(frameAt(b, i)), counterAt(tl, b.SyncFrame+int64(i)); got != want {
				t.Fatalf("global frame %d holds counter %d, the timeline puts %d there", b.SyncFrame+int64(i), got, want)
			}
		}
		if next != 0 && b.SyncFrame != next {
			jumps = append(jumps, b.SyncFrame)
		}
		next = b.SyncFrame + int64(len(b.Frames))
	}
	return jumps
}

func TestClockStationPlaysTheTimeline(t *testing.T) {
	counts := []int{300, 500, 200} // 26 s a pass
	start := time.Date(2026, 12, 6, 8, 30, 0, 123_456_789, time.UTC)
	rig := newClockRig(t, start)
	st := rig.start(scanned(t, clockFolder(t, counts...)), false)
	rig.stepTo(start.Add(70 * time.Second)) // more than two passes

	tl := Timeline{Frames: []int64{300, 500, 200}}
	if jumps := checkOnTimeline(t, st, tl); len(jumps) > 0 {
		t.Errorf("the stream jumps at global frames %v; want one continuous run", jumps)
	}
	bs := blocks(st)
	clock := FrameClockFor(44100)
	// The pre-roll: the first frame is the one on the air a burst delay
	// (burst + one publish interval) before the start.
	if got, want := bs[0].SyncFrame, clock.Nearest(start.Add(-2200*time.Millisecond)); got != want {
		t.Errorf("first frame %d, want %d (one burst delay before the start)", got, want)
	}
	// The published edge trails the clock by less than a publish interval
	// (8 frames of 26 ms: a block goes out when its last frame is due).
	last := bs[len(bs)-1]
	if edge, now := last.SyncFrame+int64(len(last.Frames)), clock.FrameAt(rig.clk.Now()); now-edge < -1 || now-edge > 8 {
		t.Errorf("live edge at frame %d, the clock is at %d", edge, now)
	}
	// Tracks start at file boundaries: 00.mp3 begins on a multiple of the pass.
	for _, b := range bs {
		if b.Track.Started.Equal(b.Due) && b.Track.Rel == "00.mp3" && b.SyncFrame%1000 != 0 && b != bs[0] {
			t.Errorf("00.mp3 starts at frame %d, not at a pass boundary", b.SyncFrame)
		}
	}
}

// Three instances, each with its own library of the same folder, started
// seconds apart, hold the same frames at the same global indices, due at
// the same instants: at any moment they play the same frame.
func TestClockStationsStartedApartAgree(t *testing.T) {
	dir := clockFolder(t, 300, 500, 200, 77)
	start := time.Date(2026, 12, 6, 23, 59, 50, 0, time.UTC)
	rig := newClockRig(t, start)
	for _, delay := range []time.Duration{0, 1300 * time.Millisecond, 17700 * time.Millisecond} {
		rig.stepTo(start.Add(delay))
		rig.start(scanned(t, dir), true)
	}
	end := start.Add(45 * time.Second)
	rig.stepTo(end)

	tl := Timeline{Frames: []int64{300, 500, 200, 77}, Shuffle: true, Seed: SeedOf("/sync")}
	byFrame := map[int64][]byte{}
	for i, st := range rig.stations {
		if jumps := checkOnTimeline(t, st, tl); len(jumps) > 0 {
			t.Errorf("instance %d jumps at frames %v", i, jumps)
		}
		for _, b := range blocks(st) {
			for k := range b.Frames {
				f := b.SyncFrame + int64(k)
				if prev, ok := byFrame[f]; ok && string(prev) != string(frameAt(b, k)) {
					t.Fatalf("instance %d's frame %d differs from another instance's", i, f)
				}
				byFrame[f] = frameAt(b, k)
			}
		}
	}
	// The frame each instance plays at one instant, a second ago.
	at := end.Add(-time.Second)
	var playing []int64
	for _, st := range rig.stations {
		for _, b := range blocks(st) {
			if !b.Due.After(at) && b.End().After(at) {
				playing = append(playing, b.SyncFrame+int64(at.Sub(b.Due)/b.FrameDur))
			}
		}
	}
	if len(playing) != 3 || playing[0] != playing[1] || playing[1] != playing[2] {
		t.Errorf("at %v the instances play frames %v; want one frame", at, playing)
	}
}

// A stall longer than the station may catch up (a suspended process, a
// clock stepped forward) ends the track; the station goes on at the frame
// the clock says, on the timeline again.
func TestClockStationSkipsToTheClockAfterAStall(t *testing.T) {
	start := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	rig := newClockRig(t, start)
	st := rig.start(scanned(t, clockFolder(t, 400, 400)), false)
	rig.stepTo(start.Add(5 * time.Second))
	stalled := rig.clk.Now()
	rig.clk.advance(stalled.Add(12 * time.Second)) // the player sleeps through it
	rig.stepTo(stalled.Add(20 * time.Second))

	tl := Timeline{Frames: []int64{400, 400}}
	jumps := checkOnTimeline(t, st, tl)
	if len(jumps) != 1 {
		t.Fatalf("jumps at frames %v; want exactly one, after the stall", jumps)
	}
	clock := FrameClockFor(44100)
	if got, lo, hi := jumps[0], clock.FrameAt(stalled.Add(12*time.Second)), clock.FrameAt(stalled.Add(12*time.Second+500*time.Millisecond)); got < lo || got > hi {
		t.Errorf("after the stall the station went on at frame %d, want the clock's, %d..%d", got, lo, hi)
	}
}

// A rescan that changes the folder changes the loop from the next track
// on: the playing track plays to its end, then the new loop's frame for
// that moment follows, so instances that rescanned agree again.
func TestClockSourceFollowsARescan(t *testing.T) {
	dir := clockFolder(t, 300, 200)
	lib := scanned(t, dir)
	start := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	rig := newClockRig(t, start)
	rig.poll = 10 * time.Millisecond
	st := rig.start(lib, false)
	rig.stepTo(start.Add(5 * time.Second))
	playing := st.ring.Tail().Track

	testmedia.WriteFile(t, dir, "02.mp3", testmedia.FramesFrom(2*fileBase, 100))
	if _, err := lib.Scan(); err != nil {
		t.Fatal(err)
	}
	src := rig.sources[0]
	testmedia.PollUntil(t, 10*time.Second, "the new loop", func() bool { return src.loop.Load().version == lib.Version() })
	rig.stepTo(start.Add(40 * time.Second))

	clock := FrameClockFor(44100)
	oldTL, newTL := Timeline{Frames: []int64{300, 200}}, Timeline{Frames: []int64{300, 200, 100}}
	tl, switched := oldTL, false
	for _, b := range blocks(st) {
		if !switched && b.Track != playing && b.Due.After(playing.Started) {
			tl, switched = newTL, true
		}
		if !b.Due.Equal(clock.Time(b.SyncFrame)) {
			t.Fatalf("block %d is off the timeline", b.Seq)
		}
		for i := range b.Frames {
			if got, want := testmedia.FrameIndex(frameAt(b, i)), counterAt(tl, b.SyncFrame+int64(i)); got != want {
				t.Fatalf("global frame %d (new loop: %v) holds counter %d, want %d", b.SyncFrame+int64(i), switched, got, want)
			}
		}
	}
	if !switched {
		t.Fatal("the track playing at the rescan never ended")
	}
}

// Files the timeline cannot hold are left out and reported once: another
// sample rate, and anything ffmpeg would have to encode.
func TestClockSourceLeavesOutWhatItCannotSync(t *testing.T) {
	dir := clockFolder(t, 300, 200)
	frame48k := testmedia.Frame{Kbps: 128}.Bytes()[:384] // 128 kbit/s at 48 kHz is 384 bytes
	frame48k[2] = frame48k[2]&^0x0C | 0x04
	var at48k []byte
	for range 50 {
		at48k = append(at48k, frame48k...)
	}
	testmedia.WriteFile(t, dir, "01a.mp3", at48k)
	testmedia.WriteFile(t, dir, "01b.wav", testmedia.WAV(1, 44100, 2, 16))
	start := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	rig := newClockRig(t, start)
	st := rig.start(scanned(t, dir), false)
	rig.stepTo(start.Add(30 * time.Second))

	checkOnTimeline(t, st, Timeline{Frames: []int64{300, 200}})
	rig.mu.Lock()
	defer rig.mu.Unlock()
	slices.Sort(rig.skipped)
	if !slices.Equal(rig.skipped, []string{"01a.mp3", "01b.wav"}) {
		t.Errorf("skipped %v; want the 48 kHz MP3 and the WAV, once each", rig.skipped)
	}
}

// A track that starts inside a file reads from the nearest checkpoint
// before its frame: the frames are those a read from the start gives.
func TestClockSourceOpensInsideAFile(t *testing.T) {
	dir := clockFolder(t, 700)
	lib := scanned(t, dir)
	src := &ClockSource{Library: lib, Sync: FrameClockFor(44100)}
	f, err := countMP3(filepath.Join(dir, "00.mp3"), src.Sync)
	if err != nil {
		t.Fatal(err)
	}
	if f.frames != 700 || len(f.checkpoints) != 3 {
		t.Fatalf("counted %d frames with %d checkpoints; want 700 (the Xing frame is not audio) and 3", f.frames, len(f.checkpoints))
	}
	loop := &clockLoop{files: []*clockFile{f}, tl: Timeline{Frames: []int64{700}}}
	for _, off := range []int64{0, 1, 255, 256, 257, 511, 512, 699} {
		tr, err := src.open(loop, f, off, 1000+off)
		if err != nil {
			t.Fatalf("open at frame %d: %v", off, err)
		}
		n := off
		for {
			fr, err := tr.Frames.Next()
			if err != nil {
				break
			}
			if got := testmedia.FrameIndex(fr.Data); got != uint32(n) {
				t.Fatalf("from frame %d: frame %d holds counter %d", off, n, got)
			}
			n++
		}
		tr.Closer.Close()
		if n != 700 {
			t.Errorf("from frame %d the track ends after frame %d, want 700", off, n)
		}
		if first, _ := tr.Frames.(clockedFrames).clockStart(); first != 1000+off {
			t.Errorf("clockStart = %d, want %d", first, 1000+off)
		}
	}
}
