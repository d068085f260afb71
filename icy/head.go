package icy

import (
	"bytes"
	"strconv"
	"strings"
)

// Head describes the response head sent to a listener before the audio
// (Icecast's header set). The zero value is usable; Append writes it.
type Head struct {
	// Legacy selects the SHOUTcast v1 status line "ICY 200 OK" instead of
	// "HTTP/1.0 200 OK". Browsers reject non-HTTP status lines (Safari
	// cancels the load), so the caller must clear it for them:
	//
	//	h.Legacy = station.LegacyICYStatus && !icy.IsBrowser(userAgent)
	Legacy bool
	// Name, Description, Genre and URL become icy-name, icy-description,
	// icy-genre and icy-url; CR, LF and other control bytes are stripped.
	Name, Description, Genre, URL string
	// Public is icy-pub: listed in stream directories (YP) or not.
	Public bool
	// Bitrate is in kbit/s (icy-br); SampleRate in Hz; Channels 1 or 2.
	// Zero values are left out of ice-audio-info.
	Bitrate, SampleRate, Channels int
	// Metaint is the ICY metadata interval in audio bytes; 0 means the
	// client did not ask (Icy-MetaData) and no icy-metaint is sent.
	Metaint int
	// ServerID is the Server header (Icecast's <server-id>); empty omits it.
	ServerID string
}

// Fixed part of every listener head: no caching, CORS so that players on
// other sites may read the stream, no MIME sniffing.
const headFixed = "Connection: Close\r\n" +
	"Content-Type: audio/mpeg\r\n" +
	"Cache-Control: no-cache, no-store\r\n" +
	"Expires: Mon, 26 Jul 1997 05:00:00 GMT\r\n" +
	"Pragma: no-cache\r\n" +
	"Access-Control-Allow-Origin: *\r\n" +
	"Access-Control-Allow-Headers: Icy-MetaData, Range\r\n" +
	"Access-Control-Expose-Headers: icy-metaint, icy-br, icy-name, icy-genre, icy-url, icy-description, icy-pub\r\n" +
	"X-Content-Type-Options: nosniff\r\n"

// Append appends the complete response head, blank line included, to dst.
// It is the same for GET and HEAD. Like Icecast 2.4 it sends no
// Content-Length and no Transfer-Encoding: the body ends when the connection
// closes. icy-* lines have no space after the colon, exactly as Icecast
// writes them. Append does not allocate when dst has enough capacity.
func (h *Head) Append(dst []byte) []byte {
	if h.Legacy {
		dst = append(dst, "ICY 200 OK\r\n"...)
	} else {
		dst = append(dst, "HTTP/1.0 200 OK\r\n"...)
	}
	if v := strings.TrimSpace(h.ServerID); v != "" {
		dst = appendField(dst, "Server: ", v)
	}
	dst = append(dst, headFixed...)

	dst = append(dst, "icy-br:"...)
	dst = strconv.AppendInt(dst, int64(max(h.Bitrate, 0)), 10)
	dst = append(dst, "\r\n"...)
	dst = h.appendAudioInfo(dst)
	// Alphabetical, as Icecast iterates the source's headers in AVL order.
	if v := strings.TrimSpace(h.Description); v != "" {
		dst = appendField(dst, "icy-description:", v)
	}
	if v := strings.TrimSpace(h.Genre); v != "" {
		dst = appendField(dst, "icy-genre:", v)
	}
	dst = appendField(dst, "icy-name:", strings.TrimSpace(h.Name))
	if h.Public {
		dst = append(dst, "icy-pub:1\r\n"...)
	} else {
		dst = append(dst, "icy-pub:0\r\n"...)
	}
	if v := strings.TrimSpace(h.URL); v != "" {
		dst = appendField(dst, "icy-url:", v)
	}
	if h.Metaint > 0 {
		dst = append(dst, "icy-metaint:"...)
		dst = strconv.AppendInt(dst, int64(h.Metaint), 10)
		dst = append(dst, "\r\n"...)
	}
	return append(dst, "\r\n"...)
}

// appendAudioInfo writes ice-audio-info with the known values only, in the
// order samplerate, bitrate, channels; nothing when none is known.
func (h *Head) appendAudioInfo(dst []byte) []byte {
	if h.SampleRate <= 0 && h.Bitrate <= 0 && h.Channels <= 0 {
		return dst
	}
	dst = append(dst, "ice-audio-info: "...)
	sep := false
	kv := func(dst []byte, key string, v int) []byte {
		if v <= 0 {
			return dst
		}
		if sep {
			dst = append(dst, ';')
		}
		sep = true
		dst = append(dst, key...)
		return strconv.AppendInt(dst, int64(v), 10)
	}
	dst = kv(dst, "samplerate=", h.SampleRate)
	dst = kv(dst, "bitrate=", h.Bitrate)
	dst = kv(dst, "channels=", h.Channels)
	return append(dst, "\r\n"...)
}

// appendField writes name, value and CRLF, dropping control bytes other
// than TAB from value: a CR or LF would let a station name inject headers.
func appendField(dst []byte, name, value string) []byte {
	dst = append(dst, name...)
	for i := 0; i < len(value); i++ {
		c := value[i]
		if (c < 0x20 && c != '\t') || c == 0x7f {
			continue
		}
		dst = append(dst, c)
	}
	return append(dst, "\r\n"...)
}

// CORSPreflight appends the answer to an OPTIONS request: browsers send one
// before a cross-origin fetch with Icy-MetaData, which is not a safelisted
// header. No Content-Length: a 204 must not carry one.
// Allow is there for plain (non-CORS) OPTIONS clients.
func CORSPreflight(dst []byte) []byte {
	return append(dst, "HTTP/1.0 204 No Content\r\n"+
		"Access-Control-Allow-Origin: *\r\n"+
		"Access-Control-Allow-Headers: Icy-MetaData, Range\r\n"+
		"Access-Control-Allow-Methods: GET, HEAD, OPTIONS\r\n"+
		"Access-Control-Max-Age: 86400\r\n"+
		"Allow: GET, HEAD, OPTIONS\r\n"+
		"Connection: close\r\n"+
		"\r\n"...)
}

// ErrorResponse appends a complete plain-text HTTP/1.0 error response (head
// and body msg+"\n") for a hijacked stream connection, e.g. 503 while a
// station has nothing to play or 404 for an unknown mount. Codes outside
// 100..599 become 500. It does not allocate when dst has capacity.
func ErrorResponse(dst []byte, code int, msg string) []byte {
	if code < 100 || code > 599 {
		code = 500
	}
	dst = append(dst, "HTTP/1.0 "...)
	dst = strconv.AppendInt(dst, int64(code), 10)
	dst = append(dst, ' ')
	dst = append(dst, statusText(code)...)
	dst = append(dst, "\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\n"+
		"Cache-Control: no-cache\r\n"+
		"Access-Control-Allow-Origin: *\r\n"+
		"Connection: Close\r\n"+
		"Content-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(msg)+1), 10)
	dst = append(dst, "\r\n\r\n"...)
	dst = append(dst, msg...)
	return append(dst, '\n')
}

// statusText is the reason phrase for the codes a stream connection uses;
// kept here so the package does not pull in net/http.
func statusText(code int) string {
	switch code {
	case 200:
		return "OK"
	case 204:
		return "No Content"
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 408:
		return "Request Timeout"
	case 413:
		return "Content Too Large"
	case 414:
		return "URI Too Long"
	case 416:
		return "Range Not Satisfiable"
	case 429:
		return "Too Many Requests"
	case 431:
		return "Request Header Fields Too Large"
	case 500:
		return "Internal Server Error"
	case 501:
		return "Not Implemented"
	case 502:
		return "Bad Gateway"
	case 503:
		return "Service Unavailable"
	case 504:
		return "Gateway Timeout"
	case 505:
		return "HTTP Version Not Supported"
	}
	switch code / 100 {
	case 1:
		return "Informational"
	case 2:
		return "Success"
	case 3:
		return "Redirection"
	case 4:
		return "Client Error"
	}
	return "Server Error"
}

// WantsMetadata reports whether an Icy-MetaData request header value asks
// for in-band metadata. It mirrors Icecast's atoi(value) != 0: leading
// white space, an optional sign, then decimal digits; anything after the
// digits is ignored, so "1", " 2", "+1", "1abc" enable it and "0", "",
// "true", "yes" do not.
func WantsMetadata(headerValue []byte) bool {
	v := headerValue
	for len(v) > 0 && (v[0] == ' ' || (v[0] >= '\t' && v[0] <= '\r')) {
		v = v[1:]
	}
	if len(v) > 0 && (v[0] == '+' || v[0] == '-') {
		v = v[1:]
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return false
		}
		if c != '0' {
			return true
		}
	}
	return false
}

// IsBrowser reports whether a User-Agent belongs to a web browser (contains
// Mozilla, AppleWebKit, Chrome, Safari or Firefox, case-sensitive as browsers
// send them). Browsers never get the "ICY 200 OK" status line, even on a
// mount configured for it: WebKit refuses non-HTTP status lines and Chrome
// refuses HTTP/0.9 on non-default ports. An empty
// User-Agent is not a browser.
func IsBrowser(userAgent []byte) bool {
	return bytes.Contains(userAgent, []byte("Mozilla")) ||
		bytes.Contains(userAgent, []byte("AppleWebKit")) ||
		bytes.Contains(userAgent, []byte("Chrome")) ||
		bytes.Contains(userAgent, []byte("Safari")) ||
		bytes.Contains(userAgent, []byte("Firefox"))
}
