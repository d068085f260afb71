package mount

import (
	"context"
	"io"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// Every listener of an individual station has a private folder source,
// but a broken file is found and reported once for the station, not once
// per listener.
func TestIndividualListenersReportABrokenFileOnce(t *testing.T) {
	dir := t.TempDir()
	testmedia.WriteFile(t, dir, "bad.mp3", []byte("not audio at all"))
	testmedia.WriteFile(t, dir, "good.mp3", testmedia.Frames(3000)) // plays all test long
	goodOpened := make(chan struct{}, 64)
	var mu sync.Mutex
	var skipped []string
	m := &Mountpoint{
		Route: "/solo", Individual: true, Preload: 2,
		Station: Config{
			Burst: time.Second, PublishInterval: 50 * time.Millisecond,
			OnSkip: func(path string, _ error) {
				mu.Lock()
				skipped = append(skipped, filepath.Base(path))
				mu.Unlock()
			},
		},
		Library: playlist.NewLibrary(dir, playlist.LibraryOptions{}),
		hooks: folderHooks{open: func(ctx context.Context, path string, offset int64) (*FrameReader, io.Closer, error) {
			if filepath.Base(path) == "good.mp3" {
				select {
				case goodOpened <- struct{}{}:
				default: // more than the test counts
				}
			}
			return Decoder{}.Open(ctx, path, offset)
		}},
	}
	startMount(t, m)
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const listeners = 5
	for range listeners {
		client, srv := dialPair(t, ln)
		t.Cleanup(func() { client.Close() })
		if err := m.Join(JoinRequest{Conn: srv, Head: []byte(testHead), Remote: "test", UserAgent: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	// Each private source opens good.mp3 twice while its first track plays
	// (one playing, one kept ahead: private streams preload at most one):
	// to open it twice it has gone through a whole cycle, past bad.mp3.
	for i := range 2 * listeners {
		select {
		case <-goodOpened:
		case <-time.After(15 * time.Second):
			t.Fatalf("good.mp3 opened %d times, want %d", i, 2*listeners)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(skipped) != 1 || skipped[0] != "bad.mp3" {
		t.Fatalf("skips reported: %q, want bad.mp3 once", skipped)
	}
}

// TestPrivateStreamsPreloadAtMostOneTrack: each private stream may cost an
// encoder per open track, so it keeps at most the next one open, whatever
// the route's preload setting.
func TestPrivateStreamsPreloadAtMostOneTrack(t *testing.T) {
	dir := t.TempDir()
	testmedia.WriteFile(t, dir, "a.mp3", testmedia.Frames(3000))
	m := &Mountpoint{
		Route: "/solo", Individual: true, Preload: 5,
		Station: Config{Burst: time.Second, PublishInterval: 50 * time.Millisecond},
		Library: playlist.NewLibrary(dir, playlist.LibraryOptions{}),
	}
	startMount(t, m)
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, srv := dialPair(t, ln)
	t.Cleanup(func() { client.Close() })
	if err := m.Join(JoinRequest{Conn: srv, Head: []byte(testHead), Remote: "test", UserAgent: "test"}); err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range m.private {
		if p.src.Preload != 1 {
			t.Errorf("private source preloads %d tracks, want 1", p.src.Preload)
		}
	}
	if len(m.private) != 1 {
		t.Errorf("%d private stations, want 1", len(m.private))
	}
}
