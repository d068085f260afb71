package playlist

import (
	"sync"
	"time"
)

// DefaultHistorySize is used by NewHistory for n <= 0.
const DefaultHistorySize = 100

// Entry is one played track.
type Entry struct {
	Rel   string    `json:"rel"`
	Title string    `json:"title"`
	Start time.Time `json:"start"`
}

// History keeps the last n played tracks; safe for concurrent use.
type History struct {
	mu   sync.Mutex
	buf  []Entry // ring buffer
	next int     // where the next Add goes
	full bool
}

// NewHistory returns a History of the last n entries (DefaultHistorySize
// when n <= 0).
func NewHistory(n int) *History {
	if n <= 0 {
		n = DefaultHistorySize
	}
	return &History{buf: make([]Entry, n)}
}

// Add records e as the newest entry, dropping the oldest when full.
func (h *History) Add(e Entry) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.buf[h.next] = e
	h.next++
	if h.next == len(h.buf) {
		h.next, h.full = 0, true
	}
}

// List returns the entries, newest first.
func (h *History) List() []Entry {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := h.next
	if h.full {
		n = len(h.buf)
	}
	out := make([]Entry, 0, n)
	for k := 1; k <= n; k++ {
		out = append(out, h.buf[(h.next-k+len(h.buf))%len(h.buf)])
	}
	return out
}
