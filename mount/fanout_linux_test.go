package mount

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aposazhennikov/stream-audio-to-web/icy"
)

// The fixtures here feed the fan-out benchmarks and the steady-state tests
// below: a station built with New but never Run, whose ring the caller
// appends to and whose shards the caller drives, so what is measured is the
// write path and not the pacer. They write through detached descriptors
// (socket_linux.go) and count with Linux syscalls, hence Linux only.

const (
	// benchBlockFrames frames make one publish of the default 200 ms
	// PublishInterval: the station closes a block once it holds ≥ 200 ms.
	benchBlockFrames = 8
	// benchClientsEnv tells the test binary it runs as the client process.
	benchClientsEnv = "MOUNT_BENCH_CLIENTS"
	benchReplyTag   = "fanout-clients: "
)

// benchHead is a listener's response head, built as the server builds it.
func benchHead(metaint int) []byte {
	h := icy.Head{
		Name: "Bench", Description: "fan-out benchmark", Genre: "Various", URL: "http://127.0.0.1/",
		Bitrate: 128, SampleRate: 44100, Channels: 2, Metaint: metaint, ServerID: "audio-streamer",
	}
	return h.Append(make([]byte, 0, 640))
}

// raiseOpenFiles lifts the soft RLIMIT_NOFILE to the hard limit. Calling
// Setrlimit also stops os/exec from restoring the old soft limit in the
// client process, which needs as many descriptors as this one.
func raiseOpenFiles(tb testing.TB, need uint64) {
	tb.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		tb.Fatal(err)
	}
	if lim.Max < need {
		lim.Max = need // works with CAP_SYS_RESOURCE only
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		tb.Skipf("need %d open files per process, RLIMIT_NOFILE allows %d: %v", need, lim.Cur, err)
	}
}

// benchClients holds the client ends of n loopback connections in a child
// process (this test binary run as TestFanoutClientProcess). It reads only
// when told to, between measured ticks, so reading costs the measured
// process nothing, and each process needs one descriptor per connection,
// which is what lets 10,000 listeners fit a 20,000 open-files limit.
type benchClients struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

// acceptBenchConns starts the client process and accepts its n connections.
func acceptBenchConns(tb testing.TB, n int) ([]*net.TCPConn, *benchClients) {
	tb.Helper()
	raiseOpenFiles(tb, uint64(n)+256)
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFanoutClientProcess$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s,%d", benchClientsEnv, ln.Addr(), n))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	c := &benchClients{cmd: cmd, in: in, out: bufio.NewScanner(out)}
	tb.Cleanup(c.close)
	// A client process that dies leaves Accept waiting: bound it.
	if err := ln.SetDeadline(time.Now().Add(2 * time.Minute)); err != nil {
		tb.Fatal(err)
	}
	conns := make([]*net.TCPConn, 0, n)
	for range n {
		conn, err := ln.AcceptTCP()
		if err != nil {
			tb.Fatalf("accepted %d of %d connections: %v", len(conns), n, err)
		}
		conns = append(conns, conn)
	}
	if r := c.reply(tb); r != "ready" {
		tb.Fatalf("client process: %q", r)
	}
	return conns, c
}

// close ends the client process (it closes its sockets on the end of its
// input) and waits for it.
func (c *benchClients) close() {
	if c.in != nil {
		c.in.Close()
		_ = c.cmd.Wait() // its replies said all there is to know
		c.in = nil
	}
}

func (c *benchClients) reply(tb testing.TB) string {
	tb.Helper()
	for c.out.Scan() {
		if r, ok := strings.CutPrefix(c.out.Text(), benchReplyTag); ok {
			return r
		}
	}
	tb.Fatalf("client process ended: %v", c.out.Err())
	return ""
}

// drain makes the client process read until it has received total bytes
// over all connections, and checks that it got exactly that.
func (c *benchClients) drain(tb testing.TB, total int64) {
	tb.Helper()
	if _, err := fmt.Fprintln(c.in, total); err != nil {
		tb.Fatal(err)
	}
	r := c.reply(tb)
	if got, err := strconv.ParseInt(r, 10, 64); err != nil || got != total {
		tb.Fatalf("clients received %q bytes, listeners sent %d", r, total)
	}
}

// TestFanoutClientProcess is not a test: it is the client process of the
// fan-out benchmarks and skips unless started by acceptBenchConns.
func TestFanoutClientProcess(t *testing.T) {
	spec := os.Getenv(benchClientsEnv)
	if spec == "" {
		t.Skip("client process of the fan-out benchmarks")
	}
	addr, count, _ := strings.Cut(spec, ",")
	n, err := strconv.Atoi(count)
	if err != nil {
		t.Fatal(err)
	}
	if err := runBenchClients(addr, n, os.Stdin, os.Stdout); err != nil {
		t.Fatal(err)
	}
}

// runBenchClients dials n connections, then for every total read from cmds
// reads (epoll, level-triggered) until that many bytes have arrived in all,
// and answers with the count. The sockets are made with plain syscalls,
// not net.Dial: registered with the Go netpoller, every segment the server
// writes would wake this process while the server is being measured.
func runBenchClients(addr string, n int, cmds io.Reader, out io.Writer) error {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return err
	}
	sa := &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	defer unix.Close(ep)
	fds := make([]int, 0, n)
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	for range n {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		fds = append(fds, fd)
		if err := unix.Connect(fd, sa); err != nil {
			return err
		}
		if err := unix.SetNonblock(fd, true); err != nil {
			return err
		}
		if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}); err != nil {
			return err
		}
	}
	fmt.Fprintln(out, benchReplyTag+"ready")
	buf := make([]byte, 256<<10)
	events := make([]unix.EpollEvent, 1024)
	var total int64
	cmd := bufio.NewScanner(cmds)
	for cmd.Scan() {
		want, err := strconv.ParseInt(cmd.Text(), 10, 64)
		if err != nil {
			return err
		}
		deadline := time.Now().Add(time.Minute)
		for total < want && time.Now().Before(deadline) {
			k, err := unix.EpollWait(ep, events, 1000)
			if err != nil && err != unix.EINTR {
				return err
			}
			for _, ev := range events[:max(k, 0)] {
				for {
					m, err := unix.Read(int(ev.Fd), buf)
					if m > 0 {
						total += int64(m)
						continue
					}
					if m == 0 && err == nil { // closed by the server
						if err := unix.EpollCtl(ep, unix.EPOLL_CTL_DEL, int(ev.Fd), nil); err != nil {
							return err
						}
					}
					break
				}
			}
		}
		fmt.Fprintf(out, "%s%d\n", benchReplyTag, total)
	}
	return cmd.Err()
}

// benchStation is a station that is never Run: the caller appends blocks
// and drives its shards, one worker goroutine per shard as in shard.run.
type benchStation struct {
	*Station
	feed    *benchFeed
	start   []chan struct{}
	done    chan struct{}
	pending []*Block // made ahead, outside the measured time
}

func newBenchStation(tb testing.TB, shards int, feed *benchFeed) *benchStation {
	bs := &benchStation{Station: New(Config{Route: "/bench", Shards: shards}), feed: feed, done: make(chan struct{})}
	for _, sh := range bs.shards {
		start := make(chan struct{})
		bs.start = append(bs.start, start)
		go func() {
			sc := newScratch()
			for range start {
				sh.writeAll(sc, false)
				bs.done <- struct{}{}
			}
		}()
	}
	tb.Cleanup(func() {
		for _, c := range bs.start {
			close(c)
		}
		for _, sh := range bs.shards {
			for _, l := range sh.listeners {
				l.sock.close()
			}
			for _, l := range sh.pending {
				l.sock.close()
			}
		}
	})
	return bs
}

// makeBlocks prepares the next n blocks.
func (bs *benchStation) makeBlocks(n int) {
	for range n {
		bs.pending = append(bs.pending, bs.feed.next())
	}
}

// tick publishes one prepared block (or none, when none is left) and waits
// until every shard has written to all its listeners once.
func (bs *benchStation) tick() {
	if len(bs.pending) > 0 {
		bs.ring.Append(bs.pending[0])
		bs.pending[0] = nil
		bs.pending = bs.pending[1:]
	}
	for _, c := range bs.start {
		c <- struct{}{}
	}
	for range bs.start {
		<-bs.done
	}
}

// sent is the bytes written to all listeners so far (head included).
// Call it between ticks only.
func (bs *benchStation) sent() (total int64) {
	for _, sh := range bs.shards {
		for _, l := range sh.listeners {
			total += l.sent.Load()
		}
	}
	return total
}

// behind counts listeners that have not got everything published: in the
// fan-out benchmarks that means a socket was full and the figures measure
// EAGAIN instead of the steady state.
func (bs *benchStation) behind() int {
	tail := bs.ring.Tail()
	n := 0
	for _, sh := range bs.shards {
		for _, l := range sh.listeners {
			if len(l.head) > 0 || l.icy.Remaining() != nil || l.blk != tail || l.off != len(tail.Data) {
				n++
			}
		}
	}
	return n
}

// TestSteadyStateWriteAllocatesNothing runs the shard's write path over
// listeners with and without ICY metadata, plus one whose client does not
// read (its writes end short or in EAGAIN), and requires zero allocations
// per tick; then it checks every byte the reading clients got.
func TestSteadyStateWriteAllocatesNothing(t *testing.T) {
	const ticks = 40
	feed := newBenchFeed(2) // small blocks: 40 ticks fit the socket buffers unread
	feed.titleEvery = 7
	bs := newBenchStation(t, 1, feed)
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type client struct {
		conn    *net.TCPConn
		metaint int
	}
	var clients []client
	join := func(metaint, sndBuf, rcvBuf int) {
		c, err := net.DialTCP("tcp", nil, ln.Addr().(*net.TCPAddr))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if rcvBuf > 0 {
			if err := c.SetReadBuffer(rcvBuf); err != nil {
				t.Fatal(err)
			}
		}
		srv, err := ln.AcceptTCP()
		if err != nil {
			t.Fatal(err)
		}
		if sndBuf > 0 {
			if err := srv.SetWriteBuffer(sndBuf); err != nil {
				t.Fatal(err)
			}
		}
		if err := bs.Join(JoinRequest{Conn: srv, Head: benchHead(metaint), Metaint: metaint, Remote: c.LocalAddr().String(), UserAgent: "test"}); err != nil {
			t.Fatal(err)
		}
		clients = append(clients, client{c, metaint})
	}
	// A metaint below the block size puts a metadata block in every write,
	// sometimes two; 833 also cuts blocks mid-frame.
	for _, metaint := range []int{0, 0, 833, 1000, 16000} {
		join(metaint, 0, 0)
	}
	join(700, 4096, 4096) // never read: fills up
	slow := clients[len(clients)-1]
	clients = clients[:len(clients)-1]

	bs.makeBlocks(ticks + 2)
	bs.tick() // adopts the joined listeners; their first writes build the closures
	allocs := testing.AllocsPerRun(ticks, bs.tick)
	if allocs != 0 {
		t.Errorf("%.2f allocations per tick over %d listeners, want 0", allocs, len(clients)+1)
	}
	if s := bs.Stats(); s.SlowDropped+s.TimeoutDrops != 0 || s.Listeners != len(clients)+1 {
		t.Fatalf("listeners dropped: %+v", s)
	}
	var slowL *listener
	for _, l := range bs.shards[0].listeners {
		if l.Remote == slow.conn.LocalAddr().String() {
			slowL = l
		}
	}
	if slowL == nil || slowL.blk == bs.ring.Tail() && slowL.off == len(slowL.blk.Data) {
		t.Fatal("the non-reading listener was never short of socket space: the EAGAIN path went untested")
	}

	// Let the reading listeners finish (a socket may have been full for a
	// moment; nothing signals when it has room, so poll, bounded), then
	// close them so their clients read to the end.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if bs.behind() == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d listeners never caught up", bs.behind()-1)
		}
		bs.tick()
	}
	for _, l := range bs.shards[0].listeners {
		if l != slowL {
			l.sock.close()
		}
	}
	var blocks []*Block
	for b := bs.ring.Head(); b != nil; b = b.Next() {
		blocks = append(blocks, b)
	}
	for _, c := range clients {
		c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		got, err := io.ReadAll(c.conn)
		if err != nil {
			t.Fatal(err)
		}
		checkICYStream(t, got, benchHead(c.metaint), blocks, c.metaint)
	}
}

// listenerMemory accepts n connections and joins them to a station the way
// the server does (its head buffer, remote address, user agent). It
// returns the Go heap an accepted connection takes before the join, the
// Go heap a joined listener keeps in all (Join lets the net.Conn go and
// keeps a duplicated descriptor), and how much each Join allocates,
// garbage included.
func listenerMemory(tb testing.TB, n int) (perConn, perListener, perJoin float64) {
	var ms runtime.MemStats
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	st := New(Config{Route: "/bench", Shards: 2})
	feed := newBenchFeed(benchBlockFrames)
	st.ring.Append(feed.next())
	st.ring.Append(feed.next())
	ua := "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

	h0 := heap()
	conns, clients := acceptBenchConns(tb, n)
	h1 := heap()
	a1 := ms.TotalAlloc
	for i, c := range conns {
		metaint := 0
		if i%2 == 0 {
			metaint = benchMetaint
		}
		remote := c.RemoteAddr().String()
		if err := st.Join(JoinRequest{Conn: c, Head: benchHead(metaint), Metaint: metaint, Remote: remote, UserAgent: strings.Clone(ua), OnLeave: func() {}}); err != nil {
			tb.Fatal(err)
		}
	}
	clear(conns) // from here the station holds them
	h2 := heap()
	a2 := ms.TotalAlloc
	for _, sh := range st.shards {
		for _, l := range sh.pending {
			l.sock.close()
		}
	}
	clients.close()
	per := func(a, b uint64) float64 { return float64(int64(b-a)) / float64(n) }
	return per(h0, h1), per(h0, h2), per(a1, a2)
}

// TestListenerMemory holds the per-listener budget: ≤ 512 B of Go heap,
// everything a joined listener keeps included (kernel socket buffers are
// outside the Go heap; a listener has no poll descriptor).
func TestListenerMemory(t *testing.T) {
	conn, l, _ := listenerMemory(t, 2000)
	t.Logf("accepted connection %.0f B, joined listener %.0f B", conn, l)
	if l > 512 {
		t.Fatalf("a joined listener keeps %.0f B of Go heap, want ≤ 512 B", l)
	}
}

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
		if err := bs.Join(JoinRequest{Conn: c, Head: benchHead(metaint), Metaint: metaint, Remote: c.RemoteAddr().String(), UserAgent: "bench"}); err != nil {
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
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &m.ru); err != nil {
		panic(err) // RUSAGE_SELF with a valid pointer cannot fail
	}
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
		if err := raw.Control(func(fd uintptr) { fds[i%workers] = append(fds[i%workers], int(fd)) }); err != nil {
			b.Fatal(err)
		}
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
