package programme

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/mount"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

func queueStation(t *testing.T, opt Options) *Programme {
	t.Helper()
	if opt.Library == nil {
		opt.Library = lib(t, files("s", 6)...)
	}
	if opt.Clock == nil {
		opt.Clock = newFakeClock(ts(t, "2025-06-02T12:00:00Z"))
	}
	opt.Music = station(opt.Library)
	return newProgramme(t, opt)
}

func enqueue(t *testing.T, p *Programme, rels ...string) []Entry {
	t.Helper()
	var out []Entry
	for _, rel := range rels {
		e, err := p.Enqueue(rel)
		if err != nil {
			t.Fatalf("Enqueue(%q): %v", rel, err)
		}
		out = append(out, e)
	}
	return out
}

func rels(entries []Entry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Rel
	}
	return out
}

func expectQueue(t *testing.T, p *Programme, want ...string) {
	t.Helper()
	if got := rels(p.Queue()); !slices.Equal(got, want) {
		t.Fatalf("queue %q, want %q", got, want)
	}
}

// Requests play before the music, in the order queued, each once, as
// picks of kind request carrying the entry's ID; then the music goes on
// where it was.
func TestRequestsPlayFirst(t *testing.T) {
	p := queueStation(t, Options{})
	next(t, p) // s01
	es := enqueue(t, p, "s05.mp3", "s03.mp3")
	if es[0].Title != "Title of s05.mp3" || es[0].ID == "" || es[0].ID == es[1].ID || !es[0].Added.Equal(ts(t, "2025-06-02T12:00:00Z")) {
		t.Fatalf("entries %+v", es)
	}
	var got []string
	for range 4 {
		pick := next(t, p)
		got = append(got, string(kindLetter(pick))+":"+pick.Rel+":"+pick.ID)
	}
	want := []string{"R:s05.mp3:" + es[0].ID, "R:s03.mp3:" + es[1].ID, "M:s02.mp3:", "M:s03.mp3:"}
	if !slices.Equal(got, want) {
		t.Fatalf("picks %q, want %q", got, want)
	}
	expectQueue(t, p)
}

// Queueing into an empty queue flushes the tracks opened ahead, so the
// request plays right after the current track; queueing behind others
// does not (they are ahead of it anyway).
func TestEnqueueFlushesWhenTheQueueWasEmpty(t *testing.T) {
	p := queueStation(t, Options{})
	c := &controls{clock: newFakeClock(time.Time{})}
	c.attach(p)
	enqueue(t, p, "s01.mp3")
	expectCalls(t, c, "flush@0001-01-01T00:00:00Z")
	enqueue(t, p, "s02.mp3")
	expectCalls(t, c)
	next(t, p)
	next(t, p)
	enqueue(t, p, "s03.mp3")
	expectCalls(t, c, "flush@0001-01-01T00:00:00Z")
}

func TestEnqueueRefuses(t *testing.T) {
	p := queueStation(t, Options{MaxQueue: 2})
	for _, rel := range []string{"nope.mp3", "../s01.mp3", "", "/etc/passwd"} {
		if _, err := p.Enqueue(rel); !errors.Is(err, ErrNotListed) {
			t.Errorf("Enqueue(%q): %v, want ErrNotListed", rel, err)
		}
	}
	enqueue(t, p, "s01.mp3", "s01.mp3") // the same file twice is allowed
	if _, err := p.Enqueue("s02.mp3"); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("third request with MaxQueue 2: %v, want ErrQueueFull", err)
	}
}

func TestQueueMoveRemoveClear(t *testing.T) {
	p := queueStation(t, Options{})
	es := enqueue(t, p, "s01.mp3", "s02.mp3", "s03.mp3")
	a, b, c := es[0].ID, es[1].ID, es[2].ID
	if err := p.Move(c, 0); err != nil {
		t.Fatal(err)
	}
	expectQueue(t, p, "s03.mp3", "s01.mp3", "s02.mp3")
	if err := p.Move(a, 2); err != nil {
		t.Fatal(err)
	}
	expectQueue(t, p, "s03.mp3", "s02.mp3", "s01.mp3")
	if err := p.Move("nope", 0); !errors.Is(err, ErrNoEntry) {
		t.Fatalf("Move of an unknown id: %v", err)
	}
	for _, to := range []int{-1, 3} {
		if err := p.Move(a, to); !errors.Is(err, ErrPosition) {
			t.Fatalf("Move to %d: %v", to, err)
		}
	}
	if !p.Remove(b) || p.Remove(b) {
		t.Fatal("Remove: want true, then false")
	}
	expectQueue(t, p, "s03.mp3", "s01.mp3")
	if got := next(t, p); got.ID != c {
		t.Fatalf("first pick %+v, want request %s", got, c)
	}
	if p.Remove(c) {
		t.Fatal("Remove of a request already picked: true")
	}
	p.Clear()
	expectQueue(t, p)
	if got := next(t, p); got.Kind != "" {
		t.Fatalf("after Clear: %+v, want music", got)
	}
}

// The queue survives a restart: same entries, IDs, titles and order; a
// request picked is no longer saved.
func TestQueuePersists(t *testing.T) {
	path := queuePath(t)
	st := lib(t, files("s", 6)...)
	p := queueStation(t, Options{Library: st, QueuePath: path})
	es := enqueue(t, p, "s04.mp3", "s05.mp3", "s06.mp3", "s01.mp3")
	if err := p.Move(es[3].ID, 0); err != nil {
		t.Fatal(err)
	}
	p.Remove(es[1].ID)
	next(t, p) // takes s01

	q := queueStation(t, Options{Library: st, QueuePath: path})
	want := []Entry{es[0], es[2]}
	if got := q.Queue(); !entriesEqual(got, want) {
		t.Fatalf("after restart %+v, want %+v", got, want)
	}
	if got := next(t, q); got.ID != es[0].ID || got.Kind != mount.KindRequest {
		t.Fatalf("first pick after restart %+v", got)
	}
}

func entriesEqual(a, b []Entry) bool {
	return slices.EqualFunc(a, b, func(x, y Entry) bool {
		return x.ID == y.ID && x.Rel == y.Rel && x.Title == y.Title && x.Added.Equal(y.Added)
	})
}

// A corrupt queue file gives an empty queue, and the next change writes
// a good one.
func TestCorruptQueueFileStartsEmpty(t *testing.T) {
	for name, content := range map[string]string{
		"garbage":     "{not json",
		"truncated":   `{"version":1,"entries":[{"id":"a","rel":"s01.mp3"`,
		"wrong shape": `[1,2,3]`,
		"future":      `{"version":99,"entries":[]}`,
	} {
		t.Run(name, func(t *testing.T) {
			path := queuePath(t)
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			st := lib(t, files("s", 2)...)
			p := queueStation(t, Options{Library: st, QueuePath: path})
			expectQueue(t, p)
			enqueue(t, p, "s02.mp3")
			expectQueue(t, queueStation(t, Options{Library: st, QueuePath: path}), "s02.mp3")
		})
	}
}

// Requests whose files are gone are dropped: at load when the library
// was scanned, else when their turn comes.
func TestQueueDropsRequestsForMissingFiles(t *testing.T) {
	path := queuePath(t)
	st := lib(t, files("s", 4)...)
	p := queueStation(t, Options{Library: st, QueuePath: path})
	enqueue(t, p, "s01.mp3", "s02.mp3", "s03.mp3")
	if err := os.Remove(filepath.Join(st.Dir(), "s02.mp3")); err != nil {
		t.Fatal(err)
	}

	saved, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	unscanned := playlist.NewLibrary(st.Dir(), playlist.LibraryOptions{})
	q := queueStation(t, Options{Library: unscanned, QueuePath: path})
	expectQueue(t, q, "s01.mp3", "s02.mp3", "s03.mp3")
	if _, err := unscanned.Scan(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 3 {
		pick := next(t, q)
		got = append(got, string(kindLetter(pick))+":"+pick.Rel)
	}
	if want := []string{"R:s01.mp3", "R:s03.mp3", "M:s01.mp3"}; !slices.Equal(got, want) {
		t.Fatalf("picks %q, want %q", got, want)
	}

	if err := os.WriteFile(path, saved, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Scan(); err != nil {
		t.Fatal(err)
	}
	expectQueue(t, queueStation(t, Options{Library: st, QueuePath: path}), "s01.mp3", "s03.mp3")
}

// Picks given back return without loss or duplication: requests to the
// front of the queue in their order, music to the front of its order.
func TestUnplayedReturnsEverythingOnce(t *testing.T) {
	path := queuePath(t)
	p := queueStation(t, Options{QueuePath: path})
	enqueue(t, p, "s06.mp3", "s05.mp3", "s04.mp3", "s03.mp3")
	played := []mount.Pick{next(t, p)}            // R s06 plays
	ahead := []mount.Pick{next(t, p), next(t, p)} // R s05, R s04 opened ahead
	p.Unplayed(ahead)                             // a flush
	expectQueue(t, p, "s05.mp3", "s04.mp3", "s03.mp3")
	played = append(played, next(t, p), next(t, p), next(t, p))
	ahead = []mount.Pick{next(t, p), next(t, p)} // M s01, M s02
	enqueue(t, p, "s02.mp3")                     // queued meanwhile
	p.Unplayed(ahead[1:])                        // s01 had started; s02 given back
	for range 4 {
		played = append(played, next(t, p))
	}
	var got []string
	for _, pick := range slices.Concat(played[:4], ahead[:1], played[4:]) {
		got = append(got, string(kindLetter(pick))+":"+pick.Rel)
	}
	want := []string{"R:s06.mp3", "R:s05.mp3", "R:s04.mp3", "R:s03.mp3", "M:s01.mp3", "R:s02.mp3", "M:s02.mp3", "M:s03.mp3", "M:s04.mp3"}
	if !slices.Equal(got, want) {
		t.Fatalf("played %q, want %q", got, want)
	}

	// Given back, a request is saved again, so a restart keeps it.
	r := next(t, queueStation(t, Options{QueuePath: path}))
	if r.Kind == mount.KindRequest {
		t.Fatalf("restart after the queue emptied: request %+v", r)
	}
	enqueue(t, p, "s02.mp3")
	req := next(t, p)
	p.Unplayed([]mount.Pick{req})
	var saved queueFile
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &saved); err != nil || len(saved.Entries) != 1 || saved.Entries[0].ID != req.ID {
		t.Fatalf("queue file after Unplayed: %s (%v)", data, err)
	}
}

// A request whose file cannot be played is dropped, not retried.
func TestBadRequestIsDropped(t *testing.T) {
	p := queueStation(t, Options{})
	enqueue(t, p, "s03.mp3", "s04.mp3")
	bad := next(t, p)
	if !p.Bad(bad) {
		t.Fatal("Bad: not news")
	}
	expectQueue(t, p, "s04.mp3")
	if got := next(t, p); got.Rel != "s04.mp3" {
		t.Fatalf("after a bad request: %+v", got)
	}
}
