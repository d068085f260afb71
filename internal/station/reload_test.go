package station_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/station"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// loadFile is config.Load of a configuration file with text, and no
// environment.
func loadFile(t *testing.T, text string) *config.Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load([]string{"--config", path}, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// folders makes n folders with a short MP3 each.
func folders(t *testing.T, n int) []string {
	t.Helper()
	out := make([]string, n)
	for i := range out {
		out[i] = t.TempDir()
		testmedia.WriteFile(t, out[i], "a.mp3", testmedia.Frames(400))
	}
	return out
}

func stepsByRoute(p station.Plan) map[string]station.Step {
	m := map[string]station.Step{}
	for _, s := range p.Steps {
		m[s.Route] = s
	}
	return m
}

// TestPlan: an unchanged station is kept, one with only soft changes is
// updated, a changed burst applies live, a changed folder restarts its station, and routes
// are added and removed; the server-wide keys that changed are named.
func TestPlan(t *testing.T) {
	d := folders(t, 3)
	was := loadFile(t, `
port = 9000
audio_dir = "`+d[0]+`"
[[station]]
route = "/keep"
dir = "`+d[1]+`"
[[station]]
route = "/soft"
dir = "`+d[1]+`"
name = "Old"
[[station]]
route = "/hard"
dir = "`+d[1]+`"
[[station]]
route = "/burst"
dir = "`+d[1]+`"
[[station]]
route = "/gone"
dir = "`+d[1]+`"
`)
	now := loadFile(t, `
port = 9001
audio_dir = "`+d[0]+`"
[[station]]
route = "/keep"
dir = "`+d[1]+`"
[[station]]
route = "/soft"
dir = "`+d[1]+`"
name = "New"
genre = "Jazz"
max_listeners = 3
[[station]]
route = "/hard"
dir = "`+d[2]+`"
[[station]]
route = "/burst"
dir = "`+d[1]+`"
burst = "1s"
[[station]]
route = "/new"
dir = "`+d[2]+`"
`)
	running, err := station.BuildAll(was, station.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	plan := station.NewPlan(running, was, now)
	got := stepsByRoute(plan)
	for route, want := range map[string]station.Action{
		"/": station.Keep, "/keep": station.Keep, "/soft": station.Update, "/hard": station.Restart,
		"/burst": station.Update, "/new": station.Add, "/gone": station.Remove,
	} {
		if got[route].Action != want {
			t.Errorf("%s: %v (changed %v), want %v", route, got[route].Action, got[route].Changed, want)
		}
	}
	if c := got["/soft"].Changed; !reflect.DeepEqual(c, []string{"name", "genre", "max_listeners"}) {
		t.Errorf("/soft changed %v, want name, genre, max_listeners", c)
	}
	if c := got["/hard"].Changed; !reflect.DeepEqual(c, []string{"dir"}) {
		t.Errorf("/hard changed %v, want dir", c)
	}
	if last := plan.Steps[len(plan.Steps)-1]; last.Route != "/gone" {
		t.Errorf("last step %s, want the removal", last.Route)
	}
	if !reflect.DeepEqual(plan.Ignored, []string{"port"}) {
		t.Errorf("Ignored = %v, want [port]", plan.Ignored)
	}
}

// TestPlanRestartsMirrorsOfRestartedStations: a station playing another
// route as its fallback plays that route's running station, so it is
// replaced along with it.
func TestPlanRestartsMirrorsOfRestartedStations(t *testing.T) {
	d := folders(t, 2)
	conf := func(dir string) string {
		return `
audio_dir = "` + d[0] + `"
[[station]]
route = "/main"
dir = "` + dir + `"
[[station]]
route = "/mirror"
source_password = "x"
fallback = "/main"
`
	}
	was, same, moved := loadFile(t, conf(d[0])), loadFile(t, conf(d[0])), loadFile(t, conf(d[1]))
	running, err := station.BuildAll(was, station.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if a := stepsByRoute(station.NewPlan(running, was, same))["/mirror"].Action; a != station.Keep {
		t.Errorf("unchanged: /mirror %v, want keep", a)
	}
	if a := stepsByRoute(station.NewPlan(running, was, moved))["/mirror"].Action; a != station.Restart {
		t.Errorf("fallback's folder changed: /mirror %v, want restart", a)
	}
}

// TestPlanJingleTitleFollowsName: Load copies a station's name into its
// jingle title; renaming a station without jingles is a soft change, one
// with jingles changes what its jingles show, which needs a restart.
func TestPlanJingleTitleFollowsName(t *testing.T) {
	d := folders(t, 2)
	conf := func(name, jingles string) string {
		return `
audio_dir = "` + d[0] + `"
[[station]]
route = "/"
name = "` + name + `"
` + jingles
	}
	for _, tc := range []struct {
		jingles string
		want    station.Action
	}{
		{"", station.Update},
		{"jingles = \"" + d[1] + "\"\njingle_every = 3\n", station.Restart},
	} {
		was, now := loadFile(t, conf("A", tc.jingles)), loadFile(t, conf("B", tc.jingles))
		running, err := station.BuildAll(was, station.Deps{})
		if err != nil {
			t.Fatal(err)
		}
		if a := stepsByRoute(station.NewPlan(running, was, now))["/"].Action; a != tc.want {
			t.Errorf("jingles %q: %v, want %v", tc.jingles, a, tc.want)
		}
	}
}

// TestRunnerApply: the kept and updated stations are the same running
// stations (the updated one with its new profile), the restarted and
// added ones are new and play, the replaced and removed ones stop, and
// the list handed to publish is the new configuration's.
func TestRunnerApply(t *testing.T) {
	d := folders(t, 3)
	was := loadFile(t, `
audio_dir = "`+d[0]+`"
[[station]]
route = "/soft"
dir = "`+d[1]+`"
name = "Old"
[[station]]
route = "/hard"
dir = "`+d[1]+`"
[[station]]
route = "/gone"
dir = "`+d[1]+`"
`)
	now := loadFile(t, `
audio_dir = "`+d[0]+`"
[[station]]
route = "/soft"
dir = "`+d[1]+`"
name = "New"
max_listeners = 7
[[station]]
route = "/hard"
dir = "`+d[2]+`"
[[station]]
route = "/new"
dir = "`+d[2]+`"
`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stations, err := station.BuildAll(was, station.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	r := station.Run(ctx, was, stations, station.Deps{})
	defer r.Wait()
	defer cancel()
	old := map[string]*station.Station{}
	for _, st := range stations {
		old[st.Profile().Route] = st
		waitReady(t, st)
	}
	var published []*station.Station
	sum, err := r.Apply(now, func(list []*station.Station) { published = list })
	if err != nil {
		t.Fatal(err)
	}
	want := station.Summary{Added: []string{"/new"}, Removed: []string{"/gone"}, Updated: []string{"/soft"}, Restarted: []string{"/hard"}}
	if !reflect.DeepEqual(sum, want) {
		t.Errorf("summary %+v, want %+v", sum, want)
	}
	routes := make([]string, len(published))
	for i, st := range published {
		routes[i] = st.Profile().Route
	}
	if !slices.Equal(routes, []string{"/", "/soft", "/hard", "/new"}) {
		t.Fatalf("published %v", routes)
	}
	if !slices.Equal(published, r.Stations()) {
		t.Error("Stations() differs from the published list")
	}
	if published[0] != old["/"] || published[1] != old["/soft"] {
		t.Error("an unchanged or updated station was replaced")
	}
	if p := published[1].Profile(); p.Name != "New" || p.MaxListeners != 7 {
		t.Errorf("updated profile %+v", p)
	}
	if s := published[1].Settings(); s.Name != "New" || s.MaxListeners != 7 {
		t.Errorf("updated settings name %q max_listeners %d", s.Name, s.MaxListeners)
	}
	if published[2] == old["/hard"] || published[2].Settings().Dir != d[2] {
		t.Error("/hard was not rebuilt on its new folder")
	}
	for _, st := range published[2:] {
		waitReady(t, st)
	}
	for _, route := range []string{"/hard", "/gone"} {
		stopped := make(chan struct{})
		go func() { old[route].Wait(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s still runs after the reload", route)
		}
	}
	if !old["/"].Ready() || !old["/soft"].Ready() {
		t.Error("a kept station stopped")
	}
}

func waitReady(t *testing.T, st *station.Station) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := st.WaitReady(ctx); err != nil {
		t.Fatalf("%s not ready: %v", st.Profile().Route, err)
	}
}
