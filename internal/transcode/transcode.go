// Package transcode runs ffmpeg to turn any audio file ffmpeg can decode
// (WAV of any bit depth, FLAC, Ogg, MP3 at other rates, ...) into a plain
// MP3 byte stream: constant bitrate MPEG-1 Layer III frames with no ID3 tag
// and no Xing/Info frame, ready to be sent to Icecast-style listeners.
//
// Output is streamed from ffmpeg's stdout through a pipe; nothing is
// buffered beyond the pipe itself. Every ffmpeg process started here is
// reaped exactly once by a goroutine owned by its Stream, runs in its own
// process group (so a kill reaches anything it spawned) and, on Linux, dies
// with the server (Pdeathsig).
package transcode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults applied by Start to zero Options fields.
const (
	DefaultBitrate      = 128 // kbps
	DefaultSampleRate   = 44100
	DefaultChannels     = 2
	DefaultStallTimeout = 10 * time.Second
)

// StderrLimit bounds how much of ffmpeg's stderr is kept (the last bytes).
const StderrLimit = 4 << 10

// stderrGrace bounds how long the stderr collector keeps reading after
// ffmpeg has been reaped; only a descendant that escaped ffmpeg's process
// group could hold the pipe open that long.
const stderrGrace = time.Second

// Options configure Start. The zero value is usable.
type Options struct {
	// FFmpegPath is the ffmpeg executable; "" looks up "ffmpeg" on PATH.
	FFmpegPath string
	// Bitrate of the MP3 output in kbps (default 128).
	Bitrate int
	// SampleRate of the MP3 output in Hz (default 44100).
	SampleRate int
	// Channels of the MP3 output (default 2).
	Channels int
	// StallTimeout: if a Read waits this long without receiving a single
	// byte, the encoder is considered hung, it is killed and Read returns
	// an *Error wrapping ErrStalled. The clock only runs while a Read is
	// waiting for data, so a consumer that reads slowly (real-time pacing,
	// no listeners) never trips it. 0 means DefaultStallTimeout; a negative
	// value disables the watchdog.
	StallTimeout time.Duration
	// Logger receives debug records for process start/exit and a warning
	// when the watchdog kills a hung encoder. Nil discards.
	Logger *slog.Logger
	// GainDB changes the level by this many dB (0: unchanged), for
	// loudness levelling of files that are encoded anyway.
	GainDB float64
	// From and To play only that part of the input (silence trimming);
	// To 0 plays to the end.
	From, To time.Duration
	// Limiter, if set, counts the process and caps how many run: a start
	// over its cap fails with a *BusyError (errors.Is ErrBusy) and starts
	// nothing. The encoder is given back once ffmpeg has been reaped.
	Limiter *Limiter
}

func (o Options) withDefaults() Options {
	if o.Bitrate <= 0 {
		o.Bitrate = DefaultBitrate
	}
	if o.SampleRate <= 0 {
		o.SampleRate = DefaultSampleRate
	}
	if o.Channels <= 0 {
		o.Channels = DefaultChannels
	}
	if o.StallTimeout == 0 {
		o.StallTimeout = DefaultStallTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Sentinel errors wrapped by *Error (test with errors.Is).
var (
	// ErrStalled: the encoder produced no output within Options.StallTimeout
	// and was killed.
	ErrStalled = errors.New("timed out: encoder produced no output")
	// ErrNoAudio: ffmpeg exited 0 but wrote no MP3 data (for example a WAV
	// whose header promises data that is not there).
	ErrNoAudio = errors.New("exit status 0 but no audio was produced")
	// ErrNoAudioStream: Probe found no audio stream in the file.
	ErrNoAudioStream = errors.New("no audio stream")
	// ErrClosed is returned by Read after Close.
	ErrClosed = fmt.Errorf("transcode: stream closed: %w", fs.ErrClosed)
)

// Error reports that ffmpeg (or ffprobe) could not handle a file.
type Error struct {
	Tool     string // "ffmpeg" or "ffprobe"; "" means "ffmpeg"
	Path     string // the input file
	ExitCode int    // the tool's exit status; -1 if it was killed by a signal
	Stderr   string // the last StderrLimit bytes of the tool's stderr
	// Err is the cause: *exec.ExitError, ErrStalled, ErrNoAudio,
	// ErrNoAudioStream, a context error, or a parse error.
	Err error
}

// Error returns "ffmpeg failed on <path>: exit status N: <ffmpeg's reason>".
func (e *Error) Error() string {
	tool := e.Tool
	if tool == "" {
		tool = "ffmpeg"
	}
	var b strings.Builder
	b.WriteString(tool)
	b.WriteString(" failed on ")
	b.WriteString(e.Path)
	b.WriteString(": ")
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("exit status ")
		b.WriteString(strconv.Itoa(e.ExitCode))
	}
	if r := e.Reason(); r != "" {
		b.WriteString(": ")
		b.WriteString(r)
	}
	return b.String()
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// Timeout reports whether the encoder was killed by the stall watchdog.
func (e *Error) Timeout() bool { return errors.Is(e.Err, ErrStalled) }

// Reason condenses Stderr into the few lines that explain the failure.
func (e *Error) Reason() string { return summarize(e.Stderr) }

// Args returns ffmpeg's argument list (without argv[0]) for transcoding path
// with opt (defaults applied).
//
//	-nostdin                   never read the terminal/stdin
//	-hide_banner -nostats      no version banner, no progress lines
//	-loglevel warning          keep the warnings: for a WAV whose data is
//	                           missing ffmpeg exits 0 and only says why at
//	                           warning level ("Output file is empty ...")
//	-protocol_whitelist file   the input may only be read through file: (an
//	                           .m3u8/.concat in disguise cannot reach the network)
//	-i file:<path>             "file:" so a name containing ':' is never
//	                           taken for a protocol (http:, concat:, ...)
//	-map 0:a:0 -vn             first audio stream only; no cover art, which
//	                           the mp3 muxer would otherwise embed
//	-map_metadata -1           no tags copied to the output
//	-c:a libmp3lame -b:a Nk    CBR MP3
//	-ar R -ac C                every track has the same rate/channels, so
//	                           frames can be concatenated into one stream
//	-write_xing 0              no Xing/Info frame (ffmpeg 5.1 already omits it
//	                           on a pipe; explicit in case output is seekable)
//	-id3v2_version 0           no ID3v2 tag (the muxer writes ID3v2.4 by default)
//	-write_id3v1 0             no ID3v1 tag (default, explicit)
//	-f mp3 pipe:1              raw MP3 frames on stdout
func Args(path string, opt Options) []string {
	input := []string{"-protocol_whitelist", "file"}
	// Before -i, so ffmpeg seeks the input; exact for the PCM and lossless
	// files that come this way, as it decodes up to the point.
	if opt.From > 0 {
		input = append(input, "-ss", seconds(opt.From))
	}
	if opt.To > opt.From {
		input = append(input, "-to", seconds(opt.To))
	}
	return args(append(input, "-i", "file:"+path), opt)
}

// seconds writes d as ffmpeg reads a time: seconds with a fraction.
func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 6, 64) }

// StreamArgs is Args for a stream read from standard input (a live source
// whose format differs from its station's: MP3 of another rate, AAC, Ogg):
// "-i pipe:0", the format probed, with only the pipe protocol allowed.
func StreamArgs(opt Options) []string {
	return args([]string{"-protocol_whitelist", "pipe", "-i", "pipe:0"}, opt)
}

func args(input []string, opt Options) []string {
	opt = opt.withDefaults()
	head := []string{"-nostdin", "-hide_banner", "-nostats", "-loglevel", "warning"}
	head = append(append(head, input...),
		"-map", "0:a:0", "-vn",
		"-map_metadata", "-1",
	)
	if opt.GainDB != 0 {
		head = append(head, "-af", "volume="+strconv.FormatFloat(opt.GainDB, 'f', 2, 64)+"dB")
	}
	return append(head,
		"-c:a", "libmp3lame",
		"-b:a", strconv.Itoa(opt.Bitrate)+"k",
		"-ar", strconv.Itoa(opt.SampleRate),
		"-ac", strconv.Itoa(opt.Channels),
		"-write_xing", "0",
		"-id3v2_version", "0",
		"-write_id3v1", "0",
		"-f", "mp3",
		"pipe:1",
	)
}

// installHint tells an operator how to get ffmpeg.
const installHint = "install it (Debian/Ubuntu: apt-get install ffmpeg; Alpine: apk add ffmpeg; Fedora: dnf install ffmpeg-free; macOS: brew install ffmpeg) or set the ffmpeg path option"

func lookTool(tool, explicit string) (string, error) {
	name := explicit
	if name == "" {
		name = tool
	}
	p, err := exec.LookPath(name)
	if err != nil {
		where := "on PATH"
		if strings.ContainsRune(explicit, '/') {
			where = "at " + strconv.Quote(explicit)
		}
		return "", fmt.Errorf("transcode: %s not found %s: %w; %s", tool, where, err, installHint)
	}
	return p, nil
}

// Available reports whether ffmpeg can be run: it resolves ffmpegPath (""
// = "ffmpeg" on PATH) and asks that ffmpeg whether it has the libmp3lame
// encoder. The error says how to install a suitable ffmpeg.
func Available(ffmpegPath string) error {
	bin, err := lookTool("ffmpeg", ffmpegPath)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-hide_banner", "-loglevel", "error", "-h", "encoder=libmp3lame")
	cmd.SysProcAttr = sysProcAttr()
	var out limitedBuffer
	out.max = 64 << 10
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("transcode: %s cannot be run: %w: %s; %s", bin, err, summarize(out.String()), installHint)
	}
	if !strings.Contains(out.String(), "Encoder libmp3lame") {
		return fmt.Errorf("transcode: %s has no libmp3lame MP3 encoder (%s); install a full ffmpeg build (Debian/Ubuntu: apt-get install ffmpeg)", bin, summarize(out.String()))
	}
	return nil
}

// Stream is a running ffmpeg whose stdout is the MP3 stream. Read must not
// be called concurrently with itself; Close may be called at any time, from
// any goroutine, any number of times. Always Close a Stream.
type Stream struct {
	path  string
	pid   int
	cmd   *exec.Cmd
	ctx   context.Context
	stall time.Duration
	log   *slog.Logger

	stdout *os.File // read end of ffmpeg's stdout
	errR   *os.File // read end of ffmpeg's stderr
	stderr *tail

	stderrDone chan struct{} // closed when the stderr collector returns
	done       chan struct{} // closed when ffmpeg has been reaped
	stopCtx    func() bool   // unregisters the context watcher

	mu     sync.Mutex // serialises group kills against the reap
	exited bool       // the group must not be signalled any more (pid may be reused)

	stalled atomic.Bool // the watchdog killed the encoder
	closed  atomic.Bool
	once    sync.Once

	// Set by the waiter before done is closed.
	state   *os.ProcessState
	waitErr error

	release func() // gives the encoder back to Options.Limiter

	// Reader-owned (Read is not concurrent with itself).
	n   int64
	err error
}

// Start launches ffmpeg on path (see Args) and returns the Stream of its MP3
// output. It fails only if ffmpeg cannot be started; problems with the file
// itself surface as an *Error from Read. Cancelling ctx kills ffmpeg.
func Start(ctx context.Context, path string, opt Options) (*Stream, error) {
	return start(ctx, path, Args(path, opt), nil, opt)
}

// StartReader launches ffmpeg converting the MP3 stream in to opt's format
// (see StreamArgs). ffmpeg reads in through its standard input; when in
// ends, the output ends. Cancelling ctx, or Close, kills ffmpeg.
func StartReader(ctx context.Context, in io.Reader, opt Options) (*Stream, error) {
	return start(ctx, "(stream)", StreamArgs(opt), in, opt)
}

// start runs ffmpeg with args; path names the input in errors and logs.
func start(ctx context.Context, path string, args []string, stdin io.Reader, opt Options) (*Stream, error) {
	opt = opt.withDefaults()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	bin, err := lookTool("ffmpeg", opt.FFmpegPath)
	if err != nil {
		return nil, err
	}
	release, err := opt.Limiter.acquire()
	if err != nil {
		return nil, fmt.Errorf("transcode: not starting ffmpeg for %s: %w", path, err)
	}
	started := false
	defer func() {
		if !started {
			release()
		}
	}()
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("transcode: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("transcode: %w", err)
	}
	cmd := exec.Command(bin, args...)
	if stdin != nil {
		// exec copies stdin from its own goroutine, which ends when in
		// does or ffmpeg's pipe breaks; WaitDelay bounds the wait for it
		// once ffmpeg has exited.
		cmd.Stdin = stdin
		cmd.WaitDelay = time.Second
	}
	cmd.Stdout = outW // *os.File: handed to the child as is, no copying goroutine
	cmd.Stderr = errW
	cmd.SysProcAttr = sysProcAttr()
	err = cmd.Start()
	outW.Close() // the child has its own copies
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, fmt.Errorf("transcode: start %s: %w", bin, err)
	}
	s := &Stream{
		path:       path,
		pid:        cmd.Process.Pid,
		cmd:        cmd,
		ctx:        ctx,
		stall:      opt.StallTimeout,
		log:        opt.Logger.With("path", path, "pid", cmd.Process.Pid),
		stdout:     outR,
		errR:       errR,
		stderr:     newTail(StderrLimit),
		stderrDone: make(chan struct{}),
		done:       make(chan struct{}),
		release:    release,
	}
	started = true
	s.stopCtx = context.AfterFunc(ctx, s.kill)
	go s.collectStderr()
	go s.wait()
	s.log.Debug("ffmpeg started", "args", args)
	return s, nil
}

// Pid returns ffmpeg's process id (also its process group id on Unix).
func (s *Stream) Pid() int { return s.pid }

// Path returns the input file.
func (s *Stream) Path() string { return s.path }

func (s *Stream) collectStderr() {
	defer close(s.stderrDone)
	defer s.errR.Close()
	_, _ = io.Copy(s.stderr, s.errR) // ends at EOF, or at the post-reap deadline
}

// wait is the only place the process is waited for.
func (s *Stream) wait() {
	if blockUntilExited(s.pid) {
		// ffmpeg is a zombie: its pid, hence its group id, cannot be
		// reused yet. Sweep the group so nothing it spawned keeps our
		// pipes open, then forbid further group signals.
		s.mu.Lock()
		_ = killGroup(s.cmd.Process)
		s.exited = true
		s.mu.Unlock()
	}
	err := s.cmd.Wait()
	s.mu.Lock()
	s.exited = true
	s.mu.Unlock()
	s.stopCtx()
	s.release() // reaped: the process no longer counts
	s.state, s.waitErr = s.cmd.ProcessState, err
	_ = s.errR.SetReadDeadline(time.Now().Add(stderrGrace))
	s.log.Debug("ffmpeg exited", "status", s.state.String())
	close(s.done)
}

// kill SIGKILLs ffmpeg's process group unless it has already been reaped.
func (s *Stream) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.exited {
		_ = killGroup(s.cmd.Process)
	}
}

// Read reads MP3 bytes. When the output ends it returns io.EOF if ffmpeg
// exited 0 after producing audio, otherwise an *Error carrying ffmpeg's
// exit status and the tail of its stderr. After Close it returns ErrClosed.
func (s *Stream) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.closed.Load() {
		s.err = ErrClosed
		return 0, s.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if s.stall > 0 {
		_ = s.stdout.SetReadDeadline(time.Now().Add(s.stall))
	}
	n, err := s.stdout.Read(p)
	if n > 0 {
		s.n += int64(n)
		return n, nil // a pending error shows up again on the next Read
	}
	switch {
	case err == nil:
		return 0, nil
	case s.closed.Load() || errors.Is(err, fs.ErrClosed):
		s.err = ErrClosed
	case errors.Is(err, os.ErrDeadlineExceeded):
		s.stalled.Store(true)
		s.log.Warn("ffmpeg produced no output, killing it", "stall_timeout", s.stall)
		s.kill()
		<-s.done
		s.err = s.failure()
	case err == io.EOF:
		s.err = s.finish()
	default:
		s.kill()
		<-s.done
		s.err = fmt.Errorf("transcode: reading ffmpeg output for %s: %w", s.path, err)
	}
	return 0, s.err
}

// finish runs after stdout reached EOF: it waits for the exit status.
func (s *Stream) finish() error {
	if s.stall > 0 {
		t := time.NewTimer(s.stall)
		select {
		case <-s.done:
		case <-t.C:
			// Output closed but the process lingers: treat as hung.
			s.stalled.Store(true)
			s.kill()
			<-s.done
		}
		t.Stop()
	} else {
		<-s.done
	}
	if s.closed.Load() {
		return ErrClosed
	}
	if !s.stalled.Load() && s.state.Success() && s.n > 0 {
		return io.EOF
	}
	return s.failure()
}

// failure builds the *Error once the process has been reaped.
func (s *Stream) failure() error {
	<-s.stderrDone
	e := &Error{
		Tool:     "ffmpeg",
		Path:     s.path,
		ExitCode: s.state.ExitCode(),
		Stderr:   s.stderr.String(),
		Err:      s.waitErr,
	}
	switch {
	case s.stalled.Load():
		e.Err = fmt.Errorf("%w for %v (hung encoder killed)", ErrStalled, s.stall)
	case s.ctx.Err() != nil && !s.state.Success():
		e.Err = context.Cause(s.ctx)
	case s.state.Success():
		e.Err = ErrNoAudio
	}
	s.log.Debug("ffmpeg failed", "err", e)
	return e
}

// Close stops ffmpeg if it is still running (closes its stdout, then
// SIGKILLs its process group), waits until it has been reaped, and releases
// the pipes. A Read blocked in another goroutine returns ErrClosed. Close is
// idempotent and always returns nil.
func (s *Stream) Close() error {
	s.once.Do(func() {
		s.closed.Store(true)
		s.stdout.Close() // unblocks a pending Read; ffmpeg gets EPIPE
		s.kill()
	})
	<-s.done
	<-s.stderrDone
	return nil
}
