package mount

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// A radio station whose folder became empty is off the air: once it is
// not Ready, NowPlaying is nil, not the last title with a growing age.
func TestRadioNowPlayingIsNilOffTheAir(t *testing.T) {
	ol := newOpenLog("a.mp3")
	m, clock, started, dir := startSteppedMount(t, 0, ol.hooks(), map[string][]byte{"a.mp3": testmedia.FramesFrom(0, 40)})
	playUntilStarted(t, clock, started, "a.mp3")
	if m.NowPlaying() == nil {
		t.Fatal("NowPlaying is nil while a.mp3 plays")
	}
	if err := os.Remove(filepath.Join(dir, "a.mp3")); err != nil {
		t.Fatal(err)
	}
	_, _ = m.Reload() // nothing to play any more
	limit := time.After(20 * time.Second)
	for {
		wake := m.radio.published.wait()
		if m.radio.idle.Load() {
			break
		}
		select {
		case <-wake:
		case until := <-clock.sleeping:
			clock.release(until)
		case <-limit:
			t.Fatal("the station never went idle")
		}
	}
	clock.mu.Lock()
	clock.now = clock.now.Add(time.Minute) // long past the last block
	clock.mu.Unlock()
	if m.Ready() {
		t.Fatal("a station with nothing to play for a minute is Ready")
	}
	if np := m.NowPlaying(); np != nil {
		t.Fatalf("NowPlaying of a station off the air is %q, want nil", np.Display)
	}
}

// An individual-mode route plays nothing once its last listener left:
// NowPlaying is nil, not that listener's last track.
func TestIndividualNowPlayingIsNilWithoutListeners(t *testing.T) {
	dir := t.TempDir()
	testmedia.WriteFile(t, dir, "a.mp3", testmedia.Frames(300))
	m, ln := startIndividual(t, dir)
	if m.NowPlaying() != nil {
		t.Fatal("NowPlaying is set before any listener")
	}
	client, srv := dialPair(t, ln)
	left := make(chan struct{})
	if err := m.Join(JoinRequest{Conn: srv, Head: []byte("H\r\n\r\n"), Remote: "test", UserAgent: "test", OnLeave: func() { close(left) }}); err != nil {
		t.Fatal(err)
	}
	client.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(client, make([]byte, 5+417)); err != nil {
		t.Fatal(err)
	}
	if np := m.NowPlaying(); np == nil || np.Rel != "a.mp3" {
		t.Fatalf("NowPlaying while a listener hears a.mp3: %v", np)
	}
	client.Close()
	select {
	case <-left:
	case <-time.After(20 * time.Second):
		t.Fatal("the station never noticed its listener leave")
	}
	if np := m.NowPlaying(); np != nil {
		t.Fatalf("NowPlaying after the only listener left is %q, want nil", np.Display)
	}
}
