package programme

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/atomicfile"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// Entry is one request in the queue.
type Entry struct {
	// ID identifies the entry for Remove and Move, and is the Pick.ID of
	// its pick; it stays the same across restarts.
	ID string `json:"id"`
	// Rel is the file, relative to the station's library.
	Rel string `json:"rel"`
	// Title is the display title when it was queued ("Artist - Title").
	Title string    `json:"title"`
	Added time.Time `json:"added"`

	// rank orders requests: one picked and given back (Unplayed) goes
	// back to its place among the others, not simply to the front.
	rank float64
}

// Errors of the queue's methods.
var (
	ErrNotListed = errors.New("not a file of the station's library")
	ErrQueueFull = errors.New("the request queue is full")
	ErrNoEntry   = errors.New("no such request in the queue")
	ErrPosition  = errors.New("position outside the queue")
)

// Enqueue queues rel, a file of the station's library, to play after the
// requests queued before it, ahead of everything else: when the queue was
// empty, the tracks opened ahead are flushed so it plays right after the
// current one. The error wraps ErrNotListed or ErrQueueFull.
//
// A request leaves the queue when Next picks it (a track or two before it
// plays; see the package documentation) and comes back to the front if
// that pick is given back through Unplayed.
func (p *Programme) Enqueue(rel string) (Entry, error) {
	if !p.lib.Contains(rel) {
		return Entry{}, fmt.Errorf("programme: %q: %w", rel, ErrNotListed)
	}
	title := titleOf(p.lib, rel) // reads tags: outside the lock
	now := p.clock.Now()
	p.mu.Lock()
	if len(p.queue) >= p.maxQueue {
		p.mu.Unlock()
		return Entry{}, fmt.Errorf("programme: %d requests: %w", p.maxQueue, ErrQueueFull)
	}
	before := p.changes
	e := Entry{ID: p.newID(), Rel: rel, Title: title.Display, Added: now, rank: p.nextRank()}
	first := len(p.queue) == 0
	p.queue = append(p.queue, e)
	p.changes++
	save := p.saveLocked(before)
	flush := p.flush
	p.mu.Unlock()
	save()
	if first && flush != nil {
		// A request behind others plays after them anyway: only the first
		// one has tracks opened ahead of it to get past.
		flush()
	}
	return e, nil
}

// nextRank is a rank after every request's so far. Called with mu held.
func (p *Programme) nextRank() float64 {
	r := float64(0)
	for _, e := range p.queue {
		r = max(r, e.rank+1)
	}
	for _, h := range p.outstanding {
		r = max(r, h.entry.rank+1)
	}
	return r
}

// newID returns an ID no queued or outstanding request has.
func (p *Programme) newID() string {
	for {
		var b [8]byte
		_, _ = rand.Read(b[:]) // never fails (crypto/rand)
		id := hex.EncodeToString(b[:])
		taken := slices.ContainsFunc(p.queue, func(e Entry) bool { return e.ID == id }) ||
			slices.ContainsFunc(p.outstanding, func(h handout) bool { return h.entry.ID == id })
		if !taken {
			return id
		}
	}
}

// Queue lists the requests not yet picked, in the order they will play.
func (p *Programme) Queue() []Entry {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.queue)
}

// Remove takes the request id out of the queue; false when it is not
// queued (unknown, or already picked).
func (p *Programme) Remove(id string) bool {
	p.mu.Lock()
	i := p.find(id)
	if i < 0 {
		p.mu.Unlock()
		return false
	}
	before := p.changes
	p.queue = slices.Delete(p.queue, i, i+1)
	p.changes++
	save := p.saveLocked(before)
	p.mu.Unlock()
	save()
	return true
}

// Move puts the request id at position to (0 plays first) of the queue,
// shifting the others. The error wraps ErrNoEntry or ErrPosition (to
// outside 0..len(Queue())-1).
func (p *Programme) Move(id string, to int) error {
	p.mu.Lock()
	i := p.find(id)
	switch {
	case i < 0:
		p.mu.Unlock()
		return fmt.Errorf("programme: request %q: %w", id, ErrNoEntry)
	case to < 0 || to >= len(p.queue):
		n := len(p.queue)
		p.mu.Unlock()
		return fmt.Errorf("programme: position %d of %d: %w", to, n, ErrPosition)
	}
	before := p.changes
	e := p.queue[i]
	p.queue = slices.Delete(p.queue, i, i+1)
	switch { // a rank between the new neighbours'
	case len(p.queue) == 0:
	case to == 0:
		e.rank = p.queue[0].rank - 1
	case to == len(p.queue):
		e.rank = p.queue[to-1].rank + 1
	default:
		e.rank = (p.queue[to-1].rank + p.queue[to].rank) / 2
	}
	p.queue = slices.Insert(p.queue, to, e)
	p.changes++
	save := p.saveLocked(before)
	p.mu.Unlock()
	save()
	return nil
}

// Clear empties the queue.
func (p *Programme) Clear() {
	p.mu.Lock()
	before := p.changes
	if len(p.queue) > 0 {
		p.queue = nil
		p.changes++
	}
	save := p.saveLocked(before)
	p.mu.Unlock()
	save()
}

func (p *Programme) find(id string) int {
	return slices.IndexFunc(p.queue, func(e Entry) bool { return e.ID == id })
}

// saveLocked returns what writes the queue to its file if it changed
// since before; call it with the lock held and the result without.
func (p *Programme) saveLocked(before uint64) func() {
	if p.changes == before || p.store.path == "" {
		return func() {}
	}
	seq, entries := p.changes, slices.Clone(p.queue)
	return func() { p.store.save(seq, entries) }
}

// titleOf is the title listeners will see for rel: the one its playlist
// file gives, or its tags.
func titleOf(lib *playlist.Library, rel string) playlist.Title {
	if t, ok := lib.ListedTitle(rel); ok {
		return t
	}
	return playlist.ReadTitle(lib.Abs(playlist.Track{Rel: rel}))
}

// queueStore keeps the queue in a JSON file.
type queueStore struct {
	path string // "": nowhere
	log  *slog.Logger

	mu    sync.Mutex
	saved uint64 // the change count last written
}

// queueFile is the file's format.
type queueFile struct {
	Version int     `json:"version"`
	Entries []Entry `json:"entries"`
}

const (
	queueVersion = 1
	// maxQueueFileBytes bounds what load reads: far above a full queue.
	maxQueueFileBytes = 16 << 20
)

// save writes entries, the queue as of change seq, unless a later change
// was written already (saves run outside the programme's lock, in any
// order). A failure is logged: the queue goes on in memory.
func (s *queueStore) save(seq uint64, entries []Entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if seq <= s.saved {
		return
	}
	if entries == nil {
		entries = []Entry{}
	}
	if err := writeFileAtomic(s.path, queueFile{Version: queueVersion, Entries: entries}); err != nil {
		s.log.Warn("programme: could not save the request queue", "path", s.path, "err", err)
		return
	}
	s.saved = seq
}

// load reads the queue. A missing file is an empty queue; an unreadable
// or corrupt one too, with a warning (the next save replaces it). Once the
// library has been scanned, entries whose files it no longer lists are
// dropped, each with a log line; before that, Next drops them when their
// turn comes.
func (s *queueStore) load(lib *playlist.Library, limit int) []Entry {
	if s.path == "" {
		return nil
	}
	data, err := readBounded(s.path, maxQueueFileBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		s.log.Warn("programme: request queue not loaded, starting empty", "path", s.path, "err", err)
		return nil
	}
	var f queueFile
	if err := json.Unmarshal(data, &f); err != nil || f.Version != queueVersion {
		if err == nil {
			err = fmt.Errorf("version %d, want %d", f.Version, queueVersion)
		}
		s.log.Warn("programme: corrupt request queue file ignored, starting empty", "path", s.path, "err", err)
		return nil
	}
	scanned := lib.Version() > 0
	seen := map[string]bool{}
	var out []Entry
	for _, e := range f.Entries {
		switch {
		case e.ID == "" || e.Rel == "" || seen[e.ID]:
			s.log.Warn("programme: invalid request in the queue file dropped", "path", s.path, "id", e.ID, "rel", e.Rel)
		case scanned && !lib.Contains(e.Rel):
			s.log.Info("programme: request dropped: the file is no longer in the library", "rel", e.Rel, "id", e.ID)
		case len(out) >= limit:
			s.log.Warn("programme: request dropped: the queue is full", "rel", e.Rel, "id", e.ID)
		default:
			seen[e.ID] = true
			out = append(out, e)
		}
	}
	return out
}

// readBounded reads path, failing for a file over limit bytes.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return data, nil
}

// writeFileAtomic writes v as JSON to path through a synced temporary file
// renamed over it, so a crash leaves the old file or the new, never a
// torn one.
func writeFileAtomic(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(data, '\n'))
}
