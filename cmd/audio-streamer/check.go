package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/station"
	"github.com/aposazhennikov/stream-audio-to-web/internal/transcode"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// checkReport is what `audio-streamer check` found; --json prints it as is.
type checkReport struct {
	OK       bool            `json:"ok"` // every station has something to play
	Warnings []string        `json:"warnings,omitempty"`
	FFmpeg   *toolStatus     `json:"ffmpeg,omitempty"`  // only when some file needs it
	FFprobe  *toolStatus     `json:"ffprobe,omitempty"` // only when ffmpeg is there and some file needs it
	Stations []stationReport `json:"stations"`
}

type toolStatus struct {
	Path  string `json:"path,omitempty"`
	Error string `json:"error,omitempty"`
}

type stationReport struct {
	Route     string `json:"route"`
	Dir       string `json:"dir"`
	Mode      string `json:"mode"`
	Transcode string `json:"transcode"`
	// Source is what Dir is: "folder", or "playlist" for an .m3u/.m3u8/.pls
	// file whose entries play.
	Source string `json:"source"`
	// Demo: the default folder is missing, so the server plays the bundled
	// demo tracks here (they are not listed).
	Demo bool `json:"demo,omitempty"`
	// Note says why the folder could not be scanned (missing, not a
	// directory...) or that the demo station stands in for it.
	Note     string       `json:"note,omitempty"`
	OK       bool         `json:"ok"`
	Play     []playEntry  `json:"play"`
	Skip     []skipEntry  `json:"skip"`
	Majority *audioFormat `json:"majority_format,omitempty"` // of the stream, when the tracks differ
	Odd      []oddEntry   `json:"different_format,omitempty"`
}

// playEntry is a file the station will play. SampleRate and Channels are the
// file's own; BitrateKbps is what listeners get (the station's bitrate for a
// transcoded file).
type playEntry struct {
	Path        string  `json:"path"`
	Title       string  `json:"title"` // the display title sent as StreamTitle
	Codec       string  `json:"codec"` // "mp3", or ffprobe's codec name
	SampleRate  int     `json:"sample_rate"`
	Channels    int     `json:"channels"`
	BitrateKbps int     `json:"bitrate_kbps"`
	VBR         bool    `json:"vbr,omitempty"`
	DurationS   float64 `json:"duration_s"` // 0 when unknown
	Frames      int     `json:"frames,omitempty"`
	Transcoded  bool    `json:"transcoded"`
	Note        string  `json:"note,omitempty"`

	stream audioFormat // what this track sends: the file's, or the station's after transcoding
}

type skipEntry struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

type audioFormat struct {
	SampleRate int `json:"sample_rate"`
	Channels   int `json:"channels"`
}

func (f audioFormat) String() string {
	return fmt.Sprintf("%d Hz %s", f.SampleRate, channelsText(f.Channels))
}

type oddEntry struct {
	Path string `json:"path"`
	audioFormat
}

const oddHint = `may make some players glitch; consider transcode = "always"`

// checker inspects files once even when several stations share a folder.
type checker struct {
	ctx       context.Context
	cfg       *config.Config
	mp3s      map[string]mp3Result
	probes    map[string]probeResult
	ffmpeg    *toolStatus
	ffmpegErr error
	ffprobe   *toolStatus
}

type mp3Result struct {
	codec    string
	rate, ch int
	kbps     int
	vbr      bool
	frames   int
	duration time.Duration
	err      error
}

type probeResult struct {
	info transcode.Info
	err  error
}

// check prints, per station, what will play and what will be skipped. It
// takes the server's flags and environment (plus --json) and only reads
// files. Exit status: 0 when every station has a playable file, 1 when one
// has none, 2 for a bad configuration.
func check(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer) int {
	args, asJSON := stripJSONFlag(args)
	cfg, err := config.Load(args, env)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, "Usage: audio-streamer check [--json] [server flags]\n\n"+
			"Lists, per station, the files that will play, the ones that will be skipped\n"+
			"and why, and tracks whose format differs from the rest. --json prints the\n"+
			"same as JSON. Exit status: 0 all stations can play, 1 a station has nothing\n"+
			"to play, 2 bad configuration. The server's flags follow.\n\n")
		fmt.Fprint(stdout, config.Usage())
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	rep, err := inspect(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "audio-streamer check:", err)
		return 1
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintln(stderr, "audio-streamer check:", err)
			return 1
		}
	} else {
		writeCheckText(stdout, rep)
	}
	if !rep.OK {
		for _, sr := range rep.Stations {
			if !sr.OK {
				fmt.Fprintf(stderr, "audio-streamer check: route %s has no playable files (%s %s)\n", sr.Route, sr.Source, sr.Dir)
			}
		}
		return 1
	}
	return 0
}

// inspect builds the stations exactly as the server does (the demo folder
// included), never starting them, and inspects what each would play. The
// error is a failure to build, or the context's.
func inspect(ctx context.Context, cfg *config.Config) (checkReport, error) {
	c := &checker{ctx: ctx, cfg: cfg, mp3s: map[string]mp3Result{}, probes: map[string]probeResult{}}
	rep := checkReport{OK: true, Warnings: cfg.Warnings}
	stations, err := station.BuildAll(cfg, station.Deps{})
	if err != nil {
		return rep, err
	}
	slices.SortStableFunc(stations, func(a, b *station.Station) int { return strings.Compare(a.Profile().Route, b.Profile().Route) })
	for _, st := range stations {
		sr, err := c.station(st)
		if err != nil {
			return rep, fmt.Errorf("interrupted: %w", err)
		}
		rep.OK = rep.OK && sr.OK
		rep.Stations = append(rep.Stations, sr)
	}
	rep.FFmpeg, rep.FFprobe = c.ffmpeg, c.ffprobe
	return rep, nil
}

// stripJSONFlag removes --json (not a server setting, so config.Load would
// refuse it) from the flags before a "--" terminator.
func stripJSONFlag(args []string) ([]string, bool) {
	out := make([]string, 0, len(args))
	found := false
	for i, a := range args {
		if a == "--" {
			out = append(out, args[i:]...)
			break
		}
		if a == "--json" || a == "-json" || a == "--json=true" || a == "-json=true" {
			found = true
			continue
		}
		out = append(out, a)
	}
	return out, found
}

// station scans one station's folder the way the server does and inspects
// every track. The error is only ever the context's.
func (c *checker) station(built *station.Station) (stationReport, error) {
	st := built.Settings()
	sr := stationReport{Route: st.Route, Dir: st.Dir, Mode: string(st.Mode), Transcode: st.Transcode,
		Source: "folder", Play: []playEntry{}, Skip: []skipEntry{}, Demo: built.Demo()}
	isList := playlist.IsPlaylistFile(st.Dir)
	if isList {
		sr.Source = "playlist"
	}
	lib := built.Library()
	if lib == nil {
		sr.OK = true
		sr.Note = "no folder: on the air only while a live source or the relay plays" + map[bool]string{true: ", else it plays " + st.Fallback}[st.Fallback != ""]
		return sr, nil
	}
	res, scanErr := lib.Scan()
	switch {
	case built.Demo():
		sr.Note = fmt.Sprintf("default audio folder %s is missing or empty, so the server plays the bundled demo station", c.cfg.AudioDir)
	case errors.Is(scanErr, playlist.ErrDirNotExist):
		sr.Note = fmt.Sprintf("%s %s does not exist", sr.Source, st.Dir)
	case errors.Is(scanErr, playlist.ErrNotDir):
		sr.Note = fmt.Sprintf("%s is not a directory", st.Dir)
	case scanErr != nil && !errors.Is(scanErr, playlist.ErrNoPlayableFiles):
		sr.Note = fmt.Sprintf("cannot read %s: %v", sr.Source, scanErr)
	}
	for _, s := range res.Skipped {
		sr.Skip = append(sr.Skip, skipEntry{Path: s.Path, Reason: s.Reason})
	}
	if !isList && (sr.Note == "" || built.Demo()) {
		sr.Skip = append(sr.Skip, unsupportedFiles(st.Dir, lib.Extensions())...)
	}
	for _, t := range lib.Tracks() {
		if err := c.ctx.Err(); err != nil {
			return sr, err
		}
		path := lib.Abs(t)
		p, reason := c.track(st, built.Decoder(), path)
		if reason != "" {
			sr.Skip = append(sr.Skip, skipEntry{Path: t.Rel, Reason: reason})
			continue
		}
		p.Path = t.Rel
		sr.Play = append(sr.Play, p)
	}
	if err := c.ctx.Err(); err != nil {
		return sr, err
	}
	slices.SortStableFunc(sr.Skip, func(a, b skipEntry) int { return strings.Compare(a.Path, b.Path) })
	sr.OK = len(sr.Play) > 0
	if !sr.OK && sr.Note == "" && len(sr.Skip) == 0 {
		sr.Note = "no audio files in the " + sr.Source + " (this station plays " + strings.Join(lib.Extensions(), ", ") + ")"
	}
	if st.Transcode != "always" {
		sr.Majority, sr.Odd = oddFormats(sr.Play)
	}
	return sr, nil
}

// track inspects one file: the entry to list, or why it will be skipped.
func (c *checker) track(st config.Station, dec mount.Decoder, path string) (playEntry, string) {
	always := dec.Always
	needsFFmpeg := dec.NeedsFFmpeg(path)
	// Whatever the policy, an MP3 file is read as one, to report its format.
	isMP3 := mount.IsMP3(path)
	var p playEntry
	if isMP3 {
		m := c.readMP3(path)
		switch {
		case m.err == nil:
			p = playEntry{Codec: m.codec, SampleRate: m.rate, Channels: m.ch, BitrateKbps: m.kbps, VBR: m.vbr,
				DurationS: m.duration.Seconds(), Frames: m.frames, stream: audioFormat{m.rate, m.ch}}
		case !always:
			return p, mp3Reason(m.err)
		}
		// With transcode = "always" a file without MPEG frames may still be
		// something ffmpeg decodes: fall through to the probe.
	}
	if needsFFmpeg {
		if err := c.ffmpegAvailable(); err != nil {
			if always {
				return p, `needs ffmpeg (transcode = "always")`
			}
			return p, "needs ffmpeg"
		}
		if p.Codec == "" {
			var reason string
			if p, reason = c.probe(path); reason != "" {
				return p, reason
			}
		}
		p.Transcoded = true
		p.BitrateKbps, p.VBR = st.Bitrate, false
		p.stream = audioFormat{st.SampleRate, st.Channels}
	}
	p.Title = playlist.ReadTitle(path).Display
	return p, ""
}

// readMP3 walks every frame of an MP3 file (memory stays flat: the
// FrameReader streams) to count its duration the way a streamer sends it.
func (c *checker) readMP3(path string) mp3Result {
	if r, ok := c.mp3s[path]; ok {
		return r
	}
	r := scanMP3(c.ctx, path)
	c.mp3s[path] = r
	return r
}

func scanMP3(ctx context.Context, path string) mp3Result {
	fr, closer, err := mount.OpenMP3(path)
	if err != nil {
		return mp3Result{err: err}
	}
	defer closer.Close()
	var r mp3Result
	var samples, bytes int64
	for {
		f, err := fr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return mp3Result{err: err}
		}
		if r.frames == 0 {
			r.rate, r.ch, r.kbps = f.SampleRate, f.Channels, f.Bitrate/1000
		} else if f.Bitrate/1000 != r.kbps {
			r.vbr = true
		}
		r.frames++
		samples += int64(f.Samples)
		bytes += int64(len(f.Data))
		if r.frames%4096 == 0 && ctx.Err() != nil {
			return mp3Result{err: ctx.Err()}
		}
	}
	r.codec = "mp3"
	r.duration = time.Duration(samples * int64(time.Second) / int64(r.rate))
	if r.vbr && r.duration > 0 {
		r.kbps = int(math.Round(float64(bytes) * 8 / r.duration.Seconds() / 1000))
	}
	return r
}

func mp3Reason(err error) string {
	switch {
	case errors.Is(err, mount.ErrNoFrames):
		return "no MPEG audio frames found (not an MP3 file?)"
	case errors.Is(err, fs.ErrPermission):
		return playlist.ReasonUnreadable + ": permission denied"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return playlist.ReasonUnreadable + ": " + pe.Err.Error()
	}
	return playlist.ReasonUnreadable + ": " + err.Error()
}

// ffmpegAvailable runs the server's own ffmpeg test once.
func (c *checker) ffmpegAvailable() error {
	if c.ffmpeg == nil {
		c.ffmpegErr = transcode.Available(c.cfg.FFmpegPath)
		c.ffmpeg = &toolStatus{}
		if c.ffmpegErr != nil {
			c.ffmpeg.Error = c.ffmpegErr.Error()
		} else {
			c.ffmpeg.Path, _ = exec.LookPath(c.cfg.FFmpegPath)
		}
	}
	return c.ffmpegErr
}

// ffprobePath finds ffprobe beside ffmpeg (a custom ffmpeg_path usually
// ships both), else on PATH.
func (c *checker) ffprobePath() (string, error) {
	if c.ffprobe == nil {
		c.ffprobe = &toolStatus{}
		if bin, err := exec.LookPath(c.cfg.FFmpegPath); err == nil {
			if p, err := exec.LookPath(filepath.Join(filepath.Dir(bin), "ffprobe")); err == nil {
				c.ffprobe.Path = p
			}
		}
		if c.ffprobe.Path == "" {
			if p, err := exec.LookPath("ffprobe"); err == nil {
				c.ffprobe.Path = p
			} else {
				c.ffprobe.Error = "ffprobe not found next to ffmpeg or on PATH, so WAV and other non-MP3 files cannot be checked (the server only needs ffmpeg and will try them)"
			}
		}
	}
	if c.ffprobe.Error != "" {
		return "", errors.New(c.ffprobe.Error)
	}
	return c.ffprobe.Path, nil
}

// probe asks ffprobe about a file that goes through ffmpeg. When ffprobe
// cannot tell a duration (a WAV header whose data is missing looks valid to
// it) ffmpeg is started on it as the server would, until it gives a byte.
func (c *checker) probe(path string) (playEntry, string) {
	bin, err := c.ffprobePath()
	if err != nil {
		return playEntry{Note: "not checked: ffprobe is missing"}, ""
	}
	r, ok := c.probes[path]
	if !ok {
		r.info, r.err = transcode.Probe(c.ctx, bin, path)
		if r.err == nil && r.info.Duration == 0 {
			r.err = c.decodeFirstFrame(path)
		}
		c.probes[path] = r
	}
	if r.err != nil {
		return playEntry{}, toolReason(r.err)
	}
	return playEntry{Codec: r.info.Codec, SampleRate: r.info.SampleRate, Channels: r.info.Channels,
		DurationS: r.info.Duration.Seconds()}, ""
}

func (c *checker) decodeFirstFrame(path string) error {
	ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
	defer cancel()
	s, err := transcode.Start(ctx, path, transcode.Options{FFmpegPath: c.cfg.FFmpegPath})
	if err != nil {
		return err
	}
	defer s.Close()
	// Read the encoder's bytes directly: its error (with ffmpeg's reason)
	// is what matters, and any output at all means the file decodes.
	var b [1]byte
	_, err = io.ReadFull(s, b[:])
	return err
}

// toolReason words an ffprobe/ffmpeg failure without repeating the path.
func toolReason(err error) string {
	var te *transcode.Error
	if !errors.As(err, &te) {
		return err.Error()
	}
	tool := cmp.Or(te.Tool, "ffmpeg")
	msg := tool + ": "
	if te.Err != nil {
		msg += te.Err.Error()
	} else {
		msg += "exit status " + strconv.Itoa(te.ExitCode)
	}
	if r := te.Reason(); r != "" {
		msg += ": " + r
	}
	return msg
}

// unsupportedFiles lists audio files the Library leaves out silently
// because their extension is not played by this station (FLAC, Ogg...).
// Hidden entries are left to the Library's own report; symlinked folders
// are not followed, as in the Library.
func unsupportedFiles(dir string, extensions []string) []skipEntry {
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil
	}
	var out []skipEntry
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == root {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return nil
		}
		rel = filepath.ToSlash(rel)
		ext := strings.ToLower(filepath.Ext(d.Name()))
		if otherAudio(ext) && !slices.Contains(extensions, ext) {
			out = append(out, skipEntry{Path: rel, Reason: fmt.Sprintf(
				"unsupported format: %s files are not played (add %q to this station's extensions to play them through ffmpeg)", ext, ext)})
		}
		return nil
	})
	return out
}

// otherAudio reports audio extensions that ffmpeg could play but the
// server only plays when a station's extensions list them.
func otherAudio(ext string) bool {
	switch ext {
	case ".flac", ".ogg", ".oga", ".opus", ".m4a", ".m4b", ".mp4", ".aac", ".wma", ".aif", ".aiff",
		".aifc", ".mp2", ".mpga", ".ape", ".wv", ".mka", ".webm", ".ac3", ".amr", ".au", ".caf", ".dsf":
		return true
	}
	return false
}

// oddFormats finds the stream format most tracks have and the tracks that
// differ from it (ties go to the format of the first track by path).
func oddFormats(play []playEntry) (*audioFormat, []oddEntry) {
	count := map[audioFormat]int{}
	var order []audioFormat
	for _, p := range play {
		if p.stream.SampleRate == 0 {
			continue // unchecked
		}
		if count[p.stream] == 0 {
			order = append(order, p.stream)
		}
		count[p.stream]++
	}
	if len(order) < 2 {
		return nil, nil
	}
	major := order[0]
	for _, f := range order[1:] {
		if count[f] > count[major] {
			major = f
		}
	}
	var odd []oddEntry
	for _, p := range play {
		if p.stream.SampleRate != 0 && p.stream != major {
			odd = append(odd, oddEntry{Path: p.Path, audioFormat: p.stream})
		}
	}
	return &major, odd
}

// writeCheckText prints the report for people: one block per station, a
// word in front of every file line (play, skip, warn) so it greps well.
func writeCheckText(w io.Writer, rep checkReport) {
	fmt.Fprintln(w, "audio-streamer check")
	for _, s := range rep.Warnings {
		fmt.Fprintf(w, "warning: %s\n", printable(s))
	}
	if rep.FFmpeg != nil {
		if rep.FFmpeg.Error != "" {
			fmt.Fprintf(w, "ffmpeg: not available: %s\n", rep.FFmpeg.Error)
		} else {
			fmt.Fprintf(w, "ffmpeg: %s\n", rep.FFmpeg.Path)
		}
	}
	if rep.FFprobe != nil {
		if rep.FFprobe.Error != "" {
			fmt.Fprintf(w, "ffprobe: %s\n", rep.FFprobe.Error)
		} else {
			fmt.Fprintf(w, "ffprobe: %s\n", rep.FFprobe.Path)
		}
	}
	var plays, skips, odds int
	var empty []string
	for _, sr := range rep.Stations {
		fmt.Fprintf(w, "\nstation %s  %s %s  mode %s", sr.Route, cmp.Or(sr.Source, "folder"), printable(sr.Dir), sr.Mode)
		if sr.Transcode == "always" {
			fmt.Fprint(w, `  transcode "always"`)
		}
		fmt.Fprintln(w)
		if sr.Note != "" {
			fmt.Fprintf(w, "  note  %s\n", printable(sr.Note))
		}
		for _, p := range sr.Play {
			fmt.Fprintf(w, "  play  %s\n        %s  (%s)\n", printable(p.Path), printable(p.Title), playDetails(p))
		}
		for _, s := range sr.Skip {
			fmt.Fprintf(w, "  skip  %s: %s\n", printable(s.Path), printable(s.Reason))
		}
		for _, o := range sr.Odd {
			fmt.Fprintf(w, "  warn  %s: %s, but most tracks are %s; this %s\n", printable(o.Path), o.audioFormat, *sr.Majority, oddHint)
		}
		switch {
		case sr.Demo:
			fmt.Fprintln(w, "  => ok (demo station)")
		case sr.OK:
			fmt.Fprintf(w, "  => %s to play, %s skipped\n", plural(len(sr.Play), "file"), plural(len(sr.Skip), "file"))
		default:
			fmt.Fprintf(w, "  => NOTHING TO PLAY (%s skipped)\n", plural(len(sr.Skip), "file"))
			empty = append(empty, sr.Route)
		}
		plays += len(sr.Play)
		skips += len(sr.Skip)
		odds += len(sr.Odd)
	}
	fmt.Fprintf(w, "\n%s: %s to play, %s skipped, %d with a different format\n",
		plural(len(rep.Stations), "station"), plural(plays, "file"), plural(skips, "file"), odds)
	if len(empty) > 0 {
		fmt.Fprintf(w, "FAIL: nothing to play on %s\n", strings.Join(empty, ", "))
	} else {
		fmt.Fprintln(w, "OK: every station has something to play")
	}
}

func playDetails(p playEntry) string {
	var parts []string
	if p.SampleRate > 0 {
		parts = append(parts, fmt.Sprintf("%d Hz", p.SampleRate), channelsText(p.Channels))
	}
	switch {
	case p.Transcoded && p.Codec != "":
		parts = append(parts, fmt.Sprintf("%s → MP3 %d kbps", p.Codec, p.BitrateKbps))
	case p.Transcoded:
		parts = append(parts, fmt.Sprintf("→ MP3 %d kbps", p.BitrateKbps))
	case p.VBR:
		parts = append(parts, fmt.Sprintf("VBR ~%d kbps", p.BitrateKbps))
	default:
		parts = append(parts, fmt.Sprintf("%d kbps", p.BitrateKbps))
	}
	if p.DurationS > 0 {
		parts = append(parts, formatDuration(p.DurationS))
	}
	if p.Note != "" {
		parts = append(parts, p.Note)
	}
	return strings.Join(parts, ", ")
}

func channelsText(n int) string {
	switch n {
	case 1:
		return "mono"
	case 2:
		return "stereo"
	}
	return strconv.Itoa(n) + " channels"
}

// formatDuration prints m:ss.ss (h:mm:ss.ss past an hour).
func formatDuration(sec float64) string {
	cs := int64(math.Round(sec * 100))
	h, m, s := cs/360000, cs/6000%60, float64(cs%6000)/100
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%05.2f", h, m, s)
	}
	return fmt.Sprintf("%d:%05.2f", m, s)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// printable quotes a name that would garble the terminal (control
// characters, invalid UTF-8); everything else is shown as is.
func printable(s string) string {
	if !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return strconv.Quote(s)
	}
	return s
}
