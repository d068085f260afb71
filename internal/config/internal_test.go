package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestSettingsMatchTags keeps the loader's key tables and the toml tags of
// Config and Station in step: each tag is read by Load, and Load reads
// nothing that has no tag.
func TestSettingsMatchTags(t *testing.T) {
	top := knownKeys(configSettings(""))
	top["station"] = true
	tests := []struct {
		name  string
		typ   reflect.Type
		known map[string]bool
	}{
		{"Config", reflect.TypeFor[Config](), top},
		{"Station", reflect.TypeFor[Station](), knownKeys(stationSettings(""))},
	}
	for _, tt := range tests {
		var tags []string
		for f := range tt.typ.Fields() {
			if tag, _, _ := strings.Cut(f.Tag.Get("toml"), ","); tag != "" && tag != "-" {
				tags = append(tags, tag)
			}
		}
		var known []string
		for k := range tt.known {
			known = append(known, k)
		}
		slices.Sort(tags)
		slices.Sort(known)
		if !slices.Equal(tags, known) {
			t.Errorf("%s: toml tags %v\nloader keys %v", tt.name, tags, known)
		}
	}
}

func TestLineOf(t *testing.T) {
	f := &tomlFile{lines: strings.Split(`port = 1
[[station]]
route = "/a"
  bitrate=64
[[station]]
route = "/b"
'bitrate' = 96
[station.burst]
x = 1
[other]
bitrate = 1
`, "\n")}
	tests := []struct {
		table string
		n     int
		key   string
		want  int
	}{
		{"", 0, "port", 1},
		{"station", 0, "bitrate", 4},
		{"station", 1, "route", 6},
		{"station", 1, "bitrate", 7},
		{"station", 1, "burst", 8},
		{"", 0, "other", 10},
		{"", 0, "bitrate", 0}, // only inside tables
		{"station", 2, "route", 0},
	}
	for _, tt := range tests {
		if got := f.lineOf(tt.table, tt.n, tt.key); got != tt.want {
			t.Errorf("lineOf(%q, %d, %q) = %d, want %d", tt.table, tt.n, tt.key, got, tt.want)
		}
	}
	if got := f.stationHeaderLine(1); got != 5 {
		t.Errorf("stationHeaderLine(1) = %d, want 5", got)
	}
}
