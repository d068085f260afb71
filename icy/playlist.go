package icy

import (
	"encoding/xml"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MIME types of the playlist files, as players expect them. application/vnd.apple.mpegurl
// is deliberately not used: it means HLS.
const (
	MIMEM3U  = "audio/x-mpegurl"
	MIMEPLS  = "audio/x-scpls"
	MIMEXSPF = "application/xspf+xml"
)

// Entry is one stream in a playlist file. URL must be absolute (see
// URLFromHost). Name is the station name; Title is what is playing now.
type Entry struct {
	URL, Name, Title, Description, Genre, InfoURL string
	Bitrate, Listeners                            int
}

// label is the display name of e for M3U and PLS, which have one text
// field: the station name, else the current title.
func (e *Entry) label() string {
	if n := strings.TrimSpace(e.Name); n != "" {
		return n
	}
	return strings.TrimSpace(e.Title)
}

// M3U returns an extended M3U playlist with CRLF line ends:
//
//	#EXTM3U
//	#EXTINF:-1,<name>
//	<url>
//
// -1 is the length of an endless stream. Text is UTF-8 (every current
// player reads it so), with control characters dropped so a name cannot
// start a new line.
func M3U(entries []Entry) []byte {
	b := make([]byte, 0, 16+96*len(entries))
	b = append(b, "#EXTM3U\r\n"...)
	for i := range entries {
		e := &entries[i]
		b = append(b, "#EXTINF:-1,"...)
		b = appendLine(b, e.label())
		b = appendLine(b, e.URL)
	}
	return b
}

// PLS returns a SHOUTcast/Winamp .pls playlist with CRLF line ends.
// NumberOfEntries comes first so readers that size their list from it
// before reading entries work; Length=-1 marks an endless stream and
// Version=2 is required by some readers.
func PLS(entries []Entry) []byte {
	b := make([]byte, 0, 64+112*len(entries))
	b = append(b, "[playlist]\r\nNumberOfEntries="...)
	b = strconv.AppendInt(b, int64(len(entries)), 10)
	b = append(b, "\r\n"...)
	for i := range entries {
		e := &entries[i]
		n := strconv.Itoa(i + 1)
		b = append(b, "File"+n+"="...)
		b = appendLine(b, e.URL)
		b = append(b, "Title"+n+"="...)
		b = appendLine(b, e.label())
		b = append(b, "Length"+n+"=-1\r\n"...)
	}
	return append(b, "Version=2\r\n"...)
}

// appendLine writes s without control characters, then CRLF.
func appendLine(b []byte, s string) []byte {
	b = appendClean(b, s)
	return append(b, "\r\n"...)
}

// appendClean writes s as valid UTF-8 without control characters.
func appendClean(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case isControl(r):
		case r == utf8.RuneError && size == 1:
			b = append(b, "\uFFFD"...)
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return b
}

// XSPF returns an XSPF playlist shaped like Icecast's admin/xspf.xsl
// output: one track per entry with location, title (the current title, else
// the station name), an annotation of newline-separated "Key: value" lines
// ("this format seems to be expected by clients", says the XSL) and info
// (the station homepage). Lines and elements without a value are left out.
func XSPF(entries []Entry) []byte {
	var b strings.Builder
	b.WriteString(xml.Header)
	b.WriteString(`<playlist version="1" xmlns="http://xspf.org/ns/0/">` + "\n  <trackList>\n")
	for i := range entries {
		e := &entries[i]
		b.WriteString("    <track>\n")
		xmlElem(&b, "location", e.URL)
		title := strings.TrimSpace(e.Title)
		if title == "" {
			title = strings.TrimSpace(e.Name)
		}
		xmlElem(&b, "title", title)
		xmlAnnotation(&b, e)
		xmlElem(&b, "info", e.InfoURL)
		b.WriteString("    </track>\n")
	}
	b.WriteString("  </trackList>\n</playlist>\n")
	return []byte(b.String())
}

func xmlAnnotation(b *strings.Builder, e *Entry) {
	b.WriteString("      <annotation>")
	first := true
	line := func(key, v string) {
		if v = strings.TrimSpace(v); v == "" {
			return
		}
		if !first {
			b.WriteByte('\n')
		}
		first = false
		b.WriteString(key)
		xmlText(b, v)
	}
	line("Stream Title: ", e.Name)
	line("Stream Description: ", e.Description)
	// Icecast's XSL has no space after this colon; kept for parsers that
	// match it literally.
	line("Content Type:", "audio/mpeg")
	if e.Bitrate > 0 {
		line("Bitrate: ", strconv.Itoa(e.Bitrate))
	}
	line("Current Listeners: ", strconv.Itoa(max(e.Listeners, 0)))
	line("Stream Genre: ", e.Genre)
	b.WriteString("</annotation>\n")
}

// xmlElem writes <name>escaped v</name> on its own line, nothing if v is
// blank.
func xmlElem(b *strings.Builder, name, v string) {
	if v = strings.TrimSpace(v); v == "" {
		return
	}
	b.WriteString("      <" + name + ">")
	xmlText(b, v)
	b.WriteString("</" + name + ">\n")
}

// xmlText writes v as XML character data. Control characters are dropped
// first (XML 1.0 forbids most of them, and a newline would split an
// annotation line); xml.EscapeText handles <&>"' and invalid UTF-8.
func xmlText(b *strings.Builder, v string) {
	clean := appendClean(make([]byte, 0, len(v)), v)
	_ = xml.EscapeText(b, clean) // a strings.Builder never fails to write
}

// URLFromHost builds scheme://host/route for playlists and /streams. host
// is the request's Host header (the caller passes a configured fallback
// when it is empty); it is cut at the first character that cannot appear in
// a host[:port], so a forged Host cannot add a path, user info or a line.
// route is escaped as a URL path and gets exactly one leading slash; an
// empty scheme means "http".
func URLFromHost(scheme, host, route string) string {
	scheme = strings.ToLower(strings.TrimSpace(scheme))
	if scheme == "" {
		scheme = "http"
	}
	u := url.URL{
		Scheme: scheme,
		Host:   cleanHost(host),
		Path:   "/" + strings.TrimLeft(route, "/"),
	}
	return u.String()
}

// cleanHost cuts h at the first character that cannot appear in a
// reg-name, IPv4, [IPv6] or :port, so "host:8000/evil" gives "host:8000".
func cleanHost(h string) string {
	h = strings.TrimSpace(h)
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '.', c == '-', c == '_', c == '~', c == ':', c == '[', c == ']':
		default:
			return h[:i]
		}
	}
	return h
}
