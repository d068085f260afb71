package mount

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// startTitled runs a station playing one file titled title in a loop, in
// real time, until the test ends.
func startTitled(t *testing.T, title string, first uint32) *Station {
	t.Helper()
	dir := t.TempDir()
	testmedia.WriteFile(t, dir, "a.mp3", testmedia.ID3v2("Station", title, 0), testmedia.FramesFrom(first, 2000))
	lib := playlist.NewLibrary(dir, playlist.LibraryOptions{})
	if _, err := lib.Scan(); err != nil {
		t.Fatal(err)
	}
	st := New(Config{Route: "/" + title, PublishInterval: 50 * time.Millisecond, Burst: 200 * time.Millisecond},
		&FolderSource{Library: lib, Order: playlist.NewOrder(lib, false, nil)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { st.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	waitReady(t, st, 200*time.Millisecond)
	return st
}

// ended collects OnEnd calls.
type ended chan ListenerInfo

func (e ended) onEnd(info ListenerInfo, _ time.Time) { e <- info }

func joinWith(t *testing.T, st *Station, ln *net.TCPListener, req JoinRequest) *capture {
	t.Helper()
	client, srv := dialPair(t, ln)
	req.Conn, req.Head = srv, []byte(testHead)
	if err := st.Join(req); err != nil {
		t.Fatal(err)
	}
	return startCapture(t, client)
}

func testListener(t *testing.T) *net.TCPListener {
	t.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// TestListListenersAndKick: listeners are listed with their ID, address
// and user agent; kicking one closes exactly that connection, tells OnEnd
// once with what it was sent, and leaves the other playing.
func TestListListenersAndKick(t *testing.T) {
	st := startTitled(t, "A", 0)
	ln := testListener(t)
	gone := make(ended, 4)
	one := joinWith(t, st, ln, JoinRequest{ID: 7, Remote: "192.0.2.1:1000", UserAgent: "VLC/3.0", OnEnd: gone.onEnd})
	two := joinWith(t, st, ln, JoinRequest{ID: 8, Remote: "192.0.2.2:2000", OnEnd: gone.onEnd})
	one.waitFor(t, "audio", func(b []byte) bool { return len(b) > len(testHead) })

	list := st.ListListeners()
	slices.SortFunc(list, func(a, b ListenerInfo) int { return int(a.ID) - int(b.ID) })
	if len(list) != 2 || list[0].ID != 7 || list[0].Remote != "192.0.2.1:1000" || list[0].UserAgent != "VLC/3.0" ||
		list[1].ID != 8 || list[1].UserAgent != "" || list[0].BytesSent <= 0 || list[0].Connected.IsZero() {
		t.Fatalf("listeners %+v", list)
	}
	if st.KickListener(9) || st.KickListener(0) {
		t.Fatal("kicked a listener that does not exist")
	}
	if !st.KickListener(7) {
		t.Fatal("listener 7 not found")
	}
	info := <-gone
	if info.ID != 7 || info.BytesSent <= 0 {
		t.Fatalf("ended %+v", info)
	}
	one.mu.Lock()
	got := len(one.buf)
	one.mu.Unlock()
	if int64(got) != info.BytesSent {
		t.Fatalf("client read %d bytes, OnEnd says %d were sent", got, info.BytesSent)
	}
	one.waitFor(t, "end of stream", func([]byte) bool {
		one.mu.Lock()
		defer one.mu.Unlock()
		return errors.Is(one.err, io.EOF)
	})
	before := len(two.waitFor(t, "audio", func(b []byte) bool { return len(b) > 0 }))
	two.waitFor(t, "more audio", func(b []byte) bool { return len(b) > before })
	if n := st.Listeners(); n != 1 {
		t.Fatalf("%d listeners after the kick, want 1", n)
	}
	if s := st.Stats(); s.SessionLengths.Count() != 1 || s.ListenTime <= 0 {
		t.Fatalf("stats after one ended session: %+v", s)
	}
}

// TestMoveListenersKeepsTheStream: two listeners of /A are moved to /B.
// Each keeps its connection; what it receives stays one ICY stream at its
// metaint, its audio whole MPEG frames back to back (no junk between
// /A's last frame and /B's first), and its title changes from A to B.
func TestMoveListenersKeepsTheStream(t *testing.T) {
	a := startTitled(t, "A", 0)
	b := startTitled(t, "B", 100000)
	ln := testListener(t)
	const metaint = 1000
	var caps []*capture
	for id := range uint64(2) {
		caps = append(caps, joinWith(t, a, ln, JoinRequest{ID: id + 1, Metaint: metaint, Remote: "test"}))
	}
	hasTitle := func(title string) func([]byte) bool {
		return func(got []byte) bool {
			_, titles := splitICY(got[len(testHead):], metaint)
			return slices.Contains(titles, "Station - "+title)
		}
	}
	for _, c := range caps {
		c.waitFor(t, "title A", func(got []byte) bool { return len(got) > len(testHead) && hasTitle("A")(got) })
	}
	if _, err := a.MoveListeners(a); !errors.Is(err, ErrSameStation) {
		t.Fatalf("move to itself: %v", err)
	}
	n, err := a.MoveListeners(b)
	if err != nil || n != 2 {
		t.Fatalf("moved %d, %v", n, err)
	}
	for _, c := range caps {
		got := c.waitFor(t, "title B", hasTitle("B"))
		audio, titles := splitICY(got[len(testHead):], metaint)
		if !slices.Equal(titles, []string{"Station - A", "Station - B"}) {
			t.Fatalf("titles %q", titles)
		}
		checkWholeFrames(t, audio)
	}
	testmedia.PollUntil(t, 5*time.Second, "listener counts to follow the move", func() bool {
		return a.Listeners() == 0 && b.Listeners() == 2
	})
	if got := len(b.ListListeners()); got != 2 {
		t.Fatalf("/B lists %d listeners", got)
	}
	if sa, sb := a.Stats(), b.Stats(); sa.ListenTime <= 0 || sb.ListenTime <= 0 || sb.Sessions != 0 || sb.Peak != 2 {
		t.Fatalf("after the move: /A %+v, /B %+v", sa, sb)
	}
}

// checkWholeFrames parses audio as MPEG frames: it must be nothing but
// whole frames from its first byte (the last one may be cut), and frames
// from both files.
func checkWholeFrames(t *testing.T, audio []byte) {
	t.Helper()
	fr := NewFrameReader(bytes.NewReader(audio))
	var fromA, fromB int
	for {
		f, err := fr.Next()
		if err != nil {
			break
		}
		if testmedia.FrameIndex(f.Data) >= 100000 {
			fromB++
		} else {
			if fromB > 0 {
				t.Fatal("a frame of /A after /B's")
			}
			fromA++
		}
	}
	if fr.Skipped != 0 || fromA == 0 || fromB == 0 {
		t.Fatalf("skipped %d bytes; %d frames of /A, %d of /B", fr.Skipped, fromA, fromB)
	}
}
