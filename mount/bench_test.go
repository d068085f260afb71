package mount

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/icy"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// Results and how to read them: docs/benchmarks.md. The fan-out
// benchmarks are in fanout_linux_test.go.

const (
	// benchFrameDur is one 128 kbps, 44.1 kHz Layer III frame.
	benchFrameDur = 1152 * time.Second / 44100
	// benchMetaint is the server's default icy_metaint.
	benchMetaint = 16000
)

// benchFeed makes blocks the way the station does: whole frames of one
// track, due one after another. The title changes every titleEvery blocks
// (64: ~13 s) so the ICY path sends real metadata blocks as well as
// "no change" bytes.
type benchFeed struct {
	audio      []byte
	frames     []int32
	tracks     [2]*TrackInfo
	titleEvery int
	due        time.Time
	made       int
}

func newBenchFeed(framesPerBlock int) *benchFeed {
	f := &benchFeed{audio: testmedia.Frames(framesPerBlock), titleEvery: 64, due: time.Now()}
	size := len(f.audio) / framesPerBlock
	for i := range framesPerBlock {
		f.frames = append(f.frames, int32(i*size))
	}
	for i, title := range []string{"Artist One - Title One", "Artist Two - A Longer Title Two"} {
		f.tracks[i] = &TrackInfo{Display: title, Meta: icy.MetaBlock(title, icy.UTF8), Bitrate: 128, SampleRate: 44100, Channels: 2}
	}
	return f
}

func (f *benchFeed) next() *Block {
	b := &Block{
		Data: bytes.Clone(f.audio), Frames: f.frames, FrameDur: benchFrameDur,
		Due: f.due, Track: f.tracks[f.made/f.titleEvery%2],
	}
	f.made++
	f.due = b.End()
	return b
}

// checkICYStream checks that got is head, then exactly the blocks' audio
// with an ICY metadata block after every metaint audio bytes (none when
// metaint is 0). Each metadata block carries the title of the audio byte
// just before it, or is the "no change" byte when that title was the last
// one sent.
func checkICYStream(t *testing.T, got, head []byte, blocks []*Block, metaint int) {
	t.Helper()
	var audio []byte
	var titles []*TrackInfo // titles[i]: the track of audio[i]
	for _, b := range blocks {
		audio = append(audio, b.Data...)
		for range b.Data {
			titles = append(titles, b.Track)
		}
	}
	rest, ok := bytes.CutPrefix(got, head)
	if !ok {
		t.Fatalf("metaint %d: stream does not start with the response head", metaint)
	}
	if metaint == 0 {
		if !bytes.Equal(rest, audio) {
			t.Fatalf("metaint 0: got %d audio bytes, want the %d published, unchanged", len(rest), len(audio))
		}
		return
	}
	var plain, last []byte
	metas := 0
	for len(rest) > 0 {
		n := min(metaint, len(rest))
		plain = append(plain, rest[:n]...)
		rest = rest[n:]
		if len(rest) == 0 {
			break
		}
		size := 1 + int(rest[0])*16
		if size > len(rest) || len(plain) > len(titles) {
			t.Fatalf("metaint %d: stream runs past the published audio", metaint)
		}
		m, want := rest[:size], titles[len(plain)-1].Meta
		switch {
		case size == 1 && !bytes.Equal(last, want):
			t.Fatalf("metaint %d: metadata block %d says no change, want %q", metaint, metas, want)
		case size > 1 && !bytes.Equal(m, want):
			t.Fatalf("metaint %d: metadata block %d is %q, want %q", metaint, metas, m, want)
		}
		last = want
		metas++
		rest = rest[size:]
	}
	if !bytes.Equal(plain, audio) {
		t.Fatalf("metaint %d: got %d audio bytes, want the %d published, unchanged and in order", metaint, len(plain), len(audio))
	}
	if metas != len(audio)/metaint {
		t.Fatalf("metaint %d: %d metadata blocks in %d audio bytes", metaint, metas, len(audio))
	}
}

// BenchmarkFrameReader reads a 50 MB MP3 (silent 128 kbps frames) from
// disk; one op is one frame. Opening the file again at its end is not
// measured.
func BenchmarkFrameReader(b *testing.B) {
	const frames = 50_000_000 / 417
	path := testmedia.WriteFile(b, b.TempDir(), "big.mp3", testmedia.Frames(frames))
	open := func() (*FrameReader, io.Closer) {
		fr, c, err := OpenMP3(path)
		if err != nil {
			b.Fatal(err)
		}
		return fr, c
	}
	fr, c := open()
	b.ReportAllocs()
	b.SetBytes(417)
	n := 0
	for b.Loop() {
		if _, err := fr.Next(); err != nil {
			b.StopTimer()
			if n != frames {
				b.Fatalf("read %d frames, want %d: %v", n, frames, err)
			}
			c.Close()
			fr, c = open()
			n = 0
			b.StartTimer()
			if _, err := fr.Next(); err != nil {
				b.Fatal(err)
			}
		}
		n++
	}
	c.Close()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

// benchRing fills a ring with 4 KiB blocks of whole frames (about 250 ms
// of 128 kbps audio each), as a 2 MiB station buffer holds them.
func benchRing() (*Ring, time.Time) {
	const frames = 4096 / 417
	feed := newBenchFeed(frames)
	r := NewRing(2 << 20)
	for range (2 << 20) / len(feed.audio) {
		r.Append(feed.next())
	}
	return r, feed.due
}

// BenchmarkRingJoinPoint finds where a listener joining with a 10 s burst
// starts: a walk from the ring's head, so it costs more with bigger rings.
func BenchmarkRingJoinPoint(b *testing.B) {
	r, now := benchRing()
	b.ReportAllocs()
	var blk *Block
	for b.Loop() {
		blk, _ = r.JoinPoint(now, 10*time.Second)
	}
	if blk == nil || now.Sub(blk.Due) < 9*time.Second {
		b.Fatal("join point is not 10 s behind live")
	}
}

// BenchmarkListenerPlan plans and commits one full write for a listener
// with ICY metadata on (metaint 16000, the default): "tick" is the steady
// state, one 4 KiB block behind; "burst" is a joiner 64 KiB behind;
// "catchup" is a listener 256 KiB (flushLimit) behind, more pieces than a
// new scratch holds.
func BenchmarkListenerPlan(b *testing.B) {
	r, _ := benchRing()
	sc := newScratch()
	for _, behind := range []struct {
		name   string
		blocks int
	}{{"tick", 1}, {"burst", 16}, {"catchup", 64}} {
		b.Run(behind.name, func(b *testing.B) {
			start := r.Tail()
			for blk := r.Head(); blk != nil; blk = blk.Next() {
				if r.Tail().Seq-blk.Seq == uint64(behind.blocks-1) {
					start = blk
				}
			}
			l := &listener{icy: newInterleaveAt(benchMetaint, 5000)}
			icy0 := l.icy
			b.ReportAllocs()
			var segs, written int
			for b.Loop() {
				l.blk, l.off, l.icy = start, 0, icy0
				s := l.plan(sc)
				n := 0
				for _, sg := range s {
					n += len(sg.b)
				}
				l.commit(s, n)
				segs, written = len(s), n
			}
			if l.blk != r.Tail() || l.off != len(l.blk.Data) {
				b.Fatal("commit did not reach the live edge")
			}
			b.ReportMetric(float64(segs), "segs/write")
			b.SetBytes(int64(written))
		})
	}
}

// newInterleaveAt is an Interleave that has already sent some audio, so
// benchmarks do not all start on a metadata boundary.
func newInterleaveAt(metaint, sent int) icy.Interleave {
	s := icy.NewInterleave(metaint)
	s.Audio(sent)
	return s
}
