// Command listenbench is a load tool for internet-radio servers: it opens
// many listener connections the way players do (raw TCP, GET with
// HTTP/1.0 or 1.1, optional Icy-MetaData), ramps them up at a given rate,
// holds them for a steady window and reports what the listeners got (% of
// real time, stalls, time to first byte, burst, frame alignment) and what
// the server cost (CPU and RSS from /proc). It stops by itself.
//
// With --source it is also the station's live source: it PUTs tagged
// 128 kbit/s frames to the route in real time, as an Icecast source client
// does, and reports each frame's latency from its write to the reads of a
// sample of listeners (latency.go, source.go).
//
//	listenbench --url http://127.0.0.1:9999/ --listeners 5000 --rate 500 --duration 60s --pid 1234
//	LISTENBENCH_SOURCE_PASSWORD=… listenbench --url http://127.0.0.1:9999/live --source --listeners 1000 --pid 1234
//	listenbench --hls --url http://127.0.0.1:9999/jazz.m3u8 --listeners 1000 --rate 200 --duration 60s
//	listenbench table results/*.json
//
// Only loopback targets are accepted unless --allow-remote (for sizing
// your own server from another machine you own).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole command; it returns the exit status (2: bad usage,
// 1: the run failed).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "table" {
		return tableCmd(args[1:], stdout, stderr)
	}
	cfg, asJSON, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "listenbench:", err)
		return 2
	}
	if cfg.HLS {
		rep, err := benchHLS(ctx, cfg)
		if err != nil {
			fmt.Fprintln(stderr, "listenbench:", err)
			return 1
		}
		if asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", " ")
			if enc.Encode(rep) != nil {
				return 1
			}
			return 0
		}
		writeHLSHuman(stdout, rep)
		return 0
	}
	rep, err := bench(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "listenbench:", err)
		return 1
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", " ")
		if err := enc.Encode(rep); err != nil {
			return 1
		}
		return 0
	}
	writeHuman(stdout, rep)
	return 0
}

func parseFlags(args []string, stderr io.Writer) (config, bool, error) {
	fs := flag.NewFlagSet("listenbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config{}
	var pidFile string
	var asJSON bool
	fs.StringVar(&cfg.URL, "url", "http://127.0.0.1:9999/", `stream URL; "%d" in the path is replaced by the station number (see --stations)`)
	fs.IntVar(&cfg.Stations, "stations", 1, `with "%d" in --url: listener i plays station i mod N`)
	fs.IntVar(&cfg.Listeners, "listeners", 1000, "listeners to connect (0: just sample the server for --duration)")
	fs.IntVar(&cfg.Listeners, "n", 1000, "short for --listeners")
	fs.Float64Var(&cfg.Rate, "rate", 500, "new listeners per second during the ramp")
	fs.DurationVar(&cfg.Duration, "duration", 60*time.Second, "steady window, after every listener has its first byte (or failed) and --settle")
	fs.DurationVar(&cfg.Settle, "settle", 2*time.Second, "pause between the last first byte and the steady window, so bursts stay out of it")
	fs.DurationVar(&cfg.ConnectTimeout, "connect-timeout", 30*time.Second, "a listener without its first body byte this long after connect start has failed")
	fs.BoolVar(&cfg.HTTP11, "http11", false, "send HTTP/1.1 requests (default HTTP/1.0)")
	fs.BoolVar(&cfg.ICY, "icy", false, `send "Icy-MetaData: 1" and strip (and check) the metadata blocks`)
	fs.IntVar(&cfg.Bitrate, "bitrate", 0, "stream bitrate in kbit/s for % of real time (0: from the first frame header)")
	fs.IntVar(&cfg.Burst, "burst", 65536, "bytes of audio whose arrival time is the burst time")
	fs.IntVar(&cfg.ReadBuf, "read-buffer", 16<<10, "read buffer per listener in bytes")
	fs.IntVar(&cfg.PID, "pid", 0, "server process to sample (CPU, RSS) from /proc")
	fs.StringVar(&pidFile, "pidfile", "", "file holding the server's process id (instead of --pid)")
	fs.BoolVar(&cfg.AllowRemote, "allow-remote", false, "allow a non-loopback target: only for your own server, from your own machine")
	fs.StringVar(&cfg.Label, "label", "", `name of the server in the report (e.g. "ours", "icecast")`)
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	fs.BoolVar(&cfg.Source, "source", false, "also be the live source: PUT tagged 128 kbit/s frames to the route in real time (user \"source\") and measure source → listener latency")
	fs.StringVar(&cfg.SourcePassword, "source-password", os.Getenv("LISTENBENCH_SOURCE_PASSWORD"), "password for --source (default $LISTENBENCH_SOURCE_PASSWORD)")
	fs.DurationVar(&cfg.SourceWarmup, "source-warmup", 6*time.Second, "with --source: push this long before the first listener (jitter buffer + burst must fill)")
	fs.IntVar(&cfg.LatencySample, "latency-sample", 100, "with --source: listeners (spread over the ramp) that record every frame's latency")
	fs.BoolVar(&cfg.HLS, "hls", false, "--url is an HLS media playlist (e.g. http://127.0.0.1:9999/jazz.m3u8): each listener polls it every half target duration and fetches every new segment; reports requests/s, bytes and whether each kept up")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: listenbench [flags]\n       listenbench table [--ref LABEL] REPORT.json...\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, false, err
	}
	if fs.NArg() > 0 {
		return cfg, false, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if cfg.Source && cfg.SourcePassword == "" {
		return cfg, false, errors.New("--source needs --source-password (or $LISTENBENCH_SOURCE_PASSWORD)")
	}
	if pidFile != "" {
		if cfg.PID != 0 {
			return cfg, false, errors.New("give --pid or --pidfile, not both")
		}
		pid, err := readPIDFile(pidFile)
		if err != nil {
			return cfg, false, err
		}
		cfg.PID = pid
	}
	if !*quiet {
		cfg.Progress = stderr
	}
	return cfg, asJSON, nil
}
