package mount

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/icy"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// stepClock is a fake clock that moves only when the test moves it. The
// station's pacer is its only sleeper: park waits until the pacer sleeps
// (so everything due so far is published and the ring holds still), and
// release moves the clock to the time the pacer waits for and wakes it.
type stepClock struct {
	mu       sync.Mutex
	now      time.Time
	sleeping chan time.Time
	woken    chan struct{}
}

func newStepClock() *stepClock {
	return &stepClock{now: time.Unix(1_000_000, 0), sleeping: make(chan time.Time), woken: make(chan struct{})}
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) SleepUntil(ctx context.Context, t time.Time) error {
	if !t.After(c.Now()) {
		return ctx.Err()
	}
	select {
	case c.sleeping <- t:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-c.woken:
		return ctx.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *stepClock) park(t *testing.T) time.Time {
	t.Helper()
	select {
	case until := <-c.sleeping:
		return until
	case <-time.After(10 * time.Second):
		t.Fatal("the station never waited for its next block")
		return time.Time{}
	}
}

func (c *stepClock) release(until time.Time) {
	c.mu.Lock()
	c.now = until
	c.mu.Unlock()
	c.woken <- struct{}{}
}

// step lets the station publish one more block.
func (c *stepClock) step(t *testing.T) { c.release(c.park(t)) }

// testLive stands for a live source: it has nothing until start, then one
// track of generated frames, then nothing again.
type testLive struct {
	fed    chan *Feed
	mu     sync.Mutex
	track  *Track
	closed atomic.Int32
}

func newTestLive() *testLive { return &testLive{fed: make(chan *Feed, 1)} }

func (s *testLive) Run(ctx context.Context, f *Feed) {
	s.fed <- f
	<-ctx.Done()
}

func (s *testLive) Next() *Track {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.track
	s.track = nil
	return t
}

// start makes a track of n frames, numbered from first, available.
func (s *testLive) start(t *testing.T, title string, first uint32, n int) {
	t.Helper()
	var f *Feed
	select {
	case f = <-s.fed:
	case <-time.After(10 * time.Second):
		t.Fatal("the station never ran the source")
	}
	s.mu.Lock()
	s.track = &Track{
		Info:   &TrackInfo{Display: title, Meta: icy.MetaBlock(title, icy.UTF8), Bitrate: 128, SampleRate: 44100, Channels: 2},
		Frames: &genFrames{next: first, left: n},
		Closer: closeCounter{&s.closed},
	}
	s.mu.Unlock()
	f.Ready()
}

// genFrames makes numbered 128 kbps frames one at a time.
type genFrames struct {
	next uint32
	left int
}

func (g *genFrames) Next() (Frame, error) {
	if g.left == 0 {
		return Frame{}, io.EOF
	}
	g.left--
	g.next++
	return Frame{Data: testmedia.FramesFrom(g.next-1, 1), Samples: 1152, SampleRate: 44100, Bitrate: 128000, Channels: 2}, nil
}

type closeCounter struct{ n *atomic.Int32 }

func (c closeCounter) Close() error { c.n.Add(1); return nil }

// capture reads a connection to its end in the background.
type capture struct {
	mu  sync.Mutex
	buf []byte
	err error
	got chan struct{}
}

func startCapture(t *testing.T, conn net.Conn) *capture {
	c := &capture{got: make(chan struct{}, 1)}
	done := make(chan struct{})
	t.Cleanup(func() { conn.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 32<<10)
		for {
			n, err := conn.Read(buf)
			c.mu.Lock()
			c.buf = append(c.buf, buf[:n]...)
			c.err = err
			c.mu.Unlock()
			select {
			case c.got <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	return c
}

// waitFor waits until the bytes received so far satisfy cond.
func (c *capture) waitFor(t *testing.T, what string, cond func([]byte) bool) []byte {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		got, err := bytes.Clone(c.buf), c.err
		c.mu.Unlock()
		if cond(got) {
			return got
		}
		if err != nil {
			t.Fatalf("waiting for %s: the connection ended: %v", what, err)
		}
		select {
		case <-c.got:
		case <-deadline:
			t.Fatalf("no %s after %d bytes", what, len(got))
		}
	}
}

// splitICY takes an ICY stream apart: its audio bytes and the titles its
// metadata blocks announce, each change once.
func splitICY(stream []byte, metaint int) (audio []byte, titles []string) {
	for len(stream) > 0 {
		n := min(metaint, len(stream))
		audio = append(audio, stream[:n]...)
		stream = stream[n:]
		if len(stream) == 0 {
			break
		}
		size := 1 + int(stream[0])*16
		if size > len(stream) {
			break
		}
		if meta := string(stream[1:size]); size > 1 {
			title, _, _ := strings.Cut(strings.TrimPrefix(meta, "StreamTitle='"), "';")
			if len(titles) == 0 || titles[len(titles)-1] != title {
				titles = append(titles, title)
			}
		}
		stream = stream[size:]
	}
	return audio, titles
}

// TestHigherSourceTakesOverOnAFrameBoundary: a folder plays; mid-track a
// live source (listed first) gets a track, plays it and ends; the folder
// resumes with its next track. A listener connected all along gets one
// continuous stream, the same connection throughout: exactly the audio
// published, every byte inside a whole frame (no resync), the stream
// position continuous across both switches, and the ICY title going from
// the folder's to the live one and back as the audio does.
func TestHigherSourceTakesOverOnAFrameBoundary(t *testing.T) {
	dir := t.TempDir()
	testmedia.WriteFile(t, dir, "a.mp3", testmedia.ID3v2("Folder", "A", 0), testmedia.FramesFrom(0, 400))
	testmedia.WriteFile(t, dir, "b.mp3", testmedia.ID3v2("Folder", "B", 0), testmedia.FramesFrom(1000, 400))
	lib := playlist.NewLibrary(dir, playlist.LibraryOptions{})
	if _, err := lib.Scan(); err != nil {
		t.Fatal(err)
	}
	clk := newStepClock()
	live := newTestLive()
	started := make(chan string, 16)
	st := New(Config{
		PublishInterval: 200 * time.Millisecond, Clock: clk,
		OnTrack: func(ti *TrackInfo) { started <- ti.Display },
	}, live, &FolderSource{Library: lib, Preload: 2})

	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, srv := dialPair(t, ln)
	const metaint = 1000
	if err := st.Join(JoinRequest{Conn: srv, Head: []byte(testHead), Metaint: metaint, Remote: "test"}); err != nil {
		t.Fatal(err)
	}
	got := startCapture(t, client)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { st.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	// a plays for a few blocks, then the live track arrives.
	for range 5 {
		clk.step(t)
	}
	live.start(t, "Live - Test", 5000, 60)
	var order []string
	for len(order) < 3 || order[len(order)-1] != "Folder - B" {
		if len(order) > 3 {
			t.Fatalf("tracks started: %q", order)
		}
		select {
		case title := <-started:
			order = append(order, title)
		default:
			clk.step(t)
		}
	}
	clk.step(t)
	clk.park(t) // the ring holds still from here

	var blocks []*Block
	total := 0
	for b := st.ring.Head(); b != nil; b = b.Next() {
		blocks = append(blocks, b)
		total += len(b.Data)
	}
	stream := got.waitFor(t, "the whole published stream", func(b []byte) bool {
		audio, _ := splitICY(bytes.TrimPrefix(b, []byte(testHead)), metaint)
		return len(audio) >= total
	})
	// Exactly the published audio, with every ICY block right.
	checkICYStream(t, stream, []byte(testHead), blocks, metaint)
	audio, titles := splitICY(stream[len(testHead):], metaint)
	if want := []string{"Folder - A", "Live - Test", "Folder - B"}; strings.Join(titles, "|") != strings.Join(want, "|") {
		t.Errorf("titles heard %q, want %q", titles, want)
	}

	// One run of whole frames: a cut short, all of the live track, b from
	// its start.
	fr := NewFrameReader(bytes.NewReader(audio))
	var idx []uint32
	for {
		f, err := fr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		idx = append(idx, testmedia.FrameIndex(f.Data))
	}
	if fr.Skipped != 0 || fr.Dropped != 0 || len(idx)*417 != len(audio) {
		t.Fatalf("the stream is not whole frames: %d bytes skipped, %d frames dropped, %d frames in %d bytes", fr.Skipped, fr.Dropped, len(idx), len(audio))
	}
	cut := 0
	for cut < len(idx) && idx[cut] == uint32(cut) {
		cut++
	}
	if cut == 0 || cut >= 400 {
		t.Fatalf("a played %d of its 400 frames before the live track: not cut mid-track", cut)
	}
	for i := range 60 {
		if cut+i >= len(idx) || idx[cut+i] != 5000+uint32(i) {
			t.Fatalf("frame %d after the switch is %v, want live frame %d", i, idx[cut+i:min(cut+i+1, len(idx))], 5000+i)
		}
	}
	rest := idx[cut+60:]
	if len(rest) == 0 {
		t.Fatal("nothing of b after the live track")
	}
	for i, v := range rest {
		if v != 1000+uint32(i) {
			t.Fatalf("after the live track: frame %d of b is %d, want %d (b from its start)", i, v, 1000+i)
		}
	}

	// The stream position runs on across both switches.
	for i := 1; i < len(blocks); i++ {
		if gap := blocks[i].Due.Sub(blocks[i-1].End()); gap < -time.Microsecond || gap > time.Microsecond {
			t.Fatalf("block %d (%s) starts %v after the previous one ends", i, blocks[i].Track.Display, gap)
		}
	}
	if n := live.closed.Load(); n != 1 {
		t.Errorf("the live track was closed %d times, want 1", n)
	}
	if s := st.Stats(); s.Sessions != 1 || s.Listeners != 1 || s.SlowDropped+s.TimeoutDrops != 0 || s.TracksPlayed != 2 {
		t.Errorf("stats %+v: want the one listener connected throughout, 2 tracks played (a, live)", s)
	}
}

// Mountpoint.Sources puts sources ahead of the folder, for the radio
// station and for each listener's private station, each station with
// sources of its own: a live track takes over from the folder mid-track
// and the listener hears it, with no change in mountpoint.go needed.
func TestMountpointSourcesTakeOver(t *testing.T) {
	for _, individual := range []bool{false, true} {
		t.Run(map[bool]string{false: "radio", true: "individual"}[individual], func(t *testing.T) {
			dir := t.TempDir()
			testmedia.WriteFile(t, dir, "a.mp3", testmedia.FramesFrom(0, 3000))
			made := make(chan *testLive, 4)
			m := &Mountpoint{
				Route: "/", Individual: individual,
				Station: Config{Burst: 200 * time.Millisecond, PublishInterval: 50 * time.Millisecond},
				Library: playlist.NewLibrary(dir, playlist.LibraryOptions{}),
				Sources: func() []Source {
					live := newTestLive()
					made <- live
					return []Source{live}
				},
			}
			startMount(t, m)
			testmedia.PollUntil(t, 15*time.Second, "the mountpoint to be ready", m.Ready)
			fl := listen(t, m)
			fl.waitFor(t, 5*time.Second, "a frame of the folder", func(i uint32) bool { return i < 3000 })
			var live *testLive
			select {
			case live = <-made:
			case <-time.After(5 * time.Second):
				t.Fatal("Sources was never called")
			}
			live.start(t, "Live - Test", 5000, 40)
			fl.waitFor(t, 10*time.Second, "a frame of the live track", func(i uint32) bool { return i >= 5000 && i < 5040 })
			fl.waitFor(t, 10*time.Second, "the folder again", func(i uint32) bool { return i < 3000 })
			if len(made) != 0 {
				t.Fatalf("Sources called %d more times for one station", len(made))
			}
			if np := m.NowPlaying(); np == nil {
				t.Fatal("nothing playing")
			}
		})
	}
}
