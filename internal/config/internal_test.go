package config

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// TestSettingsMatchTags keeps the settings table and the toml tags of
// Config and Station in step: each tag is a key of the table, and each key
// of the table is a tag (Load stores a value in the field of its key).
func TestSettingsMatchTags(t *testing.T) {
	tests := []struct {
		name    string
		typ     reflect.Type
		station bool
	}{
		{"Config", reflect.TypeFor[Config](), false},
		{"Station", reflect.TypeFor[Station](), true},
	}
	for _, tt := range tests {
		var tags, keys []string
		for f := range tt.typ.Fields() {
			if tag, _, _ := strings.Cut(f.Tag.Get("toml"), ","); tag != "" && tag != "-" && tag != "station" {
				tags = append(tags, tag)
			}
		}
		for _, s := range settings() {
			if s.key != "" && s.station == tt.station {
				keys = append(keys, s.key)
			}
		}
		slices.Sort(tags)
		slices.Sort(keys)
		if !slices.Equal(tags, keys) {
			t.Errorf("%s: toml tags %v\ntable keys %v", tt.name, tags, keys)
		}
	}
}

// TestSettingsTable checks what the table promises: names are unique,
// every default parses, and only station settings or env-only settings lack
// a flag for a reason.
func TestSettingsTable(t *testing.T) {
	flags, envs := map[string]bool{}, map[string]bool{}
	for _, s := range settings() {
		if s.flag != "" && flags[s.flag] || s.env != "" && envs[s.env] {
			t.Errorf("flag %q or env %q appears twice", s.flag, s.env)
		}
		flags[s.flag], envs[s.env] = true, true
		if s.kind == nil {
			t.Errorf("%s/%s/%s has no kind", s.key, s.flag, s.env)
		}
		if s.def != "" && s.key != "" {
			var dst any = &Config{}
			if s.station {
				dst = &Station{}
			}
			if err := s.store(dst, text(s.def), ""); err != nil {
				t.Errorf("default %q of %s: %v", s.def, s.key, err)
			}
		}
		if (s.flag != "" || s.env != "") && s.usage == "" {
			t.Errorf("%s/%s has no usage text", s.flag, s.env)
		}
	}
}

func TestKeyLines(t *testing.T) {
	lines := keyLines(`port = 1
[[station]]
route = "/a"
  bitrate=64
[[station]]
route = "/b"
'bitrate' = 96
[station.burst]
x = 1
[[station.schedule]]
days = "mon"
[[station.schedule]]
  start = "07:00"
[[station]]
route = "/c"
[[ station.schedule ]]
plays = "live"
[other]
bitrate = 1
`)
	tests := []struct {
		key  string
		want int
	}{
		{"port", 1},
		{"station", 2},
		{"station.0", 2},
		{"station.0.bitrate", 4},
		{"station.1", 5},
		{"station.1.route", 6},
		{"station.1.bitrate", 7},
		{"station.1.burst", 8},
		{"station.1.schedule", 10},
		{"station.1.schedule.0", 10},
		{"station.1.schedule.0.days", 11},
		{"station.1.schedule.1", 12},
		{"station.1.schedule.1.start", 13},
		{"station.2.route", 15},
		{"station.2.schedule", 16},
		{"station.2.schedule.0", 16},
		{"station.2.schedule.0.plays", 17},
		{"other", 18},
		{"bitrate", 0}, // only inside tables
		{"station.3.route", 0},
		{"station.0.schedule", 0},
	}
	for _, tt := range tests {
		if got := lines[tt.key]; got != tt.want {
			t.Errorf("line of %q = %d, want %d", tt.key, got, tt.want)
		}
	}
}

// TestExampleDocumentsEveryKey fails when the table gains a file key that
// config.example.toml does not set, or a flag or env variable its comments
// do not name, and when the example sets a key the table does not have.
func TestExampleDocumentsEveryKey(t *testing.T) {
	const example = "../../config.example.toml"
	data, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if _, err := toml.Decode(string(data), &doc); err != nil {
		t.Fatal(err)
	}
	documented := map[bool]map[string]bool{false: {}, true: {}} // by station
	for k := range doc {
		documented[false][k] = true
	}
	stations, _ := doc["station"].([]map[string]any)
	for _, st := range stations {
		for k := range st {
			documented[true][k] = true
		}
	}
	delete(documented[false], "station")
	for _, s := range settings() {
		if s.key != "" && s.key != "schedule" && !documented[s.station][s.key] {
			t.Errorf("key %q (station: %v) is not set in %s", s.key, s.station, example)
		}
		delete(documented[s.station], s.key)
		if s.flag != "" && !regexp.MustCompile(`--`+s.flag+`\b`).Match(data) {
			t.Errorf("flag --%s is not named in %s", s.flag, example)
		}
		if s.env != "" && !regexp.MustCompile(`\b`+s.env+`\b`).Match(data) {
			t.Errorf("env %s is not named in %s", s.env, example)
		}
	}
	// Schedule blocks cannot be set without changing what the example
	// plays: they are documented as commented blocks that name every key.
	for _, key := range append([]string{"schedule"}, scheduleKeys()...) {
		pattern := `(?m)^#\s*` + key + `\s*=`
		if key == "schedule" {
			pattern = `(?m)^#\s*\[\[station\.schedule\]\]\s*$`
		}
		if !regexp.MustCompile(pattern).Match(data) {
			t.Errorf("%s has no commented [[station.schedule]] block setting %q", example, key)
		}
	}
	for station, keys := range documented {
		for k := range keys {
			t.Errorf("%s sets key %q (station: %v) that the table does not have", example, k, station)
		}
	}
}
