package mount

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// readAll returns the counters of the frames src gives until EOF.
func readAll(t *testing.T, src Frames) []uint32 {
	t.Helper()
	var got []uint32
	for {
		f, err := src.Next()
		if errors.Is(err, io.EOF) {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, testmedia.FrameIndex(f.Data))
	}
}

func seq(from, to uint32) []uint32 {
	var out []uint32
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

// TestLevelledTrimsWholeFrames: frames wholly before Start and from End on
// are skipped, and one frame before the first kept one plays too (its bytes
// may carry the next frame's data).
func TestLevelledTrimsWholeFrames(t *testing.T) {
	d := Frame{Samples: 1152, SampleRate: 44100}.Duration()
	cases := []struct {
		name  string
		level Level
		want  []uint32
	}{
		{"start mid-frame", Level{Start: 10*d + d/2, End: 20 * d}, seq(9, 20)},
		{"start on a boundary", Level{Start: 10 * d}, seq(9, 50)},
		{"end only", Level{End: 5*d + 1}, seq(0, 6)},
		{"start at zero", Level{Start: 0, End: 3 * d}, seq(0, 3)},
		{"nothing to trim", Level{GainSteps: 1}, seq(0, 50)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := NewFrameReader(bytes.NewReader(testmedia.Frames(50)))
			if got := readAll(t, &levelled{src: src, level: c.level}); !slices.Equal(got, c.want) {
				t.Fatalf("frames %v, want %v", got, c.want)
			}
		})
	}
}

// TestLevelledAppliesGain: every frame that plays has its global_gain moved
// by the steps, exactly as AdjustGain does, and nothing else changes.
func TestLevelledAppliesGain(t *testing.T) {
	ffmpeg := testmedia.RequireTool(t, "ffmpeg")
	data := encodeTone(t, ffmpeg, []string{"-ar", "44100", "-ac", "2", "-b:a", "128k"})
	want := gainFrames(t, data)
	for _, f := range want {
		AdjustGain(f, -3)
	}
	src := &levelled{src: NewFrameReader(bytes.NewReader(data)), level: Level{GainSteps: -3}}
	for i := 0; ; i++ {
		f, err := src.Next()
		if errors.Is(err, io.EOF) {
			if i != len(want) {
				t.Fatalf("%d frames, want %d", i, len(want))
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(f.Data, want[i]) {
			t.Fatalf("frame %d differs from AdjustGain's", i)
		}
	}
}

// recordingProgramme plays its picks in turn and records what comes back.
type recordingProgramme struct {
	mu       sync.Mutex
	picks    []Pick
	next     int
	unplayed [][]Pick
	back     chan struct{}
}

func (r *recordingProgramme) Next() (Pick, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.picks[r.next%len(r.picks)]
	r.next++
	return p, true
}

func (r *recordingProgramme) Bad(Pick) bool { return true }

func (r *recordingProgramme) Unplayed(p []Pick) {
	r.mu.Lock()
	r.unplayed = append(r.unplayed, p)
	r.mu.Unlock()
	r.back <- struct{}{}
}

// folderFixture is a scanned library of n files of 20 frames each,
// named a.mp3, b.mp3, ….
func folderFixture(t *testing.T, n int) *playlist.Library {
	t.Helper()
	dir := t.TempDir()
	for i := range n {
		testmedia.WriteFile(t, dir, string(rune('a'+i))+".mp3", testmedia.FramesFrom(uint32(100*i), 20))
	}
	lib := playlist.NewLibrary(dir, playlist.LibraryOptions{})
	if _, err := lib.Scan(); err != nil {
		t.Fatal(err)
	}
	return lib
}

// runFolder runs src's preloader for a station that never plays, and
// returns a channel told at every Feed.Ready.
func runFolder(t *testing.T, src *FolderSource) chan struct{} {
	t.Helper()
	st := New(Config{Route: "/"}, src)
	ready := make(chan struct{}, 16)
	feed := &Feed{st: st}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		src.Run(ctx, feed)
	}()
	go func() {
		for {
			select {
			case <-st.wake:
				ready <- struct{}{}
			case <-ctx.Done():
				return
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return ready
}

func waitUpcoming(t *testing.T, src *FolderSource, ready chan struct{}, n int) []*TrackInfo {
	t.Helper()
	for {
		if up := src.Upcoming(); len(up) >= n {
			return up
		}
		select {
		case <-ready:
		case <-time.After(10 * time.Second):
			t.Fatalf("never %d tracks opened ahead", n)
		}
	}
}

// TestFlushGivesPicksBack: the tracks opened ahead are closed and their
// picks go back to the programme in play order; the plain programme then
// plays them first, so nothing is lost or repeated.
func TestFlushGivesPicksBack(t *testing.T) {
	lib := folderFixture(t, 5)
	order := playlist.NewOrder(lib, false, nil)
	src := &FolderSource{Library: lib, Order: order, Preload: 2}
	ready := runFolder(t, src)
	up := waitUpcoming(t, src, ready, 2)
	if up[0].Rel != "a.mp3" || up[1].Rel != "b.mp3" {
		t.Fatalf("opened ahead %s, %s", up[0].Rel, up[1].Rel)
	}
	src.Flush()
	var got []string
	for len(got) < 5 {
		if tr := src.Next(); tr != nil {
			got = append(got, tr.Info.Rel)
			closeTrack(tr)
			continue
		}
		select {
		case <-ready:
		case <-time.After(10 * time.Second):
			t.Fatalf("stalled after %v", got)
		}
	}
	if want := []string{"a.mp3", "b.mp3", "c.mp3", "d.mp3", "e.mp3"}; !slices.Equal(got, want) {
		t.Fatalf("played %v after a flush, want %v", got, want)
	}
}

// TestProgrammePicksFromOtherLibraries: a pick names its own library and
// may carry its own title and kind (a jingle shows the station's name,
// not the file's tags); Flush hands the unplayed picks back in order.
func TestProgrammePicksFromOtherLibraries(t *testing.T) {
	music, jingles := folderFixture(t, 2), folderFixture(t, 1)
	station := &playlist.Title{Title: "Radio One", Display: "Radio One"}
	prog := &recordingProgramme{back: make(chan struct{}, 1), picks: []Pick{
		{Library: music, Rel: "a.mp3"},
		{Library: jingles, Rel: "a.mp3", Title: station, Kind: KindJingle},
		{Library: music, Rel: "b.mp3", Show: "Morning"},
	}}
	src := &FolderSource{Library: music, Programme: prog, Preload: 3}
	ready := runFolder(t, src)
	up := waitUpcoming(t, src, ready, 3)
	if up[0].Display != "a" || up[0].Kind != "" {
		t.Fatalf("music track: %+v", up[0])
	}
	if up[1].Display != "Radio One" || up[1].Kind != KindJingle || up[1].Path == up[0].Path {
		t.Fatalf("jingle: %+v", up[1])
	}
	if up[2].Show != "Morning" {
		t.Fatalf("show: %+v", up[2])
	}
	src.Flush()
	<-prog.back
	prog.mu.Lock()
	defer prog.mu.Unlock()
	if got := prog.unplayed[0]; len(got) != 3 || got[1].Kind != KindJingle || got[2].Rel != "b.mp3" {
		t.Fatalf("given back %+v", got)
	}
}

// TestSkipCutsTheFolderTrack: Skip ends the track on the live edge at a
// frame boundary and the next one follows at once; the skipped track's
// frames stop short of its end.
func TestSkipCutsTheFolderTrack(t *testing.T) {
	started := make(chan *TrackInfo, 8)
	cfg := Config{Route: "/", Clock: fastClock{start: time.Now(), speed: 20},
		OnTrack: func(ti *TrackInfo) { started <- ti }}
	const long = 4000 // frames: over 100 s of audio, 5 s at 20×
	ts := startStation(t, cfg, testmedia.FramesFrom(0, long), testmedia.FramesFrom(10000, 50))
	first := <-started
	if first.Rel != "a.mp3" {
		t.Fatalf("first track %s", first.Rel)
	}
	if got := ts.Skip(); got != first {
		t.Fatalf("Skip returned %+v, want the track on the air", got)
	}
	var second *TrackInfo
	select {
	case second = <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("no track after the skip")
	}
	if second.Rel != "b.mp3" {
		t.Fatalf("after the skip: %s", second.Rel)
	}
	var aFrames int
	for b := ts.ring.Head(); b != nil; b = b.Next() {
		for i, off := range b.Frames {
			end := len(b.Data)
			if i+1 < len(b.Frames) {
				end = int(b.Frames[i+1])
			}
			if end-int(off) != 417 && end-int(off) != 418 {
				t.Fatalf("block %d frame %d is %d bytes: not a whole frame", b.Seq, i, end-int(off))
			}
			if b.Track == first {
				aFrames++
			}
		}
	}
	if aFrames == 0 || aFrames >= long {
		t.Fatalf("skipped track played %d of %d frames", aFrames, long)
	}
}

// TestFlushDuringAnOpenGivesThatPickBack: a track picked before a Flush
// and opened after it goes back to the programme instead of playing
// ahead of what the programme now wants.
func TestFlushDuringAnOpenGivesThatPickBack(t *testing.T) {
	lib := folderFixture(t, 2)
	prog := &recordingProgramme{back: make(chan struct{}, 4), picks: []Pick{{Library: lib, Rel: "a.mp3"}, {Library: lib, Rel: "b.mp3"}}}
	opening, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	src := &FolderSource{Library: lib, Programme: prog, Preload: 1}
	src.hooks.open = func(ctx context.Context, path string, offset int64) (*FrameReader, io.Closer, error) {
		once.Do(func() { close(opening); <-release })
		return OpenMP3At(path, offset)
	}
	ready := runFolder(t, src)
	<-opening
	src.Flush()
	close(release)
	select {
	case <-prog.back:
	case <-time.After(10 * time.Second):
		t.Fatal("the pick opened across the flush was not given back")
	}
	prog.mu.Lock()
	got := prog.unplayed
	prog.mu.Unlock()
	if len(got) != 1 || len(got[0]) != 1 || got[0][0].Rel != "a.mp3" {
		t.Fatalf("given back %+v, want a.mp3 alone", got)
	}
	if up := waitUpcoming(t, src, ready, 1); up[0].Rel != "b.mp3" {
		t.Fatalf("opened ahead after the flush: %s", up[0].Rel)
	}
}

// TestSetBurstAppliesToNewListeners: a burst changed while the station
// runs sets how far behind live the next listener starts.
func TestSetBurstAppliesToNewListeners(t *testing.T) {
	cfg := Config{Route: "/", Burst: 2 * time.Second, PublishInterval: 100 * time.Millisecond}
	ts := startStation(t, cfg, testmedia.FramesFrom(0, 2000))
	waitReady(t, ts.Station, 3*time.Second)
	if d := ts.BurstDelay(); d != 2100*time.Millisecond {
		t.Fatalf("burst delay %v before the change", d)
	}
	ts.SetBurst(time.Second, 0)
	if d := ts.BurstDelay(); d != 1100*time.Millisecond {
		t.Fatalf("burst delay %v after SetBurst(1s)", d)
	}
	ts.SetBurst(0, 0)
	if d := ts.BurstDelay(); d != 0 {
		t.Fatalf("burst delay %v after SetBurst(0): want the live edge", d)
	}
}

// TestTrackDurationFromTheFile: a folder MP3's track says how long it
// plays, from its size and bitrate or from its Xing frame count.
func TestTrackDurationFromTheFile(t *testing.T) {
	dir := t.TempDir()
	testmedia.WriteFile(t, dir, "cbr.mp3", testmedia.ID3v2("", "CBR", 0), testmedia.Frames(400))
	xing := testmedia.XingFrame("Xing") // flags 0x0F: the frame count is present
	binary.BigEndian.PutUint32(xing[44:48], 1000)
	// 600 frames, so the size says ~15.7 s: the count says 26.1 s.
	testmedia.WriteFile(t, dir, "vbr.mp3", xing, testmedia.Frames(600))
	lib := playlist.NewLibrary(dir, playlist.LibraryOptions{})
	if _, err := lib.Scan(); err != nil {
		t.Fatal(err)
	}
	src := &FolderSource{Library: lib, Order: playlist.NewOrder(lib, false, nil), Preload: 2}
	ready := runFolder(t, src)
	frame := Frame{Samples: 1152, SampleRate: 44100}.Duration()
	want := map[string]time.Duration{"cbr.mp3": 400 * frame, "vbr.mp3": 1000 * frame}
	for len(want) > 0 {
		tr := src.Next()
		if tr == nil {
			select {
			case <-ready:
			case <-time.After(10 * time.Second):
				t.Fatalf("tracks not opened; left %v", want)
			}
			continue
		}
		info := tr.Info
		closeTrack(tr)
		if d, w := info.Duration, want[info.Rel]; d < w*98/100 || d > w*102/100 {
			t.Errorf("%s: duration %v, want about %v", info.Rel, d, w)
		}
		delete(want, info.Rel)
	}
}
