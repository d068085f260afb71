package station

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

// syncFileBase spaces the frame counters of the test folder's files.
const syncFileBase = 100_000

// syncFolder writes a folder of MP3s whose frames carry counters: frame k
// of file i holds i×syncFileBase+k. It returns the folder and its
// Timeline as the instances play it (shuffled, seeded "e2e").
func syncFolder(t *testing.T) (string, mount.Timeline) {
	t.Helper()
	dir := t.TempDir()
	counts := []int{230, 410, 170, 95}
	tl := mount.Timeline{Shuffle: true, Seed: mount.SeedOf("e2e")}
	for i, n := range counts {
		testmedia.WriteFile(t, dir, fmt.Sprintf("%02d.mp3", i), testmedia.ID3v2("Sync", fmt.Sprintf("Track %d", i), 0), testmedia.FramesFrom(uint32(i*syncFileBase), n))
		tl.Frames = append(tl.Frames, int64(n))
	}
	return dir, tl
}

// serverBinary is the audio-streamer executable: AUDIO_STREAMER_TEST_BINARY
// if set, else one built for the test.
func serverBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("AUDIO_STREAMER_TEST_BINARY"); bin != "" {
		return bin
	}
	bin := filepath.Join(t.TempDir(), "audio-streamer")
	build := exec.Command("go", "build", "-o", bin, "github.com/aposazhennikov/stream-audio-to-web/cmd/audio-streamer")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building audio-streamer: %v\n%s", err, out)
	}
	return bin
}

// startInstance runs the server on a free loopback port with a
// clock-synced "/" playing dir, and returns its address once it serves
// (startOrigin, for an instance the test does not kill).
func startInstance(t *testing.T, bin, dir string) string {
	t.Helper()
	return startOrigin(t, bin, dir).addr
}

// listener is an ICY listener (no metadata) reading whole frames.
type listener struct {
	conn net.Conn
	r    *bufio.Reader
}

func listen(t *testing.T, addr string) *listener {
	t.Helper()
	l, err := dialListener(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.conn.Close() })
	return l
}

// dialListener connects and reads the response head; for goroutines
// other than the test's, which may not stop the test.
func dialListener(addr string) (*listener, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	if _, err := io.WriteString(conn, "GET / HTTP/1.0\r\nHost: radio\r\nUser-Agent: sync-test\r\n\r\n"); err != nil {
		conn.Close()
		return nil, err
	}
	r := bufio.NewReader(conn)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("reading the response head from %s: %w", addr, err)
		}
		if line == "\r\n" {
			return &listener{conn: conn, r: r}, nil
		}
	}
}

// frames reads n whole frames (all 128 kbit/s at 44.1 kHz, unpadded).
func (l *listener) frames(n int) ([][]byte, error) {
	size := len(testmedia.Frame{Kbps: 128}.Bytes())
	if err := l.conn.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
		return nil, err
	}
	out := make([][]byte, n)
	for i := range out {
		out[i] = make([]byte, size)
		if _, err := io.ReadFull(l.r, out[i]); err != nil {
			return nil, fmt.Errorf("frame %d: %w", i, err)
		}
		if out[i][0] != 0xFF {
			return nil, fmt.Errorf("frame %d does not start with a frame sync", i)
		}
	}
	return out, nil
}

// mustFrames is frames for the test's goroutine.
func (l *listener) mustFrames(t *testing.T, n int) [][]byte {
	t.Helper()
	out, err := l.frames(n)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// globalFrame is the global frame index near guess whose counter the
// timeline puts there.
func globalFrame(t *testing.T, tl mount.Timeline, frame []byte, guess int64) int64 {
	t.Helper()
	counter := int64(testmedia.FrameIndex(frame))
	for d := int64(0); d < 2000; d++ {
		for _, f := range []int64{guess + d, guess - d} {
			if i, off := tl.At(f); int64(i)*syncFileBase+off == counter {
				return f
			}
		}
	}
	t.Fatalf("counter %d is nowhere near global frame %d", counter, guess)
	return 0
}

// Three server processes with the same folder and settings, started one
// after another: listeners connecting to them at the same moment get the
// same frames, starting within one frame of each other.
func TestSyncInstancesPlayTheSameFrame(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three servers")
	}
	dir, tl := syncFolder(t)
	bin := serverBinary(t)
	addrs := []string{startInstance(t, bin, dir), startInstance(t, bin, dir), startInstance(t, bin, dir)}
	clock := mount.FrameClockFor(44100)

	// Connect to all three at once.
	gate := make(chan struct{})
	var wg sync.WaitGroup
	got := make([][][]byte, len(addrs))
	errs := make([]error, len(addrs))
	for i, addr := range addrs {
		wg.Go(func() {
			<-gate
			l, err := dialListener(addr)
			if err != nil {
				errs[i] = err
				return
			}
			defer l.conn.Close()
			got[i], errs[i] = l.frames(150)
		})
	}
	connected := time.Now()
	close(gate)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("listening to instance %d: %v", i, err)
		}
	}

	guess := clock.FrameAt(connected.Add(-2400 * time.Millisecond)) // the burst, plus a publish interval
	first := make([]int64, len(addrs))
	for i := range addrs {
		first[i] = globalFrame(t, tl, got[i][0], guess)
		for k, fr := range got[i] {
			if want := first[i] + int64(k); globalFrame(t, tl, fr, want) != want {
				t.Fatalf("instance %d: frame %d of the stream is not global frame %d: a gap or a repeat", i, k, want)
			}
		}
	}
	lo, hi := min(first[0], first[1], first[2]), max(first[0], first[1], first[2])
	t.Logf("first frames after connecting at the same moment: %v (%d frames apart)", first, hi-lo)
	if hi-lo > 1 {
		t.Errorf("the instances' streams start %d frames apart (%v); want within one frame", hi-lo, first)
	}
	// And the same global frame is the same bytes everywhere.
	for i := 1; i < len(addrs); i++ {
		for k, fr := range got[i] {
			if j := first[i] + int64(k) - first[0]; j >= 0 && j < int64(len(got[0])) && !bytes.Equal(fr, got[0][j]) {
				t.Fatalf("global frame %d differs between instance 0 and %d", first[i]+int64(k), i)
			}
		}
	}
}

// A listener moved from one instance to another (a load balancer, a
// failed origin) continues where it was: the new instance's burst
// overlaps what the old one sent with the very same frames, and goes on
// from there without a gap.
func TestSyncListenerMovesBetweenInstancesWithoutGap(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two servers")
	}
	dir, tl := syncFolder(t)
	bin := serverBinary(t)
	a, b := startInstance(t, bin, dir), startInstance(t, bin, dir)
	clock := mount.FrameClockFor(44100)

	at := time.Now()
	onA := listen(t, a).mustFrames(t, 250) // the burst and a few seconds live
	lastA := globalFrame(t, tl, onA[len(onA)-1], clock.FrameAt(at.Add(-2400*time.Millisecond))+249)
	firstA := lastA - int64(len(onA)) + 1

	onB := listen(t, b).mustFrames(t, 200)
	firstB := globalFrame(t, tl, onB[0], lastA)
	t.Logf("A sent frames %d..%d; B starts at %d: %d frames of overlap", firstA, lastA, firstB, lastA-firstB+1)
	if firstB > lastA+1 {
		t.Fatalf("B starts at frame %d, %d frames after A's last: a gap", firstB, firstB-lastA-1)
	}
	if firstB < firstA {
		t.Fatalf("B starts at frame %d, before A's first %d", firstB, firstA)
	}
	for k, fr := range onB {
		f := firstB + int64(k)
		if globalFrame(t, tl, fr, f) != f {
			t.Fatalf("B's frame %d is not global frame %d", k, f)
		}
		if f <= lastA && !bytes.Equal(fr, onA[f-firstA]) {
			t.Fatalf("global frame %d differs between A and B", f)
		}
	}
}
