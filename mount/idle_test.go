package mount

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/icy"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// handSource plays the tracks the test hands it, and nothing else: with
// none handed, its station is idle.
type handSource struct {
	ran   chan struct{} // closed once Run has the feed
	once  sync.Once
	mu    sync.Mutex
	feed  *Feed
	queue []*Track
}

func newHandSource() *handSource { return &handSource{ran: make(chan struct{})} }

func (h *handSource) Run(ctx context.Context, f *Feed) {
	h.mu.Lock()
	h.feed = f
	h.mu.Unlock()
	h.once.Do(func() { close(h.ran) })
	<-ctx.Done()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range h.queue {
		closeTrack(t)
	}
	h.queue = nil
}

func (h *handSource) Next() *Track {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.queue) == 0 {
		return nil
	}
	t := h.queue[0]
	h.queue = h.queue[1:]
	return t
}

// give hands the station a track of n numbered 128 kbps frames (26 ms each).
func (h *handSource) give(t *testing.T, title string, n int) {
	t.Helper()
	select {
	case <-h.ran:
	case <-time.After(10 * time.Second):
		t.Fatal("the station never ran the source")
	}
	h.mu.Lock()
	h.queue = append(h.queue, &Track{
		Info:   &TrackInfo{Display: title, Meta: icy.MetaBlock(title, icy.UTF8), Bitrate: 128, SampleRate: 44100, Channels: 2},
		Frames: &genFrames{left: n},
	})
	f := h.feed
	h.mu.Unlock()
	f.Ready()
}

// runStation runs st until the test ends.
func runStation(t *testing.T, st *Station) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		st.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// awaitStation waits until cond holds, looking again at every publish and
// whenever the station goes idle; with clk, the pacer's waits are let
// through.
func awaitStation(t *testing.T, st *Station, clk *stepClock, what string, cond func() bool) {
	t.Helper()
	var sleeping chan time.Time
	if clk != nil {
		sleeping = clk.sleeping
	}
	limit := time.After(10 * time.Second)
	for {
		wake := st.published.wait()
		if cond() {
			return
		}
		select {
		case <-wake:
		case until := <-sleeping:
			clk.release(until)
		case <-limit:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// idleAfter reports whether st has played n tracks and has none to play.
func idleAfter(st *Station, n uint64) func() bool {
	return func() bool { return st.count.tracks.Load() >= n && st.idle.Load() }
}

// jump moves the clock while the pacer is not waiting (the station idle).
func (c *stepClock) jump(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestIndividualUndecodableFolderRefusesAndHoldsNothing (issue 14, item
// 13): an individual route whose files have playable names but no audio,
// not yet known to be bad, used to answer its first listeners with a head
// and silence, and keep their stations, descriptors and goroutines after
// they left. Now each gets a 503 and nothing is left behind.
func TestIndividualUndecodableFolderRefusesAndHoldsNothing(t *testing.T) {
	dir := t.TempDir()
	testmedia.WriteFile(t, dir, "page.mp3", []byte(strings.Repeat("<html>not found</html>\n", 100)))
	testmedia.WriteFile(t, dir, "zeros.mp3", make([]byte, 64<<10))
	m := &Mountpoint{
		Route: "/solo", Individual: true,
		Station: Config{Burst: time.Second, PublishInterval: 50 * time.Millisecond},
		Library: playlist.NewLibrary(dir, playlist.LibraryOptions{}),
	}
	ended := make(chan struct{}, 8)
	m.privateEnded = func() { ended <- struct{}{} }
	startMount(t, m)
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if !m.Ready() {
		t.Fatal("no file is known to be bad yet, but the route is not ready")
	}
	const refusal = "HTTP/1.0 503 Nothing\r\n\r\n"
	for i := range 3 { // the first finds the files bad; the others know it
		client, srv := dialPair(t, ln)
		defer client.Close()
		left := make(chan struct{})
		err := m.Join(JoinRequest{
			Conn: srv, Head: []byte(testHead), Remote: "test", UserAgent: "test",
			OnLeave: func() { close(left) },
			NoAudio: func() []byte { return []byte(refusal) },
		})
		if !errors.Is(err, ErrNoAudio) {
			t.Fatalf("listener %d: Join returned %v, want ErrNoAudio", i, err)
		}
		select {
		case <-left:
		default:
			t.Fatalf("listener %d: refused, but OnLeave has not run", i)
		}
		client.SetReadDeadline(time.Now().Add(10 * time.Second))
		got, err := io.ReadAll(client)
		if err != nil || string(got) != refusal {
			t.Fatalf("listener %d got %q (%v), want only the refusal", i, got, err)
		}
		select {
		case <-ended:
		case <-time.After(10 * time.Second):
			t.Fatalf("listener %d: its private station did not end", i)
		}
	}
	m.mu.Lock()
	running := len(m.private)
	m.mu.Unlock()
	if running != 0 {
		t.Errorf("%d private stations still running", running)
	}
	if s := m.Stats(); s.Listeners != 0 || s.Sessions != 0 {
		t.Errorf("listeners %d, sessions %d after three refusals, want 0 and 0", s.Listeners, s.Sessions)
	}
	if m.Ready() {
		t.Error("every file failed, but the route says it is ready")
	}
}

// TestListenerLeavingAnIdleStationIsReleased (issue 14, item 13): a
// station that publishes nothing writes nothing, so a listener who hung
// up was never found out: its descriptor and its place stayed until
// restart. A listener joining just before the station went idle, one
// joining while it is idle, and a TLS listener (a writer goroutine) are
// each released when they hang up.
func TestListenerLeavingAnIdleStationIsReleased(t *testing.T) {
	src := newHandSource()
	st := New(Config{Route: "/idle", PublishInterval: 50 * time.Millisecond, WriteTimeout: time.Hour}, src)
	runStation(t, st)
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	join := func(conn net.Conn) <-chan struct{} {
		t.Helper()
		left := make(chan struct{})
		if err := st.Join(JoinRequest{Conn: conn, Head: []byte(testHead), Remote: "test", UserAgent: "test", OnLeave: func() { close(left) }}); err != nil {
			t.Fatal(err)
		}
		return left
	}
	readHead := func(r io.Reader) {
		t.Helper()
		head := make([]byte, len(testHead))
		if _, err := io.ReadFull(r, head); err != nil || string(head) != testHead {
			t.Fatalf("head %q: %v", head, err)
		}
	}

	src.give(t, "short", 10) // a quarter of a second, then nothing
	awaitStation(t, st, nil, "the first block", func() bool { return st.ring.Tail() != nil })
	early, srv := dialPair(t, ln)
	defer early.Close()
	leftEarly := join(srv)
	awaitStation(t, st, nil, "the station to go idle", idleAfter(st, 1))
	late, srv := dialPair(t, ln)
	defer late.Close()
	leftLate := join(srv)
	raw, srv := dialPair(t, ln)
	cert, _, _ := testmedia.SelfSignedCert(t)
	leftTLS := join(tls.Server(srv, &tls.Config{Certificates: []tls.Certificate{cert}}))
	tc := tls.Client(raw, &tls.Config{InsecureSkipVerify: true})
	defer tc.Close()
	tc.SetReadDeadline(time.Now().Add(10 * time.Second))
	late.SetReadDeadline(time.Now().Add(10 * time.Second))
	readHead(bufio.NewReader(tc))
	readHead(late)
	if n := st.Listeners(); n != 3 {
		t.Fatalf("%d listeners, want 3", n)
	}

	early.Close()
	late.Close()
	tc.Close()
	for _, l := range []struct {
		name string
		left <-chan struct{}
	}{{"joined while playing", leftEarly}, {"joined while idle", leftLate}, {"TLS", leftTLS}} {
		select {
		case <-l.left:
		case <-time.After(10 * time.Second):
			t.Fatalf("listener %s hung up on the idle station and was not released", l.name)
		}
	}
	if s := st.Stats(); s.Listeners != 0 || s.TimeoutDrops != 0 || s.SlowDropped != 0 {
		t.Errorf("after the hang-ups: %+v, want no listener, counted as plain disconnects", s)
	}
}

// TestShortTracksKeepStationReady (issue 14, item 21): tracks shorter
// than the time it takes to open the next one (an encoder starting) left
// the station idle between tracks with its live edge behind the clock
// (the pre-roll, catching up), and Ready said no — a 503 to new listeners
// while the others heard audio. It stays ready while audio comes, and
// says no once the station really stopped.
func TestShortTracksKeepStationReady(t *testing.T) {
	clk := newStepClock()
	src := newHandSource()
	const interval = 200 * time.Millisecond
	st := New(Config{Route: "/short", Burst: 2 * time.Second, PublishInterval: interval, Clock: clk}, src)
	runStation(t, st)

	// The first track goes out at once, as the pre-roll: its audio is
	// still ahead of every listener, who starts 2.2 s behind.
	src.give(t, "first", 12) // 0.31 s
	awaitStation(t, st, clk, "the first track to end", idleAfter(st, 1))
	if !st.Ready() {
		t.Fatal("not ready right after the first track, whose audio listeners have yet to hear")
	}
	// Every next track takes twice its length to open: the station plays
	// slower than real time, in bursts, but it plays.
	for i := range 8 {
		clk.jump(600 * time.Millisecond)
		if !st.Ready() {
			t.Fatalf("not ready while track %d opens (the last one ended 0.6 s ago)", i+2)
		}
		src.give(t, "next", 12)
		awaitStation(t, st, clk, "the track to end", idleAfter(st, uint64(i+2)))
	}
	if st.NowPlaying() == nil {
		t.Error("no title while audio plays")
	}
	// Nothing more comes: once listeners have heard it all, off the air.
	clk.jump(st.BurstDelay() + time.Second)
	if st.Ready() {
		t.Error("still ready with nothing published for longer than the burst delay")
	}
	if st.NowPlaying() != nil {
		t.Error("a title while off the air")
	}
}
