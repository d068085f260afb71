package loudness

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// Defaults for Options.
const (
	DefaultFileTimeout = time.Hour
	DefaultMaxEntries  = 100_000
	DefaultMaxAge      = 180 * 24 * time.Hour
)

// Progress logging: a line per station at most every progressEvery or
// each tenth of its files; the cache is saved at most every saveEvery
// while a long batch runs, and when a station's batch is done.
const (
	progressEvery = 10 * time.Second
	saveEvery     = time.Minute
)

// Options configure an Analyzer. The zero Options measure with ffmpeg from
// PATH, one file at a time, and remember results in memory only.
type Options struct {
	// FFmpegPath is the ffmpeg to run; "" = "ffmpeg" on PATH.
	FFmpegPath string
	// CachePath is the JSON file results are kept in across restarts
	// (e.g. <state dir>/loudness.json); "" keeps them in memory only.
	CachePath string
	// Logger gets the progress lines and the warnings; nil discards them.
	Logger *slog.Logger
	// Workers is how many files are measured at once; 0 = 1, which keeps
	// the load to one core at the lowest priority.
	Workers int
	// FileTimeout bounds one file's measurement (a wedged disk); 0 =
	// DefaultFileTimeout. A file that times out is tried again at the next
	// Measure call.
	FileTimeout time.Duration
	// MaxEntries and MaxAge bound the cache: entries not measured or looked
	// up for MaxAge are forgotten, then the least recently seen beyond
	// MaxEntries. 0 = DefaultMaxEntries, DefaultMaxAge.
	MaxEntries int
	MaxAge     time.Duration
	// Now is the clock for cache ages, progress lines and MeasuredAt; nil
	// = time.Now.
	Now func() time.Time

	// started, when set, is called with each ffmpeg process once it runs
	// at low priority (tests watch or hold the worker through it).
	started func(path string, pid int)
}

// Analyzer measures files in the background and remembers the results,
// one per server: stations queue their files with Measure, and look them up
// with Lookup when a track opens. Run does the work. Its methods are safe
// for concurrent use.
type Analyzer struct {
	opts Options
	log  *slog.Logger
	wake chan struct{} // cap 1: work was queued

	saveMu sync.Mutex // held while the cache file is written: one writer, newest last

	mu        sync.Mutex
	cache     *cache
	stations  map[string]*queue
	order     []string // station names, for round robin
	turn      int      // index into order of the next station to serve
	inflight  map[fileKey]chan struct{}
	lastSave  time.Time
	saveSoon  bool  // a batch finished: save when next idle
	ffmpegErr error // set by Run when ffmpeg cannot be found
}

// queue is one station's work.
type queue struct {
	// Set by Measure, taken by prepare.
	incoming []string
	params   Params
	fresh    bool   // incoming is newer than pending
	gen      uint64 // Measure calls
	// preparing counts workers taking a list up; until it is installed
	// the batch in flight finishing does not make the station done.
	preparing int

	// The prepared batch: paths not in the cache, in the order given.
	batchGen    uint64
	batchParams Params
	pending     []string
	busy        int // paths of this batch being measured
	total       int
	measured    int
	failed      int
	done        chan struct{}
	finished    bool // done is closed
	announced   bool // the batch's first line went out at Info
	lastLog     time.Time
	loggedAt    int // measured+failed at the last progress line
}

// job is one path taken from a station's batch.
type job struct {
	station string
	q       *queue
	gen     uint64
	path    string
	params  Params
}

// New returns an Analyzer with opts, its cache loaded from opts.CachePath.
// A missing cache file starts empty; a corrupt or foreign one too, with a
// warning logged: the cache is never a reason not to start.
func New(opts Options) *Analyzer {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Workers <= 0 {
		opts.Workers = 1
	}
	if opts.FileTimeout <= 0 {
		opts.FileTimeout = DefaultFileTimeout
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = DefaultMaxAge
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	a := &Analyzer{
		opts:     opts,
		log:      opts.Logger,
		wake:     make(chan struct{}, 1),
		cache:    newCache(opts.MaxEntries, opts.MaxAge),
		stations: make(map[string]*queue),
		inflight: make(map[fileKey]chan struct{}),
		lastSave: opts.Now(),
	}
	if opts.CachePath != "" {
		if err := a.cache.load(opts.CachePath, opts.Now()); err != nil {
			a.log.Warn("loudness cache not loaded: starting empty", "error", err)
		} else if n := len(a.cache.entries); n > 0 {
			a.log.Debug("loudness cache loaded", "path", opts.CachePath, "entries", n)
		}
	}
	return a
}

// Measure queues the files of station (absolute paths, in the order they
// should be measured: the play order, so upcoming tracks come first) with
// the parameters p, and returns at once. Each call replaces the station's
// previous list: call it again after every rescan with the full list, and
// paths no longer listed are not measured; an empty list stops the
// station's work. Paths already in the cache, or listed twice, are not
// measured again; a path shared with another station is measured once.
// Stations take turns, a file each. Run does the work.
func (a *Analyzer) Measure(station string, paths []string, p Params) {
	a.mu.Lock()
	q := a.stations[station]
	if q == nil {
		q = &queue{done: make(chan struct{})}
		a.stations[station] = q
		a.order = append(a.order, station)
	}
	q.incoming, q.params, q.fresh = slices.Clone(paths), p.normalized(), true
	q.gen++
	if q.finished {
		q.done, q.finished = make(chan struct{}), false
	}
	a.mu.Unlock()
	a.signal()
}

// Lookup returns the analysis of the file at path measured with p, if it is
// known: a stat and a map lookup. It reports false for a file not measured
// yet, changed since, or that could not be measured: the track then plays
// unchanged.
func (a *Analyzer) Lookup(path string, p Params) (Analysis, bool) {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return Analysis{}, false
	}
	k := keyOf(path, fi, p)
	a.mu.Lock()
	defer a.mu.Unlock()
	r, ok := a.cache.get(k, path, a.opts.Now())
	if !ok || r.Analysis == nil {
		return Analysis{}, false
	}
	return *r.Analysis, true
}

// Done returns a channel closed once every path of station's latest
// Measure call has been measured, found in the cache, or failed. A later
// Measure call while it is open extends the wait; after it closed, Measure
// makes a new one. A station never passed to Measure is done. The channel
// of unfinished work stays open after Run returns.
func (a *Analyzer) Done(station string) <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	if q := a.stations[station]; q != nil {
		return q.done
	}
	closed := make(chan struct{})
	close(closed)
	return closed
}

// Progress is where a station's latest batch stands.
type Progress struct {
	Measured int  // paths with an analysis (from the cache or measured now)
	Failed   int  // paths that could not be measured
	Total    int  // distinct paths in the list
	Done     bool // nothing left to do (Done's channel is closed)
}

// Progress returns where station's work stands; the zero Progress with
// Done set for a station never passed to Measure. Totals are known once the
// worker has taken the list up.
func (a *Analyzer) Progress(station string) Progress {
	a.mu.Lock()
	defer a.mu.Unlock()
	q := a.stations[station]
	if q == nil {
		return Progress{Done: true}
	}
	return Progress{Measured: q.measured, Failed: q.failed, Total: q.total, Done: q.finished}
}

// Run measures queued files, opts.Workers at a time, until ctx ends; then
// it kills the ffmpeg processes still running, waits for them and saves the
// cache. Call it once.
func (a *Analyzer) Run(ctx context.Context) {
	bin := a.opts.FFmpegPath
	if bin == "" {
		bin = "ffmpeg"
	}
	if _, err := exec.LookPath(bin); err != nil {
		a.mu.Lock()
		a.ffmpegErr = err
		a.mu.Unlock()
		a.log.Error("loudness analysis disabled: ffmpeg not found; tracks play unlevelled", "error", err)
	}
	var wg sync.WaitGroup
	for range a.opts.Workers {
		wg.Go(func() { a.work(ctx) })
	}
	wg.Wait()
	a.save(true)
}

func (a *Analyzer) signal() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// work is one worker's loop.
func (a *Analyzer) work(ctx context.Context) {
	for ctx.Err() == nil {
		if a.prepare(ctx) {
			continue
		}
		j, ok := a.take()
		if !ok {
			a.save(false)
			select {
			case <-ctx.Done():
				return
			case <-a.wake:
			}
			continue
		}
		a.signal() // more may be queued: let another worker look
		a.process(ctx, j)
		a.save(false)
	}
}

// prepare takes up one station's newest list, if any: it finds which
// paths the cache already knows (stat outside the lock) and queues the
// rest. It reports whether it did anything.
func (a *Analyzer) prepare(ctx context.Context) bool {
	a.mu.Lock()
	var (
		name string
		q    *queue
	)
	for _, n := range a.order {
		if a.stations[n].fresh {
			name, q = n, a.stations[n]
			break
		}
	}
	if q == nil {
		a.mu.Unlock()
		return false
	}
	paths, gen, p := q.incoming, q.gen, q.params
	q.incoming, q.fresh = nil, false
	q.preparing++
	a.mu.Unlock()

	type entry struct {
		path string
		key  fileKey
		ok   bool // a regular file whose key is known
	}
	listed := make(map[string]bool, len(paths))
	list := make([]entry, 0, len(paths))
	for i, path := range paths {
		if i%1024 == 0 && ctx.Err() != nil {
			a.mu.Lock()
			q.preparing--
			a.mu.Unlock()
			return true
		}
		if listed[path] {
			continue
		}
		listed[path] = true
		e := entry{path: path}
		if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
			e.key, e.ok = keyOf(path, fi, p), true
		}
		list = append(list, e)
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	q.preparing--
	if q.gen != gen {
		return true // a newer list came meanwhile: that one counts
	}
	now := a.opts.Now()
	q.batchGen, q.batchParams = gen, p
	q.pending = q.pending[:0]
	q.total, q.measured, q.failed, q.busy = len(list), 0, 0, 0
	for _, e := range list {
		if e.ok {
			if r, hit := a.cache.get(e.key, e.path, now); hit {
				if r.Analysis != nil {
					q.measured++
				} else {
					q.failed++
				}
				continue
			}
		}
		q.pending = append(q.pending, e.path)
	}
	q.lastLog, q.loggedAt = now, q.measured+q.failed
	q.announced = len(q.pending) > 0
	if q.announced {
		a.log.Info("loudness analysis", "station", name, "measured", q.measured, "failed", q.failed, "total", q.total)
	} else {
		a.finish(name, q)
	}
	return true
}

// take pops the next path, serving stations in turn.
func (a *Analyzer) take() (job, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := range a.order {
		idx := (a.turn + i) % len(a.order)
		name := a.order[idx]
		q := a.stations[name]
		if len(q.pending) == 0 {
			continue
		}
		path := q.pending[0]
		q.pending = q.pending[1:]
		q.busy++
		a.turn = idx + 1
		return job{station: name, q: q, gen: q.batchGen, path: path, params: q.batchParams}, true
	}
	return job{}, false
}

// process measures one path, unless the cache knows it by now (another
// station's batch) or another worker is measuring it (then it waits for
// that result).
func (a *Analyzer) process(ctx context.Context, j job) {
	for {
		fi, err := os.Stat(j.path)
		if err == nil && !fi.Mode().IsRegular() {
			err = errors.New("not a regular file")
		}
		if err != nil {
			a.complete(j, false, err)
			return
		}
		k := keyOf(j.path, fi, j.params)
		a.mu.Lock()
		if r, hit := a.cache.get(k, j.path, a.opts.Now()); hit {
			a.mu.Unlock()
			a.complete(j, r.Analysis != nil, nil)
			return
		}
		if ffErr := a.ffmpegErr; ffErr != nil {
			a.mu.Unlock()
			a.complete(j, false, nil) // said once by Run
			return
		}
		if ch, busy := a.inflight[k]; busy {
			a.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				a.abandon(j)
				return
			}
		}
		ch := make(chan struct{})
		a.inflight[k] = ch
		a.mu.Unlock()

		fctx, cancel := context.WithTimeout(ctx, a.opts.FileTimeout)
		res, err := analyze(fctx, a.opts.FFmpegPath, j.path, j.params, a.opts.Now, a.opts.started)
		cancel()
		after, serr := os.Stat(j.path)
		changed := serr != nil || keyOf(j.path, after, j.params) != k

		a.mu.Lock()
		delete(a.inflight, k)
		close(ch)
		if ctx.Err() != nil {
			a.mu.Unlock()
			a.abandon(j)
			return
		}
		now := a.opts.Now()
		switch {
		case changed:
			err = errors.New("the file changed while it was measured; it is measured again when next listed")
		case err == nil:
			r := newRecord(k, j.path, now)
			r.Analysis = &res
			a.cache.put(r, now)
		case errors.Is(err, ErrUndecodable):
			r := newRecord(k, j.path, now)
			r.Error = err.Error()
			a.cache.put(r, now)
		}
		a.mu.Unlock()
		a.complete(j, err == nil, err)
		return
	}
}

// complete counts a handled path in its station's batch (unless a newer
// list replaced that batch) and logs a failure's reason.
func (a *Analyzer) complete(j job, ok bool, err error) {
	if err != nil {
		a.log.Warn("loudness analysis failed; the track plays unlevelled", "station", j.station, "file", filepath.Base(j.path), "error", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	q := j.q
	if j.gen != q.batchGen {
		return
	}
	q.busy--
	if ok {
		q.measured++
	} else {
		q.failed++
	}
	if len(q.pending) == 0 && q.busy == 0 {
		a.finish(j.station, q)
		return
	}
	now := a.opts.Now()
	handled := q.measured + q.failed
	if handled-q.loggedAt >= max(q.total/10, 1) || now.Sub(q.lastLog) >= progressEvery {
		q.lastLog, q.loggedAt = now, handled
		a.log.Info("loudness analysis", "station", j.station, "measured", q.measured, "failed", q.failed, "total", q.total)
	}
}

// abandon un-counts a path left when Run ended.
func (a *Analyzer) abandon(j job) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if j.gen == j.q.batchGen {
		j.q.busy--
	}
}

// finish ends a station's batch: the last line, Done's channel (unless a
// newer list is waiting to be taken up) and a save soon. Called with mu
// held.
func (a *Analyzer) finish(station string, q *queue) {
	lvl := slog.LevelDebug
	if q.announced {
		lvl = slog.LevelInfo
	}
	a.log.Log(context.Background(), lvl, "loudness analysis", "station", station,
		"measured", q.measured, "failed", q.failed, "total", q.total, "done", true)
	a.saveSoon = true
	if !q.fresh && q.preparing == 0 && !q.finished {
		close(q.done)
		q.finished = true
	}
}

// save writes the cache file if it changed and a save is due (force: at
// exit). A failure is logged and retried at the next save.
func (a *Analyzer) save(force bool) {
	if a.opts.CachePath == "" {
		return
	}
	a.saveMu.Lock()
	defer a.saveMu.Unlock()
	a.mu.Lock()
	now := a.opts.Now()
	if !a.cache.dirty || !force && !a.saveSoon && now.Sub(a.lastSave) < saveEvery {
		a.mu.Unlock()
		return
	}
	a.cache.prune(now)
	records := a.cache.records()
	a.cache.dirty, a.saveSoon, a.lastSave = false, false, now
	a.mu.Unlock()
	if err := writeCache(a.opts.CachePath, records); err != nil {
		a.log.Warn("loudness cache not saved", "error", err)
		a.mu.Lock()
		a.cache.dirty = true
		a.mu.Unlock()
	}
}
