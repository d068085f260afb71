package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// promFamily is one metric family of /metrics, as the tests read it.
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

// parsePrometheus reads /metrics with Prometheus' own text parser (expfmt)
// and fails the test on anything it refuses, or on what the server's
// hand-written exposition must also get right and expfmt lets through (see
// readPrometheus).
func parsePrometheus(t *testing.T, body []byte) map[string]*promFamily {
	t.Helper()
	fams, err := readPrometheus(body)
	if err != nil {
		t.Fatalf("/metrics: %v", err)
	}
	return fams
}

// readPrometheus parses the text exposition format 0.0.4 with expfmt, then
// checks the rules of the format that expfmt does not enforce: every family
// has HELP and TYPE, its samples stand together, no series repeats, and no
// counter is negative.
func readPrometheus(body []byte) (map[string]*promFamily, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if err := samplesTogether(body); err != nil {
		return nil, err
	}
	fams := map[string]*promFamily{}
	for name, mf := range mfs {
		typ := mf.GetType().String() // COUNTER, GAUGE…; UNTYPED when there is no TYPE line
		if mf.Help == nil || typ == "UNTYPED" {
			return nil, fmt.Errorf("family %s has no HELP or no TYPE", name)
		}
		f := &promFamily{help: mf.GetHelp(), typ: strings.ToLower(typ)}
		seen := map[string]bool{}
		for _, m := range mf.GetMetric() {
			s := promSample{labels: map[string]string{}}
			for _, lp := range m.GetLabel() {
				s.labels[lp.GetName()] = lp.GetValue()
			}
			switch typ {
			case "COUNTER":
				s.value = m.GetCounter().GetValue()
				if s.value < 0 || math.IsNaN(s.value) {
					return nil, fmt.Errorf("counter %s%v = %v", name, s.labels, s.value)
				}
			case "GAUGE":
				s.value = m.GetGauge().GetValue()
			case "HISTOGRAM": // its value here: how many it counted
				s.value = float64(m.GetHistogram().GetSampleCount())
			default:
				return nil, fmt.Errorf("family %s: type %s; the server writes only counters, gauges and histograms", name, f.typ)
			}
			key := seriesKey(s.labels)
			if seen[key] {
				return nil, fmt.Errorf("series %s{%s} repeats", name, key)
			}
			seen[key] = true
			f.samples = append(f.samples, s)
		}
		fams[name] = f
	}
	return fams, nil
}

// samplesTogether checks that the sample lines of each family are
// consecutive (expfmt merges a family split in two). It runs after expfmt
// has accepted the text, so a sample line is a name followed by '{' or ' '.
func samplesTogether(body []byte) error {
	done := map[string]bool{}
	current := ""
	for line := range strings.SplitSeq(string(body), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		name := line[:strings.IndexAny(line, "{ ")]
		if name == current {
			continue
		}
		if done[name] {
			return fmt.Errorf("samples of %s are not together", name)
		}
		done[current] = true
		current = name
	}
	return nil
}

func seriesKey(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + strconv.Quote(labels[k]) + ",")
	}
	return b.String()
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
		if name == "audio_stream_listeners_refused_total" {
			checkLabelledSeries(t, name, f, routes, "reason", int(refusalKinds))
			continue
		}
		if name == "audio_stream_source_on_air" {
			checkLabelledSeries(t, name, f, routes, "source", 4)
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
	for _, name := range []string{"audio_stream_listeners", "audio_stream_sessions_total", "audio_stream_bytes_sent_total", "audio_stream_track_seconds_total", "audio_stream_panics_total", "audio_stream_ready", "go_goroutines"} {
		if fams[name] == nil {
			t.Errorf("no %s", name)
		}
	}
}

func TestParsePrometheusRejects(t *testing.T) {
	// The checks above are only as good as the reader: it must refuse what
	// Prometheus would, including what expfmt alone lets through.
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
	if fams["a"].help != "x y" || fams["a"].typ != "gauge" || fams["a"].samples[0].labels["t"] != "q\"\\\n" || fams["a"].samples[0].value != 1.5e6 {
		t.Errorf("%+v", fams["a"])
	}
}

// checkRefusalSeries: the refusal counter has one series per station and
// reason (zeros included, so rates work from the first refusal on).
func checkLabelledSeries(t *testing.T, name string, f *promFamily, routes []string, label string, per int) {
	t.Helper()
	perRoute := map[string]int{}
	for _, s := range f.samples {
		if len(s.labels) != 2 || s.labels[label] == "" {
			t.Errorf("%s: labels %v, want stream and %s", name, s.labels, label)
		}
		perRoute[s.labels["stream"]]++
	}
	for _, r := range routes {
		if perRoute[r] != per {
			t.Errorf("%s{stream=%q}: %d series, want one per %s (%d)", name, r, perRoute[r], label, per)
		}
	}
	if len(perRoute) != len(routes) {
		t.Errorf("%s: streams %v, want %q", name, perRoute, routes)
	}
}

// TestGrafanaDashboardQueriesExistingMetrics: deploy/grafana's dashboard
// is valid JSON with panels, and every metric its queries name is in
// /metrics (a histogram by its _bucket, _sum and _count series).
func TestGrafanaDashboardQueriesExistingMetrics(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(testmedia.ModuleRoot(t), "deploy", "grafana", "audio-streamer.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Query any `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	var exprs []string
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	for _, v := range dash.Templating.List {
		if q, ok := v.Query.(string); ok {
			exprs = append(exprs, q)
		}
	}
	if dash.Title == "" || len(dash.Panels) < 8 {
		t.Fatalf("dashboard %q with %d panels", dash.Title, len(dash.Panels))
	}

	h := startHarness(t, nil, stationSpec{files: map[string][]byte{"a.mp3": framesFrom(0, 400)}})
	resp, err := http.Get(h.url("/metrics"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fams := parsePrometheus(t, body)
	name := regexp.MustCompile(`\b(?:audio_stream|audio_streamer|go|process)_[a-z_]+\b`)
	seen := 0
	for _, e := range exprs {
		for _, m := range name.FindAllString(e, -1) {
			seen++
			family := m
			if fams[family] == nil {
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if base, ok := strings.CutSuffix(m, suffix); ok && fams[base] != nil && fams[base].typ == "histogram" {
						family = base
					}
				}
			}
			if fams[family] == nil {
				t.Errorf("the dashboard queries %s (in %q), which /metrics does not have", m, e)
			}
		}
	}
	if seen < 10 {
		t.Fatalf("only %d metric names in the dashboard's queries", seen)
	}
}
