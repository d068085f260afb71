package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// HLSReport is what --hls measured: HLS players polling a station's media
// playlist and fetching each new segment, as hls.js and Safari do.
type HLSReport struct {
	Label     string  `json:"label,omitempty"`
	URL       string  `json:"url"`
	Clients   int     `json:"clients"`
	WindowS   float64 `json:"window_s"`
	Playlists int64   `json:"playlist_requests"`
	Segments  int64   `json:"segment_requests"`
	ReqPerSec float64 `json:"requests_per_s"`
	Bytes     int64   `json:"bytes"`
	MBPerSec  float64 `json:"mb_per_s"`
	// KeptUp counts clients that got every segment from their first on,
	// in order, with no failed request; Missed is segments that left the
	// window before a client fetched them (over all clients).
	KeptUp int            `json:"kept_up"`
	Missed int64          `json:"missed_segments"`
	Errors map[string]int `json:"errors,omitempty"`
	// SegmentMs is the time to fetch a whole segment, over all fetches.
	SegmentMs Dist `json:"segment_ms"`
}

// hlsClient is one player's tally.
type hlsClient struct {
	playlists, segments, bytes, missed int64
	errors                             map[string]int
	fetchMs                            []float64
}

// benchHLS runs cfg.Listeners HLS clients against the playlist at cfg.URL:
// started at cfg.Rate a second, each polls the playlist every half target
// duration and fetches the segments new to it, for cfg.Duration.
func benchHLS(ctx context.Context, cfg config) (*HLSReport, error) {
	tg, err := resolveTarget(ctx, cfg.URL, 1, cfg.AllowRemote)
	if err != nil {
		return nil, err
	}
	base, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	client := &http.Client{
		Timeout: cfg.ConnectTimeout,
		Transport: &http.Transport{
			// Every request goes to the address resolved (and checked) once.
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, network, tg.addr)
			},
			MaxIdleConns:        cfg.Listeners + 16,
			MaxIdleConnsPerHost: cfg.Listeners + 16,
			DisableCompression:  true,
		},
	}
	defer client.CloseIdleConnections()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	clients := make([]hlsClient, cfg.Listeners)
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(time.Duration(float64(cfg.Listeners)/max(cfg.Rate, 1)*float64(time.Second)) + cfg.Duration)
	if cfg.Progress != nil {
		fmt.Fprintf(cfg.Progress, "listenbench: %d HLS clients at %.0f/s, until %s\n", cfg.Listeners, cfg.Rate, end.Format(time.TimeOnly))
	}
	for i := range clients {
		at := start.Add(time.Duration(float64(i) / max(cfg.Rate, 1) * float64(time.Second)))
		if err := sleepCtx(ctx, time.Until(at)); err != nil {
			break
		}
		wg.Go(func() { playHLS(ctx, client, base, end, &clients[i]) })
	}
	wg.Wait()
	window := time.Since(start)

	rep := &HLSReport{Label: cfg.Label, URL: cfg.URL, Clients: cfg.Listeners, WindowS: window.Seconds(), Errors: map[string]int{}}
	var fetches []float64
	for i := range clients {
		c := &clients[i]
		rep.Playlists += c.playlists
		rep.Segments += c.segments
		rep.Bytes += c.bytes
		rep.Missed += c.missed
		for k, n := range c.errors {
			rep.Errors[k] += n
		}
		if c.missed == 0 && len(c.errors) == 0 && c.segments > 0 {
			rep.KeptUp++
		}
		fetches = append(fetches, c.fetchMs...)
	}
	rep.ReqPerSec = float64(rep.Playlists+rep.Segments) / window.Seconds()
	rep.MBPerSec = float64(rep.Bytes) / 1e6 / window.Seconds()
	sort.Float64s(fetches)
	rep.SegmentMs = distOf(fetches)
	return rep, nil
}

// distOf summarises sorted values.
func distOf(v []float64) Dist {
	if len(v) == 0 {
		return Dist{}
	}
	q := func(p float64) float64 { return v[min(int(p*float64(len(v))), len(v)-1)] }
	return Dist{P50: q(0.5), P99: q(0.99), Max: v[len(v)-1], N: len(v)}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// playHLS is one player until end: reload the playlist, fetch what is
// new, wait half a target duration.
func playHLS(ctx context.Context, client *http.Client, playlist *url.URL, end time.Time, c *hlsClient) {
	c.errors = map[string]int{}
	var next int64 = -1 // the sequence number expected next; -1: none yet
	for time.Now().Before(end) && ctx.Err() == nil {
		pl, err := fetchPlaylist(ctx, client, playlist.String())
		c.playlists++
		if err != nil {
			c.errors["playlist: "+err.Error()]++
			if sleepCtx(ctx, time.Second) != nil {
				return
			}
			continue
		}
		for i, uri := range pl.uris {
			seq := pl.first + int64(i)
			if next < 0 {
				// A player starts three segments from the end.
				if i < len(pl.uris)-3 {
					continue
				}
				next = seq
			}
			if seq < next {
				continue
			}
			if seq > next {
				c.missed += seq - next
			}
			ref, err := playlist.Parse(uri)
			if err != nil {
				c.errors["segment URI"]++
				continue
			}
			t0 := time.Now()
			n, err := fetchAll(ctx, client, ref.String())
			c.segments++
			if err != nil {
				c.errors["segment: "+err.Error()]++
			} else {
				c.bytes += n
				c.fetchMs = append(c.fetchMs, float64(time.Since(t0).Microseconds())/1000)
			}
			next = seq + 1
		}
		if sleepCtx(ctx, time.Duration(pl.target)*time.Second/2) != nil {
			return
		}
	}
}

// mediaPlaylist is what a player needs of a media playlist.
type mediaPlaylist struct {
	target int64 // EXT-X-TARGETDURATION
	first  int64 // EXT-X-MEDIA-SEQUENCE
	uris   []string
}

func fetchPlaylist(ctx context.Context, client *http.Client, u string) (mediaPlaylist, error) {
	pl := mediaPlaylist{target: 6}
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return pl, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return pl, errClass(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		_, _ = io.Copy(io.Discard, resp.Body) // let the connection be reused
		return pl, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "#EXT-X-TARGETDURATION:"):
			pl.target, _ = strconv.ParseInt(strings.TrimPrefix(line, "#EXT-X-TARGETDURATION:"), 10, 64)
		case strings.HasPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"):
			pl.first, _ = strconv.ParseInt(strings.TrimPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"), 10, 64)
		case line != "" && !strings.HasPrefix(line, "#"):
			pl.uris = append(pl.uris, line)
		}
	}
	if pl.target <= 0 {
		pl.target = 6
	}
	return pl, errClass(sc.Err())
}

func fetchAll(ctx context.Context, client *http.Client, u string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, errClass(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return n, errClass(err)
}

// errClass keeps error texts short enough to count by kind.
func errClass(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s", errText(err))
}

func writeHLSHuman(w io.Writer, r *HLSReport) {
	fmt.Fprintf(w, "HLS %s: %d clients over %.1f s\n", r.URL, r.Clients, r.WindowS)
	fmt.Fprintf(w, "  requests: %d playlists + %d segments = %.0f/s; %.1f MB (%.2f MB/s)\n",
		r.Playlists, r.Segments, r.ReqPerSec, float64(r.Bytes)/1e6, r.MBPerSec)
	fmt.Fprintf(w, "  kept up: %d of %d clients; segments missed: %d\n", r.KeptUp, r.Clients, r.Missed)
	fmt.Fprintf(w, "  segment fetch ms: p50 %.1f p99 %.1f max %.1f (%d fetches)\n", r.SegmentMs.P50, r.SegmentMs.P99, r.SegmentMs.Max, r.SegmentMs.N)
	for k, n := range r.Errors {
		fmt.Fprintf(w, "  error %q: %d\n", k, n)
	}
}
