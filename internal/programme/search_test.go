package programme

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

func searchRels(p *Programme, query string, limit int) []string {
	var out []string
	for _, m := range p.Search(query, limit) {
		out = append(out, m.Rel)
	}
	return out
}

// Search ignores case, accents and the Unicode form of names and tags:
// Cyrillic tags, an NFD file name from a Mac, words in any order.
func TestSearchUnicode(t *testing.T) {
	dir := t.TempDir()
	nfdName := norm.NFD.String("Café del Mar.mp3")
	if nfdName == "Café del Mar.mp3" {
		t.Fatal("fixture: the name is not in NFD")
	}
	testmedia.WriteFile(t, dir, "Кино/01.mp3", testmedia.ID3v2("Кино", "Группа крови", 0), testmedia.Frames(2))
	testmedia.WriteFile(t, dir, nfdName, testmedia.Frames(2))
	testmedia.WriteFile(t, dir, "ёлка.mp3", testmedia.ID3v2("Ёлка", "Прованс", 0), testmedia.Frames(2))
	testmedia.WriteFile(t, dir, "other/yesterday.mp3", testmedia.ID3v2("The Beatles", "Yesterday", 0), testmedia.Frames(2))
	testmedia.WriteFile(t, dir, "Straße.mp3", testmedia.Frames(2))
	st := playlist.NewLibrary(dir, playlist.LibraryOptions{})
	if _, err := st.Scan(); err != nil {
		t.Fatal(err)
	}
	p := queueStation(t, Options{Library: st})

	for _, c := range []struct {
		query string
		want  []string
	}{
		{"группа", []string{"Кино/01.mp3"}},          // title, lower case
		{"КРОВИ", []string{"Кино/01.mp3"}},           // title, upper case
		{"кино крови", []string{"Кино/01.mp3"}},      // artist and title, two words
		{"cafe", []string{nfdName}},                  // NFD name, no accent in the query
		{"CAFÉ", []string{nfdName}},                  // NFC query
		{norm.NFD.String("café"), []string{nfdName}}, // NFD query
		{"елка", []string{"ёлка.mp3"}},               // ё folded
		{"ЁЛКА ПРОВАНС", []string{"ёлка.mp3"}},
		{"beatles yesterday", []string{"other/yesterday.mp3"}},
		{"other", []string{"other/yesterday.mp3"}}, // a folder in the path
		{"strasse", []string{"Straße.mp3"}},        // ß folds to ss
		{"yesterday кино", nil},                    // every word must match
		{"zzz", nil},
		{"   ", nil},
	} {
		if got := searchRels(p, c.query, 0); !slices.Equal(got, c.want) {
			t.Errorf("Search(%q) = %q, want %q", c.query, got, c.want)
		}
	}
	m := p.Search("группа", 1)
	if len(m) != 1 || m[0].Artist != "Кино" || m[0].Title != "Группа крови" || m[0].Display != "Кино - Группа крови" {
		t.Fatalf("match %+v", m)
	}
	if got := searchRels(p, "mp3", 2); len(got) != 2 {
		t.Fatalf("limit 2: %q", got)
	}
}

// Titles are read once and kept while the file is unchanged; a changed
// file's new tags are found after a rescan.
func TestSearchFollowsTheLibrary(t *testing.T) {
	dir := t.TempDir()
	path := testmedia.WriteFile(t, dir, "a.mp3", testmedia.ID3v2("Old Artist", "Old Song", 0), testmedia.Frames(2))
	st := playlist.NewLibrary(dir, playlist.LibraryOptions{})
	if _, err := st.Scan(); err != nil {
		t.Fatal(err)
	}
	p := queueStation(t, Options{Library: st})
	if got := searchRels(p, "old song", 0); len(got) != 1 {
		t.Fatalf("before the change: %q", got)
	}
	testmedia.WriteFile(t, dir, "a.mp3", testmedia.ID3v2("New Artist", "New Song", 16), testmedia.Frames(2))
	if got := searchRels(p, "new song", 0); got != nil {
		t.Fatalf("before the rescan, the kept title still answers: got %q", got)
	}
	if _, err := st.Scan(); err != nil {
		t.Fatal(err)
	}
	if got := searchRels(p, "new song", 0); len(got) != 1 {
		t.Fatalf("after the rescan: %q", got)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	testmedia.WriteFile(t, dir, "b.mp3", testmedia.Frames(2))
	if _, err := st.Scan(); err != nil {
		t.Fatal(err)
	}
	if got := searchRels(p, "mp3", 0); !slices.Equal(got, []string{"b.mp3"}) {
		t.Fatalf("after removing a.mp3: %q", got)
	}
}

// One search reads a bounded number of tags; files not read yet match by
// their path, and later searches read on.
func TestSearchReadsBoundedTagsPerCall(t *testing.T) {
	dir := t.TempDir()
	n := maxTitleReads + 20
	for i := range n {
		testmedia.WriteFile(t, dir, fmt.Sprintf("f%04d.mp3", i), testmedia.ID3v2("", fmt.Sprintf("tag%04d", i), 0), testmedia.Frames(1))
	}
	st := playlist.NewLibrary(dir, playlist.LibraryOptions{})
	if _, err := st.Scan(); err != nil {
		t.Fatal(err)
	}
	p := queueStation(t, Options{Library: st})
	last := fmt.Sprintf("tag%04d", n-1)
	if got := searchRels(p, last, 0); got != nil {
		t.Fatalf("first search read past its bound: %q", got)
	}
	if got := searchRels(p, fmt.Sprintf("f%04d", n-1), 0); len(got) != 1 {
		t.Fatalf("an unread file by its path: %q", got)
	}
	if got := searchRels(p, last, 0); !slices.Equal(got, []string{filepath.ToSlash(fmt.Sprintf("f%04d.mp3", n-1))}) {
		t.Fatalf("third search: %q", got)
	}
}
