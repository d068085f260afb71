package mount

import (
	"bufio"
	"bytes"
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
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// The fixtures here feed the fan-out benchmarks (bench_test.go) and the
// steady-state tests below: a station built with New but never Run, whose
// ring the caller appends to and whose shards the caller drives, so what is
// measured is the write path and not the pacer.

const (
	// benchFrameDur is one 128 kbps, 44.1 kHz Layer III frame.
	benchFrameDur = 1152 * time.Second / 44100
	// benchBlockFrames frames make one publish of the default 200 ms
	// PublishInterval: the station closes a block once it holds ≥ 200 ms.
	benchBlockFrames = 8
	// benchMetaint is the server's default icy_metaint.
	benchMetaint = 16000
	// benchClientsEnv tells the test binary it runs as the client process.
	benchClientsEnv = "MOUNT_BENCH_CLIENTS"
	benchReplyTag   = "fanout-clients: "
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
	ln.SetDeadline(time.Now().Add(2 * time.Minute))
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
		c.cmd.Wait()
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
						unix.EpollCtl(ep, unix.EPOLL_CTL_DEL, int(ev.Fd), nil)
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
				sh.writeAll(sc)
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
			c.SetReadBuffer(rcvBuf)
		}
		srv, err := ln.AcceptTCP()
		if err != nil {
			t.Fatal(err)
		}
		if sndBuf > 0 {
			srv.SetWriteBuffer(sndBuf)
		}
		if _, err := bs.Join(srv, benchHead(metaint), metaint, c.LocalAddr().String(), "test", nil); err != nil {
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
	var slowL *Listener
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
		if _, err := st.Join(c, benchHead(metaint), metaint, remote, strings.Clone(ua), func() {}); err != nil {
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
