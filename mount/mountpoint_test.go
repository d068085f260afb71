package mount

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

func startMount(t *testing.T, m *Mountpoint) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	m.Start(ctx)
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			m.Wait()
		}
	}
	t.Cleanup(stop)
	return stop
}

func dialPair(t *testing.T, ln *net.TCPListener) (client, server *net.TCPConn) {
	t.Helper()
	c, err := net.DialTCP("tcp", nil, ln.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

// startIndividual runs an individual-mode mountpoint on dir and gives a
// loopback listener to make its connections with.
func startIndividual(t *testing.T, dir string) (*Mountpoint, *net.TCPListener) {
	t.Helper()
	m := &Mountpoint{
		Route: "/solo", Individual: true,
		Station: Config{Burst: time.Second, PublishInterval: 50 * time.Millisecond},
		Library: playlist.NewLibrary(dir, playlist.LibraryOptions{}),
	}
	startMount(t, m)
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return m, ln
}

func TestIndividualModeReleasesEverything(t *testing.T) {
	dir := t.TempDir()
	testmedia.WriteFile(t, dir, "a.mp3", testmedia.ID3v2("A", "One", 0), testmedia.Frames(300))
	testmedia.WriteFile(t, dir, "b.mp3", testmedia.Frames(300))
	m, ln := startIndividual(t, dir)
	if !m.Ready() {
		t.Fatal("individual mountpoint with files is not ready")
	}
	// Warm up once so lazily created runtime goroutines do not count.
	cycle := func() {
		client, srv := dialPair(t, ln)
		if err := m.Join(JoinRequest{Conn: srv, Head: []byte("H\r\n\r\n"), Remote: "test", UserAgent: "test"}); err != nil {
			t.Fatal(err)
		}
		client.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 5+417)
		if _, err := io.ReadFull(client, buf); err != nil {
			t.Fatal(err)
		}
		if buf[5] != 0xFF {
			t.Fatalf("private stream does not start on a frame: % x", buf[5:9])
		}
		client.Close()
	}
	cycle()
	testmedia.PollUntil(t, 15*time.Second, "the first private station to end", func() bool { return m.Stats().Listeners == 0 })
	goroutines, fds := runtime.NumGoroutine(), testmedia.OpenFDs(t)
	for range 200 {
		cycle()
	}
	testmedia.PollUntil(t, 15*time.Second, "all private stations to end", func() bool { return m.Stats().Listeners == 0 })
	testmedia.PollUntil(t, 15*time.Second, "goroutines to exit", func() bool { return runtime.NumGoroutine() <= goroutines+2 })
	if got := testmedia.OpenFDs(t); got > fds+2 {
		t.Fatalf("open files grew from %d to %d after 200 listeners", fds, got)
	}
	if s := m.Stats(); s.Sessions != 201 {
		t.Fatalf("%d sessions counted, want 201", s.Sessions)
	}
}

// A listener whose connection cannot be taken over (here: already closed;
// in production: no descriptors left) must not keep its private station
// running with a listener that is not there.
func TestIndividualJoinFailureStopsItsStation(t *testing.T) {
	dir := t.TempDir()
	testmedia.WriteFile(t, dir, "a.mp3", testmedia.Frames(300))
	m, ln := startIndividual(t, dir)
	client, srv := dialPair(t, ln)
	defer client.Close()
	srv.Close()
	left := make(chan struct{})
	if err := m.Join(JoinRequest{Conn: srv, Head: []byte("H\r\n\r\n"), Remote: "test", UserAgent: "test", OnLeave: func() { close(left) }}); err == nil {
		t.Fatal("Join of a closed connection succeeded")
	}
	select {
	case <-left:
	default:
		t.Fatal("onLeave did not run for a listener that failed to join")
	}
	testmedia.PollUntil(t, 15*time.Second, "the private station to end", func() bool { return m.Stats().Listeners == 0 })
}

func TestRadioResumesAfterRestart(t *testing.T) {
	dir := t.TempDir()
	testmedia.WriteFile(t, dir, "long.mp3", testmedia.Frames(5000))
	state := filepath.Join(t.TempDir(), "state", "root.json")
	newMount := func() *Mountpoint {
		return &Mountpoint{
			Route: "/", StatePath: state,
			Station: Config{PublishInterval: 50 * time.Millisecond, Clock: fastClock{start: time.Now(), speed: 20}},
			Library: playlist.NewLibrary(dir, playlist.LibraryOptions{}),
		}
	}
	first := newMount()
	stop := startMount(t, first)
	testmedia.PollUntil(t, 15*time.Second, "ten seconds of audio", func() bool { return first.Stats().AudioPlayed > 10*time.Second })
	stop() // saves the state on the way out
	saved, err := playlist.LoadState(state)
	if err != nil {
		t.Fatal(err)
	}
	if saved.Current != "long.mp3" || saved.OffsetBytes < 10*15000 {
		t.Fatalf("saved %+v, want long.mp3 at ≥ 150 kB", saved)
	}

	second := newMount()
	startMount(t, second)
	testmedia.PollUntil(t, 15*time.Second, "the resumed station", func() bool { return second.radio.Ready() })
	pos, ok := second.radio.resumeAt()
	if !ok || pos.Rel != "long.mp3" || pos.Offset < saved.OffsetBytes {
		t.Fatalf("resumed at %+v, want long.mp3 from %d", pos, saved.OffsetBytes)
	}
	// The first frame after the restart continues where the saved offset was.
	head := second.radio.ring.Head()
	if got, want := int(testmedia.FrameIndex(head.Data[:417])), int(saved.OffsetBytes/417); got < want-1 || got > want+1 {
		t.Fatalf("resumed at frame %d, want about %d", got, want)
	}
}

func TestCorruptStateStartsFresh(t *testing.T) {
	dir := t.TempDir()
	testmedia.WriteFile(t, dir, "a.mp3", testmedia.Frames(200))
	state := filepath.Join(t.TempDir(), "root.json")
	if err := os.WriteFile(state, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := &Mountpoint{Route: "/", StatePath: state, Station: Config{PublishInterval: 50 * time.Millisecond}, Library: playlist.NewLibrary(dir, playlist.LibraryOptions{})}
	startMount(t, m)
	testmedia.PollUntil(t, 15*time.Second, "the station to play", m.Ready)
}

func TestReloadWhileListening(t *testing.T) {
	dir := t.TempDir()
	testmedia.WriteFile(t, dir, "a.mp3", testmedia.FramesFrom(0, 150))
	testmedia.WriteFile(t, dir, "b.mp3", testmedia.FramesFrom(1000, 150))
	cPath := testmedia.WriteFile(t, dir, "c.mp3", testmedia.FramesFrom(2000, 150))
	m := &Mountpoint{
		Route: "/", Shuffle: false,
		Station: Config{PublishInterval: 50 * time.Millisecond, Clock: fastClock{start: time.Now(), speed: 8}},
		Library: playlist.NewLibrary(dir, playlist.LibraryOptions{}),
	}
	startMount(t, m)
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	testmedia.PollUntil(t, 15*time.Second, "the station to play", m.Ready)
	client, srv := dialPair(t, ln)
	defer client.Close()
	if err := m.Join(JoinRequest{Conn: srv, Remote: "test", UserAgent: "test"}); err != nil {
		t.Fatal(err)
	}
	// While a plays (and b is preloaded), c is deleted and d added.
	if err := os.Remove(cPath); err != nil {
		t.Fatal(err)
	}
	testmedia.WriteFile(t, dir, "d.mp3", testmedia.FramesFrom(3000, 150))
	if _, err := m.Reload(); err != nil {
		t.Fatal(err)
	}
	// Listen until d has been heard: a, b, d (never c), each whole.
	client.SetReadDeadline(time.Now().Add(30 * time.Second))
	seen := map[uint32]int{}
	frame := make([]byte, 417)
	for seen[3] < 150 {
		if _, err := io.ReadFull(client, frame); err != nil {
			t.Fatalf("after %v: %v", seen, err)
		}
		if frame[0] != 0xFF {
			t.Fatal("stream lost frame alignment")
		}
		seen[testmedia.FrameIndex(frame)/1000]++
	}
	if seen[2] != 0 {
		t.Fatalf("heard %d frames of the deleted track", seen[2])
	}
	if seen[1] != 150 {
		t.Fatalf("heard %d frames of b, want all 150 (the playing/preloaded track is never cut)", seen[1])
	}
}

func TestTracksOfDifferentBitratesFollowEachOther(t *testing.T) {
	var hi []byte
	for range 100 {
		hi = append(hi, testmedia.Frame{Kbps: 320}.Bytes()...)
	}
	ts := startStation(t, Config{PublishInterval: 50 * time.Millisecond, Clock: fastClock{start: time.Now(), speed: 8}}, testmedia.Frames(100), hi)
	waitReady(t, ts.Station, 100*time.Millisecond)
	client, br, _ := ts.join(t, 0, 0)
	client.SetReadDeadline(time.Now().Add(20 * time.Second))
	sizes := map[int]int{}
	hdr := make([]byte, 4)
	for sizes[1044] < 100 || sizes[417] < 100 {
		if _, err := io.ReadFull(br, hdr); err != nil {
			t.Fatalf("after %v: %v", sizes, err)
		}
		if !validHeader(hdr) {
			t.Fatalf("lost frame sync after %v frames: % x", sizes, hdr)
		}
		n := frameSize(hdr)
		sizes[n]++
		if _, err := br.Discard(n - 4); err != nil {
			t.Fatal(err)
		}
	}
}

// An individual route reports what its private stations do, the same
// fields as a radio route: listeners of both kinds (TCP written by a
// shard, TLS by a goroutine) join the same way, the burst delay is the
// one the private stations really use, and the totals survive the stations.
func TestIndividualStatsAddUpPrivateStations(t *testing.T) {
	dir := t.TempDir()
	testmedia.WriteFile(t, dir, "a.mp3", testmedia.Frames(60))
	testmedia.WriteFile(t, dir, "b.mp3", testmedia.Frames(60))
	cfg := Config{BurstBytes: 16 << 10, PublishInterval: 50 * time.Millisecond, Clock: fastClock{start: time.Now(), speed: 8}}
	m := &Mountpoint{Route: "/solo", Individual: true, Station: cfg, Library: playlist.NewLibrary(dir, playlist.LibraryOptions{})}
	startMount(t, m)

	// Before any listener: the burst at the nominal 128 kbit/s, plus one
	// publish interval, as every private station has it.
	if got, want := m.BurstDelay(), 1024*time.Millisecond+cfg.PublishInterval; got != want {
		t.Fatalf("individual burst delay with no listener %v, want %v", got, want)
	}
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	plain, srv := dialPair(t, ln)
	defer plain.Close()
	if err := m.Join(JoinRequest{Conn: srv, Remote: "tcp", UserAgent: "test"}); err != nil {
		t.Fatal(err)
	}
	cert, _, _ := testmedia.SelfSignedCert(t)
	client, srv2 := dialPair(t, ln)
	left := make(chan struct{})
	if err := m.Join(JoinRequest{Conn: tls.Server(srv2, &tls.Config{Certificates: []tls.Certificate{cert}}), Remote: "tls", UserAgent: "test", OnLeave: func() { close(left) }}); err != nil {
		t.Fatal(err)
	}
	secure := tls.Client(client, &tls.Config{InsecureSkipVerify: true})
	defer secure.Close()
	var read int64
	for _, c := range []net.Conn{plain, secure} {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		frame := make([]byte, 417)
		for range 80 { // the burst, then live audio from the next track on
			if _, err := io.ReadFull(c, frame); err != nil {
				t.Fatal(err)
			}
			if frame[0] != 0xFF {
				t.Fatal("a private stream lost frame alignment")
			}
			read += 417
		}
	}
	s := m.Stats()
	if s.Listeners != 2 || s.Peak != 2 || s.Sessions != 2 || s.AudioPlayed <= 0 || s.TracksPlayed == 0 || s.AvgDelay <= 0 || s.MaxDelay < s.AvgDelay || s.StreamStarted.IsZero() {
		t.Fatalf("while listening: %+v", s)
	}
	m.mu.Lock()
	for st := range m.private {
		if got, want := m.BurstDelay(), st.BurstDelay(); got != want || got <= cfg.PublishInterval {
			t.Errorf("individual burst delay %v, a private station's %v: want the same, more than one interval", got, want)
		}
	}
	m.mu.Unlock()

	plain.Close()
	secure.Close()
	<-left
	testmedia.PollUntil(t, 10*time.Second, "both private stations to end", func() bool { return m.Listeners() == 0 })
	end := m.Stats()
	if end.Listeners != 0 || end.Peak != 2 || end.Sessions != 2 || end.Panics != 0 {
		t.Fatalf("after the listeners left: %+v", end)
	}
	if end.AudioPlayed < s.AudioPlayed || end.TracksPlayed < s.TracksPlayed || end.BytesSent < uint64(read) {
		t.Fatalf("totals shrank when the stations ended: %+v, before %+v, %d bytes read", end, s, read)
	}
}

// WaitReady returns as soon as a listener would get audio, woken by the
// first publish (radio) or by a scan that finds files (individual).
func TestWaitReady(t *testing.T) {
	for _, individual := range []bool{false, true} {
		dir := t.TempDir()
		m := &Mountpoint{
			Route: "/", Individual: individual,
			Station: Config{PublishInterval: 50 * time.Millisecond},
			Library: playlist.NewLibrary(dir, playlist.LibraryOptions{}),
		}
		startMount(t, m)
		canceled, cancel := context.WithCancel(context.Background())
		cancel()
		if err := m.WaitReady(canceled); !errors.Is(err, context.Canceled) {
			t.Fatalf("individual=%v: WaitReady on an empty folder: %v, want context.Canceled", individual, err)
		}
		ctx, stop := context.WithTimeout(context.Background(), 15*time.Second)
		defer stop()
		errc := make(chan error, 1)
		go func() { errc <- m.WaitReady(ctx) }()
		testmedia.WriteFile(t, dir, "a.mp3", testmedia.Frames(100))
		if _, err := m.Reload(); err != nil {
			t.Fatal(err)
		}
		if err := <-errc; err != nil || !m.Ready() {
			t.Fatalf("individual=%v: WaitReady: %v, Ready %v", individual, err, m.Ready())
		}
	}
}

// An individual route's burst delay does not depend on which private
// station happens to be asked: with a burst in bytes and private stations
// playing different bitrates, every call gives the delay a private station
// starts its listener with (the burst at the nominal 128 kbit/s, plus one
// publish interval).
func TestIndividualBurstDelayIsSteady(t *testing.T) {
	cfg := Config{BurstBytes: 16 << 10, PublishInterval: 50 * time.Millisecond}
	m := &Mountpoint{Route: "/solo", Individual: true, Station: cfg}
	m.private = map[*Station]*privateStream{}
	for _, kbps := range []int{128, 320, 64} {
		st := New(m.privateConfig())
		frame := testmedia.Frame{Kbps: kbps}.Bytes()
		b := &Block{FrameDur: 1152 * time.Second / 44100, Due: time.Now()}
		for i := range 8 {
			b.Frames = append(b.Frames, int32(i*len(frame)))
			b.Data = append(b.Data, frame...)
		}
		st.ring.Append(b)
		m.private[st] = nil
	}
	want := 1024*time.Millisecond + cfg.PublishInterval
	for range 50 {
		if got := m.BurstDelay(); got != want {
			t.Fatalf("burst delay %v, want %v every time", got, want)
		}
	}
}
