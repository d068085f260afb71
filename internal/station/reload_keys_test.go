package station

import (
	"reflect"
	"strings"
	"testing"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
)

// TestReloadKeysExist: the keys reload.go sorts into soft station
// settings and station defaults are keys of the configuration, so a
// renamed key cannot silently turn a soft change into a restart.
func TestReloadKeysExist(t *testing.T) {
	keys := func(v any) map[string]bool {
		out := map[string]bool{}
		typ := reflect.TypeOf(v)
		for i := range typ.NumField() {
			key, _, _ := strings.Cut(typ.Field(i).Tag.Get("toml"), ",")
			out[key] = true
		}
		return out
	}
	stationKeys, top := keys(config.Station{}), keys(config.Config{})
	for k := range softKeys {
		if !stationKeys[k] {
			t.Errorf("soft key %q is no [[station]] key", k)
		}
	}
	for k := range stationDefaults {
		if !top[k] {
			t.Errorf("station default %q is no top-level key", k)
		}
	}
}
