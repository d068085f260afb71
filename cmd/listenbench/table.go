package main

import (
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// metric is one row of the comparison table.
type metric struct {
	name string
	get  func(*Report) (float64, bool)
	fmt  string
}

func server(f func(*ProcReport) float64) func(*Report) (float64, bool) {
	return func(r *Report) (float64, bool) {
		if r.Server == nil {
			return 0, false
		}
		return f(r.Server), true
	}
}

func latency(f func(*LatencyReport) float64) func(*Report) (float64, bool) {
	return func(r *Report) (float64, bool) {
		if r.Latency == nil || r.Latency.WireMs.N == 0 {
			return 0, false
		}
		return f(r.Latency), true
	}
}

func always(f func(*Report) float64) func(*Report) (float64, bool) {
	return func(r *Report) (float64, bool) { return f(r), true }
}

var metrics = []metric{
	{"connected", always(func(r *Report) float64 { return float64(r.Connected) }), "%.0f"},
	{"≥ 99 % of real time", always(func(r *Report) float64 { return float64(r.Kept99) }), "%.0f"},
	{"rate min %", always(func(r *Report) float64 { return r.RatePct.Min }), "%.2f"},
	{"rate p1 %", always(func(r *Report) float64 { return r.RatePct.P1 }), "%.2f"},
	{"longest stall p50 ms", always(func(r *Report) float64 { return r.StallMs.P50 }), "%.0f"},
	{"longest stall p99 ms", always(func(r *Report) float64 { return r.StallMs.P99 }), "%.0f"},
	{"reads/s per listener p50", always(func(r *Report) float64 { return r.ReadsPerSec }), "%.1f"},
	{"TTFB p50 ms", always(func(r *Report) float64 { return r.TTFBMs.P50 }), "%.1f"},
	{"TTFB p99 ms", always(func(r *Report) float64 { return r.TTFBMs.P99 }), "%.1f"},
	{"TTFB max ms", always(func(r *Report) float64 { return r.TTFBMs.Max }), "%.1f"},
	{"burst p99 ms", always(func(r *Report) float64 { return r.BurstMs.P99 }), "%.1f"},
	{"first byte a frame %", always(func(r *Report) float64 { return r.FrameStartPct }), "%.1f"},
	{"latency wire p50 ms", latency(func(l *LatencyReport) float64 { return l.WireMs.P50 }), "%.0f"},
	{"latency wire p99 ms", latency(func(l *LatencyReport) float64 { return l.WireMs.P99 }), "%.0f"},
	{"latency audible p50 ms", latency(func(l *LatencyReport) float64 { return l.AudibleMs.P50 }), "%.0f"},
	{"latency audible p99 ms", latency(func(l *LatencyReport) float64 { return l.AudibleMs.P99 }), "%.0f"},
	{"server CPU steady % of a core", server(func(p *ProcReport) float64 { return p.CPUSteadyPct }), "%.2f"},
	{"  of which kernel %", server(func(p *ProcReport) float64 { return p.CPUSysPct }), "%.2f"},
	{"server CPU ramp % of a core", server(func(p *ProcReport) float64 { return p.CPURampPct }), "%.2f"},
	{"server RSS before MiB", server(func(p *ProcReport) float64 { return mib(p.RSSBeforeKiB) }), "%.1f"},
	{"server RSS end MiB", server(func(p *ProcReport) float64 { return mib(p.RSSEndKiB) }), "%.1f"},
	{"RSS growth KiB/listener", server(func(p *ProcReport) float64 { return p.RSSPerListenerKiB }), "%.2f"},
	{"server threads", server(func(p *ProcReport) float64 { return float64(p.Threads) }), "%.0f"},
	{"listenbench CPU steady %", always(func(r *Report) float64 { return r.Tool.CPUSteadyPct }), "%.1f"},
}

// median of the values; the mean of the middle two for an even count.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// tableCmd prints, for each load, the median of every metric over the runs
// of each label, and the ratio of each label to the reference one.
func tableCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("listenbench table", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ref := fs.String("ref", "icecast", "label the ratios are relative to")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var reps []*Report
	for _, path := range fs.Args() {
		b, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(stderr, "listenbench table:", err)
			return 1
		}
		r := new(Report)
		if err := json.Unmarshal(b, r); err != nil {
			fmt.Fprintf(stderr, "listenbench table: %s: %v\n", path, err)
			return 1
		}
		reps = append(reps, r)
	}
	writeTable(stdout, reps, *ref)
	return 0
}

type loadKey struct {
	listeners, stations int
	icy                 bool
}

func writeTable(w io.Writer, reps []*Report, ref string) {
	byLoad := map[loadKey]map[string][]*Report{}
	for _, r := range reps {
		k := loadKey{r.Listeners, r.Stations, r.ICY}
		if byLoad[k] == nil {
			byLoad[k] = map[string][]*Report{}
		}
		byLoad[k][r.Label] = append(byLoad[k][r.Label], r)
	}
	keys := make([]loadKey, 0, len(byLoad))
	for k := range byLoad {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b loadKey) int {
		return cmp.Or(cmp.Compare(a.stations, b.stations), cmp.Compare(a.listeners, b.listeners))
	})
	for _, k := range keys {
		runs := byLoad[k]
		labels := make([]string, 0, len(runs))
		for l := range runs {
			if l != ref {
				labels = append(labels, l)
			}
		}
		slices.Sort(labels)
		hasRef := runs[ref] != nil
		if hasRef {
			labels = append(labels, ref)
		}
		title := fmt.Sprintf("%d listeners", k.listeners)
		if k.stations > 1 {
			title = fmt.Sprintf("%d stations × %d listeners", k.stations, k.listeners/k.stations)
		}
		if k.icy {
			title += ", ICY metadata on"
		}
		fmt.Fprintf(w, "### %s (median of runs: %s)\n\n", title, runCounts(runs, labels))
		head := []string{"metric"}
		for _, l := range labels {
			head = append(head, cmp.Or(l, "(no label)"))
		}
		if hasRef && len(labels) > 1 {
			for _, l := range labels[:len(labels)-1] {
				head = append(head, cmp.Or(l, "(no label)")+" / "+ref)
			}
		}
		fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat(" --- |", len(head)))
		for _, m := range metrics {
			row := []string{m.name}
			vals := make([]float64, len(labels))
			measured := false
			for i, l := range labels {
				var v []float64
				for _, r := range runs[l] {
					if x, ok := m.get(r); ok {
						v = append(v, x)
					}
				}
				if len(v) == 0 {
					row = append(row, "–")
					continue
				}
				measured = true
				vals[i] = median(v)
				row = append(row, fmt.Sprintf(m.fmt, vals[i]))
			}
			if !measured || !slices.ContainsFunc(vals, func(v float64) bool { return v != 0 }) {
				continue // nothing measured, or zero everywhere (an idle run's listener rows)
			}
			if hasRef && len(labels) > 1 {
				base := vals[len(vals)-1]
				for _, v := range vals[:len(vals)-1] {
					if base == 0 {
						row = append(row, "–")
					} else {
						row = append(row, fmt.Sprintf("%.2f", v/base))
					}
				}
			}
			fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
		}
		fmt.Fprintln(w)
	}
}

func runCounts(runs map[string][]*Report, labels []string) string {
	var parts []string
	for _, l := range labels {
		parts = append(parts, fmt.Sprintf("%s %d", cmp.Or(l, "(no label)"), len(runs[l])))
	}
	return strings.Join(parts, ", ")
}
