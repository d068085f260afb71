package programme

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/schedule"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// Music is a library in its play order: what a show plays, or the
// jingles.
type Music struct {
	Library *playlist.Library
	// Order is the play order over Library; nil plays a show's files in
	// library order and the jingles shuffled.
	Order *playlist.Order
}

// Options configure New. Library is required; the zero value of every
// other field turns its feature off.
type Options struct {
	// Name is the station's name: the title listeners see during a jingle
	// unless JingleTitle is set.
	Name string
	// Library is the station's own library: requests and Search come from
	// it, and its music plays outside every show.
	Library *playlist.Library
	// Music is the station's music (its Library in its play order, whose
	// position the mountpoint saves for a restart); nil until SetMusic
	// plays Library in name order. Its methods must not call the
	// Programme.
	Music mount.Programme

	// Schedule lists the shows; nil plays the station's music all the time.
	Schedule *schedule.Schedule
	// Shows gives the music of each slot's Plays value (and of each live
	// slot's fallback). A Plays or fallback that is the schedule's Default
	// and is not listed plays the station's music; any other must be
	// listed (live slots' Plays, config.PlaysLive, is not music).
	Shows map[string]Music
	// Fallbacks names, by slot index, what a live slot plays while no DJ
	// is connected: a key of Shows; "" (or no entry) plays the station's
	// music. Entries of slots that are not live are ignored.
	Fallbacks []string

	// Jingles are played between tracks (Library nil: no jingles): after
	// every JingleEvery tracks, and once JingleInterval has passed since
	// the last one (0: not by that rule). Listeners see JingleTitle, or
	// Name when it is "", or the jingle file's own tags when both are.
	Jingles        Music
	JingleEvery    int
	JingleInterval time.Duration
	JingleTitle    string

	// QueuePath is the file the request queue is kept in across restarts;
	// "" keeps it in memory only.
	QueuePath string
	// MaxQueue bounds the queue (0: DefaultMaxQueue).
	MaxQueue int
	// Clock is the wall clock and Run's timer (nil: mount.SystemClock).
	Clock  mount.Clock
	Logger *slog.Logger // nil discards
}

// DefaultMaxQueue is how many requests a queue holds unless
// Options.MaxQueue says otherwise.
const DefaultMaxQueue = 1000

// maxOutstanding bounds the record of picks handed out that may still come
// back through Unplayed or Bad: far more than a folder source opens ahead.
const maxOutstanding = 64

// Programme is a station's programme: see the package documentation. Make
// one with New; it serves one folder source (a radio station's: in
// individual mode every listener's source would need its own). It is safe
// for concurrent use.
type Programme struct {
	lib         *playlist.Library
	sched       *schedule.Schedule
	shows       map[string]mount.Programme
	libraries   []*playlist.Library // of the shows and jingles, for Rescan
	fallbacks   []string
	jingles     mount.Programme // nil: none
	jingleTitle *playlist.Title // nil: the file's tags
	every       int
	interval    time.Duration
	maxQueue    int
	clock       mount.Clock
	log         *slog.Logger
	plain       mount.Programme // the station's music until SetMusic
	titles      titleIndex      // for Search; has its own lock
	store       queueStore      // has its own lock

	mu          sync.Mutex
	music       mount.Programme
	flush, skip func()
	queue       []Entry
	changes     uint64 // queue changes so far, so saves land in order
	tally       tally  // jingle counters before the picks in outstanding
	outstanding []handout
}

// handout is a pick made whose fate is not known: it may have played, or
// may still come back through Unplayed or Bad, which remove it. The jingle
// counters are recounted over the handouts left, so a pick given back
// counts as never made.
type handout struct {
	pick  mount.Pick
	from  mount.Programme // where music or a jingle came from; nil for a request
	entry Entry           // a request's queue entry
	at    time.Time
}

// tally is what the jingle rules count.
type tally struct {
	tracks   int       // tracks picked since the last jingle
	jingleAt time.Time // when the last jingle was picked (at first: New)
	last     string    // Kind of the latest pick
}

func (t tally) add(h handout) tally {
	if h.pick.Kind == mount.KindJingle {
		t.tracks, t.jingleAt = 0, h.at
	} else {
		t.tracks++
	}
	t.last = h.pick.Kind
	return t
}

// New checks the options, loads the queue (a missing or corrupt file
// starts an empty one; requests whose files the scanned library no longer
// lists are dropped, each with a log line) and returns the programme. It
// does not scan the libraries of shows and jingles: Run does, and Rescan.
// The error is for options that contradict each other.
func New(opt Options) (*Programme, error) {
	if opt.Library == nil {
		return nil, errors.New("programme: no station library")
	}
	p := &Programme{
		lib: opt.Library, sched: opt.Schedule, fallbacks: opt.Fallbacks,
		every: max(opt.JingleEvery, 0), interval: max(opt.JingleInterval, 0),
		maxQueue: opt.MaxQueue, clock: opt.Clock, log: opt.Logger, music: opt.Music,
		shows: make(map[string]mount.Programme, len(opt.Shows)),
	}
	if p.maxQueue <= 0 {
		p.maxQueue = DefaultMaxQueue
	}
	if p.clock == nil {
		p.clock = mount.SystemClock{}
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.plain = &mount.OrderProgramme{Library: p.lib, Order: playlist.NewOrder(p.lib, false, nil)}
	if p.music == nil {
		p.music = p.plain
	}
	for key, m := range opt.Shows {
		if m.Library == nil {
			return nil, fmt.Errorf("programme: show music %q has no library", key)
		}
		p.shows[key] = orderProgramme(m, false)
		p.libraries = append(p.libraries, m.Library)
	}
	if err := p.checkSlots(); err != nil {
		return nil, err
	}
	if opt.Jingles.Library != nil {
		p.jingles = orderProgramme(opt.Jingles, true)
		p.libraries = append(p.libraries, opt.Jingles.Library)
		name := opt.JingleTitle
		if name == "" {
			name = opt.Name
		}
		if name != "" {
			p.jingleTitle = &playlist.Title{Title: name, Display: name}
		}
	}
	p.tally.jingleAt = p.clock.Now()
	p.store = queueStore{path: opt.QueuePath, log: p.log}
	p.queue = p.store.load(p.lib, p.maxQueue)
	for i := range p.queue {
		p.queue[i].rank = float64(i)
	}
	p.titles.lib = p.lib
	return p, nil
}

func orderProgramme(m Music, shuffle bool) *mount.OrderProgramme {
	order := m.Order
	if order == nil {
		order = playlist.NewOrder(m.Library, shuffle, nil)
	}
	return &mount.OrderProgramme{Library: m.Library, Order: order}
}

// checkSlots makes sure every slot has music to play.
func (p *Programme) checkSlots() error {
	if p.sched == nil {
		return nil
	}
	for i, s := range p.sched.Slots() {
		key := s.Plays
		if key == config.PlaysLive {
			key = p.fallback(i)
		}
		if _, listed := p.shows[key]; !listed && key != "" && key != p.sched.Default() {
			return fmt.Errorf("programme: slot %s plays %q, which Shows does not give", s.Label(i), key)
		}
	}
	return nil
}

func (p *Programme) fallback(slot int) string {
	if slot >= 0 && slot < len(p.fallbacks) {
		return p.fallbacks[slot]
	}
	return ""
}

// SetMusic makes m the station's music (the mountpoint makes it, over the
// station's play order); nil plays the Library in name order.
func (p *Programme) SetMusic(m mount.Programme) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if m == nil {
		m = p.plain
	}
	p.music = m
}

// SetControls gives the programme its station's controls, made after it:
// flush drops the tracks opened ahead and asks Next again
// (FolderSource.Flush); skip ends the playing folder track on a frame
// boundary. Either may be nil. They are called without the programme's
// lock held, and may call back into it (flush calls Unplayed).
func (p *Programme) SetControls(flush, skip func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.flush, p.skip = flush, skip
}

// onAir is the airing in force at now: the default, forever, without a
// schedule.
func (p *Programme) onAir(now time.Time) schedule.Occurrence {
	if p.sched == nil {
		return schedule.Occurrence{Index: -1}
	}
	active, _ := p.sched.At(now)
	return active
}

// musicOf is what an airing plays.
func (p *Programme) musicOf(o schedule.Occurrence) mount.Programme {
	if o.IsDefault() {
		return p.music
	}
	key := o.Plays
	if key == config.PlaysLive {
		key = p.fallback(o.Index)
	}
	if m, ok := p.shows[key]; ok && key != "" {
		return m
	}
	return p.music
}

// Next picks what plays after the picks made so far: a request, a jingle
// or music (see the package documentation); false when nothing is
// playable.
func (p *Programme) Next() (mount.Pick, bool) {
	now := p.clock.Now()
	p.mu.Lock()
	before := p.changes
	pick, ok, dropped := p.next(now)
	save := p.saveLocked(before)
	p.mu.Unlock()
	for _, e := range dropped {
		p.log.Info("programme: request dropped: the file is no longer in the library", "rel", e.Rel, "id", e.ID)
	}
	save()
	return pick, ok
}

// kindMusic is the Kind of music picks (mount.Pick's zero Kind).
const kindMusic = ""

func (p *Programme) next(now time.Time) (pick mount.Pick, ok bool, dropped []Entry) {
	occ := p.onAir(now)
	t := p.counted()
	kind := p.choose(t, now, len(p.queue) > 0)
	if kind == mount.KindRequest {
		var e Entry
		e, ok, dropped = p.takeRequest()
		if ok {
			pick = mount.Pick{Library: p.lib, Rel: e.Rel, Kind: mount.KindRequest, Show: occ.Name(), ID: e.ID}
			p.handOut(handout{pick: pick, entry: e, at: now})
			return pick, true, dropped
		}
		kind = p.choose(t, now, false)
	}
	if kind == mount.KindJingle {
		if pick, ok = p.pickFrom(p.jingles); ok {
			pick.Kind, pick.Show, pick.Title, pick.ID = mount.KindJingle, occ.Name(), p.jingleTitle, ""
			p.handOut(handout{pick: pick, from: p.jingles, at: now})
			return pick, true, dropped
		}
	}
	from := p.musicOf(occ)
	pick, ok = p.pickFrom(from)
	if !ok && from != p.music {
		from = p.music
		pick, ok = p.pickFrom(from)
	}
	if !ok {
		return mount.Pick{}, false, dropped
	}
	pick.Kind, pick.Show = kindMusic, occ.Name()
	p.handOut(handout{pick: pick, from: from, at: now})
	return pick, true, dropped
}

// choose says what kind of pick comes next, given the counters and
// whether requests are queued.
func (p *Programme) choose(t tally, now time.Time, queued bool) string {
	due := p.jingles != nil && t.last != mount.KindJingle &&
		(p.every > 0 && t.tracks >= p.every || p.interval > 0 && now.Sub(t.jingleAt) >= p.interval)
	switch {
	case queued && (!due || t.last != mount.KindRequest):
		return mount.KindRequest
	case due:
		return mount.KindJingle
	}
	return kindMusic
}

// counted is the jingle counters after every pick still outstanding.
func (p *Programme) counted() tally {
	t := p.tally
	for _, h := range p.outstanding {
		t = t.add(h)
	}
	return t
}

// takeRequest takes the first queued request whose file the library
// still lists; the ones before it are dropped.
func (p *Programme) takeRequest() (e Entry, ok bool, dropped []Entry) {
	for len(p.queue) > 0 {
		e = p.queue[0]
		p.queue = p.queue[1:]
		p.changes++
		if p.lib.Contains(e.Rel) {
			return e, true, dropped
		}
		dropped = append(dropped, e)
	}
	return Entry{}, false, dropped
}

// pickFrom takes the next pick of m that its library still lists (a
// pick given back may name a file removed since).
func (p *Programme) pickFrom(m mount.Programme) (mount.Pick, bool) {
	if m == nil {
		return mount.Pick{}, false
	}
	for range 3 {
		pick, ok := m.Next()
		if !ok {
			return mount.Pick{}, false
		}
		if pick.Library == nil {
			pick.Library = p.lib
		}
		if pick.Library.Contains(pick.Rel) {
			return pick, true
		}
	}
	return mount.Pick{}, false
}

func (p *Programme) handOut(h handout) {
	if len(p.outstanding) == maxOutstanding {
		p.tally = p.tally.add(p.outstanding[0])
		p.outstanding = append(p.outstanding[:0], p.outstanding[1:]...)
	}
	p.outstanding = append(p.outstanding, h)
}

// takeBack removes the latest outstanding handout of pick; false when
// there is none (too old, or not this programme's).
func (p *Programme) takeBack(pick mount.Pick) (handout, bool) {
	for i := len(p.outstanding) - 1; i >= 0; i-- {
		h := p.outstanding[i]
		if h.pick.Library == pick.Library && h.pick.Rel == pick.Rel && h.pick.Kind == pick.Kind && h.pick.ID == pick.ID {
			p.outstanding = append(p.outstanding[:i], p.outstanding[i+1:]...)
			return h, true
		}
	}
	return handout{}, false
}

// sourceOf guesses where a pick the programme has no record of came from.
func (p *Programme) sourceOf(pick mount.Pick) mount.Programme {
	if pick.Kind == mount.KindJingle {
		return p.jingles
	}
	for _, m := range p.shows {
		if op, ok := m.(*mount.OrderProgramme); ok && op.Library == pick.Library {
			return m
		}
	}
	return p.music
}

// Unplayed takes back picks opened ahead that will not play, in the order
// they would have played: requests go back to the front of the queue in
// that order, music to the front of the play order it came from (so it
// plays next whenever that music is on), jingles to theirs; the jingle
// counters no longer count them.
func (p *Programme) Unplayed(picks []mount.Pick) {
	now := p.clock.Now()
	p.mu.Lock()
	before := p.changes
	var requests []Entry
	var order []mount.Programme
	back := map[mount.Programme][]mount.Pick{}
	for _, pick := range picks {
		h, known := p.takeBack(pick)
		if pick.Kind == mount.KindRequest {
			e := h.entry
			if !known {
				e = Entry{ID: pick.ID, Rel: pick.Rel, Added: now}
			}
			requests = append(requests, e)
			continue
		}
		from := h.from
		if !known {
			from = p.sourceOf(pick)
		}
		if from == nil {
			continue
		}
		if _, seen := back[from]; !seen {
			order = append(order, from)
		}
		back[from] = append(back[from], pick)
	}
	if len(requests) > 0 {
		p.queue = append(requests, p.queue...)
		slices.SortStableFunc(p.queue, func(a, b Entry) int { return cmp.Compare(a.rank, b.rank) })
		p.changes++
	}
	for _, m := range order {
		m.Unplayed(back[m])
	}
	save := p.saveLocked(before)
	p.mu.Unlock()
	save()
}

// Bad marks pick, returned by Next, as unplayable; news is false when its
// play order knew it already. A request for a file that cannot be played
// is dropped.
func (p *Programme) Bad(pick mount.Pick) (news bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	h, known := p.takeBack(pick)
	if pick.Kind == mount.KindRequest {
		p.log.Info("programme: request dropped: the file cannot be played", "rel", pick.Rel, "id", pick.ID)
		return true
	}
	from := h.from
	if !known {
		from = p.sourceOf(pick)
	}
	if from == nil {
		return false
	}
	return from.Bad(pick)
}
