package icy

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ServerInfo holds the global keys of Icecast's status document.
type ServerInfo struct {
	Admin, Host, Location, ServerID string
	// Start is the server start time, printed in its own location (Icecast
	// prints server local time), so pass time.Local-based values.
	Start time.Time
}

// SourceInfo holds one mount's keys of Icecast's status document.
type SourceInfo struct {
	AudioInfo         string // ice-audio-info, e.g. "channels=2;samplerate=44100;bitrate=128"
	Bitrate           int    // kbit/s
	Channels          int    // 0 = unknown (omitted)
	SampleRate        int    // Hz; 0 = unknown (omitted)
	Genre             string
	ListenerPeak      int // never printed below Listeners
	Listeners         int
	ListenURL         string // absolute, e.g. "http://host:8000/live"
	ServerDescription string
	ServerName        string
	ServerType        string // content type; empty means "audio/mpeg"
	ServerURL         string
	StreamStart       time.Time
	Title             string // "Artist - Title" as in the ICY metadata
	// Artist is printed only when Title does not already name it: Icecast
	// keeps the whole ICY title in "title" for such sources, and widgets
	// that join artist and title would show the artist twice.
	Artist string
	// Show names the scheduled show on the air and NextShow the next one,
	// with NextShowStart (RFC 3339) when it begins; not Icecast's, and
	// omitted when empty, so its widgets are not confused.
	Show, NextShow, NextShowStart string
	// HLS is the station's HLS media playlist URL; not Icecast's, omitted
	// when empty.
	HLS string
}

// Icecast's __format_time layouts: RFC 1123-like with a numeric zone, and
// ISO 8601 whose offset has no colon.
const (
	statusTimeLayout = "Mon, 02 Jan 2006 15:04:05 -0700"
	statusISOLayout  = "2006-01-02T15:04:05-0700"
)

// StatusJSON returns the body of /status-json.xsl in Icecast 2.4's shape
// (as Icecast 2.4.4 writes it), so existing widgets and directory checkers work:
//
//   - {"icestats":{…}} with keys in alphabetical order, globals before
//     "source";
//   - "source" is an object for exactly one source, an array for two or
//     more (in the order given; Icecast sorts by mount), absent for none;
//   - every source object ends with "dummy":null, as xml2json leaves it;
//   - times as "Sat, 27 May 2017 20:36:30 +0200" and
//     "2017-05-27T20:36:30+0200";
//   - keys Icecast only sets once known are omitted while empty or zero:
//     artist, audio_info, bitrate, channels, genre, samplerate, server_url,
//     title, and the start times when zero; the other keys are always
//     present (channels and samplerate are what Icecast reads out of
//     ice-audio-info);
//   - deliberate deviation: "title" is always a JSON string. xml2json turns
//     a numeric-looking title ("1999") into a number, which breaks widgets.
//     Numbers are only used for the integer fields.
//
// Strings are valid UTF-8 (invalid bytes become U+FFFD) and escaped like
// encoding/json does, including <, > and & for embedding in HTML.
func StatusJSON(s ServerInfo, sources []SourceInfo) []byte {
	return AppendStatusJSON(make([]byte, 0, 256+384*len(sources)), s, sources)
}

// AppendStatusJSON appends what StatusJSON returns to dst, so a handler can
// reuse a buffer.
func AppendStatusJSON(dst []byte, s ServerInfo, sources []SourceInfo) []byte {
	dst = append(dst, `{"icestats":{`...)
	dst = appendStringKey(dst, "admin", s.Admin, false)
	dst = appendStringKey(dst, "host", s.Host, true)
	dst = appendStringKey(dst, "location", s.Location, true)
	dst = appendStringKey(dst, "server_id", s.ServerID, true)
	if !s.Start.IsZero() {
		dst = appendTimeKeys(dst, "server_start", s.Start, true)
	}
	switch len(sources) {
	case 0:
	case 1:
		dst = append(dst, `,"source":`...)
		dst = appendSource(dst, &sources[0])
	default:
		dst = append(dst, `,"source":[`...)
		for i := range sources {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendSource(dst, &sources[i])
		}
		dst = append(dst, ']')
	}
	return append(dst, "}}"...)
}

func appendSource(dst []byte, src *SourceInfo) []byte {
	dst = append(dst, '{')
	// comma is false only before the first key written.
	comma := false
	str := func(dst []byte, key, v string) []byte {
		if v == "" {
			return dst
		}
		dst = appendStringKey(dst, key, v, comma)
		comma = true
		return dst
	}
	num := func(dst []byte, key string, v int) []byte {
		dst = appendKey(dst, key, comma)
		comma = true
		return strconv.AppendInt(dst, int64(v), 10)
	}
	if !strings.Contains(src.Title, src.Artist) {
		dst = str(dst, "artist", src.Artist)
	}
	dst = str(dst, "audio_info", src.AudioInfo)
	if src.Bitrate > 0 {
		dst = num(dst, "bitrate", src.Bitrate)
	}
	if src.Channels > 0 {
		dst = num(dst, "channels", src.Channels)
	}
	dst = str(dst, "genre", src.Genre)
	dst = str(dst, "hls", src.HLS)
	dst = num(dst, "listener_peak", max(src.ListenerPeak, src.Listeners))
	dst = num(dst, "listeners", src.Listeners)
	dst = appendStringKey(dst, "listenurl", src.ListenURL, comma)
	comma = true
	dst = str(dst, "next_show", src.NextShow)
	dst = str(dst, "next_show_start", src.NextShowStart)
	if src.SampleRate > 0 {
		dst = num(dst, "samplerate", src.SampleRate)
	}
	dst = appendStringKey(dst, "server_description", src.ServerDescription, true)
	dst = appendStringKey(dst, "server_name", src.ServerName, true)
	typ := src.ServerType
	if typ == "" {
		typ = "audio/mpeg"
	}
	dst = appendStringKey(dst, "server_type", typ, true)
	dst = str(dst, "server_url", src.ServerURL)
	dst = str(dst, "show", src.Show)
	if !src.StreamStart.IsZero() {
		dst = appendTimeKeys(dst, "stream_start", src.StreamStart, true)
	}
	dst = str(dst, "title", src.Title)
	return append(dst, `,"dummy":null}`...)
}

func appendTimeKeys(dst []byte, key string, t time.Time, comma bool) []byte {
	dst = appendKey(dst, key, comma)
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, statusTimeLayout)
	dst = append(dst, '"')
	dst = append(dst, ',', '"')
	dst = append(dst, key...)
	dst = append(dst, `_iso8601":"`...)
	dst = t.AppendFormat(dst, statusISOLayout)
	return append(dst, '"')
}

func appendStringKey(dst []byte, key, v string, comma bool) []byte {
	return appendJSONString(appendKey(dst, key, comma), v)
}

// appendKey writes [,]"key": — keys are fixed ASCII and need no escaping.
func appendKey(dst []byte, key string, comma bool) []byte {
	if comma {
		dst = append(dst, ',')
	}
	dst = append(dst, '"')
	dst = append(dst, key...)
	return append(dst, '"', ':')
}

// appendJSONString writes s as a JSON string, escaping like encoding/json.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c == '\b':
				dst = append(dst, '\\', 'b')
			case c == '\f':
				dst = append(dst, '\\', 'f')
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			// Valid JSON, but line terminators in JavaScript source.
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}
