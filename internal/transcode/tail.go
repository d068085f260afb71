package transcode

import (
	"bytes"
	"regexp"
	"strings"
	"sync"
)

// tail is an io.Writer keeping only the last max bytes written to it.
type tail struct {
	mu    sync.Mutex
	buf   []byte // len <= max, cap == max
	max   int
	total int64
}

func newTail(max int) *tail { return &tail{buf: make([]byte, 0, max), max: max} }

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	t.total += int64(n)
	if n >= t.max {
		t.buf = append(t.buf[:0], p[n-t.max:]...)
		return n, nil
	}
	if over := len(t.buf) + n - t.max; over > 0 {
		t.buf = t.buf[:copy(t.buf, t.buf[over:])]
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

// String returns the kept bytes; when older output was dropped, the partial
// first line is dropped too.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf
	if t.total > int64(len(b)) {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

// limitedBuffer collects up to max bytes and silently drops the rest.
type limitedBuffer struct {
	bytes.Buffer
	max       int
	truncated bool
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if room := l.max - l.Len(); room < len(p) {
		p = p[:max(room, 0)]
		l.truncated = true
	}
	l.Buffer.Write(p)
	return n, nil
}

// ffmpeg prefixes log lines with "[wav @ 0x55d4c0a1b2c0] "; the address
// only makes otherwise equal messages differ.
var ctxAddr = regexp.MustCompile(` @ 0x[0-9a-fA-F]+\]`)

// Lines that never explain a failure.
var noise = []string{
	"Last message repeated",
	"Guessed Channel Layout",
}

const (
	reasonLines   = 3
	reasonLineMax = 200
)

// summarize returns the last few meaningful lines of a tool's stderr,
// joined with "; ".
func summarize(stderr string) string {
	var keep []string
	lines := strings.Split(strings.ReplaceAll(stderr, "\r", "\n"), "\n")
	for i := len(lines) - 1; i >= 0 && len(keep) < reasonLines; i-- {
		l := strings.TrimSpace(ctxAddr.ReplaceAllString(lines[i], "]"))
		if l == "" || isNoise(l) || (len(keep) > 0 && keep[len(keep)-1] == l) {
			continue
		}
		if len(l) > reasonLineMax {
			l = l[:reasonLineMax] + "…"
		}
		keep = append(keep, l)
	}
	for i, j := 0, len(keep)-1; i < j; i, j = i+1, j-1 {
		keep[i], keep[j] = keep[j], keep[i]
	}
	return strings.Join(keep, "; ")
}

func isNoise(line string) bool {
	for _, n := range noise {
		if strings.HasPrefix(line, n) {
			return true
		}
	}
	return false
}
