package hls

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

// frameDur is one 44.1 kHz MPEG-1 Layer III frame (1152 samples), as the
// station rounds it.
const frameDur = time.Duration(1152 * int64(time.Second) / 44100)

// epoch is a start time on a 4 s slot boundary.
var epoch = time.Unix(1_800_000_000, 0)

// audio is a run of testmedia frames (each carrying its index) of one
// track, due from start on.
type audio struct {
	track *mount.TrackInfo
	first uint32 // index of the first frame
	n     int
	start time.Time
}

// blocks cuts runs into blocks of per frames (fewer at a run's end), the
// way a station publishes them.
func blocks(per int, runs ...audio) []*mount.Block {
	var out []*mount.Block
	for _, r := range runs {
		for i := 0; i < r.n; i += per {
			n := min(per, r.n-i)
			data := testmedia.FramesFrom(r.first+uint32(i), n)
			b := &mount.Block{Data: data, FrameDur: frameDur, Track: r.track,
				Due: r.start.Add(time.Duration(i) * frameDur)}
			size := len(data) / n
			for f := range n {
				b.Frames = append(b.Frames, int32(f*size))
			}
			out = append(out, b)
		}
	}
	return out
}

func track(artist, title string) *mount.TrackInfo {
	return &mount.TrackInfo{Artist: artist, Title: title, Display: artist + " - " + title}
}

// framesOf parses a segment: its ID3 tag, then frame indexes of its
// testmedia frames; it fails on anything but whole frames.
func framesOf(t *testing.T, seg *Segment) (tag []byte, idx []uint32) {
	t.Helper()
	d := seg.Data
	if len(d) < 10 || string(d[:3]) != "ID3" {
		t.Fatalf("segment %s does not start with an ID3 tag", seg.Name)
	}
	n := 10 + (int(d[6])<<21 | int(d[7])<<14 | int(d[8])<<7 | int(d[9]))
	tag, d = d[:n], d[n:]
	size := len(testmedia.Frames(1))
	if len(d)%size != 0 {
		t.Fatalf("segment %s: %d bytes of audio is not whole frames of %d", seg.Name, len(d), size)
	}
	for ; len(d) > 0; d = d[size:] {
		if d[0] != 0xff || d[1]&0xe0 != 0xe0 {
			t.Fatalf("segment %s: no frame sync", seg.Name)
		}
		idx = append(idx, testmedia.FrameIndex(d[:size]))
	}
	return tag, idx
}

// id3Frames reads an ID3v2.4 tag's frames by id.
func id3Frames(t *testing.T, tag []byte) map[string][]byte {
	t.Helper()
	if tag[3] != 4 {
		t.Fatalf("ID3 version %d, want 4", tag[3])
	}
	out := map[string][]byte{}
	for b := tag[10:]; len(b) >= 10; {
		size := int(b[4])<<21 | int(b[5])<<14 | int(b[6])<<7 | int(b[7])
		out[string(b[:4])] = b[10 : 10+size]
		b = b[10+size:]
	}
	return out
}

func feed(s *Segmenter, bs []*mount.Block) {
	for _, b := range bs {
		s.Add(b)
	}
}

func all(s *Segmenter) []*Segment {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]*Segment(nil), s.segs...)
}

func TestSegmentsAreWholeFramesCutOnTheClock(t *testing.T) {
	s := New(Config{Target: 4 * time.Second, Keep: 100})
	song := track("Artist", "Song")
	// 30 s of one track starting 1.3 s into a slot.
	start := epoch.Add(1300 * time.Millisecond)
	feed(s, blocks(15, audio{track: song, n: 1150, start: start}))
	segs := all(s)
	if len(segs) < 6 {
		t.Fatalf("%d segments from 30 s", len(segs))
	}
	next := uint32(0)
	for i, seg := range segs {
		_, idx := framesOf(t, seg)
		if i == 0 {
			// The first starts at the first slot boundary, not mid-way.
			next = idx[0]
			if want := start.Add(time.Duration(next) * frameDur); !seg.Start.Equal(want) {
				t.Fatalf("first segment starts at %v, its first frame is due at %v", seg.Start, want)
			}
			if due := seg.Start; due.Before(epoch.Add(4*time.Second)) || due.Sub(epoch.Add(4*time.Second)) >= frameDur {
				t.Fatalf("first segment starts at %v, want the first frame at or after %v", due, epoch.Add(4*time.Second))
			}
		}
		for j, f := range idx {
			if f != next {
				t.Fatalf("segment %d frame %d is frame %d, want %d (lost or repeated)", i, j, f, next)
			}
			next++
		}
		if want := seg.Start.Add(time.Duration(len(idx)) * frameDur); !seg.Start.Add(seg.Duration).Equal(want) {
			t.Errorf("segment %d: duration %v for %d frames", i, seg.Duration, len(idx))
		}
		if off := seg.Start.Sub(epoch) % (4 * time.Second); off >= frameDur {
			t.Errorf("segment %d starts %v after a slot boundary", i, off)
		}
		if seg.Seq != uint64(seg.Start.UnixNano()/int64(4*time.Second)) {
			t.Errorf("segment %d: seq %d for a start in slot %d", i, seg.Seq, seg.Start.UnixNano()/int64(4*time.Second))
		}
		if seg.Name != fmt.Sprint(seg.Start.UnixMilli()) {
			t.Errorf("segment %d named %q, starts at %d ms", i, seg.Name, seg.Start.UnixMilli())
		}
		if seg.Discontinuity {
			t.Errorf("segment %d marked a discontinuity in continuous audio", i)
		}
	}
}

func TestTrackChangeCutsAndTitlesFollow(t *testing.T) {
	s := New(Config{Target: 4 * time.Second, Keep: 100})
	a, b, c := track("A", "First"), track("B", "Second"), track("", "")
	c.Display = "jingle.mp3"
	// a for 10 s from a slot boundary, b for 0.5 s (shorter than half a
	// target), then c from about 10.5 s on.
	na, nb := int(10*time.Second/frameDur), int(500*time.Millisecond/frameDur)
	bStart := epoch.Add(time.Duration(na) * frameDur)
	cStart := bStart.Add(time.Duration(nb) * frameDur)
	feed(s, blocks(15,
		audio{track: a, n: na, start: epoch},
		audio{track: b, first: uint32(na), n: nb, start: bStart},
		audio{track: c, first: uint32(na + nb), n: 400, start: cStart}))
	s.finish() // publish the last one too
	var starts []time.Time
	for i, seg := range all(s) {
		tag, idx := framesOf(t, seg)
		fr := id3Frames(t, tag)
		want := a
		switch {
		case idx[0] >= uint32(na+nb):
			want = c
		case idx[0] >= uint32(na):
			want = b
		}
		if last := idx[len(idx)-1]; (last >= uint32(na)) != (idx[0] >= uint32(na)) || (last >= uint32(na+nb)) != (idx[0] >= uint32(na+nb)) {
			t.Fatalf("segment %d holds frames %d..%d across a track change", i, idx[0], last)
		}
		title, artist := want.Title, want.Artist
		if title == "" {
			title = want.Display
		}
		if got := string(fr["TIT2"]); got != "\x03"+title {
			t.Errorf("segment %d TIT2 %q, want %q", i, got, title)
		}
		if got, ok := fr["TPE1"]; (artist == "") == ok || ok && string(got) != "\x03"+artist {
			t.Errorf("segment %d TPE1 %q, want %q", i, got, artist)
		}
		if seg.Duration > 6*time.Second+frameDur {
			t.Errorf("segment %d is %v long, more than 1.5 targets", i, seg.Duration)
		}
		starts = append(starts, seg.Start)
	}
	// startsNear: a segment starts on the first frame at or after at.
	startsNear := func(at time.Time) bool {
		for _, st := range starts {
			if !st.Before(at) && st.Sub(at) < frameDur {
				return true
			}
		}
		return false
	}
	if !startsNear(bStart) || !startsNear(cStart) {
		t.Fatalf("no segment starts at the track changes %v and %v: %v", bStart, cStart, starts)
	}
	// The slot boundary 1.5 s after the cut for c is skipped (the segment
	// would be too short); the one after it is taken.
	if startsNear(epoch.Add(12 * time.Second)) {
		t.Errorf("a segment starts at 12 s, only %v after the track change", epoch.Add(12*time.Second).Sub(cStart))
	}
	if !startsNear(epoch.Add(16 * time.Second)) {
		t.Errorf("no segment starts at the 16 s boundary: %v", starts)
	}
}

func TestID3TagCarriesTimestampAndTitle(t *testing.T) {
	s := New(Config{})
	song := track("Künstler", "Лето")
	feed(s, blocks(15, audio{track: song, n: 600, start: epoch.Add(-time.Second)}))
	seg := all(s)[0]
	tag, _ := framesOf(t, seg)
	fr := id3Frames(t, tag)
	priv := fr["PRIV"]
	owner := "com.apple.streaming.transportStreamTimestamp\x00"
	if !bytes.HasPrefix(priv, []byte(owner)) || len(priv) != len(owner)+8 {
		t.Fatalf("PRIV frame %q", priv)
	}
	pts := binary.BigEndian.Uint64(priv[len(owner):])
	want := uint64(seg.Start.UnixNano()/1e9*90000+seg.Start.UnixNano()%1e9*90000/1e9) % (1 << 33)
	if pts != want || pts>>33 != 0 {
		t.Errorf("timestamp %d, want %d (90 kHz from the Unix epoch, 33 bits)", pts, want)
	}
	if string(fr["TIT2"]) != "\x03Лето" || string(fr["TPE1"]) != "\x03Künstler" {
		t.Errorf("TIT2 %q TPE1 %q", fr["TIT2"], fr["TPE1"])
	}
	ts := bytes.Index(tag, []byte(owner)) + len(owner)
	if bytes.IndexByte(tag[:ts], 0xff) >= 0 || bytes.IndexByte(tag[ts+8:], 0xff) >= 0 {
		t.Error("the tag has a 0xFF byte outside the timestamp: a parser could take it for a frame sync")
	}
}

// Two servers playing the same audio on the same clock cut the same
// segments, whatever their block sizes and whenever they started.
func TestSameAudioSameSegments(t *testing.T) {
	a, b := track("A", "One"), track("B", "Two")
	nb := int(7300 * time.Millisecond / frameDur)
	runs := []audio{
		{track: a, n: nb, start: epoch.Add(700 * time.Millisecond)},
		{track: b, first: uint32(nb), n: 2000, start: epoch.Add(700 * time.Millisecond).Add(time.Duration(nb) * frameDur)},
	}
	early := New(Config{Keep: 100})
	feed(early, blocks(15, runs...))
	late := New(Config{Keep: 100})
	lateBlocks := blocks(4, runs...)
	feed(late, lateBlocks[len(lateBlocks)/3:]) // joined about 15 s later
	byName := map[string]*Segment{}
	for _, seg := range early.segs {
		byName[seg.Name] = seg
	}
	lateSegs := all(late)
	if len(lateSegs) < 5 {
		t.Fatalf("late segmenter made %d segments", len(lateSegs))
	}
	for _, seg := range lateSegs {
		other := byName[seg.Name]
		if other == nil {
			t.Fatalf("segment %s of the late segmenter is not one of the early one's", seg.Name)
		}
		if !bytes.Equal(seg.Data, other.Data) || seg.Duration != other.Duration || seg.Title != other.Title {
			t.Errorf("segment %s differs between the two", seg.Name)
		}
	}
}

func TestWindowSlidesAndPlaylist(t *testing.T) {
	s := New(Config{Target: 4 * time.Second, Window: 3, Keep: 5})
	song := track("A", "Song")
	feed(s, blocks(15, audio{track: song, n: 2000, start: epoch}))
	kept := all(s)
	if len(kept) != 5 {
		t.Fatalf("%d segments kept, want 5", len(kept))
	}
	listed := s.Listed()
	// 3 segments of 4 s are less than 3.5 × 6 s: it lists more, up to all kept.
	if len(listed) != 5 || listed[0] != kept[0] {
		t.Fatalf("listed %d segments", len(listed))
	}
	for i := 1; i < len(kept); i++ {
		if kept[i].Seq != kept[i-1].Seq+1 {
			t.Fatalf("sequence %d after %d", kept[i].Seq, kept[i-1].Seq)
		}
	}
	if s.Segment(kept[0].Name) != kept[0] {
		t.Fatal("a kept segment is not found by name")
	}
	feed(s, blocks(15, audio{track: song, first: 2000, n: 200, start: epoch.Add(2000 * frameDur)}))
	if s.Segment(kept[0].Name) != nil {
		t.Error("the oldest segment is still served after the window moved on")
	}
	pl := string(s.AppendPlaylist(nil, s.Listed(), func(seg *Segment) string { return seg.Name + ".mp3" }))
	first := s.Listed()[0]
	for _, want := range []string{
		"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n",
		fmt.Sprintf("#EXT-X-MEDIA-SEQUENCE:%d\n", first.Seq),
		"#EXT-X-PROGRAM-DATE-TIME:" + first.Start.UTC().Format("2006-01-02T15:04:05.000Z") + "\n#EXTINF:",
		",A - Song\n" + first.Name + ".mp3\n",
	} {
		if !strings.Contains(pl, want) {
			t.Errorf("playlist lacks %q:\n%s", want, pl)
		}
	}
	if strings.Contains(pl, "ENDLIST") || strings.Contains(pl, "DISCONTINUITY") {
		t.Errorf("live continuous playlist:\n%s", pl)
	}
}

func TestGapIsADiscontinuity(t *testing.T) {
	s := New(Config{Target: 4 * time.Second, Window: 2, Keep: 4})
	song := track("A", "Song")
	feed(s, blocks(15, audio{track: song, n: 400, start: epoch}))
	// Off the air for a minute, then on again.
	resume := epoch.Add(400*frameDur + time.Minute)
	feed(s, blocks(15, audio{track: song, first: 400, n: 400, start: resume}))
	var disc *Segment
	for _, seg := range all(s) {
		if seg.Discontinuity {
			disc = seg
		}
	}
	if disc == nil || !disc.Start.Equal(resume) {
		t.Fatalf("no discontinuity at the resumption: %+v", all(s))
	}
	pl := string(s.AppendPlaylist(nil, s.Listed(), func(seg *Segment) string { return seg.Name }))
	if !strings.Contains(pl, "#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:"+resume.UTC().Format("2006-01-02T15:04:05.000Z")) {
		t.Errorf("playlist does not mark the discontinuity:\n%s", pl)
	}
	// Once it has left the playlist, the discontinuity sequence counts it.
	feed(s, blocks(15, audio{track: song, first: 800, n: 1000, start: resume.Add(400 * frameDur)}))
	pl = string(s.AppendPlaylist(nil, s.Listed(), func(seg *Segment) string { return seg.Name }))
	if !strings.Contains(pl, "#EXT-X-DISCONTINUITY-SEQUENCE:1\n") || strings.Contains(pl, "#EXT-X-DISCONTINUITY\n") {
		t.Errorf("playlist after the discontinuity left:\n%s", pl)
	}
}

// fakeFeed is a station's ring with its publish signal.
type fakeFeed struct {
	ring   *mount.Ring
	mu     sync.Mutex
	ch     chan struct{}
	looked chan struct{} // closed at the first Published
	once   sync.Once
}

func newFakeFeed() *fakeFeed {
	return &fakeFeed{ring: mount.NewRing(1 << 20), ch: make(chan struct{}), looked: make(chan struct{})}
}

func (f *fakeFeed) Tail() *mount.Block { return f.ring.Tail() }

func (f *fakeFeed) Published() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.once.Do(func() { close(f.looked) })
	return f.ch
}

func (f *fakeFeed) publish(b *mount.Block) {
	f.ring.Append(b)
	f.mu.Lock()
	close(f.ch)
	f.ch = make(chan struct{})
	f.mu.Unlock()
}

func TestRunFollowsTheRing(t *testing.T) {
	f := newFakeFeed()
	s := New(Config{Target: 2 * time.Second})
	bs := blocks(15, audio{track: track("A", "Song"), n: 1000, start: epoch})
	// Run starts at the newest block: one is there before it looks.
	f.publish(bs[0])
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx, func() Feed { return f })
	}()
	defer func() {
		cancel()
		<-done
	}()
	<-f.looked // Run is following: it sees every block from here on
	for _, b := range bs[1:] {
		f.publish(b)
	}
	for {
		updated := s.Updated()
		if len(s.Listed()) >= 5 {
			break
		}
		<-updated
	}
	if got := s.Listed(); got[len(got)-1].Seq-got[0].Seq != uint64(len(got)-1) {
		t.Errorf("sequence numbers %d..%d for %d segments", got[0].Seq, got[len(got)-1].Seq, len(got))
	}
}

func BenchmarkSegmenter(b *testing.B) {
	bs := blocks(15, audio{track: track("A", "Song"), n: 38 * 60, start: epoch}) // about a minute
	b.SetBytes(int64(len(bs) * len(bs[0].Data)))
	b.ReportAllocs()
	for b.Loop() {
		s := New(Config{})
		feed(s, bs)
	}
}
