package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// The source's frames are valid 128 kbit/s frames, padded to exactly
// 128,000 bit/s, and carry a tag testmedia and the walker both read.
func TestSourceFrames(t *testing.T) {
	var stream []byte
	const n = 1000
	for k := range int64(n) {
		fr := sourceFrame(k, 1_000_000+k)
		var h header
		copy(h[:], fr)
		if !h.valid() || h.kbps() != 128 || h.size() != len(fr) || h.durationNs() != srcFrameNs {
			t.Fatalf("frame %d: valid %v kbps %d size %d/%d duration %d", k, h.valid(), h.kbps(), h.size(), len(fr), h.durationNs())
		}
		if got := testmedia.FrameIndex(fr); got != uint32(k) {
			t.Fatalf("frame %d: testmedia.FrameIndex = %d", k, got)
		}
		if string(fr[36:40]) != "\x00\x00\x00\x00" {
			t.Fatalf("frame %d: bytes 36..40 %q would look like a Xing/Info tag", k, fr[36:40])
		}
		stream = append(stream, fr...)
	}
	// 1000 frames of 1152 samples at 44.1 kHz and 128 kbit/s.
	want := n * 1152 * 128000 / 8 / 44100
	if len(stream) < want || len(stream) > want+1 {
		t.Errorf("%d bytes for %d frames, want %d", len(stream), n, want)
	}

	// A server's silent frame in the middle: header, then zeros.
	silent := make([]byte, 417)
	copy(silent, testmedia.Frame{Kbps: 128}.Bytes()[:4])
	stream = append(stream, silent...)

	w := frameWalker{tagging: true}
	var marks []mark
	for i, sizes := 0, []int{1, 3, 40, 7, 417, 1000, 2, 15, 4096}; len(stream) > 0; i++ {
		k := min(sizes[i%len(sizes)], len(stream))
		w.feed(stream[:k])
		stream = stream[k:]
		marks = append(marks, w.marks...)
		w.marks = w.marks[:0]
	}
	if len(marks) != n+1 || w.resyncs != 0 || !w.frameStart() {
		t.Fatalf("%d marks, %d resyncs, frame start %v; want %d, 0, true", len(marks), w.resyncs, w.frameStart(), n+1)
	}
	for k, m := range marks[:n] {
		if !m.tagged || m.seq != uint32(k) || m.sent != 1_000_000+int64(k) || m.play != int64(k)*srcFrameNs {
			t.Fatalf("mark %d = %+v", k, m)
		}
	}
	if marks[n].tagged {
		t.Errorf("the silent frame reads as tagged: %+v", marks[n])
	}
}

func TestLatStateCounts(t *testing.T) {
	var s latState
	const first = int64(10_000)
	// Before the window: the join point, not counted.
	s.onMark(mark{seq: 5, sent: 0, tagged: true}, first, first, false)
	// In the window: 6 on time (wire 100, audible 2000), 7 and 8 missing,
	// 9, a silent frame, 9 again, and a frame that comes too late to play.
	s.onMark(mark{seq: 6, sent: 9_000, play: 1_000, tagged: true}, 9_100, first, true)
	s.onMark(mark{seq: 9, sent: 9_100, play: 2_000, tagged: true}, 9_200, first, true)
	s.onMark(mark{}, 9_300, first, true)
	s.onMark(mark{seq: 9, sent: 9_200, play: 3_000, tagged: true}, 9_300, first, true)
	s.onMark(mark{seq: 10, sent: 9_300, play: 0, tagged: true}, first+500, first, true)
	if s.firstSeq != 5 || s.missing != 2 || s.reorder != 1 || s.untagged != 1 || s.late != 1 || len(s.samples) != 4 {
		t.Fatalf("state %+v", s)
	}
	if x := s.samples[0]; x.wire != 100 || x.audible != first+1_000-9_000 {
		t.Errorf("sample %+v", x)
	}
}

func TestLatencyReport(t *testing.T) {
	const ws, we = int64(0), int64(10 * time.Second)
	a, b := &latState{untagged: 1, missing: 3}, &latState{late: 2}
	for i := range 100 {
		at := int64(i) * int64(100*time.Millisecond)
		a.samples = append(a.samples, latSample{at: at, wire: int64(i+1) * int64(time.Millisecond), audible: int64(4 * time.Second)})
		b.samples = append(b.samples, latSample{at: at, wire: int64(i+101) * int64(time.Millisecond), audible: int64(5 * time.Second)})
	}
	r := latencyReport([]*latState{a, b}, ws, we)
	if r.Listeners != 2 || r.Untagged != 1 || r.Missing != 3 || r.Late != 2 {
		t.Errorf("counts %+v", r)
	}
	if w := r.WireMs; w.N != 200 || w.Min != 1 || w.P50 != 100 || w.P90 != 180 || w.P99 != 198 || w.Max != 200 {
		t.Errorf("wire %+v", w)
	}
	if au := r.AudibleMs; au.P50 != 4000 || au.P99 != 5000 {
		t.Errorf("audible %+v", au)
	}
	// Tenth 0 holds i = 0..9 of both: wire 1..10 and 101..110 → p50 10.
	if len(r.WireP50ByTenth) != 10 || r.WireP50ByTenth[0] != 10 || r.WireP50ByTenth[9] != 100 {
		t.Errorf("by tenth %v", r.WireP50ByTenth)
	}
}

func TestSampled(t *testing.T) {
	count := func(n, k int) (c int) {
		for i := range n {
			if sampled(i, n, k) {
				c++
			}
		}
		return c
	}
	for _, tc := range [][3]int{{1000, 100, 100}, {1000, 0, 0}, {10, 100, 10}, {1001, 100, 100}, {150, 100, 100}} {
		if got := count(tc[0], tc[1]); got != tc[2] {
			t.Errorf("sampled(n=%d, k=%d) picks %d, want %d", tc[0], tc[1], got, tc[2])
		}
	}
}

// A fake station relays what the source PUTs to its listeners at once:
// the source's frames come back in order with a wire latency of
// about nothing, and a wrong password fails the run.
func TestBenchSource(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var lsn []net.Conn
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("source:pw"))
	url := fakeServer(t, func(ctx context.Context, c net.Conn, req string) {
		if !strings.HasPrefix(req, "PUT ") {
			if _, err := io.WriteString(c, okHead); err != nil {
				return
			}
			mu.Lock()
			lsn = append(lsn, c)
			mu.Unlock()
			<-ctx.Done()
			return
		}
		if !strings.Contains(req, "Authorization: "+auth+"\r\n") || !strings.Contains(req, "Content-Type: audio/mpeg\r\n") ||
			strings.Contains(strings.ToLower(req), "content-length") {
			_, _ = io.WriteString(c, "HTTP/1.0 401 Unauthorized\r\n\r\n")
			return
		}
		if _, err := io.WriteString(c, "HTTP/1.0 200 OK\r\n\r\n"); err != nil {
			return
		}
		br := bufio.NewReader(c)
		buf := make([]byte, 4096)
		for {
			n, err := br.Read(buf)
			mu.Lock()
			for _, l := range lsn {
				_, _ = l.Write(buf[:n]) // a listener that left is no concern here
			}
			mu.Unlock()
			if err != nil {
				return
			}
		}
	})
	cfg := testConfig(url, 4)
	cfg.Duration = 2 * time.Second
	cfg.Source, cfg.SourcePassword, cfg.SourceWarmup, cfg.LatencySample = true, "pw", 300*time.Millisecond, 2
	rep, err := bench(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Connected != 4 || rep.Source == nil || rep.Source.Error != "" || rep.Latency == nil {
		t.Fatalf("connected %d source %+v latency %+v notes %v", rep.Connected, rep.Source, rep.Latency, rep.Notes)
	}
	l := rep.Latency
	// 2 s window at 38.3 frames/s, 2 listeners.
	if l.Listeners != 2 || l.WireMs.N < 140 || l.WireMs.N > 160 {
		t.Errorf("%d frames at %d listeners, want about 153 at 2", l.WireMs.N, l.Listeners)
	}
	if l.WireMs.P50 > 50 || l.WireMs.Min < 0 || l.Missing != 0 || l.Reorder != 0 || l.Untagged != 0 {
		t.Errorf("latency %+v", l)
	}
	// The listeners joined at the live edge with no burst: a player plays
	// each frame about when it arrives, never before.
	if l.AudibleMs.P50 < l.WireMs.P50-30 || l.AudibleMs.P50 > 300 {
		t.Errorf("audible %+v, wire %+v", l.AudibleMs, l.WireMs)
	}
	if rep.Source.Frames < 80 || rep.RatePct.P50 < 95 {
		t.Errorf("source %+v, rate %+v", rep.Source, rep.RatePct)
	}
	var human bytes.Buffer
	writeHuman(&human, rep)
	if !strings.Contains(human.String(), "latency wire ms") {
		t.Errorf("no latency line in\n%s", human.String())
	}

	cfg.SourcePassword = "wrong"
	if _, err := bench(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong password: %v, want a refusal with 401", err)
	}
}
