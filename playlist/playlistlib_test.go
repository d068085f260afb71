package playlist

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// mp3 writes a real (silent, decodable) MP3 with an ID3v2 title under dir.
func mp3(t testing.TB, dir, name, artist, title string) string {
	t.Helper()
	return testmedia.WriteFile(t, dir, name, testmedia.ID3v2(artist, title, 0), testmedia.Frames(20))
}

func writeList(t testing.TB, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// playlistLib makes root/music with three tagged MP3s, root/other/c.mp3
// outside the playlist's folder, and root/lists/<name> holding text.
func playlistLib(t testing.TB, name, text string) (*Library, string) {
	t.Helper()
	root := t.TempDir()
	mp3(t, root, "lists/music/a.mp3", "Tag Artist", "Tag A")
	mp3(t, root, "lists/music/Кино - Группа крови.mp3", "", "")
	mp3(t, root, "lists/音楽/東京.mp3", "坂本龍一", "東京")
	mp3(t, root, "other/c.mp3", "", "Tag C")
	list := filepath.Join(root, "lists", name)
	writeList(t, list, text)
	return NewLibrary(list, LibraryOptions{}), root
}

func TestPlaylistLibrary(t *testing.T) {
	text := "#EXTM3U\r\n" +
		"#EXTINF:200,Кино - Группа крови\r\n" +
		"music/Кино - Группа крови.mp3\r\n" +
		"music/a.mp3\r\n" +
		"#EXTINF:10,Missing One\r\n" +
		"music/missing.mp3\r\n" +
		"音楽/東京.mp3\r\n" +
		"http://radio.example/live\r\n" +
		"../other/c.mp3\r\n" +
		"notes.txt\r\n" +
		"#EXTINF:5,Again\r\n" +
		"music\\a.mp3\r\n"
	lib, root := playlistLib(t, "show.m3u8", text)
	if !lib.IsPlaylist() {
		t.Fatal("not a playlist library")
	}
	res, err := lib.Scan()
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.ToSlash(filepath.Join(root, "other", "c.mp3"))
	wantRels := []string{"music/Кино - Группа крови.mp3", "music/a.mp3", "音楽/東京.mp3", other, "music/a.mp3"}
	if got := rels(lib.Tracks()); !slices.Equal(got, wantRels) {
		t.Fatalf("tracks (file order, duplicates kept):\n got %q\nwant %q", got, wantRels)
	}
	if res.Tracks != 5 || !res.Changed || res.Version != 1 {
		t.Fatalf("result %+v", res)
	}
	for path, reason := range map[string]string{
		"music/missing.mp3":         ReasonMissing,
		"http://radio.example/live": ReasonStreamURL,
		"notes.txt":                 ReasonNotPlayable,
	} {
		if r, _ := skipReason(res, path); r != reason {
			t.Errorf("skip %q: reason %q, want %q (skipped %+v)", path, r, reason, res.Skipped)
		}
	}
	if len(res.Skipped) != 3 {
		t.Errorf("skipped %+v", res.Skipped)
	}

	// Titles: the playlist's first, the tags otherwise.
	ts := lib.Tracks()
	wantTitles := []Title{
		{Artist: "Кино", Title: "Группа крови", Display: "Кино - Группа крови"},
		{Artist: "Tag Artist", Title: "Tag A", Display: "Tag Artist - Tag A"},
		{Artist: "坂本龍一", Title: "東京", Display: "坂本龍一 - 東京"},
		{Title: "Tag C", Display: "Tag C"},
		{Title: "Again", Display: "Again"},
	}
	for i, want := range wantTitles {
		if got := lib.Title(ts[i]); got != want {
			t.Errorf("title of %d (%s) = %+v, want %+v", i, ts[i].Rel, got, want)
		}
	}

	// Paths: inside and outside the playlist's folder; nothing unlisted.
	if got, want := lib.Abs(ts[1]), filepath.Join(root, "lists", "music", "a.mp3"); got != want {
		t.Errorf("Abs = %q, want %q", got, want)
	}
	if got := lib.Abs(ts[3]); got != filepath.FromSlash(other) {
		t.Errorf("Abs outside = %q", got)
	}
	if p, err := lib.Resolve(ts[3]); err != nil || p != filepath.Join(evalRoot(t, root), "other", "c.mp3") {
		t.Errorf("Resolve outside = %q, %v", p, err)
	}
	for _, rel := range []string{"music/missing.mp3", "/etc/passwd", "../other/c.mp3", "notes.txt"} {
		if lib.Abs(Track{Rel: rel}) != "" || lib.Contains(rel) {
			t.Errorf("unlisted %q has a path", rel)
		}
		if _, err := lib.Resolve(Track{Rel: rel}); !errors.Is(err, ErrNotListed) {
			t.Errorf("Resolve(%q): %v, want ErrNotListed", rel, err)
		}
	}

	// An unchanged rescan changes nothing.
	res2, err := lib.Scan()
	if err != nil || res2.Changed || res2.Version != 1 {
		t.Fatalf("unchanged rescan: %+v, %v", res2, err)
	}
}

// evalRoot resolves symlinks in a temp dir path (macOS /var → /private/var).
func evalRoot(t testing.TB, p string) string {
	t.Helper()
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestPlaylistLibraryRescan(t *testing.T) {
	lib, root := playlistLib(t, "x.m3u", "music/a.mp3\n")
	list := filepath.Join(root, "lists", "x.m3u")
	mustScan(t, lib)

	steps := []struct {
		name, text string
		want       []string
		title      string // of the first track
	}{
		{"entry added", "music/a.mp3\n音楽/東京.mp3\n", []string{"music/a.mp3", "音楽/東京.mp3"}, ""},
		{"reordered", "音楽/東京.mp3\nmusic/a.mp3\n", []string{"音楽/東京.mp3", "music/a.mp3"}, ""},
		{"title added", "#EXTINF:1,New Title\n音楽/東京.mp3\nmusic/a.mp3\n", []string{"音楽/東京.mp3", "music/a.mp3"}, "New Title"},
		{"duplicate added", "#EXTINF:1,New Title\n音楽/東京.mp3\nmusic/a.mp3\n音楽/東京.mp3\n", []string{"音楽/東京.mp3", "music/a.mp3", "音楽/東京.mp3"}, "New Title"},
		{"written as PLS", "[playlist]\nFile1=音楽/東京.mp3\nTitle1=New Title\nFile2=music/a.mp3\nFile3=音楽/東京.mp3\n", []string{"音楽/東京.mp3", "music/a.mp3", "音楽/東京.mp3"}, "New Title"},
	}
	version := lib.Version()
	for _, s := range steps {
		writeList(t, list, s.text)
		res, err := lib.Scan()
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		ts := lib.Tracks()
		wantChanged := s.name != "written as PLS" // same entries, other format
		if res.Changed != wantChanged || !slices.Equal(rels(ts), s.want) || ts[0].Title != s.title {
			t.Fatalf("%s: changed %v, tracks %q, title %q", s.name, res.Changed, rels(ts), ts[0].Title)
		}
		if wantChanged {
			version++
		}
		if lib.Version() != version {
			t.Fatalf("%s: version %d, want %d", s.name, lib.Version(), version)
		}
	}

	// A listed file replaced: its size and time change, so does the list.
	later := time.Now().Add(time.Hour)
	a := filepath.Join(root, "lists", "music", "a.mp3")
	if err := os.Chtimes(a, later, later); err != nil {
		t.Fatal(err)
	}
	if res := mustScan(t, lib); !res.Changed {
		t.Fatal("a listed file's new time is no change")
	}
	if res := mustScan(t, lib); res.Changed {
		t.Fatal("unchanged rescan reports a change")
	}

	// A file deleted from disk: skipped, the rest plays on.
	if err := os.Remove(a); err != nil {
		t.Fatal(err)
	}
	res := mustScan(t, lib)
	if r, _ := skipReason(res, "music/a.mp3"); !res.Changed || r != ReasonMissing || lib.Contains("music/a.mp3") {
		t.Fatalf("deleted file: %+v", res)
	}
}

func TestPlaylistLibraryErrors(t *testing.T) {
	lib, root := playlistLib(t, "x.pls", "[playlist]\nFile1=music/a.mp3\n")
	list := filepath.Join(root, "lists", "x.pls")
	mustScan(t, lib)

	// Too large: an error, and the list plays on.
	big := make([]byte, MaxPlaylistFileBytes+1)
	for i := range big {
		big[i] = '\n'
	}
	if err := os.WriteFile(list, big, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := lib.Scan()
	if !errors.Is(err, ErrPlaylistTooLarge) || res.Tracks != 1 || lib.Len() != 1 {
		t.Fatalf("too large: %+v, %v", res, err)
	}

	// Nothing playable.
	writeList(t, list, "[playlist]\nFile1=http://x/y\n")
	if res, err := lib.Scan(); !errors.Is(err, ErrNoPlayableFiles) || res.Tracks != 0 || !res.Changed {
		t.Fatalf("no playable: %+v, %v", res, err)
	}

	// Missing: like a missing folder, the library empties.
	writeList(t, list, "[playlist]\nFile1=music/a.mp3\n")
	mustScan(t, lib)
	if err := os.Remove(list); err != nil {
		t.Fatal(err)
	}
	res, err = lib.Scan()
	if !errors.Is(err, ErrPlaylistNotExist) || !errors.Is(err, ErrDirNotExist) || !errors.Is(err, os.ErrNotExist) || lib.Len() != 0 || !res.Changed {
		t.Fatalf("missing: %+v, %v", res, err)
	}
	if err.Error() == "" || errors.Is(err, ErrNotDir) {
		t.Fatalf("missing: %v", err)
	}

	// A folder named like a playlist is no playlist.
	if err := os.Mkdir(list, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := lib.Scan(); !errors.Is(err, ErrPlaylistIsDir) {
		t.Fatalf("dir: %v", err)
	}
}

func TestPlaylistLibraryFileKinds(t *testing.T) {
	root := t.TempDir()
	mp3(t, root, "real.mp3", "", "Real")
	if err := os.WriteFile(filepath.Join(root, "empty.mp3"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "dir.mp3"), 0o755); err != nil {
		t.Fatal(err)
	}
	elsewhere := t.TempDir()
	target := mp3(t, elsewhere, "target.mp3", "", "Target")
	links := map[string]string{
		"link.mp3":    target,        // a symlink leading outside is followed
		"broken.mp3":  "nothing.mp3", // dangles
		"loop.mp3":    "loop.mp3",    // loops
		".hidden.mp3": "real.mp3",    // hidden names are played when listed
	}
	for name, to := range links {
		if err := os.Symlink(to, filepath.Join(root, name)); err != nil {
			t.Skipf("symlink: %v", err)
		}
	}
	list := filepath.Join(root, "x.m3u")
	writeList(t, list, "real.mp3\nempty.mp3\ndir.mp3\nlink.mp3\nbroken.mp3\nloop.mp3\n.hidden.mp3\n")
	lib := NewLibrary(list, LibraryOptions{})
	res := mustScan(t, lib)
	if got, want := rels(lib.Tracks()), []string{"real.mp3", "link.mp3", ".hidden.mp3"}; !slices.Equal(got, want) {
		t.Fatalf("tracks %q, want %q", got, want)
	}
	for path, reason := range map[string]string{
		"empty.mp3": ReasonEmpty, "dir.mp3": ReasonNotRegular, "broken.mp3": ReasonBrokenLink, "loop.mp3": ReasonSymlinkLoop,
	} {
		if r, _ := skipReason(res, path); r != reason {
			t.Errorf("%s: reason %q, want %q", path, r, reason)
		}
	}
	p, err := lib.Resolve(Track{Rel: "link.mp3"})
	if err != nil || p != evalRoot(t, target) {
		t.Fatalf("Resolve(link) = %q, %v", p, err)
	}
	// No playlist title: the tags are read through the link.
	if got := lib.Title(Track{Rel: "link.mp3"}); got.Display != "Target" {
		t.Fatalf("title %+v", got)
	}
}

func TestPlaylistLibraryUnicodeForms(t *testing.T) {
	root := t.TempDir()
	nfd := norm.NFD.String("йога.mp3")
	mp3(t, root, nfd, "", "")
	mp3(t, root, "Caf\xe9.mp3", "", "") // a Latin-1 name on disk
	mp3(t, root, "Über.mp3", "", "")    // UTF-8 on disk, named by a Latin-1 list
	list := filepath.Join(root, "x.m3u")
	// NFC in the playlist, NFD on disk; the list itself is Latin-1.
	writeList(t, list, "Caf\xe9.mp3\n\xdcber.mp3\n")
	lib := NewLibrary(list, LibraryOptions{})
	mustScan(t, lib)
	if got, want := rels(lib.Tracks()), []string{"Caf\xe9.mp3", "Über.mp3"}; !slices.Equal(got, want) {
		t.Fatalf("latin-1 list: %q, want %q", got, want)
	}
	writeList(t, list, "#EXTINF:1,Йога\n"+norm.NFC.String("йога.mp3")+"\n")
	mustScan(t, lib)
	ts := lib.Tracks()
	if len(ts) != 1 || ts[0].Rel != nfd || lib.Title(ts[0]).Display != "Йога" {
		t.Fatalf("NFC list over an NFD file: %+v", ts)
	}
}

func TestPlaylistLibraryExtensions(t *testing.T) {
	root := t.TempDir()
	testmedia.WriteFile(t, root, "a.flac", []byte("fLaC"))
	mp3(t, root, "b.MP3", "", "")
	list := filepath.Join(root, "x.m3u")
	writeList(t, list, "a.flac\nb.MP3\n")
	res := mustScan(t, NewLibrary(list, LibraryOptions{}))
	if r, _ := skipReason(res, "a.flac"); res.Tracks != 1 || r != ReasonNotPlayable {
		t.Fatalf("default extensions: %+v", res)
	}
	if res := mustScan(t, NewLibrary(list, LibraryOptions{Extensions: []string{"flac"}})); res.Tracks != 2 {
		t.Fatalf("with flac: %+v", res)
	}
}

func TestPlaylistOrder(t *testing.T) {
	lib, root := playlistLib(t, "x.m3u", "music/a.mp3\n音楽/東京.mp3\nmusic/a.mp3\n")
	mustScan(t, lib)

	// In order, the duplicate plays twice a cycle.
	o := NewOrder(lib, false, nil)
	var got []string
	for range 6 {
		tr, ok := o.Next()
		if !ok {
			t.Fatal("empty")
		}
		got = append(got, tr.Rel)
	}
	want := []string{"music/a.mp3", "音楽/東京.mp3", "music/a.mp3", "music/a.mp3", "音楽/東京.mp3", "music/a.mp3"}
	if !slices.Equal(got, want) {
		t.Fatalf("order %q, want %q", got, want)
	}

	// Shuffled, every entry once a cycle.
	so := NewOrder(lib, true, nil)
	got = got[:0]
	for range 3 {
		tr, _ := so.Next()
		got = append(got, tr.Rel)
	}
	if !slices.Equal(sorted(got), sorted(want[:3])) {
		t.Fatalf("shuffled cycle %q", got)
	}

	// State round trip keeps both occurrences and the position.
	o2 := NewOrder(lib, false, nil)
	o2.Next()
	o2.Next()
	tr, _ := o2.Next() // the second a.mp3
	st := o2.Snapshot()
	if st.Current != tr.Rel || st.Pos != 3 || len(st.Order) != 3 {
		t.Fatalf("snapshot %+v", st)
	}
	st.Pos = 3 // as the station saves it: the current track started
	o3 := NewOrder(lib, false, nil)
	o3.Restore(st)
	if up := upcoming(o3); !slices.Equal(up, []string{"music/a.mp3"}) {
		t.Fatalf("restored upcoming %q", up)
	}

	// An edit merges into the running cycle: a new entry joins.
	writeList(t, filepath.Join(root, "lists", "x.m3u"), "music/a.mp3\n音楽/東京.mp3\nmusic/a.mp3\n../other/c.mp3\n")
	mustScan(t, lib)
	other := filepath.ToSlash(filepath.Join(root, "other", "c.mp3"))
	if up := upcoming(o); !slices.Equal(up, []string{other}) {
		t.Fatalf("after the edit %q", up)
	}

	// A bad file is bad in every place the playlist lists it.
	o4 := NewOrder(lib, false, nil)
	if !o4.Skip("music/a.mp3") {
		t.Fatal("nothing left")
	}
	got = got[:0]
	for range 4 {
		tr, _ := o4.Next()
		got = append(got, tr.Rel)
	}
	if want := []string{"音楽/東京.mp3", other, "音楽/東京.mp3", other}; !slices.Equal(got, want) {
		t.Fatalf("with a.mp3 bad: %q, want %q", got, want)
	}
}

func TestSnapshotFindDuplicates(t *testing.T) {
	s := &snapshot{tracks: []Track{{Rel: "b"}, {Rel: "a"}, {Rel: "b"}, {Rel: "c"}, {Rel: "b"}}}
	s.byRel = indexByRel(s.tracks)
	if i, ok := s.find("b"); !ok || i != 0 {
		t.Fatalf("find b = %d %v", i, ok)
	}
	taken := make([]bool, 5)
	var got []int
	for {
		i, ok := s.findFree("b", taken)
		if !ok {
			break
		}
		taken[i] = true
		got = append(got, i)
	}
	if !slices.Equal(got, []int{0, 2, 4}) {
		t.Fatalf("occurrences %v", got)
	}
	if _, ok := s.find("x"); ok {
		t.Fatal("found x")
	}
	if _, ok := s.find("0"); ok {
		t.Fatal("found 0")
	}
}
