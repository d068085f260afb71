package config_test

import (
	"strings"
	"testing"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
)

func TestSyncSettings(t *testing.T) {
	file := writeTOML(t, `
[[station]]
route = "/plain"
dir = "/m"
[[station]]
route = "/off"
dir = "/m"
sync = "off"
[[station]]
route = "/clock"
dir = "/m"
sync = "Clock"
[[station]]
route = "/seeded"
dir = "/m"
sync = "clock"
sync_seed = 42
[[station]]
route = "/named"
dir = "/m"
sync = "clock"
sync_seed = "winter"
`)
	c := mustLoad(t, []string{"--config", file}, nil)
	want := map[string][2]string{
		"/plain":  {config.SyncOff, ""},
		"/off":    {config.SyncOff, ""},
		"/clock":  {config.SyncClock, "/clock"}, // the seed defaults to the route
		"/seeded": {config.SyncClock, "42"},
		"/named":  {config.SyncClock, "winter"},
	}
	for _, st := range c.Stations {
		if w, ok := want[st.Route]; ok && (st.Sync != w[0] || st.SyncSeed != w[1]) {
			t.Errorf("%s: sync %q seed %q, want %q %q", st.Route, st.Sync, st.SyncSeed, w[0], w[1])
		}
	}
}

// What would make instances of a clock-synced station differ is refused,
// naming the key and its line; inherited levelling is turned off instead.
func TestSyncRefusals(t *testing.T) {
	for _, tc := range []struct{ station, want string }{
		{"sync = \"clock\"\nmode = \"individual\"", "station.mode"},
		{"sync = \"clock\"\ntranscode = \"always\"", "station.transcode"},
		{"sync = \"clock\"\nafter_live = \"resume\"", "station.after_live"},
		{"sync = \"clock\"\nloudness = \"-16 LUFS\"", "station.loudness"},
		{"sync = \"clock\"\ntrim_silence = true", "station.trim_silence"},
		{"sync = \"clock\"\njingles = \"/j\"\njingle_every = 3", "station.jingles"},
		{"sync = \"sometimes\"", `station.sync: "sometimes"`},
		{"sync_seed = \"x\"", "station.sync_seed"},
		{"sync = \"clock\"\nsync_seed = 1.5", "station.sync_seed"},
	} {
		file := writeTOML(t, "[[station]]\nroute = \"/s\"\ndir = \"/m\"\n"+tc.station+"\n")
		_, err := config.Load([]string{"--config", file}, envOf(nil))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one about %s", tc.station, err, tc.want)
		}
	}
	file := writeTOML(t, "[[station]]\nroute = \"/live\"\nrelay = \"http://up.example/s\"\nsync = \"clock\"\n")
	if _, err := config.Load([]string{"--config", file}, envOf(nil)); err == nil || !strings.Contains(err.Error(), "a folder") {
		t.Errorf("a station without a folder: error %v, want one asking for a folder", err)
	}

	file = writeTOML(t, "[[station]]\nroute = \"/s\"\ndir = \"/m\"\nsync = \"clock\"\n")
	c := mustLoad(t, []string{"--config", file, "--loudness", "-16", "--trim-silence"}, nil)
	for _, st := range c.Stations {
		if st.Route == "/s" && (st.Loudness != 0 || st.TrimSilence) {
			t.Errorf("inherited loudness %v trim_silence %v kept on a clock-synced station", st.Loudness, st.TrimSilence)
		}
	}
	if !strings.Contains(strings.Join(c.Warnings, "\n"), "clock-synced") {
		t.Errorf("no warning about the levelling turned off: %q", c.Warnings)
	}
}
