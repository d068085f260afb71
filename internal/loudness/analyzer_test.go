package loudness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// starts records the files ffmpeg was started on, in order.
type starts struct {
	mu    sync.Mutex
	paths []string
}

func (s *starts) hook(path string, _ int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.paths = append(s.paths, path)
}

func (s *starts) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.paths)
}

// startAnalyzer runs New(opts) until the test ends or stop is called;
// stop returns once Run has (so the cache is saved).
func startAnalyzer(t *testing.T, opts Options) (a *Analyzer, stop func()) {
	t.Helper()
	a = New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { a.Run(ctx); close(ran) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-ran }) }
	t.Cleanup(stop)
	return a, stop
}

// waitDone waits for station's work; the limit only turns a hang into a
// failure.
func waitDone(t *testing.T, a *Analyzer, station string) {
	t.Helper()
	select {
	case <-a.Done(station):
	case <-time.After(2 * time.Minute):
		t.Fatalf("station %s not done: %+v", station, a.Progress(station))
	}
}

func lookupOK(t *testing.T, a *Analyzer, path string, p Params) Analysis {
	t.Helper()
	got, ok := a.Lookup(path, p)
	if !ok {
		t.Fatalf("Lookup(%s) missed", filepath.Base(path))
	}
	return got
}

func TestAnalyzerMeasuresQueuedFilesOnce(t *testing.T) {
	dir := t.TempDir()
	loud := synth(t, dir, "loud.wav", tone(0.1, 0, 3, 3), asWAV)      // -20 LUFS
	quiet := synth(t, dir, "quiet.wav", tone(0.0316, 0, 3, 3), asWAV) // -30 LUFS
	bad := testmedia.WriteFile(t, dir, "bad.mp3", []byte("not audio"))
	unlisted := synth(t, dir, "unlisted.wav", tone(0.1, 0, 1, 1), asWAV)
	var s starts
	a, _ := startAnalyzer(t, Options{started: s.hook})

	if _, ok := a.Lookup(loud, Params{}); ok {
		t.Fatal("Lookup hit before anything was measured")
	}
	a.Measure("radio", []string{loud, quiet, bad, loud}, Params{})
	waitDone(t, a, "radio")

	if got := lookupOK(t, a, loud, Params{}); !near(got.Integrated, -20, 0.2) {
		t.Errorf("loud: I %.2f, want -20", got.Integrated)
	}
	if got := lookupOK(t, a, quiet, Params{}); !near(got.Integrated, -30, 0.2) {
		t.Errorf("quiet: I %.2f, want -30", got.Integrated)
	}
	for _, p := range []string{bad, unlisted} {
		if _, ok := a.Lookup(p, Params{}); ok {
			t.Errorf("Lookup(%s) hit", filepath.Base(p))
		}
	}
	if got, want := a.Progress("radio"), (Progress{Measured: 2, Failed: 1, Total: 3, Done: true}); got != want {
		t.Errorf("Progress = %+v, want %+v", got, want)
	}
	if got, want := s.list(), []string{loud, quiet, bad}; !slices.Equal(got, want) {
		t.Errorf("ffmpeg ran on %v, want %v (in order, the duplicate once)", got, want)
	}

	// A rescan passes the same list: nothing is measured again, not even
	// the file that failed (it has not changed).
	a.Measure("radio", []string{loud, quiet, bad}, Params{})
	waitDone(t, a, "radio")
	if n := len(s.list()); n != 3 {
		t.Errorf("a second Measure of measured files ran ffmpeg %d more times", n-3)
	}
	if got := a.Progress("radio"); got.Measured != 2 || got.Failed != 1 || !got.Done {
		t.Errorf("Progress after the rescan = %+v", got)
	}
}

func TestAnalyzerFollowsTheLatestList(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for _, n := range []string{"a", "b", "c"} {
		files = append(files, synth(t, dir, n+".wav", tone(0.1, 0, 1, 1), asWAV))
	}
	fa, fb, fc := files[0], files[1], files[2]
	first := make(chan string, 1)
	release := make(chan struct{})
	var s starts
	hold := func(path string, pid int) {
		s.hook(path, pid)
		if path == fa {
			first <- path
			<-release // hold the worker inside a's measurement
		}
	}
	a, _ := startAnalyzer(t, Options{started: hold})

	a.Measure("radio", []string{fa, fb, fc}, Params{})
	<-first
	// A rescan while a is measured: b is gone, c comes first now.
	a.Measure("radio", []string{fc, fa}, Params{})
	close(release)
	waitDone(t, a, "radio")
	if got, want := s.list(), []string{fa, fc}; !slices.Equal(got, want) {
		t.Errorf("ffmpeg ran on %v, want %v: b was dropped, a not measured twice", got, want)
	}
	if got, want := a.Progress("radio"), (Progress{Measured: 2, Total: 2, Done: true}); got != want {
		t.Errorf("Progress = %+v, want %+v", got, want)
	}
	// An empty list ends the station's work.
	a.Measure("radio", nil, Params{})
	waitDone(t, a, "radio")
}

func TestAnalyzerSharesFilesBetweenStations(t *testing.T) {
	dir := t.TempDir()
	p := synth(t, dir, "shared.wav", tone(0.1, 1, 2, 3), asWAV)
	var s starts
	a, _ := startAnalyzer(t, Options{started: s.hook})
	a.Measure("one", []string{p}, Params{})
	a.Measure("two", []string{p}, Params{SilenceThreshold: DefaultSilenceThreshold})
	waitDone(t, a, "one")
	waitDone(t, a, "two")
	if n := len(s.list()); n != 1 {
		t.Errorf("the same file with the same threshold was measured %d times", n)
	}
	// Another threshold is another measurement.
	a.Measure("three", []string{p}, Params{SilenceThreshold: -40})
	waitDone(t, a, "three")
	if n := len(s.list()); n != 2 {
		t.Errorf("a new threshold ran ffmpeg %d times, want once more", n-1)
	}
	if got := lookupOK(t, a, p, Params{SilenceThreshold: -40}); got.SilenceThreshold != -40 {
		t.Errorf("threshold %v, want -40", got.SilenceThreshold)
	}
}

func TestAnalyzerWithSeveralWorkersMeasuresEachFileOnce(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for i := range 5 {
		files = append(files, synth(t, dir, fmt.Sprintf("%d.wav", i), tone(0.1, 0, 1, 1), asWAV))
	}
	reversed := slices.Clone(files)
	slices.Reverse(reversed)
	var s starts
	a, _ := startAnalyzer(t, Options{Workers: 3, started: s.hook})
	a.Measure("one", files, Params{})
	a.Measure("two", reversed, Params{})
	a.Measure("one", files[:3], Params{}) // a rescan while the work runs
	waitDone(t, a, "one")
	waitDone(t, a, "two")
	got := s.list()
	slices.Sort(got)
	if !slices.Equal(slices.Compact(slices.Clone(got)), got) || len(got) != len(files) {
		t.Errorf("ffmpeg ran on %v, want each of the %d files once", got, len(files))
	}
	if p := a.Progress("one"); p != (Progress{Measured: 3, Total: 3, Done: true}) {
		t.Errorf("one: %+v", p)
	}
	if p := a.Progress("two"); p != (Progress{Measured: 5, Total: 5, Done: true}) {
		t.Errorf("two: %+v", p)
	}
}

func TestAnalyzerCacheSurvivesRestartRenameButNotEdits(t *testing.T) {
	dir := t.TempDir()
	cachePath := filepath.Join(dir, "state", "loudness.json")
	if err := os.MkdirAll(filepath.Dir(cachePath), 0o755); err != nil {
		t.Fatal(err)
	}
	music := filepath.Join(dir, "music")
	if err := os.Mkdir(music, 0o755); err != nil {
		t.Fatal(err)
	}
	p := synth(t, music, "track.wav", tone(0.1, 1, 4, 5), asWAV)
	a, stop := startAnalyzer(t, Options{CachePath: cachePath})
	a.Measure("radio", []string{p}, Params{})
	waitDone(t, a, "radio")
	want := lookupOK(t, a, p, Params{})
	stop()

	// A new process: results are there before any measurement.
	var s starts
	b := New(Options{CachePath: cachePath, started: s.hook})
	if got := lookupOK(t, b, p, Params{}); got != want {
		t.Errorf("after reload: %+v\nwant %+v", got, want)
	}
	moved := filepath.Join(music, "renamed.wav")
	if err := os.Rename(p, moved); err != nil {
		t.Fatal(err)
	}
	if got := lookupOK(t, b, moved, Params{}); got != want {
		t.Errorf("after a rename: %+v, want the same analysis", got)
	}
	if _, ok := b.Lookup(moved, Params{SilenceThreshold: -40}); ok {
		t.Error("Lookup with another threshold hit")
	}

	// Edited in place: same name and inode, new content (and mtime).
	synth(t, music, "renamed.wav", tone(0.0316, 1, 4, 5), asWAV)
	if _, ok := b.Lookup(moved, Params{}); ok {
		t.Fatal("Lookup hit a file rewritten since it was measured")
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { b.Run(ctx); close(ran) }()
	b.Measure("radio", []string{moved}, Params{})
	waitDone(t, b, "radio")
	cancel()
	<-ran
	if got := lookupOK(t, b, moved, Params{}); !near(got.Integrated, want.Integrated-10, 0.3) {
		t.Errorf("re-measured I %.2f, want 10 dB below %.2f", got.Integrated, want.Integrated)
	}
	if n := len(s.list()); n != 1 {
		t.Errorf("ffmpeg ran %d times after the restart, want once (the edit)", n)
	}
}

func TestAnalyzerStartsEmptyFromABadCacheFile(t *testing.T) {
	dir := t.TempDir()
	p := synth(t, dir, "t.wav", tone(0.1, 0, 1, 1), asWAV)
	for name, content := range map[string]string{
		"garbage":   "\x00\x01 not json",
		"truncated": `{"format":"audio-streamer loudness cache","version":1,"entries":[{"dev":`,
		"foreign":   `{"format":"something else","version":1,"entries":[]}`,
		"array":     `[1,2,3]`,
		"old":       fmt.Sprintf(`{"format":%q,"version":%d,"entries":[]}`, cacheFormat, FormatVersion-1),
	} {
		t.Run(name, func(t *testing.T) {
			cachePath := filepath.Join(t.TempDir(), "loudness.json")
			if err := os.WriteFile(cachePath, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := newCache(10, time.Hour).load(cachePath, time.Now()); err == nil {
				t.Error("load reported no problem")
			}
			a, stop := startAnalyzer(t, Options{CachePath: cachePath})
			if _, ok := a.Lookup(p, Params{}); ok {
				t.Error("Lookup hit from a bad cache")
			}
			a.Measure("radio", []string{p}, Params{})
			waitDone(t, a, "radio")
			stop()
			// The bad file was replaced by a good one.
			c := newCache(10, time.Hour)
			if err := c.load(cachePath, time.Now()); err != nil || len(c.entries) != 1 {
				t.Errorf("cache after a run: %d entries, %v; want 1, nil", len(c.entries), err)
			}
		})
	}
	missing := newCache(10, time.Hour)
	if err := missing.load(filepath.Join(dir, "none.json"), time.Now()); err != nil || len(missing.entries) != 0 {
		t.Errorf("a missing cache file: %v, %d entries; want no error, empty", err, len(missing.entries))
	}
}

func TestCacheForgetsOldAndExcessEntries(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newCache(3, 30*24*time.Hour)
	key := func(i int) fileKey { return fileKey{dev: 1, ino: uint64(i), size: 100, threshold: -5000} }
	for i := range 4 {
		r := newRecord(key(i), fmt.Sprintf("/m/%d.mp3", i), t0.Add(time.Duration(i)*time.Hour))
		r.Analysis = &Analysis{Integrated: -20}
		c.entries[r.key()] = r // put would already cap at 3
	}
	// Entry 0 is looked up two days later: it is now the most recent.
	if _, ok := c.get(key(0), "/m/0.mp3", t0.Add(48*time.Hour)); !ok {
		t.Fatal("entry 0 missing")
	}
	c.prune(t0.Add(48 * time.Hour))
	if _, ok := c.entries[key(1)]; ok || len(c.entries) != 3 {
		t.Errorf("after capping at 3: %d entries, oldest-seen entry 1 kept: %v", len(c.entries), ok)
	}
	// A month later, only what was seen within MaxAge is left.
	c.prune(t0.Add(31 * 24 * time.Hour))
	if _, ok := c.entries[key(0)]; !ok || len(c.entries) != 1 {
		t.Errorf("after a month: %d entries, want only entry 0 (seen on day 2)", len(c.entries))
	}
	// put prunes by itself once it overshoots by an eighth.
	big := newCache(8, time.Hour)
	for i := range 20 {
		r := newRecord(key(i), "/m", t0)
		r.Error = "x"
		big.put(r, t0)
	}
	if n := len(big.entries); n > 9 {
		t.Errorf("cache of 8 holds %d entries", n)
	}
}

func TestAnalyzerCancelKillsRunningFFmpeg(t *testing.T) {
	testmedia.RequireTool(t, "ffmpeg")
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	p := hugeWAV(t, t.TempDir())
	pids := make(chan int, 1)
	a := New(Options{started: func(_ string, pid int) { pids <- pid }})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { a.Run(ctx); close(ran) }()
	a.Measure("radio", []string{p}, Params{})
	pid := <-pids
	if n := niceness(t, pid); n != lowestPriority {
		t.Errorf("ffmpeg runs at nice %d, want %d", n, lowestPriority)
	}
	cancel()
	<-ran
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ffmpeg %d still exists after Run returned: %v", pid, err)
	}
	if _, ok := a.Lookup(p, Params{}); ok {
		t.Error("an interrupted measurement was cached")
	}
	select {
	case <-a.Done("radio"):
		t.Error("Done closed for a station whose work was interrupted")
	default:
	}
}

func TestAnalyzerWithoutFFmpegFinishesUnmeasured(t *testing.T) {
	dir := t.TempDir()
	p := testmedia.WriteFile(t, dir, "t.wav", testmedia.WAV(1, 44100, 2, 16))
	a, _ := startAnalyzer(t, Options{FFmpegPath: filepath.Join(dir, "no-ffmpeg")})
	a.Measure("radio", []string{p, filepath.Join(dir, "gone.mp3")}, Params{})
	waitDone(t, a, "radio")
	if got, want := a.Progress("radio"), (Progress{Failed: 2, Total: 2, Done: true}); got != want {
		t.Errorf("Progress = %+v, want %+v", got, want)
	}
	if _, ok := a.Lookup(p, Params{}); ok {
		t.Error("Lookup hit without ffmpeg")
	}
}

func TestDoneOfAnUnknownStationIsClosed(t *testing.T) {
	a := New(Options{})
	select {
	case <-a.Done("nobody"):
	default:
		t.Error("Done of a station never measured is open")
	}
	if got := a.Progress("nobody"); !got.Done {
		t.Errorf("Progress = %+v, want Done", got)
	}
}

func BenchmarkLookup(b *testing.B) {
	dir := b.TempDir()
	p := testmedia.WriteFile(b, dir, "t.mp3", testmedia.Frames(10))
	a := New(Options{})
	fi, err := os.Stat(p)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	// A full cache, so the map lookup is as in a big library.
	for i := range DefaultMaxEntries - 1 {
		r := newRecord(fileKey{dev: 1, ino: uint64(i) + 1<<40, size: 1}, "/m", now)
		r.Analysis = &Analysis{}
		a.cache.entries[r.key()] = r
	}
	r := newRecord(keyOf(p, fi, Params{}), p, now)
	r.Analysis = &Analysis{Integrated: -20}
	a.cache.put(r, now)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := a.Lookup(p, Params{}); !ok {
			b.Fatal("miss")
		}
	}
}
