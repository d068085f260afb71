//go:build unix

package mount

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// skipRecorder passes every OnSkip to a channel.
func skipRecorder(m *Mountpoint) chan error {
	skips := make(chan error, 16)
	m.Station.OnSkip = func(path string, err error) {
		select {
		case skips <- err:
		default:
		}
	}
	return skips
}

// expectSkip fails the test unless a skip with an error matching want has
// already been reported.
func expectSkip(t *testing.T, skips chan error, want error, what string) {
	t.Helper()
	select {
	case err := <-skips:
		if !errors.Is(err, want) {
			t.Fatalf("%s: skipped with %v, want %v", what, err, want)
		}
	default:
		t.Fatalf("%s was not reported as skipped", what)
	}
}

// A FIFO swapped in for a track after the scan is refused at open, at
// once: the station plays on with the next track.
func TestFIFOSwappedInForATrackIsSkipped(t *testing.T) {
	m := &Mountpoint{}
	skips := skipRecorder(m)
	_, clock, started, dir := startSteppedMountWith(t, m, map[string][]byte{
		"a.mp3": testmedia.FramesFrom(0, 40),
		"b.mp3": testmedia.FramesFrom(1000, 40),
		"c.mp3": testmedia.FramesFrom(2000, 40),
	})
	fifo := filepath.Join(dir, "b.mp3")
	t.Cleanup(func() {
		// Without the fix the preloader waits in open for a writer: be one,
		// so the station can stop.
		if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
	})
	playUntilStarted(t, clock, started, "a.mp3")
	// Preload 0: b.mp3 is opened only when a.mp3 ends, long after the scan.
	if err := os.Remove(fifo); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	if before := playUntilStarted(t, clock, started, "c.mp3"); len(before) != 0 {
		t.Fatalf("started before c.mp3: %v", before)
	}
	expectSkip(t, skips, errNotRegular, "the FIFO")
}

// An open that hangs (a stuck network mount: the open call ignores every
// signal) is given up after OpenTimeout; the station plays on, and what
// the stuck call opens when it finally returns is closed.
func TestHungOpenIsAbandonedAfterTheTimeout(t *testing.T) {
	unstick := make(chan struct{})
	var unstickOnce sync.Once
	lateClosed := make(chan struct{})
	m := &Mountpoint{OpenTimeout: 200 * time.Millisecond, hooks: folderHooks{
		open: func(ctx context.Context, path string, offset int64) (*FrameReader, io.Closer, error) {
			fr, c, err := Decoder{}.Open(ctx, path, offset)
			if err == nil && filepath.Base(path) == "b.mp3" {
				<-unstick
				c = notifyCloser{c, lateClosed}
			}
			return fr, c, err
		},
	}}
	skips := skipRecorder(m)
	_, clock, started, _ := startSteppedMountWith(t, m, map[string][]byte{
		"a.mp3": testmedia.FramesFrom(0, 40),
		"b.mp3": testmedia.FramesFrom(1000, 40),
		"c.mp3": testmedia.FramesFrom(2000, 40),
	})
	// After the mountpoint's cleanup is registered, so it runs first: a
	// stuck open must be let go before the station can stop.
	t.Cleanup(func() { unstickOnce.Do(func() { close(unstick) }) })
	if before := playUntilStarted(t, clock, started, "c.mp3"); len(before) != 1 || before[0] != "a.mp3" {
		t.Fatalf("started before c.mp3: %v, want only a.mp3", before)
	}
	expectSkip(t, skips, errOpenTimeout, "the hung open")
	// A slow open says nothing about the file: it is not marked bad for
	// the route, so it is tried again next time round.
	m.bad.mu.Lock()
	_, marked := m.bad.files["b.mp3"]
	m.bad.mu.Unlock()
	if marked {
		t.Error("b.mp3 marked bad after an open timeout")
	}
	unstickOnce.Do(func() { close(unstick) })
	select {
	case <-lateClosed:
	case <-time.After(10 * time.Second):
		t.Fatal("the track the abandoned open made was never closed")
	}
}

// notifyCloser closes done after closing the file.
type notifyCloser struct {
	io.Closer
	done chan struct{}
}

func (c notifyCloser) Close() error {
	err := c.Closer.Close()
	close(c.done)
	return err
}

// A track replaced after the scan by a symlink to a file outside the
// folder is refused at open, with the reason, and the station plays on.
func TestSymlinkSwappedOutsideIsRefusedAtOpen(t *testing.T) {
	outside := testmedia.WriteFile(t, t.TempDir(), "secret.mp3", testmedia.FramesFrom(5000, 40))
	m := &Mountpoint{}
	skips := skipRecorder(m)
	_, clock, started, dir := startSteppedMountWith(t, m, map[string][]byte{
		"a.mp3": testmedia.FramesFrom(0, 40),
		"b.mp3": testmedia.FramesFrom(1000, 40),
		"c.mp3": testmedia.FramesFrom(2000, 40),
	})
	playUntilStarted(t, clock, started, "a.mp3")
	// Preload 0: b.mp3 is opened only when a.mp3 ends, after the swap.
	link := filepath.Join(dir, "b.mp3")
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, link); err != nil {
		t.Fatal(err)
	}
	if before := playUntilStarted(t, clock, started, "c.mp3"); len(before) != 0 {
		t.Fatalf("started before c.mp3: %v (the outside file must not play)", before)
	}
	select {
	case err := <-skips:
		if !errors.Is(err, playlist.ErrOutsideFolder) {
			t.Fatalf("b.mp3 skipped with %v, want %v", err, playlist.ErrOutsideFolder)
		}
	default:
		t.Fatal("the swapped link was not reported as skipped")
	}
}
