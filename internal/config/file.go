package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/BurntSushi/toml"
)

// document is a decoded configuration file. Values keep the types TOML gave
// them; the table's kinds check them, so that a value of the wrong type is
// reported like any other bad value: key, value, line, what was expected.
type document struct {
	path     string
	top      map[string]any
	stations []map[string]any
	lines    map[string]int // see keyLines
}

// maxConfigSize bounds what is read of a config file: a real one is a few
// KiB, and the server must not read a huge or endless file into memory.
const maxConfigSize = 1 << 20

// readFile reads and decodes path; from names where the path came from.
func readFile(path string, from loc) (*document, error) {
	data, err := readConfigFile(path)
	if err != nil {
		e := &Error{Key: "config file", Value: path, Source: from.source}
		if expected, ok := errors.AsType[expectedError](err); ok {
			e.Expected = string(expected)
		} else {
			e.Reason, e.Err = err.Error(), err
		}
		return nil, e
	}
	d := &document{path: path, lines: keyLines(string(data))}
	md, err := toml.Decode(string(data), &d.top)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &Error{Source: path, Line: pe.Position.Line, Reason: "invalid TOML: " + pe.Message, Err: err}
		}
		return nil, &Error{Source: path, Reason: err.Error(), Err: err}
	}
	// Keys come in document order: ["port"], ["station"] once per
	// [[station]], then that table's ["station", "mode"], and
	// ["station", "schedule"] once per [[station.schedule]] (once for an
	// inline array), then its ["station", "schedule", "days"].
	n, block := -1, -1
	for _, k := range md.Keys() {
		switch {
		case k[0] == "station" && len(k) == 1:
			n, block = n+1, -1
		case k[0] == "station" && !isKey(k[1], true):
			l := d.stationAt(n, k[1])
			return nil, &Error{Key: "station." + k[1], Source: l.source, Line: l.line, Reason: reasonUnknownKey}
		case k[0] == "station" && k[1] == "schedule" && len(k) == 2:
			block++
		case k[0] == "station" && k[1] == "schedule" && !slices.Contains(scheduleKeys(), k[2]):
			l := d.blockAt(n, block, k[2])
			return nil, &Error{Key: "station.schedule." + k[2], Source: l.source, Line: l.line, Reason: reasonUnknownKey}
		case k[0] != "station" && !isKey(k[0], false):
			return nil, &Error{Key: k[0], Source: path, Line: d.lines[k[0]], Reason: reasonUnknownKey}
		}
	}
	switch st := d.top["station"].(type) {
	case nil:
	case []map[string]any: // [[station]] tables
		d.stations = st
	case []any: // station = [{...}, ...]
		for _, v := range st {
			m, ok := v.(map[string]any)
			if !ok {
				return nil, errAt("station", fmt.Sprint(v), "[[station]] tables", d.at("station"))
			}
			d.stations = append(d.stations, m)
		}
	default:
		return nil, errAt("station", fmt.Sprint(st), "[[station]] tables", d.at("station"))
	}
	return d, nil
}

func isKey(key string, station bool) bool {
	return slices.ContainsFunc(settings(), func(s setting) bool {
		return s.key != "" && s.key == key && s.station == station
	})
}

// at is where the file sets a top-level key.
func (d *document) at(key string) loc { return loc{source: d.path, line: d.lines[key]} }

// stationAt is where the file sets key in its n-th (0-based) station; key ""
// is the table's [[station]] header.
func (d *document) stationAt(n int, key string) loc {
	name := "station." + strconv.Itoa(n)
	if key != "" {
		name += "." + key
	}
	return loc{source: d.path, line: d.lines[name]}
}

// blockAt is where the file sets key in block j (0-based) of the n-th
// station's schedule: the key's line, else the block's [[station.schedule]]
// header (key "" or left out), else the station's first schedule line
// (an inline array).
func (d *document) blockAt(n, j int, key string) loc {
	base := "station." + strconv.Itoa(n) + ".schedule"
	block := base + "." + strconv.Itoa(j)
	for _, name := range []string{block + "." + key, block, base} {
		if line, ok := d.lines[name]; ok {
			return loc{source: d.path, line: line}
		}
	}
	return loc{source: d.path}
}

// keyLines maps each key to the 1-based line that sets it: "port",
// "station.0" (the first [[station]] header), "station.0.route",
// "station.0.schedule" (its first schedule line), "station.0.schedule.1"
// (its second [[station.schedule]] header), "station.0.schedule.1.days".
// The toml package keeps key positions to itself, and of [[station]]
// tables only the last one's, so a plain scan finds them. Keys inside
// inline tables get no line.
func keyLines(src string) map[string]int {
	// A header "[a.b]" or "[[a]]", or the first part of an assigned key: a =, "a" =, a.b =
	keyLine := regexp.MustCompile(`^\s*(?:(\[\[?)\s*([\w.-]+)\s*\]|(?:"([^"]*)"|'([^']*)'|([\w-]+))\s*[=.])`)
	lines := map[string]int{}
	note := func(key string, i int) {
		if _, ok := lines[key]; !ok {
			lines[key] = i + 1
		}
	}
	scope, stations, blocks := "", 0, 0
	inString := false // inside a multi-line string
	for i, line := range strings.Split(src, "\n") {
		m := keyLine.FindStringSubmatch(line)
		switch {
		case m == nil || inString:
		case m[1] == "[[" && m[2] == "station":
			scope = "station." + strconv.Itoa(stations)
			stations, blocks = stations+1, 0
			note("station", i)
			note(scope, i)
			scope += "."
		case m[1] == "[[" && m[2] == "station.schedule" && stations > 0:
			base := "station." + strconv.Itoa(stations-1) + ".schedule"
			scope = base + "." + strconv.Itoa(blocks)
			blocks++
			note(base, i)
			note(scope, i)
			scope += "."
		case m[1] != "": // a table: a top-level key, or in the last [[station]] ([station.burst])
			top, sub, _ := strings.Cut(m[2], ".")
			if top == "station" && stations > 0 {
				top = "station." + strconv.Itoa(stations-1) + "." + strings.Split(sub, ".")[0]
			}
			note(top, i)
			scope = m[2] + "."
		default:
			note(scope+m[3]+m[4]+m[5], i) // one of them is the key
		}
		if strings.Count(line, `"""`)%2 == 1 || strings.Count(line, `'''`)%2 == 1 {
			inString = !inString
		}
	}
	return lines
}

// expectedError says what a config file should have been.
type expectedError string

func (e expectedError) Error() string { return "expected " + string(e) }

// readConfigFile reads a regular file of at most maxConfigSize bytes.
// It opens without blocking, so a named pipe with no writer cannot hang
// start-up (where SIGTERM is not handled yet), and checks the opened file,
// so nothing is read from a pipe or a device such as /dev/zero.
func readConfigFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, expectedError(fmt.Sprintf("a regular file, not a %s", fileKind(info.Mode())))
	}
	tooBig := expectedError(fmt.Sprintf("a file of at most %d MiB", maxConfigSize>>20))
	if info.Size() > maxConfigSize {
		return nil, tooBig
	}
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1)) // a file still growing
	if err != nil {
		return nil, err
	}
	if len(data) > maxConfigSize {
		return nil, tooBig
	}
	return data, nil
}

// fileKind names a file type that is not a regular file.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}
