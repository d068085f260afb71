package server

import (
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

// AccessLog writes one line per finished listener session in the combined
// log format Icecast writes, which log analysers read:
//
//	192.0.2.7 - - [06/Dec/2026:01:02:03 +0000] "GET /live.mp3 HTTP/1.1" 200 1843200 "-" "VLC/3.0.18" 115
//
// the client address, no user, the local time the session ended, the
// request line (without its query, which may carry credentials), the
// status, the bytes sent, the referer, the user agent and the session's
// length in seconds. Lines are written whole, one at a time, from the
// goroutine that closed the listener: a slow disk slows only that shard's
// round. Use OpenAccessLog; a nil *AccessLog logs nothing.
type AccessLog struct {
	mu   sync.Mutex
	w    io.Writer
	path string   // "" for a writer that is not a file
	file *os.File // open on path
	buf  []byte
}

// OpenAccessLog opens where the access_log setting points: "-" is w
// (standard output), any other path a file appended to (created 0644).
func OpenAccessLog(setting string, stdout io.Writer) (*AccessLog, error) {
	if setting == "-" {
		return &AccessLog{w: stdout}, nil
	}
	a := &AccessLog{path: setting}
	if err := a.Reopen(); err != nil {
		return nil, err
	}
	return a, nil
}

// Reopen opens the file again by its path, so after logrotate moved it
// the log goes on in a new file (main calls it on SIGHUP); the old one is
// closed once no line is being written to it. Standard output is left
// alone.
func (a *AccessLog) Reopen() error {
	if a == nil || a.path == "" {
		return nil
	}
	f, err := os.OpenFile(a.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	a.mu.Lock()
	old := a.file
	a.file, a.w = f, f
	a.mu.Unlock()
	if old != nil {
		return old.Close()
	}
	return nil
}

// Close closes the file; later lines are dropped.
func (a *AccessLog) Close() error {
	if a == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.w = io.Discard
	if a.file == nil {
		return nil
	}
	err := a.file.Close()
	a.file = nil
	return err
}

// AccessRequest is what an access log line says about the request.
type AccessRequest struct {
	Method, Path, Proto string
	Referer             string
}

// Session writes the line of a finished listener session. A write error
// is dropped: the access log must never hold up listeners.
func (a *AccessLog) Session(req AccessRequest, info mount.ListenerInfo, ended time.Time) {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.buf = appendLine(a.buf[:0], req, info, ended)
	_, _ = a.w.Write(a.buf)
}

// appendLine formats one line: Icecast's fields and escaping (bytes that
// would break the line's fields become '.').
func appendLine(b []byte, req AccessRequest, info mount.ListenerInfo, ended time.Time) []byte {
	b = appendEscaped(b, hostOf(info.Remote), false)
	b = append(b, " - - ["...)
	b = ended.AppendFormat(b, "02/Jan/2006:15:04:05 -0700")
	b = append(b, `] "`...)
	b = appendEscaped(b, req.Method, false)
	b = append(b, ' ')
	b = appendEscaped(b, req.Path, false)
	b = append(b, ' ')
	b = appendEscaped(b, req.Proto, false)
	b = append(b, `" 200 `...)
	b = strconv.AppendInt(b, info.BytesSent, 10)
	b = append(b, ` "`...)
	b = appendEscaped(b, req.Referer, true)
	b = append(b, `" "`...)
	b = appendEscaped(b, info.UserAgent, true)
	b = append(b, `" `...)
	b = strconv.AppendInt(b, seconds(ended.Sub(info.Connected)), 10)
	return append(b, '\n')
}

// appendEscaped appends s with control bytes, '"', '\\' and '`' (and,
// unless spaces is set, ' ' and '!') replaced by '.'; "" is "-".
func appendEscaped(b []byte, s string, spaces bool) []byte {
	if s == "" {
		return append(b, '-')
	}
	for i := range len(s) {
		c := s[i]
		switch {
		case c == ' ' && spaces:
		case c <= '"' || c == '\\' || c == '`' || c == 0x7f:
			c = '.'
		}
		b = append(b, c)
	}
	return b
}
