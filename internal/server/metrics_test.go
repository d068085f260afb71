package server

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// promFamily is one metric family of the Prometheus text format.
type promFamily struct {
	help, typ string
	samples   []promSample
}

type promSample struct {
	labels map[string]string
	value  float64
}

// value returns the sample with stream=route.
func (f *promFamily) value(t *testing.T, route string) float64 {
	t.Helper()
	if f == nil {
		t.Fatal("no such metric family")
	}
	for _, s := range f.samples {
		if s.labels["stream"] == route {
			return s.value
		}
	}
	t.Fatalf("no sample with stream=%q", route)
	return 0
}

var (
	promName  = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	promLabel = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// parsePrometheus is a strict reader of the text exposition format 0.0.4
// as Prometheus itself accepts it: HELP and TYPE at most once per family and
// before its samples, samples of a family together, label values with only
// the escapes \\ \" \n, no repeated series, a final newline.
func parsePrometheus(t *testing.T, body []byte) map[string]*promFamily {
	t.Helper()
	fams, err := readPrometheus(body)
	if err != nil {
		t.Fatalf("/metrics: %v", err)
	}
	return fams
}

// promError carries a parse error out of the parser's helpers.
type promError string

func readPrometheus(body []byte) (fams map[string]*promFamily, err error) {
	defer func() {
		if v := recover(); v != nil {
			pe, ok := v.(promError)
			if !ok {
				panic(v)
			}
			fams, err = nil, errors.New(string(pe))
		}
	}()
	text := string(body)
	if !strings.HasSuffix(text, "\n") {
		panic(promError("exposition does not end with a newline"))
	}
	fams = map[string]*promFamily{}
	seen := map[string]bool{} // series: name + labels
	done := map[string]bool{} // families whose samples have ended
	current := ""
	family := func(name string) *promFamily {
		if fams[name] == nil {
			fams[name] = &promFamily{}
		}
		return fams[name]
	}
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		fail := func(format string, args ...any) {
			panic(promError(fmt.Sprintf("line %d %q: "+format, append([]any{i + 1, line}, args...)...)))
		}
		switch {
		case line == "":
			fail("empty line")
		case strings.HasPrefix(line, "# HELP "), strings.HasPrefix(line, "# TYPE "):
			f := strings.SplitN(line[7:], " ", 2)
			if len(f) != 2 || !promName.MatchString(f[0]) || f[1] == "" {
				fail("malformed")
			}
			if done[f[0]] || (current == f[0] && len(fams[f[0]].samples) > 0) {
				fail("HELP/TYPE after the family's samples")
			}
			fam := family(f[0])
			if line[2] == 'H' {
				if fam.help != "" {
					fail("second HELP")
				}
				fam.help = f[1]
			} else {
				if fam.typ != "" {
					fail("second TYPE")
				}
				if !slices.Contains([]string{"counter", "gauge", "histogram", "summary", "untyped"}, f[1]) {
					fail("unknown type")
				}
				fam.typ = f[1]
			}
		case strings.HasPrefix(line, "#"):
			// other comments are allowed
		default:
			name, labels, value := parseSample(line)
			if !promName.MatchString(name) {
				fail("metric name")
			}
			if name != current {
				if done[name] {
					fail("samples of %s are not together", name)
				}
				if current != "" {
					done[current] = true
				}
				current = name
			}
			fam := fams[name]
			if fam == nil || fam.typ == "" || fam.help == "" {
				fail("sample without HELP and TYPE")
			}
			if fam.typ == "counter" && (value < 0 || math.IsNaN(value)) {
				fail("counter value %v", value)
			}
			key := name + "{" + canonicalLabels(labels) + "}"
			if seen[key] {
				fail("repeated series")
			}
			seen[key] = true
			fam.samples = append(fam.samples, promSample{labels: labels, value: value})
		}
	}
	for name, f := range fams {
		if len(f.samples) == 0 {
			return nil, fmt.Errorf("family %s has HELP/TYPE but no samples", name)
		}
	}
	return fams, nil
}

func canonicalLabels(l map[string]string) string {
	var keys []string
	for k := range l {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + strconv.Quote(l[k]) + ",")
	}
	return b.String()
}

// parseSample reads `name{a="b",…} value [timestamp]`.
func parseSample(line string) (string, map[string]string, float64) {
	fail := func(why string) { panic(promError(fmt.Sprintf("sample %q: %s", line, why))) }
	i := strings.IndexAny(line, "{ ")
	if i <= 0 {
		fail("no value")
	}
	name, rest := line[:i], line[i:]
	labels := map[string]string{}
	if rest[0] == '{' {
		rest = rest[1:]
		for {
			if strings.HasPrefix(rest, "}") {
				rest = rest[1:]
				break
			}
			eq := strings.Index(rest, "=")
			if eq <= 0 || !promLabel.MatchString(rest[:eq]) || len(rest) < eq+2 || rest[eq+1] != '"' {
				fail("label name")
			}
			key := rest[:eq]
			rest = rest[eq+2:]
			var v strings.Builder
			closed := false
			for len(rest) > 0 && !closed {
				c := rest[0]
				rest = rest[1:]
				switch c {
				case '"':
					closed = true
				case '\\':
					if len(rest) == 0 {
						fail("dangling escape")
					}
					switch rest[0] {
					case '\\', '"':
						v.WriteByte(rest[0])
					case 'n':
						v.WriteByte('\n')
					default:
						fail("escape \\" + string(rest[0]) + " is not valid in a label value")
					}
					rest = rest[1:]
				case '\n':
					fail("newline in label value")
				default:
					v.WriteByte(c)
				}
			}
			if !closed {
				fail("unterminated label value")
			}
			if _, dup := labels[key]; dup {
				fail("repeated label")
			}
			labels[key] = v.String()
			if strings.HasPrefix(rest, ",") {
				rest = rest[1:]
			} else if !strings.HasPrefix(rest, "}") {
				fail("expected , or }")
			}
		}
	}
	if !strings.HasPrefix(rest, " ") {
		fail("no space before the value")
	}
	f := strings.Fields(rest)
	if len(f) < 1 || len(f) > 2 {
		fail("value and optional timestamp")
	}
	var value float64
	switch f[0] {
	case "NaN":
		value = math.NaN()
	case "+Inf":
		value = math.Inf(1)
	case "-Inf":
		value = math.Inf(-1)
	default:
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil || strings.ContainsAny(f[0], "_xXpP") || strings.EqualFold(f[0], "inf") || strings.EqualFold(f[0], "infinity") {
			fail("value")
		}
		value = v
	}
	if len(f) == 2 {
		if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
			fail("timestamp")
		}
	}
	return name, labels, value
}

// serverWideFamilies are audio_stream_* families about the server, not a station.
var serverWideFamilies = []string{"audio_stream_tls_probes_total", "audio_stream_bad_requests_total", "audio_stream_accept_errors_total"}

// checkStationSeries: every per-station audio_stream_* family has exactly
// one series per station, labelled stream=<route>.
func checkStationSeries(t *testing.T, fams map[string]*promFamily, routes []string) {
	t.Helper()
	n := 0
	for name, f := range fams {
		if !strings.HasPrefix(name, "audio_stream_") {
			continue
		}
		if slices.Contains(serverWideFamilies, name) {
			if len(f.samples) != 1 || len(f.samples[0].labels) != 0 {
				t.Errorf("%s: want one unlabelled series, got %+v", name, f.samples)
			}
			continue
		}
		n++
		var got []string
		for _, s := range f.samples {
			if len(s.labels) != 1 {
				t.Errorf("%s: labels %v, want only stream", name, s.labels)
			}
			got = append(got, s.labels["stream"])
		}
		slices.Sort(got)
		if !slices.Equal(got, routes) {
			t.Errorf("%s: streams %q, want %q", name, got, routes)
		}
	}
	if n < 8 {
		t.Errorf("only %d per-station audio_stream_* families", n)
	}
	for _, name := range []string{"audio_stream_listeners", "audio_stream_sessions_total", "audio_stream_bytes_sent_total", "audio_stream_ready", "go_goroutines"} {
		if fams[name] == nil {
			t.Errorf("no %s", name)
		}
	}
}

func TestParsePrometheusRejects(t *testing.T) {
	// The checks above are only as good as the parser: it must refuse what
	// Prometheus would.
	for _, bad := range []string{
		"# HELP a x\n# TYPE a gauge\na 1", // no final newline
		"a 1\n",                           // no TYPE
		"# HELP a x\n# TYPE a gauge\na{s=\"\\t\"} 1\n",                                              // bad escape
		"# HELP a x\n# TYPE a gauge\na{s=\"x\"} one\n",                                              // bad value
		"# HELP a x\n# TYPE a gauge\na 1\na 2\n",                                                    // repeated series
		"# HELP a x\n# TYPE a gauge\na{1s=\"x\"} 1\n",                                               // bad label name
		"# HELP a x\n# TYPE a countr\na 1\n",                                                        // bad type
		"# HELP a x\n# TYPE a counter\na -1\n",                                                      // negative counter
		"# HELP a x\n# TYPE a gauge\n# HELP b y\n# TYPE b gauge\na{x=\"1\"} 1\nb 1\na{x=\"2\"} 1\n", // split family
		"# HELP a x\n# TYPE a gauge\na{x=\"1\" 1\n",                                                 // unterminated labels
	} {
		if _, err := readPrometheus([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	good := "# HELP a x y\n# TYPE a gauge\na{s=\"/\",t=\"q\\\"\\\\\\n\"} 1.5e+06\na{s=\"/b\"} NaN 123\n"
	fams := parsePrometheus(t, []byte(good))
	if fams["a"].samples[0].labels["t"] != "q\"\\\n" || fams["a"].samples[0].value != 1.5e6 {
		t.Errorf("%+v", fams["a"])
	}
}
