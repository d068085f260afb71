package playlist

import (
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// Order is the play order of one consumer (a station, or one listener in
// individual mode) over a Library. Every track plays once per cycle; the
// cycle is shuffled or in library order (name order for a folder, file order
// for a playlist file, where a file listed twice plays twice a cycle).
// Changes of the Library are merged into the running cycle at the next call
// instead of restarting it.
//
// Order is safe for concurrent use (the station's player and preloader may
// share it), but the *rand.Rand given to NewOrder must not be used elsewhere.
type Order struct {
	lib     *Library
	shuffle bool

	mu    sync.Mutex
	rng   *rand.Rand
	snap  *snapshot        // library snapshot the indices refer to
	cycle []int32          // indices into snap.tracks; int32 keeps per-listener orders small
	pos   int              // cycle[:pos] played, cycle[pos:] to come
	last  string           // Rel of the track Next returned last
	bad   map[string]Track // Skip'ped tracks, as they were when marked

	restore *State // Restore called before the library had tracks
}

// NewOrder returns the play order over lib. rng drives shuffling; nil seeds
// a generator from the clock (pass one for reproducible orders).
func NewOrder(lib *Library, shuffle bool, rng *rand.Rand) *Order {
	if rng == nil {
		rng = rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x5eed))
	}
	return &Order{lib: lib, shuffle: shuffle, rng: rng, snap: lib.snap.Load(), bad: map[string]Track{}}
}

// Next returns the next track and consumes it; false when the library is
// empty or every track is marked bad.
func (o *Order) Next() (Track, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sync()
	if !o.fill() {
		return Track{}, false
	}
	t := o.snap.tracks[o.cycle[o.pos]]
	o.pos++
	o.last = t.Rel
	return t, true
}

// Skip marks rel as bad (it failed to play): it is not offered again until a
// rescan shows the file changed or removed. It reports whether any playable
// track remains, so a folder of broken files does not spin.
func (o *Order) Skip(rel string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sync()
	if i, ok := o.snap.find(rel); ok {
		o.bad[rel] = o.snap.tracks[i]
	}
	return len(o.snap.tracks) > len(o.bad)
}

// sync merges a library change into the cycle: removed tracks leave, new
// ones join the rest of the cycle, bad marks of changed files are cleared.
func (o *Order) sync() {
	cur := o.lib.snap.Load()
	if cur == o.snap {
		return
	}
	if o.restore != nil && len(cur.tracks) > 0 {
		s := o.restore
		o.restore = nil
		o.restoreLocked(*s)
		return
	}
	for rel, t := range o.bad {
		if i, ok := cur.find(rel); !ok || !sameFile(cur.tracks[i], t) {
			delete(o.bad, rel)
		}
	}
	rels := make([]string, len(o.cycle))
	for k, i := range o.cycle {
		rels[k] = o.snap.tracks[i].Rel
	}
	o.snap = cur
	o.adopt(rels, o.pos)
}

func sameFile(a, b Track) bool { return a.Size == b.Size && a.ModTime.Equal(b.ModTime) }

// adopt rebuilds the cycle from rel paths (played ones first, pos of them)
// against o.snap: unknown paths are dropped, tracks not listed join the
// part still to come. A path a playlist file lists n times matches up to n
// entries of rels, in play order.
func (o *Order) adopt(rels []string, pos int) {
	n := len(o.snap.tracks)
	listed := make([]bool, n)
	cycle := make([]int32, 0, n)
	newPos := 0
	for k, rel := range rels {
		i, ok := o.snap.findFree(rel, listed)
		if !ok {
			continue
		}
		listed[i] = true
		if k < pos {
			newPos++
		}
		cycle = append(cycle, int32(i))
	}
	if len(cycle) == 0 {
		// Nothing of the old cycle survived: the next call starts a new one.
		o.cycle, o.pos = nil, 0
		return
	}
	var added []int32
	for i := range n {
		if !listed[i] {
			added = append(added, int32(i))
		}
	}
	cycle = append(cycle[:newPos], o.mergePending(cycle[newPos:], added)...)
	o.cycle, o.pos = cycle, newPos
}

// mergePending inserts added into the tracks still to come: at uniformly
// random positions when shuffling (keeping the existing ones in order, so a
// preloaded next track usually stays next), else in library order.
func (o *Order) mergePending(pending, added []int32) []int32 {
	if len(added) == 0 {
		return pending
	}
	out := make([]int32, 0, len(pending)+len(added))
	if o.shuffle {
		o.rng.Shuffle(len(added), func(i, j int) { added[i], added[j] = added[j], added[i] })
		p, a := pending, added
		for len(p) > 0 && len(a) > 0 {
			// Taking from each side in proportion to what is left gives a
			// uniformly random interleaving.
			if o.rng.IntN(len(p)+len(a)) < len(a) {
				out, a = append(out, a[0]), a[1:]
			} else {
				out, p = append(out, p[0]), p[1:]
			}
		}
		out = append(out, p...)
		return append(out, a...)
	}
	// Indices follow library order, so a merge by index is a merge in that
	// order (added is ascending; pending normally is too).
	p, a := pending, added
	for len(p) > 0 && len(a) > 0 {
		if a[0] < p[0] {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, p = append(out, p[0]), p[1:]
		}
	}
	out = append(out, p...)
	return append(out, a...)
}

// fill moves pos to the next track that is not bad, starting a new cycle
// when the current one is used up. It reports whether there is one.
func (o *Order) fill() bool {
	for range 2 { // current cycle, then at most one fresh cycle
		for o.pos < len(o.cycle) {
			if _, bad := o.bad[o.snap.tracks[o.cycle[o.pos]].Rel]; !bad {
				return true
			}
			o.pos++
		}
		if !o.newCycle() {
			return false
		}
	}
	return false
}

// newCycle starts a cycle of every track not marked bad.
func (o *Order) newCycle() bool {
	o.cycle, o.pos = o.cycle[:0], 0
	for i, t := range o.snap.tracks {
		if _, bad := o.bad[t.Rel]; !bad {
			o.cycle = append(o.cycle, int32(i))
		}
	}
	n := len(o.cycle)
	if n == 0 {
		return false
	}
	if o.shuffle {
		o.rng.Shuffle(n, func(i, j int) { o.cycle[i], o.cycle[j] = o.cycle[j], o.cycle[i] })
	}
	// Never the same track twice in a row across the cycle boundary, except
	// in a playlist file played in order: its author chose the order (a
	// file listed last and first plays twice in a row, as written).
	if n >= 2 && o.snap.tracks[o.cycle[0]].Rel == o.last && (o.shuffle || !o.lib.list) {
		if o.shuffle {
			j := 1 + o.rng.IntN(n-1)
			o.cycle[0], o.cycle[j] = o.cycle[j], o.cycle[0]
		} else {
			first := o.cycle[0]
			copy(o.cycle, o.cycle[1:])
			o.cycle[n-1] = first
		}
	}
	return true
}

// StateVersion is the format version SaveState writes and LoadState accepts.
const StateVersion = 1

// State is what a station saves to resume its order after a restart.
type State struct {
	Version     int       `json:"version"`      // format version (StateVersion)
	Order       []string  `json:"order"`        // Rel paths of the current cycle
	Pos         int       `json:"pos"`          // Order[:Pos] already started
	Current     string    `json:"current"`      // the track playing when saved
	OffsetBytes int64     `json:"offset_bytes"` // how far into Current (set by the station)
	SavedAt     time.Time `json:"saved_at"`
}

// Snapshot returns the order's state. OffsetBytes is left 0 for the station
// to fill in.
func (o *Order) Snapshot() State {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sync()
	if o.restore != nil {
		// Not applied yet (library still empty): keep what was restored
		// rather than save an empty order over it.
		s := *o.restore
		s.Order = slices.Clone(s.Order)
		return s
	}
	rels := make([]string, len(o.cycle))
	for k, i := range o.cycle {
		rels[k] = o.snap.tracks[i].Rel
	}
	return State{Version: StateVersion, Order: rels, Pos: o.pos, Current: o.last, SavedAt: time.Now()}
}

// Restore continues from s: entries no longer in the library are dropped,
// new library tracks join the rest of the cycle, and when s.Current still
// exists the next Next returns it again so the station can resume it at
// s.OffsetBytes. Called before the first successful Scan, it takes effect
// when the library first has tracks.
func (o *Order) Restore(s State) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.snap = o.lib.snap.Load()
	o.restore = nil
	if len(o.snap.tracks) == 0 {
		o.restore = &s
		o.cycle, o.pos = nil, 0
		return
	}
	o.restoreLocked(s)
}

func (o *Order) restoreLocked(s State) {
	o.snap = o.lib.snap.Load()
	clear(o.bad)
	o.last = ""
	pos := min(max(s.Pos, 0), len(s.Order))
	if s.Current != "" {
		if _, ok := o.snap.find(s.Current); ok {
			k := slices.Index(s.Order, s.Current)
			if s.Pos > 0 && s.Pos <= len(s.Order) && s.Order[s.Pos-1] == s.Current {
				k = s.Pos - 1 // of a file listed twice, the one just started
			}
			if k >= 0 {
				pos = k
				// A Snapshot taken before Next must still name it.
				o.last = s.Current
			}
		}
	}
	o.adopt(s.Order, pos)
}
