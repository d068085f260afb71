package station

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/loudness"
	"github.com/aposazhennikov/stream-audio-to-web/internal/transcode"
)

// A reload applies a freshly loaded configuration to running stations,
// route by route (NewPlan decides, Runner.Apply does it):
//
//   - a station whose settings did not change keeps running: its
//     listeners, its ring, its place in the playlist;
//   - a station whose only changes are soft settings (softKeys: what
//     listeners and status pages are told, and the listener limits) is
//     updated in place (Station.Update): nobody is dropped, new listeners
//     get the new response head;
//   - any other change (folder, mode, burst, format, sources, programme…)
//     builds a new station for the route, starts it and stops the old one,
//     whose listeners are dropped: that station only. So does a station
//     whose fallback route restarts, as its mirror plays the old one;
//   - added routes are built and started, removed ones stopped.
//
// Server-wide settings (port, TLS, state_dir, buffer_size, …) apply at
// the next start only: new stations are built with the values of the
// running configuration, and the plan names the changed keys (Ignored) so
// the operator is told.

// softKeys are the station settings a running station takes without a
// restart (the toml keys of config.Station). jingle_title is soft too
// while the station plays no jingles (Load copies the name into it).
var softKeys = map[string]bool{
	"name": true, "description": true, "genre": true, "url": true, "public": true, "image": true,
	"max_listeners": true, "max_private_streams": true, "icy_metaint": true, "legacy_icy_status": true,
	"burst": true,
}

// stationDefaults are the top-level keys that are only defaults of
// station settings: their changes show, and apply, as station changes.
var stationDefaults = map[string]bool{
	"audio_dir": true, "stream_mode": true, "burst": true, "icy_metaint": true,
	"source_password": true, "source_timeout": true, "timezone": true,
}

// Action is what a reload does with one route.
type Action int

const (
	// Keep leaves the running station as it is.
	Keep Action = iota
	// Update applies changed soft settings to the running station.
	Update
	// Restart replaces the running station with a new one (its listeners
	// are dropped).
	Restart
	// Add builds and starts a station for a new route.
	Add
	// Remove stops the station of a route no longer configured.
	Remove
)

// String is the action's name in logs.
func (a Action) String() string {
	return [...]string{"keep", "update", "restart", "add", "remove"}[a]
}

// Step is what a reload does with one route.
type Step struct {
	Route  string
	Action Action
	// Old is the running station; nil for Add.
	Old *Station
	// Set are the route's new settings; zero for Remove.
	Set config.Station
	// Changed names the settings that differ (toml keys), or why a
	// station restarts whose own settings did not change.
	Changed []string
}

// Plan is what a reload does: one Step per route, in the new
// configuration's order, removed routes last.
type Plan struct {
	Steps []Step
	// Ignored are the server-wide keys whose new values apply only after
	// a restart of the process.
	Ignored []string
}

// NewPlan compares the running stations, built from was, with the
// configuration now and says what to do with each route. It changes
// nothing.
func NewPlan(running []*Station, was, now *config.Config) Plan {
	var plan Plan
	byRoute := map[string]*Station{}
	for _, st := range running {
		byRoute[st.settings.Route] = st
	}
	restarts := map[string]bool{}
	for _, set := range now.Stations {
		old := byRoute[set.Route]
		step := Step{Route: set.Route, Old: old, Set: set}
		if old == nil {
			step.Action = Add
		} else {
			step.Changed = changedKeys(old.configured(was), set)
			switch {
			case len(step.Changed) == 0:
				step.Action = Keep
			case slices.ContainsFunc(step.Changed, func(k string) bool { return !softKeys[k] }):
				step.Action = Restart
			default:
				step.Action = Update
			}
		}
		if step.Action == Add || step.Action == Restart {
			restarts[set.Route] = true
		}
		plan.Steps = append(plan.Steps, step)
	}
	// A mirror plays its fallback's running station: when that one is
	// replaced, so is the mirror's (until nothing more changes).
	for again := true; again; {
		again = false
		for i := range plan.Steps {
			st := &plan.Steps[i]
			if st.Action != Keep && st.Action != Update || st.Set.Fallback == "" || !restarts[st.Set.Fallback] {
				continue
			}
			st.Action = Restart
			st.Changed = append(st.Changed, "fallback "+st.Set.Fallback+" restarts")
			restarts[st.Route] = true
			again = true
		}
	}
	kept := map[string]bool{}
	for _, set := range now.Stations {
		kept[set.Route] = true
	}
	for _, st := range running {
		if !kept[st.settings.Route] {
			plan.Steps = append(plan.Steps, Step{Route: st.settings.Route, Action: Remove, Old: st})
		}
	}
	plan.Ignored = changedServerKeys(was, now)
	return plan
}

// configured is the station's settings as the configuration wrote them:
// the default audio folder rather than the demo playing in its place.
func (s *Station) configured(was *config.Config) config.Station {
	set := s.Settings()
	if s.demo {
		set.Dir = was.AudioDir
	}
	return set
}

// changedKeys lists the toml keys whose values differ between a and b.
func changedKeys(a, b config.Station) []string {
	if a.Jingles == "" && b.Jingles == "" {
		a.JingleTitle, b.JingleTitle = "", "" // unused: only a copy of the name
	}
	return diffKeys(reflect.ValueOf(a), reflect.ValueOf(b), nil)
}

// changedServerKeys lists the top-level keys (not the stations, nor the
// keys that are only their defaults) whose values differ.
func changedServerKeys(was, now *config.Config) []string {
	return diffKeys(reflect.ValueOf(*was), reflect.ValueOf(*now), func(key string) bool {
		return key == "station" || stationDefaults[key]
	})
}

// diffKeys compares two structs of the same type field by field and
// returns the toml keys of those that differ, except those skip names.
func diffKeys(a, b reflect.Value, skip func(string) bool) []string {
	var out []string
	t := a.Type()
	for i := range t.NumField() {
		key, _, _ := strings.Cut(t.Field(i).Tag.Get("toml"), ",")
		if key == "" || key == "-" || skip != nil && skip(key) {
			continue
		}
		if !reflect.DeepEqual(a.Field(i).Interface(), b.Field(i).Interface()) {
			out = append(out, key)
		}
	}
	return out
}

// Update applies new soft settings (see softKeys) to a running station:
// new listeners and status pages see them at once, connected listeners
// keep their stream. set must differ from the station's settings in soft
// keys only (NewPlan's Update); other fields of set are ignored.
func (s *Station) Update(set config.Station) {
	cur := s.Settings()
	cur.Name, cur.Description, cur.Genre, cur.URL = set.Name, set.Description, set.Genre, set.URL
	cur.Public, cur.Image, cur.MaxListeners, cur.MaxPrivateStreams = set.Public, set.Image, set.MaxListeners, set.MaxPrivateStreams
	cur.Metaint, cur.LegacyICYStatus = set.Metaint, set.LegacyICYStatus
	if cur.Burst != set.Burst {
		cur.Burst = set.Burst
		s.mount.SetBurst(set.Burst.Duration, set.Burst.Bytes)
	}
	if cur.Jingles == "" {
		cur.JingleTitle = set.JingleTitle
	}
	p := s.profile.Load()
	np := *p
	np.Name, np.Description, np.Genre, np.URL = cur.Name, cur.Description, cur.Genre, cur.URL
	np.Public, np.Image, np.MaxListeners, np.MaxPrivateStreams = cur.Public, cur.Image, cur.MaxListeners, cur.MaxPrivateStreams
	np.Metaint, np.LegacyICYStatus = cur.Metaint, cur.LegacyICYStatus
	s.current.Store(&cur)
	s.profile.Store(&np)
}

// Summary is what a reload did, by route.
type Summary struct {
	Added, Removed, Updated, Restarted []string
	// Ignored are the server-wide keys that changed and apply only after
	// a restart of the process.
	Ignored []string
}

// String is the summary in one log line.
func (s Summary) String() string {
	part := func(name string, routes []string) string {
		if len(routes) == 0 {
			return ""
		}
		return name + " " + strings.Join(routes, " ")
	}
	parts := slices.DeleteFunc([]string{
		part("added", s.Added), part("removed", s.Removed), part("updated", s.Updated),
		part("restarted", s.Restarted), part("needs a restart of the process:", s.Ignored),
	}, func(p string) bool { return p == "" })
	if len(parts) == 0 {
		return "no station changed"
	}
	return strings.Join(parts, "; ")
}

// Runner runs a process's stations, each under its own context, so that
// a reload can stop one and leave the others playing. Make it with Run.
type Runner struct {
	ctx  context.Context
	deps Deps
	log  *slog.Logger

	mu    sync.Mutex // one Apply at a time; guards the fields below
	cfg   *config.Config
	list  []*Station
	stops map[*Station]context.CancelFunc
	// an is the loudness analyzer all stations share, run by the Runner
	// (nil until a station levels or trims).
	an      *loudness.Analyzer
	servers *transcode.Limiter // the server-wide encoder limiter

	wg sync.WaitGroup // the stations stopped by reloads, the analyzer
}

// Run starts stations, built by BuildAll from cfg with deps, each under
// a context of its own below ctx; they all stop when ctx ends (Wait
// waits for that).
func Run(ctx context.Context, cfg *config.Config, stations []*Station, deps Deps) *Runner {
	r := &Runner{ctx: ctx, deps: deps, log: deps.Logger, cfg: cfg, list: stations, stops: map[*Station]context.CancelFunc{}}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	owned := false
	for _, st := range stations {
		if l := st.levels; l != nil {
			r.an = l.an
			owned = owned || l.runs
			l.runs = false // the Runner runs it: its station may be stopped by a reload
		}
		if r.servers == nil {
			r.servers = st.encoders.Parent()
		}
	}
	if owned {
		r.wg.Go(func() { r.an.Run(ctx) })
	}
	for _, st := range stations {
		r.start(st)
	}
	return r
}

func (r *Runner) start(st *Station) {
	ctx, stop := context.WithCancel(r.ctx)
	r.stops[st] = stop
	st.Start(ctx)
}

// Stations are the running stations in configuration order.
func (r *Runner) Stations() []*Station {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.list)
}

// Wait returns when every station, and the analyzer, has stopped.
func (r *Runner) Wait() {
	r.mu.Lock()
	list := slices.Clone(r.list)
	r.mu.Unlock()
	for _, st := range list {
		st.Wait()
	}
	r.wg.Wait()
}

// Apply makes the running stations those of now (see NewPlan). Every new
// station is built first: if one cannot be, Apply returns the error and
// nothing has changed. Otherwise soft changes are applied, new stations
// started, publish is called with the new list (in now's order; the
// server switches to it) unless it is the same, and then the replaced and
// removed stations are stopped. Server-wide settings keep their running
// values.
func (r *Runner) Apply(now *config.Config, publish func([]*Station)) (Summary, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.ctx.Err(); err != nil {
		return Summary{}, fmt.Errorf("stations are stopping: %w", err)
	}
	plan := NewPlan(r.list, r.cfg, now)
	// Server-wide values stay those of the start; the defaults of
	// station settings are already in now's stations.
	next := *r.cfg
	next.Stations, next.Warnings = now.Stations, nil
	next.AudioDir, next.AudioDirSet, next.StreamMode, next.Burst, next.Metaint = now.AudioDir, now.AudioDirSet, now.StreamMode, now.Burst, now.Metaint
	next.SourcePassword, next.SourceTimeout, next.Timezone = now.SourcePassword, now.SourceTimeout, now.Timezone

	built, an, err := r.build(&next, plan)
	if err != nil {
		return Summary{}, err
	}
	sum := Summary{Ignored: plan.Ignored}
	list := make([]*Station, 0, len(now.Stations))
	var retired []*Station
	for _, step := range plan.Steps {
		switch step.Action {
		case Keep:
			list = append(list, step.Old)
		case Update:
			step.Old.Update(step.Set)
			list = append(list, step.Old)
			sum.Updated = append(sum.Updated, step.Route)
		case Restart:
			list = append(list, built[step.Route])
			retired = append(retired, step.Old)
			sum.Restarted = append(sum.Restarted, step.Route)
		case Add:
			list = append(list, built[step.Route])
			sum.Added = append(sum.Added, step.Route)
		case Remove:
			retired = append(retired, step.Old)
			sum.Removed = append(sum.Removed, step.Route)
		}
		if step.Action != Keep && step.Action != Remove {
			r.log.Info("station reloaded", "route", step.Route, "action", step.Action.String(), "changed", strings.Join(step.Changed, ","))
		}
	}
	if an != nil && r.an == nil {
		r.an = an
		r.wg.Go(func() { an.Run(r.ctx) })
	}
	for _, st := range list {
		if built[st.settings.Route] == st {
			r.start(st)
		}
	}
	r.list, r.cfg = list, &next
	if len(built) > 0 || len(retired) > 0 {
		publish(slices.Clone(list)) // updates are in place: the list is the same
	}
	for _, st := range retired {
		r.stops[st]()
		delete(r.stops, st)
		r.log.Info("station stopped by a reload", "route", st.settings.Route, "listeners_dropped", st.Listeners())
		r.wg.Go(st.Wait)
	}
	return sum, nil
}

// build makes the stations a plan adds or restarts, by route, with the
// running encoder limiter and analyzer (a new analyzer, returned, when
// none runs and a new station needs one). Nothing is started.
func (r *Runner) build(cfg *config.Config, plan Plan) (map[string]*Station, *loudness.Analyzer, error) {
	var sets []config.Station
	for _, step := range plan.Steps {
		if step.Action == Add || step.Action == Restart {
			sets = append(sets, step.Set)
		}
	}
	built := map[string]*Station{}
	if len(sets) == 0 {
		return built, nil, nil
	}
	deps := r.deps
	deps.Encoders = r.servers
	if deps.Encoders == nil {
		deps.Encoders = transcode.NewLimiter(cfg.MaxEncoders)
	}
	an := r.an
	if an == nil && deps.FFmpeg == nil && slices.ContainsFunc(sets, wantsLevelling) {
		an = NewAnalyzer(cfg, deps)
	}
	deps.Loudness = an
	demoDir, err := r.demoDir(cfg, sets)
	if err != nil {
		return nil, nil, err
	}
	for _, set := range sets {
		usesDemo := demoDir != "" && set.Dir == cfg.AudioDir
		if usesDemo {
			set.Dir = demoDir
		}
		st, err := Build(cfg, set, deps)
		if err != nil {
			return nil, nil, fmt.Errorf("station %s: %w", set.Route, err)
		}
		st.demo = usesDemo
		built[set.Route] = st
	}
	// New mirrors play their fallback's new station, or the running one.
	for _, st := range built {
		m := st.live.mirror
		if m == nil {
			continue
		}
		fb := built[st.settings.Fallback]
		if fb == nil {
			fb = r.running(st.settings.Fallback)
		}
		if fb != nil {
			m.Station = fb.mount.Radio
		}
	}
	return built, an, nil
}

// demoDir is the folder of the demo for new stations playing the
// default audio folder: the running demo's, or a fresh extraction when
// the folder is still unconfigured and empty; "" when none plays it.
func (r *Runner) demoDir(cfg *config.Config, sets []config.Station) (string, error) {
	if cfg.AudioDirSet || !slices.ContainsFunc(sets, func(s config.Station) bool { return s.Dir == cfg.AudioDir }) {
		return "", nil
	}
	for _, st := range r.list {
		if st.demo && cfg.AudioDir == r.cfg.AudioDir {
			return st.settings.Dir, nil
		}
	}
	probe := *cfg
	probe.Stations = sets
	return demoFor(&probe, r.deps)
}

// running is the running station of route; nil if none.
func (r *Runner) running(route string) *Station {
	for _, st := range r.list {
		if st.settings.Route == route {
			return st
		}
	}
	return nil
}
