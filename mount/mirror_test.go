package mount

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// TestMirrorFallsBackToAnotherStation: a station without a folder lists a
// live source, then a mirror of another station (Icecast's fallback-mount).
// One listener, connected throughout, hears the other station's titles,
// then the live show, then the other station again, as one run of whole
// frames; after the show the mirror rejoins the other station near its
// live edge instead of replaying what it missed.
func TestMirrorFallsBackToAnotherStation(t *testing.T) {
	dir := t.TempDir()
	testmedia.WriteFile(t, dir, "a.mp3", testmedia.ID3v2("Main", "A", 0), testmedia.FramesFrom(0, 60))
	testmedia.WriteFile(t, dir, "b.mp3", testmedia.ID3v2("Main", "B", 0), testmedia.FramesFrom(1000, 60))
	lib := playlist.NewLibrary(dir, playlist.LibraryOptions{})
	if _, err := lib.Scan(); err != nil {
		t.Fatal(err)
	}
	main := New(Config{PublishInterval: 50 * time.Millisecond}, &FolderSource{Library: lib, Preload: 1})

	var mu sync.Mutex
	var heard []string
	changed := make(chan struct{}, 1)
	live := newTestLive()
	show := New(Config{
		PublishInterval: 50 * time.Millisecond,
		OnTrack: func(ti *TrackInfo) {
			mu.Lock()
			heard = append(heard, ti.Display)
			mu.Unlock()
			select {
			case changed <- struct{}{}:
			default:
			}
		},
	}, live, &MirrorSource{Station: func() *Station { return main }})

	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, srv := dialPair(t, ln)
	const metaint = 1000
	if err := show.Join(JoinRequest{Conn: srv, Head: []byte(testHead), Metaint: metaint, Remote: "test"}); err != nil {
		t.Fatal(err)
	}
	got := startCapture(t, client)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { main.Run(ctx) })
	wg.Go(func() { show.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()

	waitHeard := func(what string, cond func([]string) bool) {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for {
			mu.Lock()
			h := slices.Clone(heard)
			mu.Unlock()
			if cond(h) {
				return
			}
			select {
			case <-changed:
			case <-deadline:
				t.Fatalf("waiting for %s; tracks so far %q", what, h)
			}
		}
	}
	waitHeard("the main station's first title", func(h []string) bool { return len(h) >= 1 })
	live.start(t, "Live - Show", 5000, 40)
	waitHeard("the show", func(h []string) bool { return slices.Contains(h, "Live - Show") })
	waitHeard("the main station after the show", func(h []string) bool {
		i := slices.Index(h, "Live - Show")
		return i >= 0 && len(h) > i+1
	})
	mu.Lock()
	order := slices.Clone(heard)
	mu.Unlock()
	for i, title := range order {
		if title != "Live - Show" && !strings.HasPrefix(title, "Main - ") {
			t.Fatalf("track %d is %q: neither the main station nor the show (all: %q)", i, title, order)
		}
	}

	// The listener got whole frames only, the show's frames in one run.
	stream := got.waitFor(t, "audio after the show", func(b []byte) bool {
		audio, _ := splitICY(bytes.TrimPrefix(b, []byte(testHead)), metaint)
		return len(audio) > 120*417
	})
	audio, titles := splitICY(stream[len(testHead):], metaint)
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
	if fr.Skipped != 0 || fr.Dropped != 0 {
		t.Fatalf("not whole frames: %d bytes skipped, %d frames dropped", fr.Skipped, fr.Dropped)
	}
	first := slices.Index(idx, 5000)
	if first < 0 || first+40 > len(idx) {
		t.Fatalf("the show's frames are not in the stream (%d frames)", len(idx))
	}
	for i := range 40 {
		if idx[first+i] != 5000+uint32(i) {
			t.Fatalf("show frame %d is %d", i, idx[first+i])
		}
	}
	if first == 0 || first+40 == len(idx) {
		t.Fatalf("no main-station audio around the show (show at frame %d of %d)", first, len(idx))
	}
	if before, after := idx[first-1], idx[first+40]; after == before+1 {
		t.Errorf("after the show the mirror resumed where it stopped (frame %d), not at the main station's live edge", after)
	}
	if !slices.Contains(titles, "Live - Show") || !strings.HasPrefix(titles[0], "Main - ") {
		t.Errorf("titles heard %q, want the main station's, the show's, then the main station's", titles)
	}
}

// TestLiveOverMirrorKeepsItsBuffer: a station that plays another station's
// stream (its schedule trails the clock, since that audio arrives in real
// time) hands over to a live source without draining the source's jitter
// buffer at once: no silence is inserted and nothing is dropped for a
// source that sends in real time. (Before, the station caught up on its
// schedule at the switch and played seconds of silence, and frames
// reached the buffer only after 16 KiB of the stream had arrived.)
func TestLiveOverMirrorKeepsItsBuffer(t *testing.T) {
	dir := t.TempDir()
	testmedia.WriteFile(t, dir, "a.mp3", testmedia.ID3v2("Main", "A", 0), testmedia.FramesFrom(0, 400))
	lib := playlist.NewLibrary(dir, playlist.LibraryOptions{})
	if _, err := lib.Scan(); err != nil {
		t.Fatal(err)
	}
	main := New(Config{PublishInterval: 100 * time.Millisecond, Burst: 2 * time.Second}, &FolderSource{Library: lib, Preload: 1})
	live := &LiveSource{Kind: "live", Buffer: 500 * time.Millisecond}
	started := make(chan string, 16)
	show := New(Config{PublishInterval: 100 * time.Millisecond, Burst: 2 * time.Second,
		OnTrack: func(ti *TrackInfo) { started <- ti.Display }},
		live, &MirrorSource{Station: func() *Station { return main }})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { main.Run(ctx) })
	wg.Go(func() { show.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()
	select {
	case <-started: // the mirror plays
	case <-time.After(10 * time.Second):
		t.Fatal("the mirror never played")
	}

	sess, err := live.Claim(StreamInfo{Name: "DJ"})
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	go func() {
		// A source client sending in real time, one frame per frame time.
		defer pw.Close()
		tick := time.NewTicker(26122 * time.Microsecond)
		defer tick.Stop()
		for i := range 115 { // 3 s
			if _, err := pw.Write(testmedia.FramesFrom(uint32(9000+i), 1)); err != nil {
				return
			}
			<-tick.C
		}
	}()
	if err := sess.Stream(ctx, pr); err != nil {
		t.Fatal(err)
	}
	if st := live.Status(); st.Inserted != 0 || st.Dropped != 0 {
		t.Errorf("a real-time source over a mirror: %d silent frames inserted, %d dropped; want none", st.Inserted, st.Dropped)
	}
}

// TestMirrorOfAnIdleStationPlaysNothing: when the mirrored station goes
// off the air (its show ended, nothing else to play), the mirror does not
// replay its last block: the mirroring station goes idle too, having
// played each of the other station's frames once.
func TestMirrorOfAnIdleStationPlaysNothing(t *testing.T) {
	show := newTestLive()
	other := New(Config{PublishInterval: 50 * time.Millisecond}, show)
	tracks := make(chan string, 64)
	mirror := New(Config{PublishInterval: 50 * time.Millisecond,
		OnTrack: func(ti *TrackInfo) { tracks <- ti.Display }},
		&MirrorSource{Station: func() *Station { return other }})
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, srv := dialPair(t, ln)
	if err := mirror.Join(JoinRequest{Conn: srv, Head: []byte(testHead), Remote: "test"}); err != nil {
		t.Fatal(err)
	}
	got := startCapture(t, client)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { other.Run(ctx) })
	wg.Go(func() { mirror.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()

	show.start(t, "Show", 5000, 40)
	// The mirror plays the show, then goes idle once the other station is.
	select {
	case title := <-tracks:
		if title != "Show" {
			t.Fatalf("mirror played %q", title)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the mirror never played the show")
	}
	for {
		wait := mirror.published.wait()
		if mirror.idle.Load() && other.idle.Load() {
			break
		}
		select {
		case <-wait:
		case <-time.After(10 * time.Second):
			t.Fatal("the mirror did not go idle after the other station did")
		}
	}
	var frames []uint32
	stream := got.waitFor(t, "the show's frames", func(b []byte) bool { return len(b) >= len(testHead)+40*417 })
	fr := NewFrameReader(bytes.NewReader(stream[len(testHead):]))
	for {
		f, err := fr.Next()
		if err != nil {
			break
		}
		frames = append(frames, testmedia.FrameIndex(f.Data))
	}
	seen := map[uint32]int{}
	for _, i := range frames {
		seen[i]++
		if seen[i] > 1 {
			t.Fatalf("frame %d heard twice: the mirror replayed an idle station's block (%d frames: %v)", i, len(frames), frames)
		}
	}
	select {
	case title := <-tracks:
		t.Errorf("the mirror started %q after the other station went idle", title)
	default:
	}
	if mirror.Ready() && !mirror.idle.Load() {
		t.Error("the mirroring station still plays")
	}
}
