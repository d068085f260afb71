package mount

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// loopTracks plays a fixed list of files in order, forever.
type loopTracks struct {
	mu    sync.Mutex
	paths []string
	i     int
	bad   map[string]bool
}

func (lt *loopTracks) Next() (string, Pick, bool) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	for range lt.paths {
		p := lt.paths[lt.i%len(lt.paths)]
		lt.i++
		if !lt.bad[p] {
			return p, Pick{Rel: filepath.Base(p)}, true
		}
	}
	return "", Pick{}, false
}

func (lt *loopTracks) Bad(pick Pick) bool {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	for _, p := range lt.paths {
		if filepath.Base(p) == pick.Rel {
			lt.bad[p] = true
		}
	}
	return true
}

func (lt *loopTracks) Unplayed([]Pick) {}

// fastClock runs speed times faster than the wall clock, so tests that need
// minutes of audio take seconds. Sockets still run in real time.
type fastClock struct {
	start time.Time
	speed int64
}

func (c fastClock) Now() time.Time {
	return c.start.Add(time.Since(c.start) * time.Duration(c.speed))
}

func (c fastClock) SleepUntil(ctx context.Context, t time.Time) error {
	return SystemClock{}.SleepUntil(ctx, time.Now().Add(t.Sub(c.Now())/time.Duration(c.speed)))
}

type testStation struct {
	*Station
	ln   *net.TCPListener
	stop func()
}

// startStation plays files (named a.mp3, b.mp3, …) in a loop, every one
// offered even if broken or empty, from a FolderSource.
func startStation(t *testing.T, cfg Config, files ...[]byte) *testStation {
	t.Helper()
	return startSource(t, cfg, &FolderSource{}, files...)
}

// startSource is startStation with src's other settings and hooks.
func startSource(t *testing.T, cfg Config, src *FolderSource, files ...[]byte) *testStation {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for i, f := range files {
		paths = append(paths, testmedia.WriteFile(t, dir, string(rune('a'+i))+".mp3", f))
	}
	src.hooks.tracks = &loopTracks{paths: paths, bad: map[string]bool{}}
	st := New(cfg, src)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { st.Run(ctx); close(done) }()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ts := &testStation{Station: st, ln: ln, stop: func() { cancel(); <-done; ln.Close() }}
	t.Cleanup(ts.stop)
	return ts
}

// waitReady waits, publish by publish, until the station is ready and its
// ring holds at least audio.
func waitReady(t *testing.T, st *Station, audio time.Duration) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		wake := st.published.wait()
		if tail := st.ring.Tail(); tail != nil && st.Ready() {
			if h := st.ring.Head(); tail.End().Sub(h.Due) >= audio {
				return
			}
		}
		select {
		case <-wake:
		case <-deadline:
			t.Fatal("station never became ready")
		}
	}
}

const testHead = "HTTP/1.0 200 OK\r\n\r\n"

// join connects a client and returns its reader positioned after the head.
func (ts *testStation) join(t *testing.T, serverSndBuf, clientRcvBuf int) (*net.TCPConn, *bufio.Reader, time.Time) {
	t.Helper()
	client, err := net.DialTCP("tcp", nil, ts.ln.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	if clientRcvBuf > 0 {
		if err := client.SetReadBuffer(clientRcvBuf); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := ts.ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	if serverSndBuf > 0 {
		if err := srv.SetWriteBuffer(serverSndBuf); err != nil {
			t.Fatal(err)
		}
	}
	joined := ts.clock.Now()
	if err := ts.Join(JoinRequest{Conn: srv, Head: []byte(testHead), Remote: client.LocalAddr().String(), UserAgent: "test"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	br := bufio.NewReaderSize(client, 64<<10)
	head := make([]byte, len(testHead))
	if _, err := io.ReadFull(br, head); err != nil || string(head) != testHead {
		t.Fatalf("head %q, %v", head, err)
	}
	return client, br, joined
}

func TestJoinStartsOnFrameSyncWithBurst(t *testing.T) {
	ts := startStation(t, Config{Burst: 2 * time.Second}, testmedia.Frames(3000))
	waitReady(t, ts.Station, 3*time.Second)
	client, br, _ := ts.join(t, 0, 0)
	// The burst arrives at once: read it with a short deadline.
	client.SetReadDeadline(time.Now().Add(2 * time.Second))
	frame := make([]byte, 417)
	if _, err := io.ReadFull(br, frame); err != nil {
		t.Fatal(err)
	}
	if frame[0] != 0xFF || frame[1] != 0xFB {
		t.Fatalf("first audio bytes % x, want a frame sync", frame[:4])
	}
	n := 1
	for br.Buffered() >= 417 || n < 70 {
		if _, err := io.ReadFull(br, frame); err != nil {
			break
		}
		if frame[0] != 0xFF {
			t.Fatalf("frame %d is not aligned", n)
		}
		n++
		if n >= 70 {
			break
		}
	}
	// 2 s of burst is 76.6 frames; at least 70 arrived without waiting.
	if n < 70 {
		t.Fatalf("burst carried %d frames, want ≥ 70", n)
	}
}

func TestTwoListenersHearTheSameMoment(t *testing.T) {
	clock := fastClock{start: time.Now(), speed: 4}
	ts := startStation(t, Config{Burst: 3 * time.Second, Clock: clock}, testmedia.Frames(5000))
	waitReady(t, ts.Station, 4*time.Second)
	firstFrame := func() (uint32, time.Time) {
		client, br, joined := ts.join(t, 0, 0)
		client.SetReadDeadline(time.Now().Add(5 * time.Second))
		frame := make([]byte, 417)
		if _, err := io.ReadFull(br, frame); err != nil {
			t.Fatal(err)
		}
		return testmedia.FrameIndex(frame), joined
	}
	a, ta := firstFrame()
	// Join the second listener a good while later, at a different phase
	// of the publish tick.
	target := ta.Add(2*time.Second + 70*time.Millisecond)
	for clock.Now().Before(target) {
		time.Sleep(5 * time.Millisecond)
	}
	b, tb := firstFrame()
	// Both start the same audio time behind their join time, so the frame
	// B starts with is A's first frame plus the frames played in between.
	frame := 1152 * time.Second / 44100
	want := float64(a) + float64(tb.Sub(ta))/float64(frame)
	if diff := float64(b) - want; diff < -1.5 || diff > 1.5 {
		t.Fatalf("listener B starts at frame %d, want %.1f (±1 frame): not aligned", b, want)
	}
}

func TestRealTimeRate(t *testing.T) {
	ts := startStation(t, Config{Burst: time.Second}, testmedia.Frames(400), testmedia.Frames(300))
	waitReady(t, ts.Station, 1500*time.Millisecond)
	client, br, _ := ts.join(t, 0, 0)
	start := time.Now()
	buf := make([]byte, 32<<10)
	total := 0
	client.SetReadDeadline(start.Add(5 * time.Second))
	for {
		n, err := br.Read(buf)
		total += n
		if err != nil {
			break
		}
	}
	elapsed := time.Since(start)
	// 128 kbps of 417-byte frames = 15963 B/s, plus the 1 s burst.
	want := 15963 * (elapsed.Seconds() + 1)
	if r := float64(total) / want; r < 0.9 || r > 1.1 {
		t.Fatalf("received %d bytes in %v, want ≈ %.0f (ratio %.2f)", total, elapsed, want, r)
	}
}

func TestStalledListenerDroppedOthersKeepRealTime(t *testing.T) {
	clock := fastClock{start: time.Now(), speed: 8}
	ts := startStation(t, Config{Burst: time.Second, BufferSize: 64 << 10, Clock: clock, Shards: 1}, testmedia.Frames(3000))
	waitReady(t, ts.Station, 2*time.Second)
	stalled, _, _ := ts.join(t, 8<<10, 4<<10) // never reads
	normal, br, _ := ts.join(t, 0, 0)
	start := clock.Now()
	buf := make([]byte, 32<<10)
	total := 0
	normal.SetReadDeadline(time.Now().Add(20 * time.Second))
	for ts.Stats().SlowDropped == 0 {
		n, err := br.Read(buf)
		total += n
		if err != nil {
			t.Fatalf("normal listener: %v after %d bytes (slow drops %d)", err, total, ts.Stats().SlowDropped)
		}
	}
	// Keep reading a while after the drop: the normal one still keeps up.
	until := clock.Now().Add(4 * time.Second)
	for clock.Now().Before(until) {
		n, err := br.Read(buf)
		total += n
		if err != nil {
			t.Fatal(err)
		}
	}
	audio := clock.Now().Sub(start)
	want := 15963 * (audio.Seconds() + 1)
	if r := float64(total) / want; r < 0.85 || r > 1.1 {
		t.Fatalf("normal listener got %d bytes over %v of audio, want ≈ %.0f (ratio %.2f)", total, audio, want, r)
	}
	// The stalled one was closed by the server: reading drains then ends.
	stalled.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, stalled); err != nil {
		t.Fatalf("stalled listener was not closed: %v", err)
	}
	if got := ts.Stats().Listeners; got != 1 {
		t.Fatalf("%d listeners, want 1", got)
	}
}

func TestBrokenFilesAreSkipped(t *testing.T) {
	ts := startStation(t, Config{}, []byte("not audio at all"), nil, testmedia.Frames(100))
	waitReady(t, ts.Station, 500*time.Millisecond)
	if got := ts.NowPlaying(); got == nil || got.Rel != "c.mp3" {
		t.Fatalf("now playing %+v, want c.mp3", got)
	}
	if s := ts.Stats(); s.FilesSkipped != 2 {
		t.Fatalf("skipped %d files, want 2", s.FilesSkipped)
	}
}

func TestNoTagBytesReachListeners(t *testing.T) {
	track := bytes.Join([][]byte{testmedia.ID3v2("Artist", "Title", 200), testmedia.XingFrame("Info"), testmedia.Frames(40), testmedia.ID3v1("A", "T")}, nil)
	ts := startStation(t, Config{Burst: 0, PublishInterval: 50 * time.Millisecond}, track)
	waitReady(t, ts.Station, 100*time.Millisecond)
	client, br, _ := ts.join(t, 0, 0)
	client.SetReadDeadline(time.Now().Add(4 * time.Second))
	got := make([]byte, 60*417)
	n, _ := io.ReadFull(br, got)
	got = got[:n]
	if bytes.Contains(got, []byte("ID3")) || bytes.Contains(got, []byte("Info")) || bytes.Contains(got, []byte("TAG")) {
		t.Fatal("tag bytes reached the listener")
	}
	if n < 40*417 {
		t.Fatalf("got %d bytes", n)
	}
}

func TestPanicInStationGoroutineIsRecovered(t *testing.T) {
	var once sync.Once
	panics := make(chan any, 4)
	titles := func(path string) playlist.Title {
		once.Do(func() { panic("tag reader bug") })
		return playlist.Title{Display: filepath.Base(path)}
	}
	ts := startSource(t, Config{
		PublishInterval: 50 * time.Millisecond,
		OnPanic: func(v any, stack []byte) {
			if len(stack) == 0 {
				t.Error("no stack trace")
			}
			panics <- v
		},
	}, &FolderSource{hooks: folderHooks{titles: titles}}, testmedia.Frames(100), testmedia.Frames(100))
	select {
	case v := <-panics:
		if v != "tag reader bug" {
			t.Fatalf("reported %v", v)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("panic not reported")
	}
	waitReady(t, ts.Station, 200*time.Millisecond)
	if got := ts.Stats().Panics; got != 1 {
		t.Fatalf("%d panics counted, want 1", got)
	}
}

// trackedCloser counts a file's close, for tests that check every opened
// track is released.
type trackedCloser struct {
	io.Closer
	closed *atomic.Int64
}

func (c trackedCloser) Close() error { c.closed.Add(1); return c.Closer.Close() }

// A source that panics keeps its cleanup: the station stops during the
// pause before the source would run again (here: at the panic, or half a
// second into the pause), and still every track the folder opened ahead
// is closed: the station calls Run once more with ctx ended.
func TestSourcePanicStillClosesPreloadedTracks(t *testing.T) {
	for _, tc := range []struct {
		name  string
		pause time.Duration // when after the panic the station stops
	}{{"stopped at the panic", 0}, {"stopped during the pause", 500 * time.Millisecond}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var paths []string
			for _, name := range []string{"a.mp3", "b.mp3", "c.mp3"} {
				paths = append(paths, testmedia.WriteFile(t, dir, name, testmedia.Frames(200)))
			}
			var opened, closed, titles atomic.Int64
			src := &FolderSource{Preload: 2, hooks: folderHooks{
				tracks: &loopTracks{paths: paths, bad: map[string]bool{}},
				open: func(ctx context.Context, path string, offset int64) (*FrameReader, io.Closer, error) {
					fr, c, err := Decoder{}.Open(ctx, path, offset)
					if err == nil {
						opened.Add(1)
						c = trackedCloser{c, &closed}
					}
					return fr, c, err
				},
				titles: func(path string) playlist.Title {
					if titles.Add(1) == 3 { // a and b are queued, a plays
						panic("tag reader bug")
					}
					return playlist.Title{Display: filepath.Base(path)}
				},
			}}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			st := New(Config{
				PublishInterval: 50 * time.Millisecond,
				OnPanic: func(any, []byte) {
					if tc.pause == 0 {
						cancel()
					} else {
						time.AfterFunc(tc.pause, cancel)
					}
				},
			}, src)
			done := make(chan struct{})
			go func() { st.Run(ctx); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the station did not stop")
			}
			if st.Stats().Panics != 1 {
				t.Fatalf("%d panics, want 1", st.Stats().Panics)
			}
			if o, c := opened.Load(), closed.Load(); o != 3 || c != o {
				t.Fatalf("opened %d tracks, closed %d; want 3 and 3", o, c)
			}
		})
	}
}
