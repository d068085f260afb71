package icy

import (
	"encoding/xml"
	"strings"
	"testing"
	"unicode/utf8"
)

// testEntries is a function so tests cannot share mutable state.
func testEntries() []Entry {
	return []Entry{
		{URL: "http://radio.example:8000/humor", Name: "Humor FM", Title: "A - B", Description: "Jokes",
			Genre: "Talk", InfoURL: "http://radio.example/", Bitrate: 128, Listeners: 3},
		{URL: "http://radio.example:8000/science", Title: "Only a title"},
	}
}

func TestM3U(t *testing.T) {
	want := "#EXTM3U\r\n" +
		"#EXTINF:-1,Humor FM\r\n" +
		"http://radio.example:8000/humor\r\n" +
		"#EXTINF:-1,Only a title\r\n" +
		"http://radio.example:8000/science\r\n"
	if got := string(M3U(testEntries())); got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	if got := string(M3U(nil)); got != "#EXTM3U\r\n" {
		t.Errorf("empty: %q", got)
	}
}

func TestM3UNoLineInjection(t *testing.T) {
	got := string(M3U([]Entry{{URL: "http://a/\r\nb", Name: "x\r\nhttp://evil/"}}))
	lines := strings.Split(strings.TrimSuffix(got, "\r\n"), "\r\n")
	if len(lines) != 3 || lines[1] != "#EXTINF:-1,xhttp://evil/" || lines[2] != "http://a/b" {
		t.Fatalf("lines %q", lines)
	}
}

func TestPLS(t *testing.T) {
	want := "[playlist]\r\n" +
		"NumberOfEntries=2\r\n" +
		"File1=http://radio.example:8000/humor\r\n" +
		"Title1=Humor FM\r\n" +
		"Length1=-1\r\n" +
		"File2=http://radio.example:8000/science\r\n" +
		"Title2=Only a title\r\n" +
		"Length2=-1\r\n" +
		"Version=2\r\n"
	if got := string(PLS(testEntries())); got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

type xspfDoc struct {
	XMLName xml.Name `xml:"http://xspf.org/ns/0/ playlist"`
	Version string   `xml:"version,attr"`
	Tracks  []struct {
		Location   string `xml:"location"`
		Title      string `xml:"title"`
		Annotation string `xml:"annotation"`
		Info       string `xml:"info"`
	} `xml:"trackList>track"`
}

func TestXSPFRoundTrip(t *testing.T) {
	name := `Rock <&> "Radio" 'n' Roll — Кино 🎸`
	entries := []Entry{
		{URL: "http://h/live?a=1&b=<2>", Name: name, Title: "Ёлка & 坂本 \"x\" 'y'", Description: "a\nb<c>",
			Genre: "Rock & Roll", InfoURL: "http://h/?x=1&y=2", Bitrate: 128, Listeners: 7},
		{URL: "http://h/two", Name: "Two\x01\xff"},
	}
	raw := XSPF(entries)
	if !strings.HasPrefix(string(raw), xml.Header+`<playlist version="1" xmlns="http://xspf.org/ns/0/">`) {
		t.Errorf("header: %.120s", raw)
	}
	if !utf8.Valid(raw) {
		t.Error("XSPF is not valid UTF-8")
	}
	var doc xspfDoc
	if err := xml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("unmarshal: %v\n%s", err, raw)
	}
	if doc.Version != "1" || len(doc.Tracks) != 2 {
		t.Fatalf("version %q, %d tracks", doc.Version, len(doc.Tracks))
	}
	tr := doc.Tracks[0]
	if tr.Location != entries[0].URL || tr.Title != entries[0].Title || tr.Info != entries[0].InfoURL {
		t.Errorf("track 0: %+v", tr)
	}
	wantAnn := "Stream Title: " + name + "\n" +
		"Stream Description: ab<c>\n" + // a newline in a value would add a line
		"Content Type:audio/mpeg\n" +
		"Bitrate: 128\n" +
		"Current Listeners: 7\n" +
		"Stream Genre: Rock & Roll"
	if tr.Annotation != wantAnn {
		t.Errorf("annotation:\n%q\nwant\n%q", tr.Annotation, wantAnn)
	}
	// No title: the station name stands in; control bytes dropped, bad UTF-8 replaced.
	if got := doc.Tracks[1].Title; got != "Two\uFFFD" {
		t.Errorf("track 1 title %q", got)
	}
	if doc.Tracks[1].Info != "" || strings.Contains(string(raw), "<info></info>") {
		t.Error("empty info should be omitted")
	}
}

func TestMIMETypes(t *testing.T) {
	if MIMEM3U != "audio/x-mpegurl" || MIMEPLS != "audio/x-scpls" || MIMEXSPF != "application/xspf+xml" {
		t.Errorf("MIME constants: %q %q %q", MIMEM3U, MIMEPLS, MIMEXSPF)
	}
}

func TestURLFromHost(t *testing.T) {
	tests := []struct{ scheme, host, route, want string }{
		{"http", "radio.example:8000", "/humor", "http://radio.example:8000/humor"},
		{"https", "radio.example", "humor", "https://radio.example/humor"},
		{"HTTP", "h", "/", "http://h/"},
		{"", "h", "", "http://h/"},
		{"http", "h", "//double", "http://h/double"},
		{"http", "[::1]:8000", "/a b", "http://[::1]:8000/a%20b"},
		{"http", "h", "/Радио", "http://h/%D0%A0%D0%B0%D0%B4%D0%B8%D0%BE"},
		{"http", "good.example/evil", "/x", "http://good.example/x"},
		{"http", "user@evil", "/x", "http://user/x"},
		{"http", "h\r\nX: y", "/x", "http://h/x"},
		{"http", " h:80 ", "/x", "http://h:80/x"},
	}
	for _, tt := range tests {
		if got := URLFromHost(tt.scheme, tt.host, tt.route); got != tt.want {
			t.Errorf("URLFromHost(%q, %q, %q) = %q, want %q", tt.scheme, tt.host, tt.route, got, tt.want)
		}
	}
}
