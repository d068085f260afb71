package config_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/schedule"
)

// TestLevels: loudness and silence_threshold take a TOML number or text
// with or without the unit, stored as a float; loudness "off" (or 0) is 0.
func TestLevels(t *testing.T) {
	tests := []struct {
		key, value string // as written in the file
		want       float64
	}{
		{"loudness", `"off"`, 0},
		{"loudness", `"Off"`, 0},
		{"loudness", `0`, 0},
		{"loudness", `"-16 LUFS"`, -16},
		{"loudness", `"-16"`, -16},
		{"loudness", `"-16LUFS"`, -16},
		{"loudness", `" -23 lufs "`, -23},
		{"loudness", `-16`, -16},
		{"loudness", `-14.5`, -14.5},
		{"loudness", `"-30 LUFS"`, -30},
		{"loudness", `-5`, -5},
		{"silence_threshold", `"-50 dBFS"`, -50},
		{"silence_threshold", `"-60dB"`, -60},
		{"silence_threshold", `"-45.5 dbfs"`, -45.5},
		{"silence_threshold", `"-70"`, -70},
		{"silence_threshold", `-90`, -90},
		{"silence_threshold", `-20.0`, -20},
	}
	for _, tt := range tests {
		file := writeTOML(t, "[[station]]\nroute = \"/a\"\n"+tt.key+" = "+tt.value+"\n")
		st := station(t, mustLoad(t, []string{"--config", file}, nil), "/a")
		got := st.Loudness
		if tt.key == "silence_threshold" {
			got = st.SilenceThreshold
		}
		if got != tt.want {
			t.Errorf("%s = %s: got %v, want %v", tt.key, tt.value, got, tt.want)
		}
	}
}

// TestStationDefaultsFromFlagsAndEnv: --loudness / LOUDNESS and
// --trim-silence / TRIM_SILENCE set the default of every station (the flag
// over the env); a station's own key beats both.
func TestStationDefaultsFromFlagsAndEnv(t *testing.T) {
	file := writeTOML(t, `
[[station]]
route = "/own"
loudness = "-14 LUFS"
trim_silence = false
[[station]]
route = "/plain"
`)
	type levels struct {
		loudness float64
		trim     bool
	}
	tests := []struct {
		name               string
		args               []string
		env                map[string]string
		wantOwn, wantPlain levels
	}{
		{"built in", nil, nil, levels{-14, false}, levels{0, false}},
		{"env", nil, map[string]string{"LOUDNESS": "-18 LUFS", "TRIM_SILENCE": "yes"}, levels{-14, false}, levels{-18, true}},
		{"flag over env", []string{"--loudness", "off", "--trim-silence=false"}, map[string]string{"LOUDNESS": "-18", "TRIM_SILENCE": "1"},
			levels{-14, false}, levels{0, false}},
		{"bare bool flag", []string{"--trim-silence", "--loudness=-20LUFS"}, nil, levels{-14, false}, levels{-20, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustLoad(t, append(slices.Clone(tt.args), "--config", file), tt.env)
			for route, want := range map[string]levels{"/own": tt.wantOwn, "/plain": tt.wantPlain, "/": tt.wantPlain} {
				st := station(t, c, route)
				if got := (levels{st.Loudness, st.TrimSilence}); got != want {
					t.Errorf("%s: got %+v, want %+v", route, got, want)
				}
				if st.SilenceThreshold != -50 {
					t.Errorf("%s: silence_threshold %v, want the default -50", route, st.SilenceThreshold)
				}
			}
		})
	}
}

func TestTimezone(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		file string
		want string
	}{
		{"default", nil, nil, "", "UTC"},
		{"file", nil, nil, "timezone = \" Europe/Berlin \"\n", "Europe/Berlin"},
		{"env over file", nil, map[string]string{"TIMEZONE": "Asia/Tokyo"}, "timezone = \"Europe/Berlin\"\n", "Asia/Tokyo"},
		{"flag over env", []string{"--timezone", "Local"}, map[string]string{"TIMEZONE": "Asia/Tokyo"}, "", "Local"},
		{"TZ is not read", nil, map[string]string{"TZ": "Asia/Tokyo"}, "", "UTC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.file != "" {
				args = append(slices.Clone(args), "--config", writeTOML(t, tt.file))
			}
			if got := mustLoad(t, args, tt.env).Timezone; got != tt.want {
				t.Errorf("Timezone = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestJingles: jingle settings as given, jingle_title following the
// station's name, and the warning for a jingles folder that is missing.
func TestJingles(t *testing.T) {
	home := t.TempDir()
	jingles := filepath.Join(home, "jingles")
	if err := os.Mkdir(jingles, 0o755); err != nil {
		t.Fatal(err)
	}
	file := writeTOML(t, `
[[station]]
route = "/count"
name = "Count FM"
jingles = "~/jingles/"
jingle_every = 4
[[station]]
route = "/clock"
jingles = "/nowhere/ids.m3u"
jingle_interval = "30m"
jingle_title = "You are listening to Clock"
[[station]]
route = "/solo"
mode = "individual"
jingles = "~/jingles"
jingle_every = 1000
jingle_interval = "24h"
jingle_title = ""
[[station]]
route = "/none"
jingle_every = 0
jingle_interval = "0"
`)
	c := mustLoad(t, []string{"--config", file}, map[string]string{"HOME": home})
	type jingleSettings struct {
		dir      string
		every    int
		interval time.Duration
		title    string
	}
	for route, want := range map[string]jingleSettings{
		"/count": {jingles, 4, 0, "Count FM"},
		"/clock": {"/nowhere/ids.m3u", 0, 30 * time.Minute, "You are listening to Clock"},
		"/solo":  {jingles, 1000, 24 * time.Hour, ""},
		"/none":  {"", 0, 0, "audio-streamer /none"},
		"/":      {"", 0, 0, "audio-streamer /"},
	} {
		st := station(t, c, route)
		if got := (jingleSettings{st.Jingles, st.JingleEvery, st.JingleInterval, st.JingleTitle}); got != want {
			t.Errorf("%s: got %+v, want %+v", route, got, want)
		}
	}
	want := "jingles /nowhere/ids.m3u for route /clock does not exist; no jingle plays until it does"
	if !slices.Contains(c.Warnings, want) {
		t.Errorf("Warnings = %q, want %q among them", c.Warnings, want)
	}
	for _, w := range c.Warnings {
		if strings.Contains(w, jingles) {
			t.Errorf("warning about an existing jingles folder: %q", w)
		}
	}
}

// TestSchedule: blocks are stored checked and normalised, and
// BuildSchedule gives the schedule they describe.
func TestSchedule(t *testing.T) {
	home := t.TempDir()
	file := writeTOML(t, `
timezone = "Europe/Berlin"

[[station]]
route = "/shows"
dir = "/music"
source_password = "dj"

[[station.schedule]]
name = " Morning "
days = "Mon-Fri"
start = "7:00"
end = "10:00"
plays = "/shows/morning/"

[[station.schedule]]
name = "Friday live"
days = "fri"
start = "22:00"
end = "02:00"
zone = "America/New_York"
plays = "LIVE"
fallback = "~/friday.m3u"
cut = true

[[station.schedule]]
days = "sun"
start = "12:00"
end = "00:00"
plays = "./live/"
`)
	c := mustLoad(t, []string{"--config", file}, map[string]string{"HOME": home})
	shows := station(t, c, "/shows")
	want := []config.ScheduleSlot{
		{Name: "Morning", Days: "weekdays", Start: "07:00", End: "10:00", Zone: "Europe/Berlin", Plays: "/shows/morning"},
		{Name: "Friday live", Days: "fri", Start: "22:00", End: "02:00", Zone: "America/New_York", Plays: config.PlaysLive,
			Fallback: filepath.Join(home, "friday.m3u"), Cut: true},
		{Days: "sun", Start: "12:00", End: "24:00", Zone: "Europe/Berlin", Plays: "./live"},
	}
	if !reflect.DeepEqual(shows.Schedule, want) {
		t.Errorf("Schedule\n got %+v\nwant %+v", shows.Schedule, want)
	}

	sched, err := shows.BuildSchedule()
	if err != nil {
		t.Fatal(err)
	}
	if sched.Default() != "/music" {
		t.Errorf("Default() = %q, want the station's dir", sched.Default())
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	newYork, _ := time.LoadLocation("America/New_York")
	at := []struct {
		when  time.Time
		index int
		plays string
	}{
		{time.Date(2026, 3, 2, 8, 0, 0, 0, berlin), 0, "/shows/morning"}, // a Monday
		{time.Date(2026, 3, 2, 10, 0, 0, 0, berlin), -1, "/music"},
		{time.Date(2026, 3, 7, 1, 0, 0, 0, newYork), 1, config.PlaysLive}, // the Friday show past midnight
		{time.Date(2026, 3, 8, 13, 0, 0, 0, berlin), 2, "./live"},         // a Sunday
		{time.Date(2026, 3, 8, 23, 59, 0, 0, berlin), 2, "./live"},
	}
	for _, a := range at {
		active, _ := sched.At(a.when)
		if active.Index != a.index || active.Plays != a.plays {
			t.Errorf("At(%s) = slot %d playing %q, want %d playing %q", a.when, active.Index, active.Plays, a.index, a.plays)
		}
	}
	if f := shows.LiveFallback(1); f != filepath.Join(home, "friday.m3u") {
		t.Errorf("LiveFallback(1) = %q, want the slot's fallback", f)
	}

	// A Dir set after Load (main's demo folder) is what live slots fall back to.
	shows.Schedule[1].Fallback = ""
	shows.Dir = "/demo"
	if f := shows.LiveFallback(1); f != "/demo" {
		t.Errorf("LiveFallback after Dir changed = %q, want /demo", f)
	}
}

// TestBuildScheduleErrors: a Station built in code gets the schedule
// package's errors, naming the slot.
func TestBuildScheduleErrors(t *testing.T) {
	slot := config.ScheduleSlot{Days: "mon", Start: "07:00", End: "09:00", Zone: "UTC", Plays: "/a"}
	bad := slot
	bad.Days = "someday"
	st := config.Station{Dir: "/m", Schedule: []config.ScheduleSlot{slot, bad}}
	_, err := st.BuildSchedule()
	fe, ok := errors.AsType[*schedule.FieldError](err)
	if !ok || fe.Index != 1 || fe.Field != schedule.FieldDays {
		t.Errorf("bad days: %v, want a *schedule.FieldError for days of slot #2", err)
	}

	later := slot
	later.Start = "08:00"
	st.Schedule = []config.ScheduleSlot{slot, later}
	_, err = st.BuildSchedule()
	if oe, ok := errors.AsType[*schedule.OverlapError](err); !ok || oe.A != 0 || oe.B != 1 {
		t.Errorf("overlap: %v, want a *schedule.OverlapError for slots #1 and #2", err)
	}

	st.Schedule = []config.ScheduleSlot{{Days: "mon", Start: "07:00", End: "09:00", Plays: "/a"}}
	if _, err := st.BuildSchedule(); err == nil {
		t.Error("a slot without a zone was accepted (Load fills it in; code must too)")
	}
}

func TestScheduleWarnings(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "show.m3u")
	if err := os.WriteFile(list, []byte("a.mp3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "nope")
	file := writeTOML(t, `
[[station]]
route = "/a"
dir = "`+dir+`"
[[station.schedule]]
name = "Playlist"
days = "mon"
start = "07:00"
end = "08:00"
plays = "`+list+`"
[[station.schedule]]
days = "tue"
start = "07:00"
end = "08:00"
plays = "`+missing+`"
[[station.schedule]]
name = "Live"
days = "wed"
start = "07:00"
end = "08:00"
plays = "live"
fallback = "`+missing+`"
`)
	c := mustLoad(t, []string{"--config", file}, nil)
	want := []string{
		"plays " + missing + " for route /a, slot #2 does not exist; the show will wait for files",
		`route /a, slot "Live" (#3) is live, but the station has no source_password: no DJ can connect, so its fallback plays`,
		"fallback " + missing + ` for route /a, slot "Live" (#3) does not exist; the show will wait for files`,
	}
	if !slices.Equal(c.Warnings, want) {
		t.Errorf("Warnings\n got %q\nwant %q", c.Warnings, want)
	}
}

func TestProgrammingErrors(t *testing.T) {
	const station = "[[station]]\nroute = \"/a\"\n"
	// block is a [[station.schedule]] block with the given lines.
	block := func(lines ...string) string { return "[[station.schedule]]\n" + strings.Join(lines, "\n") + "\n" }
	morning := block(`name = "Morning"`, `days = "mon-fri"`, `start = "07:00"`, `end = "10:00"`, `plays = "/m"`)
	checkErrors(t, []errorCase{
		// levels
		{name: "loudness too loud", file: station + "loudness = \"-4 LUFS\"\n",
			want: `config: station.loudness: "-4 LUFS" from PATH:3: expected "off" or a target loudness -30..-5 LUFS like "-16 LUFS"`, line: 3},
		{name: "loudness too quiet", file: station + "loudness = -31\n",
			want: `config: station.loudness: "-31" from PATH:3: expected "off" or a target loudness -30..-5 LUFS like "-16 LUFS"`, line: 3},
		{name: "loudness in dB", file: station + "loudness = \"-16 dB\"\n",
			want: `config: station.loudness: "-16 dB" from PATH:3: expected "off" or a target loudness -30..-5 LUFS like "-16 LUFS"`, line: 3},
		{name: "loudness word", file: station + "loudness = \"loud\"\n",
			want: `config: station.loudness: "loud" from PATH:3: expected "off" or a target loudness -30..-5 LUFS like "-16 LUFS"`, line: 3},
		{name: "loudness boolean", file: station + "loudness = true\n",
			want: `config: station.loudness: "true" from PATH:3: expected "off" or a target loudness -30..-5 LUFS like "-16 LUFS"`, line: 3},
		{name: "loudness from env", env: map[string]string{"LOUDNESS": "-50"},
			want: `config: loudness: "-50" from env LOUDNESS: expected "off" or a target loudness -30..-5 LUFS like "-16 LUFS"`},
		{name: "loudness NaN from flag", args: []string{"--loudness", "NaN"},
			want: `config: loudness: "NaN" from flag --loudness: expected "off" or a target loudness -30..-5 LUFS like "-16 LUFS"`},
		{name: "silence threshold too high", file: station + "silence_threshold = \"-10 dBFS\"\n",
			want: `config: station.silence_threshold: "-10 dBFS" from PATH:3: expected a level -90..-20 dBFS like "-50 dBFS"`, line: 3},
		{name: "silence threshold in LUFS", file: station + "silence_threshold = \"-50 LUFS\"\n",
			want: `config: station.silence_threshold: "-50 LUFS" from PATH:3: expected a level -90..-20 dBFS like "-50 dBFS"`, line: 3},
		{name: "silence threshold too low", file: station + "silence_threshold = -95\n",
			want: `config: station.silence_threshold: "-95" from PATH:3: expected a level -90..-20 dBFS like "-50 dBFS"`, line: 3},
		{name: "trim_silence as a string", file: station + "trim_silence = \"yes\"\n",
			want: `config: station.trim_silence: "yes" from PATH:3: expected true, false, 1, 0, yes or no`, line: 3},
		{name: "trim_silence from env", env: map[string]string{"TRIM_SILENCE": "maybe"},
			want: `config: trim_silence: "maybe" from env TRIM_SILENCE: expected true, false, 1, 0, yes or no`},
		{name: "trim_silence at the top", file: "trim_silence = true\n",
			want: `config: unknown key "trim_silence" in PATH:1`, line: 1},
		// time zone
		{name: "unknown timezone", file: "timezone = \"Mars/Olympus\"\n",
			want: `config: timezone: "Mars/Olympus" from PATH:1: expected an IANA time zone like "Europe/Berlin", "America/New_York" or "UTC", or "Local" (the machine's zone)`, line: 1},
		{name: "empty timezone flag", args: []string{"--timezone="},
			want: `config: timezone: "" from flag --timezone: expected an IANA time zone like "Europe/Berlin", "America/New_York" or "UTC", or "Local" (the machine's zone)`},
		{name: "timezone from env", env: map[string]string{"TIMEZONE": "CEST"},
			want: `config: timezone: "CEST" from env TIMEZONE: expected an IANA time zone like "Europe/Berlin", "America/New_York" or "UTC", or "Local" (the machine's zone)`},
		// jingles
		{name: "jingle_every out of range", file: station + "jingles = \"/j\"\njingle_every = 1001\n",
			want: `config: station.jingle_every: "1001" from PATH:4: expected an integer 0..1000`, line: 4},
		{name: "jingle_interval too short", file: station + "jingles = \"/j\"\njingle_interval = \"30s\"\n",
			want: `config: station.jingle_interval: "30s" from PATH:4: expected "0" (off) or a duration 1m..24h like "30m0s"`, line: 4},
		{name: "jingles not a path", file: station + "jingles = 5\n",
			want: `config: station.jingles: "5" from PATH:3: expected a path (a leading "~" needs HOME)`, line: 3},
		{name: "jingle_every without jingles", file: station + "jingle_every = 4\n",
			want: `config: station.jingle_every: "4" from PATH:3: expected jingle_every together with jingles (jingles is not set)`, line: 3},
		{name: "jingle_interval without jingles", file: station + "jingle_interval = \"1h\"\n",
			want: `config: station.jingle_interval: "1h0m0s" from PATH:3: expected jingle_interval together with jingles (jingles is not set)`, line: 3},
		{name: "jingles without a rule", file: station + "jingles = \"/j\"\n",
			want: `config: station.jingles: "/j" from PATH:3: expected jingle_every or jingle_interval as well: jingles play after jingle_every tracks or once jingle_interval has passed; set one`, line: 3},
		{name: "jingles on a station without tracks", file: station + "live_only = true\njingles = \"/j\"\njingle_every = 2\n",
			want: `config: station.jingles: "/j" from PATH:4: expected a station with its own dir: jingles play between its tracks, and this station has none`, line: 4},
		{name: "schedule on a station without a folder", file: station + "live_only = true\n" + block(`days = "mon"`, `start = "07:00"`, `end = "08:00"`, `plays = "live"`),
			want: `config: station.schedule from PATH:4: a schedule needs the station's own dir, which plays between the shows; this station has none (live_only, or a relay or fallback without dir)`, line: 4},
		// schedule values
		{name: "bad days", file: station + block(`days = "mon-fry"`, `start = "07:00"`, `end = "08:00"`, `plays = "/m"`),
			want: `config: station.schedule.days: "mon-fry" from PATH:4: expected days like "mon-fri", "sat,sun", "daily", "weekdays" or "weekends" (English names or their first three letters)`, line: 4},
		{name: "days missing", file: station + block(`start = "07:00"`, `end = "08:00"`, `plays = "/m"`),
			want: `config: station.schedule.days: "" from PATH:3: expected days like "mon-fri", "sat,sun", "daily", "weekdays" or "weekends" (English names or their first three letters)`, line: 3},
		{name: "bad start in the second block", file: station + morning + block(`days = "sat"`, `start = "7am"`, `end = "08:00"`, `plays = "/m"`),
			want: `config: station.schedule.start: "7am" from PATH:11: expected a start "HH:MM" from "00:00" to "23:59"`, line: 11},
		{name: "start at 24:00", file: station + block(`days = "sat"`, `start = "24:00"`, `end = "08:00"`, `plays = "/m"`),
			want: `config: station.schedule.start: "24:00" from PATH:5: expected a start "HH:MM" from "00:00" to "23:59"`, line: 5},
		{name: "bad end", file: station + block(`days = "sat"`, `start = "07:00"`, `end = "25:00"`, `plays = "/m"`),
			want: `config: station.schedule.end: "25:00" from PATH:6: expected a time of day "HH:MM" from "00:00" to "24:00", like "07:30"`, line: 6},
		{name: "empty slot", file: station + block(`days = "sat"`, `start = "07:00"`, `end = "07:00"`, `plays = "/m"`),
			want: `config: station.schedule.end: "07:00" from PATH:6: expected an end other than the start: a slot may not be empty (a whole day is "00:00" to "24:00")`, line: 6},
		{name: "bad zone", file: station + block(`days = "sat"`, `start = "07:00"`, `end = "08:00"`, `zone = "Europe/Berln"`, `plays = "/m"`),
			want: `config: station.schedule.zone: "Europe/Berln" from PATH:7: expected an IANA time zone like "Europe/Berlin", "America/New_York" or "UTC"`, line: 7},
		{name: "start not a string", file: station + block(`days = "sat"`, `start = 7`, `end = "08:00"`, `plays = "/m"`),
			want: `config: station.schedule.start: "7" from PATH:5: expected a time of day "HH:MM" from "00:00" to "24:00", like "07:30"`, line: 5},
		{name: "cut not a boolean", file: station + block(`days = "sat"`, `start = "07:00"`, `end = "08:00"`, `plays = "/m"`, `cut = "yes"`),
			want: `config: station.schedule.cut: "yes" from PATH:8: expected true or false`, line: 8},
		{name: "plays missing", file: station + morning + block(`days = "sat"`, `start = "07:00"`, `end = "08:00"`),
			want: `config: station.schedule.plays: "" from PATH:9: expected a folder, a playlist file (.m3u, .m3u8, .pls) or "live" (a leading "~" needs HOME)`, line: 9},
		{name: "fallback on a folder slot", file: station + block(`days = "sat"`, `start = "07:00"`, `end = "08:00"`, `plays = "/m"`, `fallback = "/f"`),
			want: `config: station.schedule.fallback: "/f" from PATH:8: expected no fallback on a slot that plays a folder (fallback is what a "live" slot plays while no DJ is connected)`, line: 8},
		{name: "fallback live", file: station + block(`days = "sat"`, `start = "07:00"`, `end = "08:00"`, `plays = "live"`, `fallback = "Live"`),
			want: `config: station.schedule.fallback: "Live" from PATH:8: expected a folder or a playlist file, not "live" (a leading "~" needs HOME)`, line: 8},
		// schedule structure
		{name: "unknown key in a block", file: station + morning + block(`days = "sat"`, `colour = "red"`),
			want: `config: unknown key "station.schedule.colour" in PATH:11`, line: 11},
		{name: "station key after the blocks", file: "[[station]]\n" + morning + "route = \"/a\"\n",
			want: `config: unknown key "station.schedule.route" in PATH:8`, line: 8},
		{name: "unknown key in an inline block", file: station + "schedule = [{days = \"mon\", when = \"now\"}]\n",
			want: `config: unknown key "station.schedule.when" in PATH:3`, line: 3},
		{name: "schedule not tables", file: station + "schedule = \"daily\"\n",
			want: `config: station.schedule: "daily" from PATH:3: expected [[station.schedule]] tables`, line: 3},
		{name: "schedule list of strings", file: station + "schedule = [\"daily\"]\n",
			want: `config: station.schedule: "[daily]" from PATH:3: expected [[station.schedule]] tables`, line: 3},
		{name: "schedule a single table", file: station + "[station.schedule]\ndays = \"mon\"\n",
			want: `config: station.schedule: "map[days:mon]" from PATH:3: expected [[station.schedule]] tables`, line: 3},
		// overlaps
		{name: "overlap", file: station + morning + "\n" + block(`name = "Late"`, `days = "mon"`, `start = "09:00"`, `end = "11:00"`, `plays = "/l"`),
			want: `config: station.schedule from PATH:10: slots "Morning" (#1) at line 3 and "Late" (#2) at line 10 overlap: both would play at Mon 09:00 UTC`, line: 10},
		{name: "overlap past midnight", file: station +
			block(`days = "fri"`, `start = "22:00"`, `end = "02:00"`, `plays = "live"`) +
			block(`days = "sat"`, `start = "01:00"`, `end = "03:00"`, `plays = "/m"`),
			want: `config: station.schedule from PATH:8: slots #1 at line 3 and #2 at line 8 overlap: both would play at Sat 01:00 UTC`, line: 8},
		{name: "overlap across zones", file: station +
			block(`name = "Berlin"`, `days = "mon"`, `start = "12:00"`, `end = "13:00"`, `zone = "Europe/Berlin"`, `plays = "/b"`) +
			block(`name = "London"`, `days = "mon"`, `start = "11:30"`, `end = "11:45"`, `zone = "Europe/London"`, `plays = "/l"`),
			want: `config: station.schedule from PATH:10: slots "Berlin" (#1) at line 3 and "London" (#2) at line 10 overlap: both would play at Mon 2025-01-06 12:30 CET (Europe/Berlin)`, line: 10},
		{name: "overlap inline", file: station + "schedule = [\n  {days = \"daily\", start = \"00:00\", end = \"24:00\", plays = \"/a\"},\n  {days = \"sun\", start = \"10:00\", end = \"11:00\", plays = \"/b\"},\n]\n",
			want: `config: station.schedule from PATH:3: slots #1 and #2 overlap: both would play at Sun 10:00 UTC`, line: 3},
		// modes
		{name: "schedule in individual mode", file: station + "mode = \"individual\"\n" + morning,
			want: `config: station.mode: "individual" from PATH:3: expected radio for a station with a schedule: shows play on one shared stream`, line: 3},
		{name: "schedule in individual mode by stream_mode", env: map[string]string{"STREAM_MODE": "individual"}, file: station + "\n" + morning,
			want: `config: station.schedule from PATH:4: a schedule needs a radio-mode station; this one is individual by stream_mode (set mode = "radio")`, line: 4},
	})
}

// TestExampleProgrammingLoads: the commented jingles and schedule examples
// in config.example.toml load as written once uncommented.
func TestExampleProgrammingLoads(t *testing.T) {
	data, err := os.ReadFile("../../config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	// A commented assignment of a jingle key, a [[station.schedule]] header,
	// or a key of a block below one.
	commented := regexp.MustCompile(`^#\s*((?:jingles|jingle_every|jingle_interval|name|days|start|end|zone|plays|fallback|cut)\s*=.*|\[\[station\.schedule\]\])$`)
	body := "[[station]]\nroute = \"/shows\"\nsource_password = \"dj\"\n"
	for line := range strings.SplitSeq(string(data), "\n") {
		if m := commented.FindStringSubmatch(line); m != nil {
			body += m[1] + "\n"
		}
	}
	c := mustLoad(t, []string{"--config", writeTOML(t, body)}, nil)
	st := station(t, c, "/shows")
	if st.Jingles == "" || st.JingleEvery != 4 {
		t.Errorf("jingles %q every %d, want a folder every 4 tracks\n%s", st.Jingles, st.JingleEvery, body)
	}
	if len(st.Schedule) != 2 || st.Schedule[0].Days != "weekdays" || st.Schedule[0].Zone != "Europe/Berlin" ||
		st.Schedule[1].Plays != config.PlaysLive || st.Schedule[1].Fallback == "" || st.Schedule[1].Zone != "UTC" {
		t.Errorf("schedule %+v, want a weekday show in Berlin and a live show with a fallback\n%s", st.Schedule, body)
	}
}

// BenchmarkBuildSchedule measures a daily timetable of nine one-hour
// shows, checked at Load and again when a station is built: in one zone,
// and in three, where the overlap check walks 28 years of airings.
func BenchmarkBuildSchedule(b *testing.B) {
	type show struct {
		zone string
		hour int // local start
	}
	var oneZone, threeZones []show
	for h := 0; h < 18; h += 2 {
		oneZone = append(oneZone, show{"Europe/Berlin", h})
	}
	// Bands of UTC hours that never meet, with daylight saving time or without.
	for _, h := range []int{6, 8, 10, 12} {
		threeZones = append(threeZones, show{"Europe/Berlin", h})
	}
	for _, h := range []int{9, 11, 13} {
		threeZones = append(threeZones, show{"America/New_York", h})
	}
	for _, h := range []int{6, 8} {
		threeZones = append(threeZones, show{"Asia/Tokyo", h})
	}
	for _, tt := range []struct {
		name  string
		shows []show
	}{{"one zone", oneZone}, {"three zones", threeZones}} {
		b.Run(tt.name, func(b *testing.B) {
			st := config.Station{Dir: "/music"}
			for _, sh := range tt.shows {
				st.Schedule = append(st.Schedule, config.ScheduleSlot{
					Days: "daily", Start: fmt.Sprintf("%02d:00", sh.hour), End: fmt.Sprintf("%02d:00", sh.hour+1), Zone: sh.zone, Plays: "/show",
				})
			}
			for b.Loop() {
				if _, err := st.BuildSchedule(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
