package playlist

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// corpusExpected lists the corpus files a scan must return: every .mp3/.wav
// (or extra extension) that is "play…" or "skip: corrupt" — detecting
// corruption is the station's job when it opens the file.
func corpusExpected(m *testmedia.Manifest, exts ...string) []string {
	var want []string
	for _, f := range m.Files {
		ext := strings.ToLower(filepath.Ext(f.Path))
		if !slices.Contains(exts, ext) {
			continue
		}
		b := f.ExpectedBehaviour
		if strings.HasPrefix(b, "play") || b == "skip: corrupt" || (b == "skip: unsupported format" && ext != ".mp3" && ext != ".wav") {
			want = append(want, f.Path)
		}
	}
	slices.Sort(want)
	return want
}

func TestScanCorpus(t *testing.T) {
	dir, m := testmedia.Corpus(t)
	lib := NewLibrary(dir, LibraryOptions{})
	res, err := lib.Scan()
	if err != nil {
		t.Fatal(err)
	}
	got := rels(lib.Tracks())
	want := corpusExpected(m, ".mp3", ".wav")
	if !slices.Equal(got, want) {
		t.Fatalf("tracks:\n got %q\nwant %q", got, want)
	}
	// Every play file must be there, byte-exact (the NFD name included).
	for _, f := range m.Files {
		if strings.HasPrefix(f.ExpectedBehaviour, "play") && !lib.Contains(f.Path) {
			t.Errorf("play file %q missing", f.Path)
		}
	}
	if r, _ := skipReason(res, "variants/.hidden.mp3"); r != ReasonHidden {
		t.Errorf(".hidden.mp3 skip reason = %q, want %q", r, ReasonHidden)
	}
	if r, _ := skipReason(res, "variants/empty.mp3"); r != ReasonEmpty {
		t.Errorf("empty.mp3 skip reason = %q, want %q", r, ReasonEmpty)
	}
	for _, p := range []string{"other/sample.flac", "other/sample.ogg", "README.md", "corpus.py"} {
		if _, ok := skipReason(res, p); ok || lib.Contains(p) {
			t.Errorf("%s should be ignored silently", p)
		}
	}
	if res.Tracks != len(want) || res.Version != 1 || !res.Changed {
		t.Errorf("result = %+v", res)
	}
}

func TestScanCorpusExtraExtensions(t *testing.T) {
	dir, m := testmedia.Corpus(t)
	lib := NewLibrary(dir, LibraryOptions{Extensions: []string{".FLAC", "ogg"}})
	mustScan(t, lib)
	got := rels(lib.Tracks())
	want := corpusExpected(m, ".mp3", ".wav", ".flac", ".ogg")
	if !slices.Equal(got, want) {
		t.Fatalf("tracks:\n got %q\nwant %q", got, want)
	}
	if !lib.Contains("other/sample.flac") || !lib.Contains("other/sample.ogg") {
		t.Fatal("flac/ogg not included")
	}
}

func TestScanUnicodeNamesByteExact(t *testing.T) {
	names := []string{
		"Caf\u00e9.mp3",  // NFC
		"Cafe\u0301.mp3", // NFD: a different file with the same look
		"Юмор/Шутка без артиста.mp3",
		"你好世界.mp3",
		"Party 🎉.mp3",
		`Don't "Stop".mp3`,
		"UPPER.MP3",
		"mixed.Wav",
	}
	lib, _ := newTestLibrary(t, names...)
	got := rels(lib.Tracks())
	if want := sorted(names); !slices.Equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	for i := 1; i < len(got); i++ {
		if got[i-1] >= got[i] {
			t.Fatalf("not sorted by bytes: %q before %q", got[i-1], got[i])
		}
	}
}

func TestScanSkipsAndIgnores(t *testing.T) {
	dir := t.TempDir()
	writeTracks(t, dir,
		"ok.mp3",
		"deep/a/b/c/ok.wav",
		".hidden.mp3",
		".cache/inside.mp3",
		"sub/.git/objects/x.mp3",
		"notes.txt",
		".DS_Store",
		"cover.jpg",
	)
	if err := os.WriteFile(filepath.Join(dir, "zero.mp3"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	lib := NewLibrary(dir, LibraryOptions{})
	res := mustScan(t, lib)

	if got, want := rels(lib.Tracks()), []string{"deep/a/b/c/ok.wav", "ok.mp3"}; !slices.Equal(got, want) {
		t.Fatalf("tracks %q, want %q", got, want)
	}
	wantSkips := map[string]string{
		".hidden.mp3": ReasonHidden,
		".cache":      ReasonHidden,
		"sub/.git":    ReasonHidden,
		"zero.mp3":    ReasonEmpty,
	}
	got := map[string]string{}
	for _, s := range res.Skipped {
		got[s.Path] = s.Reason
	}
	if len(got) != len(wantSkips) {
		t.Errorf("skipped %v, want %v", got, wantSkips)
	}
	for p, r := range wantSkips {
		if got[p] != r {
			t.Errorf("skip %q: reason %q, want %q", p, got[p], r)
		}
	}
}

func TestScanSymlinks(t *testing.T) {
	outside := t.TempDir()
	writeTracks(t, outside, "secret.mp3")
	dir := t.TempDir()
	writeTracks(t, dir, "real/song.mp3")
	link := func(target, name string) {
		t.Helper()
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Skipf("symlinks not supported here: %v", err)
		}
	}
	link(filepath.Join(outside, "secret.mp3"), "outside.mp3") // absolute, leads out
	link("../"+filepath.Base(outside)+"/secret.mp3", "outside-rel.mp3")
	link("real/song.mp3", "inside.mp3") // kept: stays in the folder
	link("loop-b.mp3", "loop-a.mp3")
	link("loop-a.mp3", "loop-b.mp3")
	link("..", "real/up") // directory loop; must not be followed
	link("missing.mp3", "dangling.mp3")
	link(outside, "outside-dir")

	lib := NewLibrary(dir, LibraryOptions{})
	res := mustScan(t, lib)

	// Decision: a symlink to a file inside the folder is kept under its own
	// name (its Size is the target's); symlinked directories are not followed.
	if got, want := rels(lib.Tracks()), []string{"inside.mp3", "real/song.mp3"}; !slices.Equal(got, want) {
		t.Fatalf("tracks %q, want %q", got, want)
	}
	if tr := track(t, lib, "inside.mp3"); tr.Size != 1 {
		t.Errorf("symlink size = %d, want the target's 1", tr.Size)
	}
	// A relative link into a sibling temp folder only resolves when both
	// share a parent, which t.TempDir does not promise; check it if so.
	want := map[string]string{
		"outside.mp3":  ReasonOutside,
		"loop-a.mp3":   ReasonSymlinkLoop,
		"loop-b.mp3":   ReasonSymlinkLoop,
		"real/up":      ReasonSymlinkedDir,
		"dangling.mp3": ReasonBrokenLink,
		"outside-dir":  ReasonSymlinkedDir,
	}
	for p, r := range want {
		if got, _ := skipReason(res, p); got != r {
			t.Errorf("skip %q: reason %q, want %q", p, got, r)
		}
	}
	if r, _ := skipReason(res, "outside-rel.mp3"); r != ReasonOutside && r != ReasonBrokenLink {
		t.Errorf("outside-rel.mp3: reason %q", r)
	}
}

func TestScanUnreadableFile(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root: permission bits do not stop root from reading, cannot test unreadable files")
	}
	lib, dir := newTestLibrary(t, "ok.mp3", "locked.mp3", "closed/inner.mp3")
	if err := os.Chmod(filepath.Join(dir, "locked.mp3"), 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "closed"), 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.Chmod(filepath.Join(dir, "closed"), 0o755); err != nil {
			t.Error(err)
		}
	})
	res := mustScan(t, lib)
	if got := rels(lib.Tracks()); !slices.Equal(got, []string{"ok.mp3"}) {
		t.Fatalf("tracks %q", got)
	}
	if r, _ := skipReason(res, "locked.mp3"); r != ReasonUnreadable {
		t.Errorf("locked.mp3 reason %q", r)
	}
	if r, _ := skipReason(res, "closed"); !strings.HasPrefix(r, ReasonUnreadable) {
		t.Errorf("closed/ reason %q", r)
	}
}

func TestScanMissingThenFilled(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "music")
	lib := NewLibrary(dir, LibraryOptions{})
	_, err := lib.Scan()
	if !errors.Is(err, ErrDirNotExist) || !strings.Contains(err.Error(), "directory does not exist") {
		t.Fatalf("missing dir: err = %v", err)
	}
	if lib.Len() != 0 || lib.Version() != 0 {
		t.Fatalf("len %d version %d", lib.Len(), lib.Version())
	}

	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = lib.Scan()
	if !errors.Is(err, ErrNoPlayableFiles) || !strings.Contains(err.Error(), "no playable files") {
		t.Fatalf("empty dir: err = %v", err)
	}

	// The station keeps the same Library and picks files up later.
	writeTracks(t, dir, "a.mp3")
	res := mustScan(t, lib)
	if res.Tracks != 1 || !lib.Contains("a.mp3") {
		t.Fatalf("after adding: %+v", res)
	}

	// The folder disappearing empties the library (and changes the version).
	v := lib.Version()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := lib.Scan(); !errors.Is(err, ErrDirNotExist) {
		t.Fatalf("removed dir: %v", err)
	}
	if lib.Len() != 0 || lib.Version() == v {
		t.Fatalf("after removal: len %d version %d (was %d)", lib.Len(), lib.Version(), v)
	}
}

func TestScanNotADirectory(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file.mp3")
	writeTracks(t, filepath.Dir(f), "file.mp3")
	_, err := NewLibrary(f, LibraryOptions{}).Scan()
	if !errors.Is(err, ErrNotDir) {
		t.Fatalf("err = %v", err)
	}
}

func TestScanVersion(t *testing.T) {
	lib, dir := newTestLibrary(t, "a.mp3", "b.mp3")
	v1 := lib.Version()
	if res := mustScan(t, lib); res.Changed || lib.Version() != v1 {
		t.Fatalf("unchanged rescan changed version: %+v", res)
	}
	writeTracks(t, dir, "c.mp3")
	mustScan(t, lib)
	v2 := lib.Version()
	if v2 == v1 {
		t.Fatal("adding a file did not change the version")
	}
	// Same name, new content: the version changes (Order clears Skip marks).
	if err := os.WriteFile(filepath.Join(dir, "a.mp3"), []byte("longer"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustScan(t, lib)
	v3 := lib.Version()
	if v3 == v2 {
		t.Fatal("changing a file's size did not change the version")
	}
	if err := os.Remove(filepath.Join(dir, "b.mp3")); err != nil {
		t.Fatal(err)
	}
	mustScan(t, lib)
	if lib.Version() == v3 || lib.Contains("b.mp3") {
		t.Fatal("removing a file did not change the library")
	}
}

func TestScanLogsSkipsOnce(t *testing.T) {
	var buf logBuffer
	dir := t.TempDir()
	writeTracks(t, dir, "ok.mp3", ".hidden.mp3")
	if err := os.WriteFile(filepath.Join(dir, "zero.mp3"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	lib := NewLibrary(dir, LibraryOptions{Logger: newTestLogger(&buf)})
	for range 3 {
		mustScan(t, lib)
	}
	out := buf.String()
	for _, p := range []string{".hidden.mp3", "zero.mp3"} {
		if n := strings.Count(out, "path="+p); n != 1 {
			t.Errorf("%s logged %d times, want 1:\n%s", p, n, out)
		}
	}
	// Fixed and broken again: logged again.
	if err := os.WriteFile(filepath.Join(dir, "zero.mp3"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustScan(t, lib)
	if err := os.WriteFile(filepath.Join(dir, "zero.mp3"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	mustScan(t, lib)
	if n := strings.Count(buf.String(), "path=zero.mp3"); n != 2 {
		t.Errorf("re-broken file logged %d times in total, want 2", n)
	}
}

func TestLibraryAbs(t *testing.T) {
	lib, dir := newTestLibrary(t, "sub/a.mp3")
	tr := lib.Tracks()[0]
	if got, want := lib.Abs(tr), filepath.Join(dir, "sub", "a.mp3"); got != want {
		t.Errorf("Abs = %q, want %q", got, want)
	}
	if lib.Dir() != dir {
		t.Errorf("Dir = %q", lib.Dir())
	}
	for _, bad := range []string{"../etc/passwd", "/etc/passwd", "sub/../../x.mp3"} {
		if got := lib.Abs(Track{Rel: bad}); got != "" {
			t.Errorf("Abs(%q) = %q, want \"\"", bad, got)
		}
	}
	// Tracks returns a copy: editing it must not change the library.
	ts := lib.Tracks()
	ts[0].Rel = "changed"
	if !lib.Contains("sub/a.mp3") || lib.Contains("changed") {
		t.Fatal("Tracks exposed internal state")
	}
}

func TestLibraryConcurrentUse(t *testing.T) {
	lib, dir := newTestLibrary(t, "a.mp3", "b.mp3")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				ts := lib.Tracks()
				if len(ts) < 1 || lib.Len() < 1 || !lib.Contains("a.mp3") {
					t.Error("a.mp3 vanished")
					return
				}
				_ = lib.Version()
			}
		}()
	}
	for i := range 20 {
		writeTracks(t, dir, "x/"+strings.Repeat("n", i+1)+".mp3")
		if _, err := lib.Scan(); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
	if lib.Len() != 22 {
		t.Fatalf("len %d", lib.Len())
	}
}

func TestTrackModTimeRecorded(t *testing.T) {
	lib, dir := newTestLibrary(t, "a.mp3")
	when := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(dir, "a.mp3"), when, when); err != nil {
		t.Fatal(err)
	}
	mustScan(t, lib)
	if tr := track(t, lib, "a.mp3"); !tr.ModTime.Equal(when) {
		t.Fatalf("ModTime %v, want %v", tr.ModTime, when)
	}
}

func TestLibraryExtensions(t *testing.T) {
	lib := NewLibrary(t.TempDir(), LibraryOptions{Extensions: []string{"FLAC", ".ogg", ".mp3", " "}})
	got := lib.Extensions()
	if want := []string{".mp3", ".wav", ".flac", ".ogg"}; !slices.Equal(got, want) {
		t.Errorf("Extensions() = %q, want %q", got, want)
	}
	got[0] = ".changed"
	if lib.Extensions()[0] != ".mp3" {
		t.Error("Extensions shares its slice with callers")
	}
}
