package config

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/BurntSushi/toml"
)

// tomlFile is a decoded configuration file. It is decoded into maps rather
// than structs so that a value of the wrong type can be reported with its
// key and line, which the toml package's type errors do not carry.
type tomlFile struct {
	path     string
	lines    []string
	top      map[string]any
	stations []map[string]any
}

// readTOML reads and decodes path; from names where the path came from.
func readTOML(path string, from loc) (*tomlFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{Key: "config file", Value: path, Source: from.source, Reason: err.Error(), Err: err}
	}
	f := &tomlFile{path: path, lines: strings.Split(string(data), "\n")}
	md, err := toml.Decode(string(data), &f.top)
	if err != nil {
		var pe toml.ParseError // returned by value
		if errors.As(err, &pe) {
			return nil, &Error{Source: path, Line: pe.Position.Line, Reason: "invalid TOML: " + pe.Message, Err: err}
		}
		return nil, &Error{Source: path, Reason: err.Error(), Err: err}
	}
	if err := f.checkKeys(md.Keys()); err != nil {
		return nil, err
	}
	switch st := f.top["station"].(type) {
	case nil:
	case []map[string]any: // [[station]] tables
		f.stations = st
	case []any: // station = [{...}, ...]
		for _, v := range st {
			m, ok := v.(map[string]any)
			if !ok {
				return nil, f.errAt("station", "", 0, fmt.Sprint(v), "[[station]] tables")
			}
			f.stations = append(f.stations, m)
		}
	default:
		return nil, f.errAt("station", "", 0, fmt.Sprint(st), "[[station]] tables")
	}
	return f, nil
}

// checkKeys refuses keys the schema does not have, in document order. Keys
// arrive as ["port"], ["station"] (once per [[station]]), ["station","mode"].
func (f *tomlFile) checkKeys(keys []toml.Key) error {
	top := knownKeys(configSettings(""))
	top["station"] = true
	station := knownKeys(stationSettings(""))
	n := -1 // index of the current [[station]]
	for _, k := range keys {
		switch {
		case !top[k[0]]:
			return &Error{Key: k[0], Source: f.path, Line: f.lineOf("", 0, k[0]), Reason: reasonUnknownKey}
		case k[0] == "station" && len(k) == 1:
			n++
		case k[0] == "station" && !station[k[1]]:
			return &Error{Key: "station." + k[1], Source: f.path, Line: f.lineOf("station", n, k[1]), Reason: reasonUnknownKey}
		}
	}
	return nil
}

func knownKeys[T any](settings []setting[T]) map[string]bool {
	m := map[string]bool{}
	for _, s := range settings {
		if s.inFile {
			m[s.name] = true
		}
	}
	return m
}

// errAt reports a bad value of key in the top level (table "") or in the
// n-th [[table]].
func (f *tomlFile) errAt(key, table string, n int, value, expected string) *Error {
	name := key
	if table != "" {
		name = table + "." + key
	}
	return errAt(name, value, expected, loc{source: f.path, line: f.lineOf(table, n, key)})
}

// lineOf finds the 1-based line that sets key at the top level (table "")
// or in the n-th (0-based) [[table]]; a header "[key]" or "[key.sub]" in
// that scope counts too. 0 when not found (inline tables, odd quoting).
// A plain line scan suffices because toml's MetaData has no positions.
func (f *tomlFile) lineOf(table string, n int, key string) int {
	prefix := ""
	if table != "" {
		prefix = table + "."
	}
	cur, idx := "", -1 // current table and the index of the current [[table]]
	inMulti := false   // inside a multi-line string
	for i, line := range f.lines {
		t := strings.TrimSpace(line)
		if !inMulti {
			if name, ok := header(t); ok {
				if name == table {
					idx++
				}
				cur = name
				if (table == "" || idx == n) && (name == prefix+key || strings.HasPrefix(name, prefix+key+".")) {
					return i + 1
				}
			} else if cur == table && (table == "" || idx == n) && setsKey(t, key) {
				return i + 1
			}
		}
		if strings.Count(t, `"""`)%2 == 1 || strings.Count(t, `'''`)%2 == 1 {
			inMulti = !inMulti
		}
	}
	return 0
}

// header returns the table name of a "[name]" or "[[name]]" line.
func header(t string) (string, bool) {
	if !strings.HasPrefix(t, "[") {
		return "", false
	}
	name := strings.TrimLeft(t, "[")
	end := strings.Index(name, "]")
	if end < 0 {
		return "", false
	}
	return strings.TrimSpace(name[:end]), true
}

// setsKey reports whether line t assigns key (bare or quoted, possibly dotted).
func setsKey(t, key string) bool {
	for _, k := range []string{key, `"` + key + `"`, "'" + key + "'"} {
		if rest, ok := strings.CutPrefix(t, k); ok {
			rest = strings.TrimSpace(rest)
			if strings.HasPrefix(rest, "=") || strings.HasPrefix(rest, ".") {
				return true
			}
		}
	}
	return false
}

// stationHeaderLine is the line of the n-th (0-based) [[station]] header.
func (f *tomlFile) stationHeaderLine(n int) int {
	idx := -1
	for i, line := range f.lines {
		t := strings.TrimSpace(line)
		if name, ok := header(t); ok && strings.HasPrefix(t, "[[") && name == "station" {
			if idx++; idx == n {
				return i + 1
			}
		}
	}
	return 0
}
