package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"text/tabwriter"
	"time"
)

// Report is one run's result; its JSON form is what scripts keep.
type Report struct {
	Label       string    `json:"label,omitempty"`
	URL         string    `json:"url"`
	Stations    int       `json:"stations,omitempty"`
	Date        time.Time `json:"date"`
	Listeners   int       `json:"listeners"`
	RampPerSec  float64   `json:"ramp_per_s"`
	HTTP        string    `json:"http"`
	ICY         bool      `json:"icy"`
	RampS       float64   `json:"ramp_s"`       // launching every listener
	ResolveS    float64   `json:"resolve_s"`    // ramp end → every listener connected or failed
	WindowS     float64   `json:"window_s"`     // steady window
	Bitrate     int       `json:"bitrate_kbps"` // used for % of real time
	BitrateFrom string    `json:"bitrate_from"` // "flag" or "stream"
	BurstBytes  int       `json:"burst_bytes"`  // size the burst time is measured for

	Connected int            `json:"connected"`
	Failed    int            `json:"failed"`
	Failures  map[string]int `json:"failures,omitempty"` // reason → count
	Dropped   int            `json:"dropped"`            // connected, then closed by the server inside the window
	Drops     map[string]int `json:"drops,omitempty"`

	// % of real time over the window, every listener (a failed one is 0).
	RatePct Rates `json:"rate_pct"`
	Kept99  int   `json:"kept_99"`  // listeners at ≥ 99 %
	StallMs Dist  `json:"stall_ms"` // per listener: longest gap between reads in the window
	// Reads per second per listener in the window, p50: how the server
	// chunks its writes (each read costs both sides a wake-up).
	ReadsPerSec float64 `json:"reads_per_s"`
	TTFBMs      Dist    `json:"ttfb_ms"`  // connect start → first body byte
	BurstMs     Dist    `json:"burst_ms"` // connect start → BurstBytes of audio
	// Connected listeners that never got BurstBytes of audio.
	BurstMissing  int     `json:"burst_missing"`
	FrameStartPct float64 `json:"frame_start_pct"`  // first audio byte starts a confirmed MPEG frame
	NoSync        int     `json:"no_sync"`          // connected listeners that never found two frames in a row
	Resyncs       int     `json:"resync_listeners"` // listeners that lost frame sync after finding it
	ICYTitles     int     `json:"icy_title_listeners,omitempty"`
	ICYBad        int     `json:"icy_bad_blocks,omitempty"`

	Source  *SourceReport  `json:"source,omitempty"`  // --source: what was pushed
	Latency *LatencyReport `json:"latency,omitempty"` // --source: source → listener

	Server *ProcReport `json:"server,omitempty"`
	Tool   ProcReport  `json:"tool"`
	Notes  []string    `json:"notes,omitempty"`
}

// Rates are percentiles of listeners' % of real time, low end first.
type Rates struct {
	Min float64 `json:"min"`
	P1  float64 `json:"p1"`
	P50 float64 `json:"p50"`
}

// Dist is a distribution in milliseconds.
type Dist struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
	N   int     `json:"n"`
}

// ProcReport is a process's cost: CPU as % of one core, RSS in KiB.
type ProcReport struct {
	PID          int     `json:"pid,omitempty"`
	CPURampPct   float64 `json:"cpu_ramp_pct"`       // from before the ramp to the window start
	CPUSteadyPct float64 `json:"cpu_steady_pct"`     // over the window
	CPUSysPct    float64 `json:"cpu_steady_sys_pct"` // the kernel's part of it (syscalls, loopback TCP)
	RSSBeforeKiB int64   `json:"rss_before_kib"`
	RSSStartKiB  int64   `json:"rss_start_kib"`
	RSSEndKiB    int64   `json:"rss_end_kib"`
	// (RSS at the window end − RSS before the ramp) / connected listeners.
	RSSPerListenerKiB float64 `json:"rss_per_listener_kib,omitempty"`
	Threads           int     `json:"threads,omitempty"`
}

func procReport(s [3]procSample, connected int) ProcReport {
	ramp, _ := cpuPct(s[0], s[1])
	steady, sys := cpuPct(s[1], s[2])
	p := ProcReport{
		CPURampPct: round(ramp, 2), CPUSteadyPct: round(steady, 2), CPUSysPct: round(sys, 2),
		RSSBeforeKiB: s[0].rssKiB, RSSStartKiB: s[1].rssKiB, RSSEndKiB: s[2].rssKiB, Threads: s[2].threads,
	}
	if connected > 0 {
		p.RSSPerListenerKiB = round(float64(s[2].rssKiB-s[0].rssKiB)/float64(connected), 3)
	}
	return p
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func dist(v []float64) Dist {
	slices.Sort(v)
	d := Dist{P50: percentile(v, 50), P99: percentile(v, 99), N: len(v)}
	if len(v) > 0 {
		d.Max = v[len(v)-1]
	}
	d.P50, d.P99, d.Max = round(d.P50, 1), round(d.P99, 1), round(d.Max, 1)
	return d
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

func ms(ns int64) float64 { return float64(ns) / 1e6 }

// report turns the listeners' records into the summary.
func (r *load) report(ls []listener, srv, tool [3]procSample, rampEnd, resolvedAt time.Time) *Report {
	cfg := r.cfg
	ws, we := r.winStart.Load(), r.winEnd.Load()
	rep := &Report{
		Label: cfg.Label, URL: cfg.URL, Date: r.base.UTC().Truncate(time.Second), Listeners: cfg.Listeners,
		RampPerSec: cfg.Rate, HTTP: "1.0", ICY: cfg.ICY, BurstBytes: cfg.Burst,
		RampS:    round(rampEnd.Sub(r.rampBase).Seconds(), 2),
		ResolveS: round(resolvedAt.Sub(rampEnd).Seconds(), 2),
		WindowS:  round(float64(we-ws)/1e9, 2),
		Failures: map[string]int{}, Drops: map[string]int{},
	}
	if len(r.tgt.paths) > 1 {
		rep.Stations = len(r.tgt.paths)
	}
	if cfg.HTTP11 {
		rep.HTTP = "1.1"
	}
	rep.Bitrate, rep.BitrateFrom = cfg.Bitrate, "flag"
	if cfg.Bitrate == 0 {
		rep.Bitrate, rep.BitrateFrom = int(r.bitrate.Load()), "stream"
	}
	byteRate := float64(rep.Bitrate) * 1000 / 8
	window := float64(we-ws) / 1e9

	var rates, stalls, ttfb, burst, reads []float64
	var lats []*latState
	frameStarts := 0
	for i := range ls {
		l := &ls[i]
		if l.lat != nil && l.outcome == connected {
			lats = append(lats, l.lat)
		}
		if l.outcome != connected {
			rep.Failed++
			reason := l.reason
			if l.outcome == pending {
				reason = "never launched"
			}
			rep.Failures[reason]++
			rates = append(rates, 0)
			continue
		}
		rep.Connected++
		if l.endedAt > 0 && l.endedAt < we {
			rep.Dropped++
			rep.Drops[l.reason]++
		}
		// A connection that went quiet or ended stalls until the window end.
		if l.last < we {
			l.maxGap = max(l.maxGap, we-max(l.last, ws))
		}
		rate := 0.0
		if byteRate > 0 && window > 0 {
			rate = 100 * float64(l.winBytes) / (byteRate * window)
		}
		rates = append(rates, rate)
		if rate >= 99 {
			rep.Kept99++
		}
		stalls = append(stalls, ms(l.maxGap))
		if window > 0 {
			reads = append(reads, float64(l.winReads)/window)
		}
		ttfb = append(ttfb, ms(l.firstByte-l.start))
		if l.burstAt > 0 {
			burst = append(burst, ms(l.burstAt-l.start))
		} else {
			rep.BurstMissing++
		}
		if l.walk.frameStart() {
			frameStarts++
		}
		if !l.walk.confirmed {
			rep.NoSync++
		}
		if l.walk.resyncs > 0 {
			rep.Resyncs++
		}
		if l.icy != nil {
			if l.icy.title != "" {
				rep.ICYTitles++
			}
			rep.ICYBad += l.icy.bad
		}
	}
	slices.Sort(rates)
	if len(rates) > 0 {
		rep.RatePct = Rates{Min: round(rates[0], 2), P1: round(percentile(rates, 1), 2), P50: round(percentile(rates, 50), 2)}
	}
	rep.StallMs, rep.TTFBMs, rep.BurstMs = dist(stalls), dist(ttfb), dist(burst)
	slices.Sort(reads)
	rep.ReadsPerSec = round(percentile(reads, 50), 2)
	if rep.Connected > 0 {
		rep.FrameStartPct = round(100*float64(frameStarts)/float64(rep.Connected), 2)
	}
	if rep.Bitrate == 0 && cfg.Listeners > 0 {
		rep.Notes = append(rep.Notes, "no MPEG frames seen and no --bitrate: rates are 0")
	}
	if cfg.Source {
		rep.Latency = latencyReport(lats, ws, we)
	}
	if cfg.PID != 0 {
		p := procReport(srv, rep.Connected)
		p.PID = cfg.PID
		rep.Server = &p
	}
	rep.Tool = procReport(tool, 0)
	if len(rep.Failures) == 0 {
		rep.Failures = nil
	}
	if len(rep.Drops) == 0 {
		rep.Drops = nil
	}
	return rep
}

// writeHuman prints the report as a table for people.
func writeHuman(w io.Writer, r *Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	label := ""
	if r.Label != "" {
		label = " [" + r.Label + "]"
	}
	icyState := "off"
	if r.ICY {
		icyState = "on"
	}
	fmt.Fprintf(tw, "listenbench%s\t%d listeners → %s (HTTP/%s, ICY %s), ramp %g/s in %.1fs, all resolved %.1fs later, window %.1fs\n",
		label, r.Listeners, r.URL, r.HTTP, icyState, r.RampPerSec, r.RampS, r.ResolveS, r.WindowS)
	fmt.Fprintf(tw, "connected\t%d / %d\tfailed %d%s\tdropped in window %d%s\n", r.Connected, r.Listeners, r.Failed, reasons(r.Failures), r.Dropped, reasons(r.Drops))
	fmt.Fprintf(tw, "bitrate\t%d kbit/s (%s)\n", r.Bitrate, r.BitrateFrom)
	pct := 0.0
	if r.Listeners > 0 {
		pct = 100 * float64(r.Kept99) / float64(r.Listeners)
	}
	fmt.Fprintf(tw, "%% of real time\tmin %.2f\tp1 %.2f\tp50 %.2f\t≥ 99 %%: %d (%.1f %%)\n", r.RatePct.Min, r.RatePct.P1, r.RatePct.P50, r.Kept99, pct)
	fmt.Fprintf(tw, "longest stall ms\tp50 %.0f\tp99 %.0f\tmax %.0f\treads/s per listener p50 %.1f\n", r.StallMs.P50, r.StallMs.P99, r.StallMs.Max, r.ReadsPerSec)
	fmt.Fprintf(tw, "TTFB ms\tp50 %.1f\tp99 %.1f\tmax %.1f\n", r.TTFBMs.P50, r.TTFBMs.P99, r.TTFBMs.Max)
	fmt.Fprintf(tw, "burst %d B ms\tp50 %.1f\tp99 %.1f\tmax %.1f\tnever reached: %d\n", r.BurstBytes, r.BurstMs.P50, r.BurstMs.P99, r.BurstMs.Max, r.BurstMissing)
	fmt.Fprintf(tw, "first byte a frame\t%.1f %%\tnever in sync: %d\tlost sync: %d\n", r.FrameStartPct, r.NoSync, r.Resyncs)
	if r.ICY {
		fmt.Fprintf(tw, "ICY metadata\ttitles seen by %d\tbad blocks %d\n", r.ICYTitles, r.ICYBad)
	}
	if s := r.Source; s != nil {
		fmt.Fprintf(tw, "source\t%d frames (%.1f s of audio) → %s\twrite lag ms p50 %.1f p99 %.1f max %.1f\twarm-up %.0f s%s\n",
			s.Frames, s.Seconds, s.Route, s.LagMs.P50, s.LagMs.P99, s.LagMs.Max, s.WarmupS, errSuffix(s.Error))
	}
	if l := r.Latency; l != nil {
		fmt.Fprintf(tw, "latency wire ms\tp50 %.0f\tp90 %.0f\tp99 %.0f\tmax %.0f\tmin %.0f\t%d frames at %d listeners\n",
			l.WireMs.P50, l.WireMs.P90, l.WireMs.P99, l.WireMs.Max, l.WireMs.Min, l.WireMs.N, l.Listeners)
		fmt.Fprintf(tw, "latency audible ms\tp50 %.0f\tp90 %.0f\tp99 %.0f\tmax %.0f\tmin %.0f\n",
			l.AudibleMs.P50, l.AudibleMs.P90, l.AudibleMs.P99, l.AudibleMs.Max, l.AudibleMs.Min)
		fmt.Fprintf(tw, "wire p50 by tenth ms\t%v\n", l.WireP50ByTenth)
		fmt.Fprintf(tw, "frames in window\tuntagged (silence) %d\tmissing (dropped) %d\treordered %d\tlate for a player %d\n",
			l.Untagged, l.Missing, l.Reorder, l.Late)
	}
	if s := r.Server; s != nil {
		fmt.Fprintf(tw, "server pid %d\tCPU steady %.2f %% (kernel %.2f)\tramp %.2f %% (of one core)\tRSS %.1f → %.1f → %.1f MiB (%+.2f KiB/listener)\tthreads %d\n",
			s.PID, s.CPUSteadyPct, s.CPUSysPct, s.CPURampPct, mib(s.RSSBeforeKiB), mib(s.RSSStartKiB), mib(s.RSSEndKiB), s.RSSPerListenerKiB, s.Threads)
	}
	fmt.Fprintf(tw, "listenbench itself\tCPU steady %.2f %% (kernel %.2f)\tramp %.2f %%\tRSS %.1f MiB\n", r.Tool.CPUSteadyPct, r.Tool.CPUSysPct, r.Tool.CPURampPct, mib(r.Tool.RSSEndKiB))
	for _, n := range r.Notes {
		fmt.Fprintf(tw, "note\t%s\n", n)
	}
	tw.Flush()
}

func errSuffix(e string) string {
	if e == "" {
		return ""
	}
	return "\terror: " + e
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

func reasons(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	s := " ("
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s: %d", k, m[k])
	}
	return s + ")"
}
