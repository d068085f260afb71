package playlist

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// want is the part of a PlaylistEntry the parsing tables check.
type want struct {
	path, title, skip string
	length            time.Duration
}

func got(es []PlaylistEntry) []want {
	out := make([]want, len(es))
	for i, e := range es {
		out[i] = want{path: e.Path, title: e.Title, skip: e.Skip, length: e.Length}
	}
	return out
}

func checkEntries(t *testing.T, name string, data []byte, w []want) []PlaylistEntry {
	t.Helper()
	es, err := ParsePlaylistFile(name, data)
	if err != nil {
		t.Fatalf("ParsePlaylistFile: %v", err)
	}
	g := got(es)
	if len(g) != len(w) {
		t.Fatalf("%d entries, want %d:\n got %+v\nwant %+v", len(g), len(w), g, w)
	}
	for i := range w {
		if g[i] != w[i] {
			t.Errorf("entry %d:\n got %+v\nwant %+v", i, g[i], w[i])
		}
	}
	return es
}

const list = "/srv/lists/x.m3u" // the playlist file of the tables

func TestParseM3U(t *testing.T) {
	tests := []struct {
		name string
		data string
		want []want
	}{
		{"plain", "a.mp3\nsub/b.mp3\n", []want{{path: "/srv/lists/a.mp3"}, {path: "/srv/lists/sub/b.mp3"}}},
		{"extended", "#EXTM3U\n#EXTINF:123,Artist - Title\na.mp3\n\n# a comment\nb.mp3\n",
			[]want{{path: "/srv/lists/a.mp3", title: "Artist - Title", length: 123 * time.Second}, {path: "/srv/lists/b.mp3"}}},
		{"extinf survives comments, applies once", "#EXTINF:5,T\n#EXTGRP:rock\n\na.mp3\nb.mp3\n",
			[]want{{path: "/srv/lists/a.mp3", title: "T", length: 5 * time.Second}, {path: "/srv/lists/b.mp3"}}},
		{"extinf unknown length, fraction, no title", "#EXTINF:-1,Live\na.mp3\n#extinf:2.5,\nb.mp3\n#EXTINF:7\nc.mp3\n",
			[]want{{path: "/srv/lists/a.mp3", title: "Live"}, {path: "/srv/lists/b.mp3", length: 2500 * time.Millisecond}, {path: "/srv/lists/c.mp3", length: 7 * time.Second}}},
		{"extinf attributes with commas", "#EXTINF:-1 tvg-name=\"a,b\" group-title=\"x\",Name, with comma\na.mp3\n",
			[]want{{path: "/srv/lists/a.mp3", title: "Name, with comma"}}},
		{"last extinf wins", "#EXTINF:1,One\n#EXTINF:2,Two\na.mp3\n", []want{{path: "/srv/lists/a.mp3", title: "Two", length: 2 * time.Second}}},
		{"dangling extinf", "a.mp3\n#EXTINF:1,Nothing\n", []want{{path: "/srv/lists/a.mp3"}}},
		{"CRLF and spaces", "#EXTM3U\r\n#EXTINF:1, Spaced \r\n  a.mp3  \r\n\r\n", []want{{path: "/srv/lists/a.mp3", title: "Spaced", length: time.Second}}},
		{"CR only", "#EXTINF:1,T\ra.mp3\rb.mp3", []want{{path: "/srv/lists/a.mp3", title: "T", length: time.Second}, {path: "/srv/lists/b.mp3"}}},
		{"BOM", "\xEF\xBB\xBF#EXTM3U\na.mp3\n", []want{{path: "/srv/lists/a.mp3"}}},
		{"BOM before an entry", "\xEF\xBB\xBFa.mp3\n", []want{{path: "/srv/lists/a.mp3"}}},
		{"relative, parent, dot", "./a.mp3\n../music/b.mp3\nsub/../c.mp3\n",
			[]want{{path: "/srv/lists/a.mp3"}, {path: "/srv/music/b.mp3"}, {path: "/srv/lists/c.mp3"}}},
		{"absolute", "/data/music/a.mp3\n//x/../y.mp3\n", []want{{path: "/data/music/a.mp3"}, {path: "/y.mp3"}}},
		{"backslashes", "music\\sub\\a.mp3\n..\\b.mp3\n", []want{{path: "/srv/lists/music/sub/a.mp3"}, {path: "/srv/b.mp3"}}},
		{"windows drive and UNC", "C:\\Music\\a.mp3\nd:/b.mp3\n\\\\server\\share\\c.mp3\n",
			[]want{{skip: ReasonWindowsPath}, {skip: ReasonWindowsPath}, {skip: ReasonWindowsPath}}},
		{"file URLs", "file:///data/%D0%B9%D0%BE%D0%B3%D0%B0.mp3\nfile://localhost/a%20b.mp3\nfile:/c.mp3\nfile://nas/d.mp3\nfile:///C:/e.mp3\nfile:///bad%zz.mp3\n",
			[]want{{path: "/data/йога.mp3"}, {path: "/a b.mp3"}, {path: "/c.mp3"}, {skip: ReasonRemoteFile + ": nas"}, {skip: ReasonWindowsPath}, {skip: ReasonBadFileURL}}},
		{"stream URLs skipped", "#EXTINF:-1,Radio\nhttp://example.com:8000/live\nHTTPS://example.com/a.mp3\nrtmp://x/y\na.mp3\n",
			[]want{{title: "Radio", skip: ReasonStreamURL}, {skip: ReasonStreamURL}, {skip: ReasonURLScheme + ": rtmp"}, {path: "/srv/lists/a.mp3"}}},
		{"colon in a file name is no URL", "a:b.mp3\nab:c.mp3\n", []want{{path: "/srv/lists/a:b.mp3"}, {path: "/srv/lists/ab:c.mp3"}}},
		{"Unicode names", "#EXTINF:200,Кино - Группа крови\nКино/Группа крови.mp3\n#EXTINF:1,坂本龍一 - 東京\n音楽/東京.mp3\n",
			[]want{{path: "/srv/lists/Кино/Группа крови.mp3", title: "Кино - Группа крови", length: 200 * time.Second},
				{path: "/srv/lists/音楽/東京.mp3", title: "坂本龍一 - 東京", length: time.Second}}},
		{"duplicates kept", "a.mp3\nb.mp3\na.mp3\n", []want{{path: "/srv/lists/a.mp3"}, {path: "/srv/lists/b.mp3"}, {path: "/srv/lists/a.mp3"}}},
		{"empty", "", nil},
		{"only comments", "#EXTM3U\n# nothing\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkEntries(t, list, []byte(tt.data), tt.want)
		})
	}
}

func TestParseM3ULegacyCharsets(t *testing.T) {
	// Latin-1: "Café" with é = 0xE9; the raw bytes are kept for file names
	// stored in the same charset.
	es := checkEntries(t, list, []byte("#EXTINF:1,Caf\xe9 del Mar\nCaf\xe9.mp3\n"),
		[]want{{path: "/srv/lists/Café.mp3", title: "Café del Mar", length: time.Second}})
	if es[0].rawPath != "/srv/lists/Caf\xe9.mp3" {
		t.Errorf("rawPath %q", es[0].rawPath)
	}
	// Windows-1251 Cyrillic ("Привет", "Кино").
	checkEntries(t, list, []byte("#EXTINF:1,\xca\xe8\xed\xee\r\n\xcf\xf0\xe8\xe2\xe5\xf2.mp3\r\n"),
		[]want{{path: "/srv/lists/Привет.mp3", title: "Кино", length: time.Second}})
	// UTF-8 files carry no raw path.
	es = checkEntries(t, list, []byte("Café.mp3\n"), []want{{path: "/srv/lists/Café.mp3"}})
	if es[0].rawPath != "" {
		t.Errorf("rawPath %q for UTF-8", es[0].rawPath)
	}
}

func utf16Bytes(s string, bigEndian bool) []byte {
	var b []byte
	if bigEndian {
		b = []byte{0xFE, 0xFF}
	} else {
		b = []byte{0xFF, 0xFE}
	}
	for _, u := range utf16.Encode([]rune(s)) {
		if bigEndian {
			b = append(b, byte(u>>8), byte(u))
		} else {
			b = append(b, byte(u), byte(u>>8))
		}
	}
	return b
}

func TestParseUTF16(t *testing.T) {
	for _, be := range []bool{false, true} {
		checkEntries(t, list, utf16Bytes("#EXTM3U\r\n#EXTINF:3,Дом - 東\r\nдом.mp3\r\n", be),
			[]want{{path: "/srv/lists/дом.mp3", title: "Дом - 東", length: 3 * time.Second}})
	}
}

func TestParsePLS(t *testing.T) {
	tests := []struct {
		name, file, data string
		want             []want
	}{
		{"standard", "x.pls", "[playlist]\nFile1=a.mp3\nTitle1=Artist - One\nLength1=61\nFile2=/data/b.mp3\nTitle2=Two\nLength2=-1\nNumberOfEntries=2\nVersion=2\n",
			[]want{{path: "/srv/lists/a.mp3", title: "Artist - One", length: 61 * time.Second}, {path: "/data/b.mp3", title: "Two"}}},
		{"N order, keys any case, CRLF, comments", "x.PLS", "\xEF\xBB\xBF[Playlist]\r\n; comment\r\nFILE10=c.mp3\r\nfile2=b.mp3\r\nTITLE2 = Bee \r\nFile1 = a.mp3\r\nnumberofentries=3\r\n",
			[]want{{path: "/srv/lists/a.mp3"}, {path: "/srv/lists/b.mp3", title: "Bee"}, {path: "/srv/lists/c.mp3"}}},
		{"title without file, gaps, bad keys", "x.pls", "[playlist]\nTitle1=orphan\nFile3=c.mp3\nFilex=zz.mp3\nFile+4=d.mp3\nFile=e.mp3\nFile5=\n",
			[]want{{path: "/srv/lists/c.mp3"}}},
		{"first FileN wins", "x.pls", "[playlist]\nFile1=a.mp3\nFile1=b.mp3\n", []want{{path: "/srv/lists/a.mp3"}}},
		{"other sections ignored", "x.pls", "[playlist]\nFile1=a.mp3\n[other]\nFile2=b.mp3\n", []want{{path: "/srv/lists/a.mp3"}}},
		{"no header", "x.pls", "File1=a.mp3\n", []want{{path: "/srv/lists/a.mp3"}}},
		{"urls and windows paths", "x.pls", "[playlist]\nFile1=http://radio.example/stream\nTitle1=Radio\nFile2=C:\\Music\\a.mp3\nFile3=file:///data/%E9%9F%B3.mp3\nFile4=music\\b.mp3\n",
			[]want{{title: "Radio", skip: ReasonStreamURL}, {skip: ReasonWindowsPath}, {path: "/data/音.mp3"}, {path: "/srv/lists/music/b.mp3"}}},
		{"sniffed in an .m3u", "x.m3u", "\n[playlist]\nFile1=a.mp3\n", []want{{path: "/srv/lists/a.mp3"}}},
		{"Latin-1", "x.pls", "[playlist]\nFile1=Caf\xe9.mp3\nTitle1=Caf\xe9\n", []want{{path: "/srv/lists/Café.mp3", title: "Café"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkEntries(t, filepath.Join("/srv/lists", tt.file), []byte(tt.data), tt.want)
		})
	}
}

func TestParsePLSRawPath(t *testing.T) {
	es := checkEntries(t, "/l/x.pls", []byte("[playlist]\nFile1 = Caf\xe9.mp3\n"), []want{{path: "/l/Café.mp3"}})
	if es[0].rawPath != "/l/Caf\xe9.mp3" {
		t.Errorf("rawPath %q", es[0].rawPath)
	}
}

func TestParseLines(t *testing.T) {
	es, err := ParsePlaylistFile(list, []byte("#EXTM3U\n\n#EXTINF:1,T\na.mp3\r\nhttp://x/y\n"))
	if err != nil {
		t.Fatal(err)
	}
	if es[0].Line != 4 || es[1].Line != 5 || es[1].Location != "http://x/y" {
		t.Fatalf("%+v", es)
	}
}

func TestParseRelativeName(t *testing.T) {
	checkEntries(t, "x.m3u", []byte("a.mp3\n"), []want{{path: "a.mp3"}})
	checkEntries(t, "lists/x.m3u8", []byte("../a.mp3\n"), []want{{path: "a.mp3"}})
}

func TestParseBounds(t *testing.T) {
	big := bytes.Repeat([]byte("#\n"), MaxPlaylistFileBytes/2+1)
	if _, err := ParsePlaylistFile(list, big); !errors.Is(err, ErrPlaylistTooLarge) {
		t.Fatalf("%d bytes: err %v", len(big), err)
	}
	// Exactly at the limits is fine.
	if _, err := ParsePlaylistFile(list, big[:MaxPlaylistFileBytes]); err != nil {
		t.Fatalf("%d bytes: %v", MaxPlaylistFileBytes, err)
	}
	m3u := strings.Repeat("a.mp3\n", MaxPlaylistEntries)
	es, err := ParsePlaylistFile(list, []byte(m3u))
	if err != nil || len(es) != MaxPlaylistEntries {
		t.Fatalf("%d entries: %d, %v", MaxPlaylistEntries, len(es), err)
	}
	_, err = ParsePlaylistFile(list, []byte(m3u+"b.mp3\n"))
	if !errors.Is(err, ErrPlaylistTooLarge) || !strings.Contains(err.Error(), "100000 entries") {
		t.Fatalf("one more entry: %v", err)
	}
	var pls strings.Builder
	pls.WriteString("[playlist]\n")
	for i := range MaxPlaylistEntries + 1 {
		fmt.Fprintf(&pls, "Title%d=t\n", i+1) // titles alone count too: they take memory
	}
	if _, err := ParsePlaylistFile("/l/x.pls", []byte(pls.String())); !errors.Is(err, ErrPlaylistTooLarge) {
		t.Fatalf("pls: %v", err)
	}
}

func TestParseNotPlaylist(t *testing.T) {
	if _, err := ParsePlaylistFile("/l/x.txt", []byte("a.mp3\n")); !errors.Is(err, ErrNotPlaylistFile) {
		t.Fatalf("err %v", err)
	}
	// The [playlist] header is enough.
	checkEntries(t, "/l/x.txt", []byte("[playlist]\nFile1=a.mp3\n"), []want{{path: "/l/a.mp3"}})
}

func TestIsPlaylistFile(t *testing.T) {
	for name, want := range map[string]bool{
		"a.m3u": true, "a.M3U8": true, "/x/y.Pls": true, "a.mp3": false, "m3u": false, "dir/": false, "a.m3u.bak": false,
	} {
		if IsPlaylistFile(name) != want {
			t.Errorf("IsPlaylistFile(%q) = %v", name, !want)
		}
	}
}

func TestPlaylistTitle(t *testing.T) {
	for in, want := range map[string]Title{
		"Artist - Title":       {Artist: "Artist", Title: "Title", Display: "Artist - Title"},
		"Кино - Группа крови":  {Artist: "Кино", Title: "Группа крови", Display: "Кино - Группа крови"},
		"Just a title":         {Title: "Just a title", Display: "Just a title"},
		"A - B - C":            {Artist: "A", Title: "B - C", Display: "A - B - C"},
		" - leading":           {Title: "- leading", Display: "- leading"},
		"line\nbreak - x\x00 ": {Artist: "line break", Title: "x", Display: "line break - x"},
		"":                     {},
	} {
		if got := PlaylistTitle(in); got != want {
			t.Errorf("PlaylistTitle(%q) = %+v, want %+v", in, got, want)
		}
	}
}

func FuzzParsePlaylistFile(f *testing.F) {
	f.Add(".m3u", []byte("#EXTM3U\n#EXTINF:12,A - T\na.mp3\nhttp://x/y\nfile:///a%20b.mp3\n"))
	f.Add(".m3u8", []byte("\xEF\xBB\xBF#EXTINF:-1 tvg=\"a,b\",Кино\r\nКино.mp3\r\n"))
	f.Add(".m3u", []byte("#EXTINF:1,Caf\xe9\nC:\\x\\Caf\xe9.mp3\n"))
	f.Add(".pls", []byte("[playlist]\nFile1=a.mp3\nTitle1=T\nLength1=3\nFile3=\\\\srv\\a.mp3\nNumberOfEntries=2\n"))
	f.Add(".pls", utf16Bytes("[playlist]\nFile1=音.mp3\n", false))
	f.Fuzz(func(t *testing.T, ext string, data []byte) {
		es, err := ParsePlaylistFile("/base/list"+ext, data)
		if err != nil {
			if !errors.Is(err, ErrNotPlaylistFile) && !errors.Is(err, ErrPlaylistTooLarge) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if len(es) > MaxPlaylistEntries {
			t.Fatalf("%d entries", len(es))
		}
		lines := bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) + 1
		for _, e := range es {
			if (e.Path == "") == (e.Skip == "") {
				t.Fatalf("entry with path %q and skip %q", e.Path, e.Skip)
			}
			if e.Path != "" && !filepath.IsAbs(e.Path) {
				t.Fatalf("relative path %q under an absolute playlist", e.Path)
			}
			// Paths may hold any bytes (a file URL's %xx escapes), titles not.
			if !utf8.ValidString(e.Title) || strings.ContainsAny(e.Title, "\r\n\x00") || !utf8.ValidString(e.Location) {
				t.Fatalf("bad text %q %q", e.Title, e.Location)
			}
			if e.Length < 0 {
				t.Fatalf("negative length %v", e.Length)
			}
			if e.Line < 1 || e.Line > lines {
				t.Fatalf("line %d of %d", e.Line, lines)
			}
		}
	})
}
