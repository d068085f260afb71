package mount

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// countOpens opens files the way every station does (Decoder: MP3
// directly, anything else through ffmpeg) and counts every attempt.
func countOpens(calls *atomic.Int64) folderHooks {
	return folderHooks{open: func(ctx context.Context, path string, offset int64) (*FrameReader, io.Closer, error) {
		calls.Add(1)
		return Decoder{}.Open(ctx, path, offset)
	}}
}

// copyCorpus copies corpus files (paths as in MANIFEST.json) flat into dir.
func copyCorpus(t *testing.T, corpus, dir string, paths ...string) {
	t.Helper()
	for _, p := range paths {
		data, err := os.ReadFile(filepath.Join(corpus, filepath.FromSlash(p)))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(p)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// skipLog records OnSkip calls.
type skipLog struct {
	mu      sync.Mutex
	reasons map[string][]string // file name → reasons, one per skip
}

func (s *skipLog) add(path string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reasons == nil {
		s.reasons = map[string][]string{}
	}
	s.reasons[filepath.Base(path)] = append(s.reasons[filepath.Base(path)], err.Error())
}

func (s *skipLog) snapshot() map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]string{}
	for k, v := range s.reasons {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// TestBrokenCorpusFilesAreSkipped: the corpus files the manifest marks
// "skip" (empty, not audio, a WAV header without data) sit among good
// ones; each is skipped once with a reason and the good ones all play.
func TestBrokenCorpusFilesAreSkipped(t *testing.T) {
	t.Parallel()
	testmedia.RequireTool(t, "ffmpeg")
	corpus, man := testmedia.Corpus(t)
	good := []string{"humor/Юмор.mp3", "variants/truncated-midframe.mp3", "wav/pcm8-22k-mono.wav"}
	var broken []string
	for _, f := range man.Files {
		if strings.HasPrefix(f.ExpectedBehaviour, "skip: ") && f.ExpectedBehaviour != "skip: hidden" &&
			f.ExpectedBehaviour != "skip: unsupported format" {
			broken = append(broken, f.Path)
		}
	}
	if len(broken) != 3 {
		t.Fatalf("manifest lists broken files %q, want empty.mp3, not-audio.mp3, corrupt-header-only.wav", broken)
	}
	dir := t.TempDir()
	copyCorpus(t, corpus, dir, append(broken, good...)...)

	var opens atomic.Int64
	var skips skipLog
	var mu sync.Mutex
	played := map[string]int{}
	m := &Mountpoint{
		Route: "/mixed",
		Station: Config{
			PublishInterval: 50 * time.Millisecond, Clock: fastClock{start: time.Now(), speed: 20},
			OnSkip: skips.add,
			OnTrack: func(ti *TrackInfo) {
				mu.Lock()
				played[ti.Rel]++
				mu.Unlock()
			},
		},
		Library: playlist.NewLibrary(dir, playlist.LibraryOptions{}),
		hooks:   countOpens(&opens),
	}
	startMount(t, m)
	// Two full cycles: the good files play twice, the broken ones are not
	// offered again once skipped.
	testmedia.PollUntil(t, 15*time.Second, "every good file to play twice", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, g := range good {
			if played[filepath.Base(g)] < 2 {
				return false
			}
		}
		return true
	})
	if !m.Ready() {
		t.Error("station with playable files not ready")
	}
	mu.Lock()
	for rel := range played {
		for _, b := range broken {
			if rel == filepath.Base(b) {
				t.Errorf("broken file %s was played", rel)
			}
		}
	}
	mu.Unlock()

	// empty.mp3 never reaches the station: the scan leaves it out, saying why.
	res, err := m.Library.Scan()
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Skipped) != 1 || res.Skipped[0].Path != "empty.mp3" || res.Skipped[0].Reason != playlist.ReasonEmpty {
		t.Errorf("scan skipped %+v, want empty.mp3 (%s)", res.Skipped, playlist.ReasonEmpty)
	}
	got := skips.snapshot()
	for _, name := range []string{"not-audio.mp3", "corrupt-header-only.wav"} {
		if r := got[name]; len(r) != 1 || strings.TrimSpace(r[0]) == "" {
			t.Errorf("%s: skip reasons %q, want exactly one, non-empty", name, r)
		}
	}
	if len(got) != 2 {
		t.Errorf("skipped %v, want only the two broken files", got)
	}
	if s := m.Stats(); s.FilesSkipped != 2 || s.Panics != 0 {
		t.Errorf("stats: %d skipped, %d panics; want 2 and 0", s.FilesSkipped, s.Panics)
	}
}

// cpuTime is this process's user+system CPU time from /proc/self/stat.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	raw, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Skip("no /proc/self/stat")
	}
	// Fields after the command name (which may hold spaces) start at ")".
	f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("parsing /proc/self/stat: %q", raw)
	}
	const clkTck = 100 // USER_HZ on every Linux this runs on
	return time.Duration(utime+stime) * time.Second / clkTck
}

// TestAllBrokenFolderRetriesWithoutHotLoop: a folder where every file is
// broken keeps the station up but not ready; files are retried only
// after a rescan saw them change, so over 3 s the station opens each file
// about once and burns almost no CPU. Not parallel: it measures the
// process's CPU time.
func TestAllBrokenFolderRetriesWithoutHotLoop(t *testing.T) {
	testmedia.RequireTool(t, "ffmpeg")
	corpus, _ := testmedia.Corpus(t)
	dir := t.TempDir()
	copyCorpus(t, corpus, dir, "variants/not-audio.mp3", "wav/corrupt-header-only.wav")
	testmedia.WriteFile(t, dir, "zeros.mp3", make([]byte, 64<<10))
	text := testmedia.WriteFile(t, dir, "page.mp3", []byte(strings.Repeat("<html>not found</html>\n", 100)))
	const files = 4

	var opens atomic.Int64
	var skips skipLog
	m := &Mountpoint{
		Route: "/broken", RescanInterval: 200 * time.Millisecond,
		Station: Config{PublishInterval: 50 * time.Millisecond, OnSkip: skips.add},
		Library: playlist.NewLibrary(dir, playlist.LibraryOptions{}),
		hooks:   countOpens(&opens),
	}
	startMount(t, m)
	testmedia.PollUntil(t, 15*time.Second, "every broken file to be tried once", func() bool { return opens.Load() >= files })
	cpu0, wall0 := cpuTime(t), time.Now()

	// Halfway, one file changes (still broken): the rescan notices, and
	// that file alone is tried once more.
	time.Sleep(1500 * time.Millisecond) // the observation window itself
	if err := os.WriteFile(text, []byte("still not audio, but a different file"), 0o644); err != nil {
		t.Fatal(err)
	}
	testmedia.PollUntil(t, 15*time.Second, "the changed file to be retried", func() bool { return opens.Load() >= files+1 })
	time.Sleep(time.Until(wall0.Add(3 * time.Second)))
	cpu, wall := cpuTime(t)-cpu0, time.Since(wall0)

	if m.Ready() {
		t.Error("a station with only broken files says it is ready")
	}
	if n := opens.Load(); n != files+1 {
		t.Errorf("%d opens over %v, want %d: each file once, plus the one that changed", n, wall.Round(time.Millisecond), files+1)
	}
	if got := skips.snapshot()["page.mp3"]; len(got) != 2 {
		t.Errorf("page.mp3 skipped %d times, want 2 (before and after it changed): %q", len(got), got)
	}
	// A hot loop would burn a whole core (3 s); rescans every 200 ms of a
	// folder of four files cost milliseconds.
	if cpu > 500*time.Millisecond {
		t.Errorf("%v of CPU over %v with nothing playable: a busy loop?", cpu, wall.Round(time.Millisecond))
	}
	t.Logf("%d opens, %v CPU over %v", opens.Load(), cpu, wall.Round(time.Millisecond))
}

// listen joins a listener to m and reads it in the background, frame by
// frame (every test track is 417-byte 128 kbps frames), until ctx ends.
type frameListener struct {
	mu     sync.Mutex
	frames []uint32 // FrameIndex of every frame received
	maxGap time.Duration
	err    error
	got    chan struct{} // signalled after every frame
}

func listen(t *testing.T, m *Mountpoint) *frameListener {
	t.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	client, srv := dialPair(t, ln)
	ln.Close()
	if err := m.Join(JoinRequest{Conn: srv, Remote: "test", UserAgent: "test"}); err != nil {
		t.Fatal(err)
	}
	fl := &frameListener{got: make(chan struct{}, 1)}
	done := make(chan struct{})
	t.Cleanup(func() { client.Close(); <-done })
	go func() {
		defer close(done)
		frame := make([]byte, 417)
		last := time.Now()
		for {
			_, err := io.ReadFull(client, frame)
			now := time.Now()
			fl.mu.Lock()
			if err != nil {
				fl.err = err
				fl.mu.Unlock()
				return
			}
			if frame[0] != 0xFF || frame[1] != 0xFB {
				fl.err = errors.New("stream lost frame alignment")
				fl.mu.Unlock()
				return
			}
			fl.frames = append(fl.frames, testmedia.FrameIndex(frame))
			fl.maxGap = max(fl.maxGap, now.Sub(last))
			fl.mu.Unlock()
			last = now
			select {
			case fl.got <- struct{}{}:
			default:
			}
		}
	}()
	return fl
}

// waitFor waits (up to limit) until the listener has received a frame
// whose index satisfies cond; it fails if the stream ends first.
func (fl *frameListener) waitFor(t *testing.T, limit time.Duration, what string, cond func(uint32) bool) {
	t.Helper()
	deadline := time.After(limit)
	seen := 0
	for {
		fl.mu.Lock()
		for _, f := range fl.frames[seen:] {
			if cond(f) {
				fl.mu.Unlock()
				return
			}
		}
		seen = len(fl.frames)
		err := fl.err
		fl.mu.Unlock()
		if err != nil {
			t.Fatalf("waiting for %s: listener: %v", what, err)
		}
		select {
		case <-fl.got:
		case <-deadline:
			t.Fatalf("no %s within %v (%d frames received)", what, limit, seen)
		}
	}
}

func (fl *frameListener) gap() time.Duration {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	return fl.maxGap
}

// TestPlayingFileChanges: the file on the air is rewritten, replaced,
// truncated or deleted. The station finishes it or cuts it short, then
// plays on: the listener connected all along never waits longer than its
// burst for audio, and the stream stays frame-aligned.
func TestPlayingFileChanges(t *testing.T) {
	t.Parallel()
	const burst = time.Second
	for _, tc := range []struct {
		name   string
		change func(path string) error
	}{
		{"rewritten in place", func(p string) error { return os.WriteFile(p, testmedia.FramesFrom(5000, 60), 0o644) }},
		{"replaced by rename", func(p string) error {
			tmp := p + ".tmp"
			if err := os.WriteFile(tmp, testmedia.FramesFrom(5000, 60), 0o644); err != nil {
				return err
			}
			return os.Rename(tmp, p)
		}},
		{"truncated to half", func(p string) error {
			fi, err := os.Stat(p)
			if err != nil {
				return err
			}
			return os.Truncate(p, fi.Size()/2)
		}},
		{"deleted", os.Remove},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			a := testmedia.WriteFile(t, dir, "a.mp3", testmedia.FramesFrom(0, 115)) // 3 s
			testmedia.WriteFile(t, dir, "b.mp3", testmedia.FramesFrom(1000, 40))
			testmedia.WriteFile(t, dir, "c.mp3", testmedia.FramesFrom(2000, 40))
			m := &Mountpoint{
				Route:   "/",
				Station: Config{Burst: burst, PublishInterval: 50 * time.Millisecond},
				Library: playlist.NewLibrary(dir, playlist.LibraryOptions{}),
			}
			startMount(t, m)
			testmedia.PollUntil(t, 15*time.Second, "the station to play", m.Ready)
			fl := listen(t, m)
			fl.waitFor(t, 5*time.Second, "a frame of a.mp3", func(i uint32) bool { return i < 1000 })
			if live := m.radio.ring.Tail().Track; live.Rel != "a.mp3" {
				t.Fatalf("a.mp3 is no longer on the air (%+v): the test came too late", live)
			}
			if err := tc.change(a); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Reload(); err != nil { // as the periodic rescan would
				t.Fatal(err)
			}
			fl.waitFor(t, 15*time.Second, "a frame of c.mp3", func(i uint32) bool { return i >= 2000 && i < 3000 })
			if g := fl.gap(); g >= burst {
				t.Errorf("the listener waited %v for audio, more than its %v burst", g, burst)
			}
			if s := m.Stats(); s.Panics != 0 {
				t.Errorf("%d panics", s.Panics)
			}
		})
	}
}

// TestStationFolderRemovedAndRecreated: the folder disappears while a
// listener is connected; the station plays out what it had open, then is
// not ready, and plays the new files once the folder is back.
func TestStationFolderRemovedAndRecreated(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "station")
	testmedia.WriteFile(t, dir, "a.mp3", testmedia.FramesFrom(0, 80))
	testmedia.WriteFile(t, dir, "b.mp3", testmedia.FramesFrom(1000, 80))
	var skips skipLog
	m := &Mountpoint{
		Route: "/", RescanInterval: 100 * time.Millisecond,
		Station: Config{PublishInterval: 50 * time.Millisecond, Clock: fastClock{start: time.Now(), speed: 4}, OnSkip: skips.add},
		Library: playlist.NewLibrary(dir, playlist.LibraryOptions{}),
	}
	startMount(t, m)
	testmedia.PollUntil(t, 15*time.Second, "the station to play", m.Ready)
	fl := listen(t, m)
	fl.waitFor(t, 5*time.Second, "the first frame", func(uint32) bool { return true })

	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	testmedia.PollUntil(t, 15*time.Second, "the station to run out of audio", func() bool { return !m.Ready() })
	if n := m.Library.Len(); n != 0 {
		t.Errorf("library still lists %d tracks of a removed folder", n)
	}

	testmedia.WriteFile(t, dir, "new.mp3", testmedia.FramesFrom(7000, 80))
	testmedia.PollUntil(t, 15*time.Second, "the station to play the new folder", m.Ready)
	fl.waitFor(t, 10*time.Second, "a frame of new.mp3", func(i uint32) bool { return i >= 7000 })
	if s := m.Stats(); s.Panics != 0 {
		t.Errorf("%d panics", s.Panics)
	}
	t.Logf("skips while the folder was gone: %v", skips.snapshot())
}
