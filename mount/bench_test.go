package mount

import (
	"fmt"
	"io"
	"runtime"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aposazhennikov/stream-audio-to-web/icy"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// Results and how to read them: docs/benchmarks.md.

func BenchmarkFanout1000(b *testing.B) {
	for _, metaint := range []int{0, benchMetaint} {
		b.Run(fmt.Sprintf("metaint=%d", metaint), func(b *testing.B) {
			benchFanout(b, 1000, metaint, benchBlockFrames, serverShards())
		})
	}
	b.Run("floor", func(b *testing.B) { benchWriteFloor(b, 1000) })
}

func BenchmarkPublish10000(b *testing.B) {
	for _, metaint := range []int{0, benchMetaint} {
		b.Run(fmt.Sprintf("metaint=%d", metaint), func(b *testing.B) {
			benchFanout(b, 10000, metaint, benchBlockFrames, serverShards())
		})
	}
}

// BenchmarkFanoutShape varies what the design leaves open: the publish
// interval (frames per block, so bytes per write) and the shard count.
func BenchmarkFanoutShape(b *testing.B) {
	for _, frames := range []int{4, 8, 20, 39} { // ≈ 100 ms, 200 ms, 500 ms, 1 s
		b.Run(fmt.Sprintf("interval=%dms", frames*int(benchFrameDur/time.Millisecond)), func(b *testing.B) {
			benchFanout(b, 1000, 0, frames, serverShards())
		})
	}
	for _, shards := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("shards=%d", shards), func(b *testing.B) { benchFanout(b, 1000, 0, benchBlockFrames, shards) })
	}
}

// serverShards is the shard count cmd/audio-streamer gives a station.
func serverShards() int { return min(runtime.GOMAXPROCS(0), 4) }

// benchFanout measures one publish tick: a 200 ms block of 128 kbps audio
// appended to the ring, then every shard (as many as the server starts:
// GOMAXPROCS, at most 4) writes to each of its listeners once. One op is
// one tick over all n listeners. The client process reads between
// batches of ticks, outside the measured time, and must have received
// exactly what the listeners counted as sent.
func benchFanout(b *testing.B, n, metaint, frames, shards int) {
	b.ReportAllocs()
	feed := newBenchFeed(frames)
	bs := newBenchStation(b, shards, feed)
	conns, clients := acceptBenchConns(b, n)
	for _, c := range conns {
		if _, err := bs.Join(c, benchHead(metaint), metaint, c.RemoteAddr().String(), "bench", nil); err != nil {
			b.Fatal(err)
		}
	}
	// Ticks per batch: keep ≤ 32 MiB in flight in all, ≤ 8 blocks a socket.
	batch := min(max((32<<20)/(n*len(feed.audio)), 1), 8)
	endBatch := func() {
		if k := bs.behind(); k > 0 {
			b.Errorf("%d of %d listeners behind the live edge after a batch: sockets were full", k, n)
		}
		clients.drain(b, bs.sent())
		bs.makeBlocks(batch)
	}
	// Warm up: adopt the listeners, make each one's write closure, let the
	// runtime start its threads and GC workers.
	bs.makeBlocks(batch)
	for range 3 {
		for range batch {
			bs.tick()
		}
		endBatch()
	}
	runtime.GC()

	sent0 := bs.sent()
	var m meter
	ticks := 0
	m.start()
	for b.Loop() {
		if len(bs.pending) == 0 {
			b.StopTimer()
			m.stop()
			endBatch()
			m.start()
			b.StartTimer()
		}
		bs.tick()
		ticks++
	}
	m.stop()
	endBatch()
	m.report(b, ticks, n, bs.sent()-sent0)
	// The runtime allocates now and then on its own (a thread for a
	// goroutine stuck in a syscall, GC workers, timers): a few per run.
	// Anything on the write path runs every tick for every listener (ICY
	// blocks every few ticks), so it would be ≥ 1 per tick, and hundreds
	// per tick if per listener.
	if m.mallocs >= uint64(max(ticks, 16)) {
		b.Errorf("%d allocations in %d ticks of %d listeners: the steady state must allocate nothing", m.mallocs, ticks, n)
	}
}

// meter adds up the process's CPU time (user + system, all threads) and
// heap allocations over the measured stretches of a benchmark.
type meter struct {
	cpu     time.Duration
	mallocs uint64
	ms      runtime.MemStats
	ru      syscall.Rusage
}

func (m *meter) read() (time.Duration, uint64) {
	runtime.ReadMemStats(&m.ms)
	syscall.Getrusage(syscall.RUSAGE_SELF, &m.ru)
	return time.Duration(m.ru.Utime.Nano() + m.ru.Stime.Nano()), m.ms.Mallocs
}

func (m *meter) start() {
	cpu, mallocs := m.read()
	m.cpu -= cpu
	m.mallocs -= mallocs
}

func (m *meter) stop() {
	cpu, mallocs := m.read()
	m.cpu += cpu
	m.mallocs += mallocs
}

// report gives the per-write figures of ticks over n listeners.
func (m *meter) report(b *testing.B, ticks, n int, bytes int64) {
	writes := float64(ticks * n)
	b.ReportMetric(float64(bytes)/b.Elapsed().Seconds(), "B/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/writes, "ns/write")
	b.ReportMetric(float64(m.cpu.Nanoseconds())/writes, "cpu-ns/write")
	b.ReportMetric(float64(m.mallocs)/writes, "allocs/listener-tick")
}

// benchWriteFloor is the kernel's share of benchFanout: the same sockets,
// blocks and workers, but each write is a bare write(2) of the block on
// the descriptor, with no ring, plan, ICY, netpoller or accounting.
func benchWriteFloor(b *testing.B, n int) {
	b.ReportAllocs()
	feed := newBenchFeed(benchBlockFrames)
	conns, clients := acceptBenchConns(b, n)
	b.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	workers := serverShards()
	fds := make([][]int, workers)
	for i, c := range conns {
		raw, err := c.SyscallConn()
		if err != nil {
			b.Fatal(err)
		}
		raw.Control(func(fd uintptr) { fds[i%workers] = append(fds[i%workers], int(fd)) })
	}
	blk := feed.next() // the same bytes every tick: the kernel copies them all the same
	var sent int64
	start, done := make([]chan struct{}, workers), make(chan int64)
	for w := range workers {
		start[w] = make(chan struct{})
		go func() {
			for range start[w] {
				var k int64
				for _, fd := range fds[w] {
					m, err := unix.Write(fd, blk.Data)
					if err != nil || m != len(blk.Data) {
						b.Errorf("write: %d, %v", m, err)
					}
					k += int64(m)
				}
				done <- k
			}
		}()
	}
	b.Cleanup(func() {
		for _, c := range start {
			close(c)
		}
	})
	tick := func() {
		for _, c := range start {
			c <- struct{}{}
		}
		for range start {
			sent += <-done
		}
	}
	batch := min(max((32<<20)/(n*len(feed.audio)), 1), 8)
	var m meter
	ticks := 0
	m.start()
	for b.Loop() {
		if ticks > 0 && ticks%batch == 0 {
			b.StopTimer()
			m.stop()
			clients.drain(b, sent)
			m.start()
			b.StartTimer()
		}
		tick()
		ticks++
	}
	m.stop()
	clients.drain(b, sent)
	m.report(b, ticks, n, sent)
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
			l := &Listener{icy: newInterleaveAt(benchMetaint, 5000)}
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

// BenchmarkListenerMemory reports the Go heap an accepted connection takes
// and what a joined listener keeps in all, for 5000 listeners joined as
// the server joins them.
func BenchmarkListenerMemory(b *testing.B) {
	b.ReportAllocs()
	var conn, l, join float64
	for b.Loop() {
		conn, l, join = listenerMemory(b, 5000)
	}
	b.ReportMetric(conn, "B/accepted-conn")
	b.ReportMetric(l, "B/listener")
	b.ReportMetric(join, "B-allocated/join")
}

// newInterleaveAt is an Interleave that has already sent some audio, so
// benchmarks do not all start on a metadata boundary.
func newInterleaveAt(metaint, sent int) icy.Interleave {
	s := icy.NewInterleave(metaint)
	s.Audio(sent)
	return s
}
