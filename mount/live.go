package mount

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/aposazhennikov/stream-audio-to-web/icy"
)

// StreamInfo describes a pushed or pulled stream as its client announced it
// (Icecast's ice-*/icy-* headers, or the upstream's response head). It is
// public: status pages and the listener response head show it while the
// stream is on the air. RemoteAddr and UserAgent are for logs and the admin.
type StreamInfo struct {
	Name, Description, Genre, URL string
	Public                        bool
	// AudioInfo is ice-audio-info as sent ("bitrate=128;samplerate=44100").
	AudioInfo   string
	ContentType string
	UserAgent   string
	RemoteAddr  string
}

// TranscodeMode says when a stream whose format differs from the
// station's is converted (LiveSource.Transcode).
type TranscodeMode int

const (
	// TranscodeAuto converts a stream only when its sample rate, channel
	// count or bitrate differs from the station's format.
	TranscodeAuto TranscodeMode = iota
	// TranscodeNever refuses a stream whose format differs (ErrFormat).
	TranscodeNever
	// TranscodeAlways converts every stream.
	TranscodeAlways
)

// StreamFormat is an MPEG stream's format: what a station plays and what a
// stream is converted to.
type StreamFormat struct {
	Bitrate    int // kbit/s
	SampleRate int
	Channels   int
}

var (
	// ErrBusy: another stream is on this source already ("Mountpoint in use").
	ErrBusy = errors.New("mountpoint in use")
	// ErrFormat: the stream's format differs from the station's and the
	// source may not convert it.
	ErrFormat = errors.New("stream format differs from the station's")
	// ErrNoStream: no stream is attached (a title update with no source).
	ErrNoStream = errors.New("no stream is on the air")
	// ErrStreamTimeout: the stream sent nothing for Timeout.
	ErrStreamTimeout = errors.New("stream sent no data within the source timeout")
	// ErrKicked: the stream was ended by Kick.
	ErrKicked = errors.New("stream ended by an operator")
)

// LiveSource is a Source fed by one stream at a time: a DJ's source client
// pushing to the route, or a relay pulling another server. It sits ahead
// of the folder in a station's source list, so while a stream is attached
// the station plays it, and when the stream ends the folder resumes — all
// in the same ring, on frame boundaries, with nobody reconnecting.
//
// A stream runs on its own clock. Frames go through a small jitter buffer:
// the station starts playing the stream once Buffer of audio has arrived,
// drops frames when the stream runs ahead by more than a second beyond
// that (a source bursting on connect, or one whose clock is fast) and plays
// silent frames of the stream's format when it runs dry (a brief stall, a
// slow clock), so listeners keep real time and the delay stays bounded.
//
// Each title (the stream's first, then every SetTitle or in-band ICY
// title) is a Track of its own, so listeners see the title change when
// they hear it, like a folder's track change.
//
// The zero value is not usable: Charset and Clock may be zero, the rest
// has defaults noted per field.
type LiveSource struct {
	// Kind names the source in logs and status: "live" or "relay".
	Kind string
	// Charset encodes titles for ICY metadata.
	Charset icy.Charset
	// Timeout ends a stream that sends nothing for this long (0: 10 s),
	// like Icecast's source-timeout.
	Timeout time.Duration
	// Buffer is the jitter buffer's target depth (0: 500 ms): how long a
	// source may stall before silence fills in, and most of what a live
	// show adds to the listeners' delay.
	Buffer time.Duration
	// Transcode says when a stream is converted to Format via Convert.
	Transcode TranscodeMode
	// Format is the station's format; a zero Format accepts every stream
	// as it is (a live-only station has no format of its own).
	Format StreamFormat
	// Convert turns a stream into MP3 of format want (ffmpeg). Nil: no
	// conversion is possible, and a stream that would need one is refused
	// with ErrFormat.
	Convert func(ctx context.Context, in io.Reader, want StreamFormat) (io.ReadCloser, error)
	// RecordDir, if set, gets one MP3 file per stream session, named by
	// its start time, holding exactly the frames listeners heard.
	RecordDir string
	// DefaultTitle is the title before the stream sends one ("" : the
	// stream's Name, else Kind).
	DefaultTitle string
	Clock        Clock        // nil: SystemClock
	Logger       *slog.Logger // nil: discard

	hooks liveHooks // tests only

	once    sync.Once
	recWake chan struct{} // a recording has bytes to write or is done

	mu       sync.Mutex
	feed     *Feed
	stopped  bool     // Run's ctx ended: the station is gone
	claim    *Session // claimed or streaming
	bufs     []*liveBuf
	recs     []*recording // written and closed by Run
	sessions int64
	dropped  int64
	inserted int64
}

// liveHooks let tests see what the stream goroutine does. Nil fields do
// nothing; production code never sets them.
type liveHooks struct {
	// read is called before each read of the stream, with the number of
	// bytes read so far: the reader has handled everything before it.
	read func(total int64)
	// recorded is called when a session's recording is closed.
	recorded func(path string)
}

// Session is one attached stream. Claim makes it; Stream plays it.
type Session struct {
	src *LiveSource

	info StreamInfo
	// bytes counts what was read from the stream; last is when the latest
	// byte came, as an offset from t0 on the source's clock. Both are
	// written by the stream goroutine and read by others.
	bytes atomic.Int64
	last  atomic.Int64
	t0    time.Time

	// Guarded by src.mu.
	state     sessionState
	since     time.Time
	cancel    context.CancelCauseFunc
	kicked    bool
	title     string
	titles    []titleChange // set, not yet reached by a frame
	converted bool
	buf       *liveBuf
}

type sessionState int

const (
	sessionClaimed sessionState = iota
	sessionStreaming
	sessionDone
)

// titleChange is a title set when the stream had sent pos bytes: frames
// that start there or later carry it.
type titleChange struct {
	pos  int64
	text string
}

// LiveStatus is what status pages show about a LiveSource.
type LiveStatus struct {
	OnAir     bool // a stream is attached and playing
	Info      StreamInfo
	Since     time.Time // when the stream attached
	Title     string
	BytesIn   int64 // bytes read from the stream in this session
	Sessions  int64 // streams attached since start (reconnects for a relay)
	Dropped   int64 // frames dropped because the stream ran ahead
	Inserted  int64 // silent frames played because the stream ran dry
	Converted bool  // the stream goes through Convert
}

// Tuning of the jitter buffer and the format check.
const (
	defaultLiveTimeout = 10 * time.Second
	defaultLiveBuffer  = 500 * time.Millisecond
	// aheadSlack is how far beyond Buffer the stream may run before
	// frames are dropped. With the publish interval the station takes
	// frames ahead of time (at most 400 ms by default), a frame then waits
	// less than Buffer plus a second from arrival to air.
	aheadSlack = 500 * time.Millisecond
	// maxPendingTitles bounds the titles set but not yet reached by a
	// frame (a client sending titles and no audio).
	maxPendingTitles = 64
	// sniffFrames is how many frames decide a stream's format; sniffLimit
	// is how many bytes may pass without one before the stream counts as
	// something other than MPEG audio (a tag with cover art fits).
	sniffFrames = 4
	sniffLimit  = 512 << 10
	// maxRecordBacklog bounds the audio waiting for a slow disk.
	maxRecordBacklog = 8 << 20
)

var (
	errSessionUsed = errors.New("the session was streamed or closed already")
	errSniffLimit  = errors.New("no MPEG audio frame found")
	errStreamEnded = errors.New("stream ended")
)

func (l *LiveSource) init() {
	l.once.Do(func() { l.recWake = make(chan struct{}, 1) })
}

func (l *LiveSource) clock() Clock {
	if l.Clock == nil {
		return SystemClock{}
	}
	return l.Clock
}

func (l *LiveSource) log() *slog.Logger {
	lg := l.Logger
	if lg == nil {
		return slog.New(slog.DiscardHandler)
	}
	return lg.With("source", l.kind())
}

func (l *LiveSource) kind() string {
	if l.Kind == "" {
		return "live"
	}
	return l.Kind
}

func (l *LiveSource) timeout() time.Duration {
	if l.Timeout <= 0 {
		return defaultLiveTimeout
	}
	return l.Timeout
}

func (l *LiveSource) buffer() time.Duration {
	if l.Buffer <= 0 {
		return defaultLiveBuffer
	}
	return l.Buffer
}

// Claim reserves the source for a stream described by info; ErrBusy if a
// stream is attached or claimed, ErrStopped once the station has stopped.
// A claim that is never streamed must be released with Session.Close.
func (l *LiveSource) Claim(info StreamInfo) (*Session, error) {
	l.init()
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.stopped:
		return nil, ErrStopped
	case l.claim != nil:
		return nil, ErrBusy
	}
	title := l.DefaultTitle
	if title == "" {
		title = info.Name
	}
	if title == "" {
		title = l.kind()
	}
	s := &Session{src: l, info: info, title: title, since: l.clock().Now()}
	l.claim = s
	return s, nil
}

// Stream plays r until it ends, fails, sends nothing for Timeout, is
// kicked, or ctx ends; it then releases the claim and returns why (nil
// for a clean end of stream). A partial frame at the end is never played.
//
// r is read from a goroutine of Stream's. When Stream returns for any
// other reason than r's end, a read in progress is cut short if r has a
// SetReadDeadline method; otherwise Stream does not wait for it, and the
// goroutine ends when that read returns (close r's connection after
// Stream). Frames received before a clean end or a read error still
// play; after a kick, a timeout or ctx's end they do not. A stream whose
// format needs a conversion that is not allowed ends at once with
// ErrFormat, before anything plays.
func (s *Session) Stream(ctx context.Context, r io.Reader) error {
	l := s.src
	l.init()
	l.mu.Lock()
	if s.state != sessionClaimed {
		l.mu.Unlock()
		return errSessionUsed
	}
	if l.stopped || s.kicked {
		s.release()
		l.mu.Unlock()
		if s.kicked {
			return ErrKicked
		}
		return ErrStopped
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	now := l.clock().Now()
	s.state, s.cancel, s.since, s.t0 = sessionStreaming, cancel, now, now
	l.sessions++
	first := l.titleOf(s.title)
	b := &liveBuf{l: l, sess: s, latest: &first}
	if l.RecordDir != "" {
		b.rec = &recording{path: filepath.Join(l.RecordDir, recordingName(l.kind(), now))}
		l.recs = append(l.recs, b.rec)
	}
	s.buf = b
	l.bufs = append(l.bufs, b)
	l.mu.Unlock()
	log := l.log()
	log.Info("stream attached", "remote", s.info.RemoteAddr, "name", s.info.Name, "user_agent", s.info.UserAgent)

	done := make(chan error, 1) // never blocks: the reader may outlive Stream
	go func() { done <- s.read(ctx, r) }()
	var watchdog sync.WaitGroup
	watchdog.Go(func() { s.watch(ctx, cancel) })

	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		if d, ok := r.(interface{ SetReadDeadline(time.Time) error }); ok {
			_ = d.SetReadDeadline(time.Unix(1, 0))
			err = <-done // replaced below: the cut is the reason
		}
	}
	// A cancel (kick, timeout, station stop, Close, caller) is the reason,
	// also when it made the read fail.
	cut := context.Cause(ctx)
	if cut != nil {
		err = cut
	}
	cancel(errStreamEnded)
	watchdog.Wait()
	s.finish(cut != nil)

	dropped, inserted := b.stats()
	attrs := []any{"remote", s.info.RemoteAddr, "bytes", s.bytes.Load(), "frames_dropped", dropped, "silent_frames", inserted}
	switch {
	case errors.Is(err, ErrFormat):
		log.Warn("stream refused: its format differs from the station's and it may not be converted",
			append(attrs, "reason", err.Error())...)
	case err != nil:
		log.Info("stream ended", append(attrs, "reason", err.Error())...)
	default:
		log.Info("stream ended", append(attrs, "reason", "end of stream")...)
	}
	return err
}

// release gives up the claim. Under l.mu.
func (s *Session) release() {
	s.state = sessionDone
	if s.src.claim == s {
		s.src.claim = nil
	}
}

// finish ends the session's buffer: what was received plays out unless
// the stream was cut, and the claim is released.
func (s *Session) finish(cut bool) {
	l := s.src
	l.mu.Lock()
	defer l.mu.Unlock()
	b := s.buf
	b.ended = true
	if cut {
		b.discard = true
	} else if !b.offered && b.len() > 0 {
		b.offered = true // shorter than Buffer: play it anyway
		l.ready()
	}
	s.release()
	l.reap()
}

// watch ends the stream when it sends nothing for Timeout.
func (s *Session) watch(ctx context.Context, cancel context.CancelCauseFunc) {
	l := s.src
	clock, timeout := l.clock(), l.timeout()
	for {
		deadline := s.t0.Add(time.Duration(s.last.Load()) + timeout)
		if !clock.Now().Before(deadline) {
			cancel(ErrStreamTimeout)
			return
		}
		if clock.SleepUntil(ctx, deadline) != nil {
			return
		}
	}
}

// liveReader is the stream as the frame reader sees it: it counts bytes,
// notes when they came, and while the format is being sniffed keeps
// them for a converter and gives up after sniffLimit bytes.
type liveReader struct {
	s        *Session
	r        io.Reader
	sniffing bool
	recorded []byte
}

func (lr *liveReader) Read(p []byte) (int, error) {
	s := lr.s
	total := s.bytes.Load()
	if lr.sniffing && total >= sniffLimit {
		return 0, errSniffLimit
	}
	if h := s.src.hooks.read; h != nil {
		h(total)
	}
	n, err := lr.r.Read(p)
	if n > 0 {
		s.bytes.Add(int64(n))
		s.last.Store(int64(s.src.clock().Now().Sub(s.t0)))
		if lr.sniffing {
			lr.recorded = append(lr.recorded, p[:n]...)
		}
	}
	return n, err
}

// read is the stream goroutine: it decides whether the stream needs
// converting, then queues its frames until it ends. nil: a clean end.
func (s *Session) read(ctx context.Context, r io.Reader) error {
	l := s.src
	in := &liveReader{s: s, r: r}
	why := l.convertReason(s.info)
	var fr *FrameReader
	var sniffed []Frame
	var starts []int64
	if why == "" {
		in.sniffing = true
		fr = NewFrameReader(in)
		for len(sniffed) < sniffFrames {
			start := fr.Offset()
			f, err := fr.Next()
			if err != nil {
				if errors.Is(err, io.EOF) {
					break // a short stream: play what came
				}
				if errors.Is(err, ErrNoFrames) && s.bytes.Load() == 0 {
					return nil // connected and left without a byte
				}
				if errors.Is(err, errSniffLimit) || errors.Is(err, ErrNoFrames) {
					why = "no MPEG audio frames in the stream's first bytes"
					break
				}
				return err
			}
			f.Data = bytes.Clone(f.Data)
			sniffed, starts = append(sniffed, f), append(starts, start)
		}
		if why == "" {
			why = l.formatDiffers(sniffed)
		}
	}
	if why != "" {
		if l.Transcode == TranscodeNever || l.Convert == nil {
			return fmt.Errorf("%w: %s", ErrFormat, why)
		}
		// Stop sniffing before the converter starts reading in from a
		// goroutine of its own.
		replay := io.MultiReader(bytes.NewReader(in.recorded), in)
		in.sniffing, in.recorded = false, nil
		out, err := l.Convert(ctx, replay, l.Format)
		if err != nil {
			return fmt.Errorf("converting the stream: %w", err)
		}
		defer out.Close()
		l.mu.Lock()
		s.converted = true
		l.mu.Unlock()
		l.log().Info("converting stream", "reason", why, "to", fmt.Sprintf("%+v", l.Format))
		fr, sniffed = NewFrameReader(out), nil
	} else {
		in.sniffing, in.recorded = false, nil
	}
	for i, f := range sniffed {
		if !s.push(f, starts[i]) {
			return nil
		}
	}
	for {
		start := fr.Offset()
		f, err := fr.Next()
		if err != nil {
			switch {
			case errors.Is(err, io.EOF):
				return nil
			case s.isConverted() && errors.Is(err, ErrNoFrames):
				return fmt.Errorf("converted stream: %w", err)
			}
			return err
		}
		if !s.push(f, start) {
			return nil // cut: nothing more plays
		}
	}
}

func (s *Session) isConverted() bool {
	s.src.mu.Lock()
	defer s.src.mu.Unlock()
	return s.converted
}

// convertReason says why a stream must be converted before sniffing it
// ("" if sniffing decides): always, or a content type that is not MPEG.
func (l *LiveSource) convertReason(info StreamInfo) string {
	if l.Transcode == TranscodeAlways {
		return "the source converts every stream"
	}
	ct, _, _ := strings.Cut(strings.ToLower(info.ContentType), ";")
	switch strings.TrimSpace(ct) {
	case "", "audio/mpeg", "audio/mp3", "audio/mpeg3", "audio/x-mpeg", "audio/x-mp3", "audio/x-mpeg3",
		"audio/mpg", "audio/x-mpg", "application/octet-stream":
		return ""
	}
	return "content type " + info.ContentType
}

// formatDiffers says how the first frames differ from Format ("" if they
// do not, or Format is zero or conversion is off).
func (l *LiveSource) formatDiffers(fs []Frame) string {
	want := l.Format
	if want == (StreamFormat{}) {
		return ""
	}
	for _, f := range fs {
		if (want.SampleRate != 0 && f.SampleRate != want.SampleRate) ||
			(want.Channels != 0 && f.Channels != want.Channels) ||
			(want.Bitrate != 0 && f.Bitrate != want.Bitrate*1000) {
			return fmt.Sprintf("the stream is %d Hz, %d channel(s), %d kbit/s; the station plays %d Hz, %d channel(s), %d kbit/s",
				f.SampleRate, f.Channels, f.Bitrate/1000, want.SampleRate, want.Channels, want.Bitrate)
		}
	}
	return ""
}

// push queues a frame that starts at byte start of the stream; false once
// the session's buffer takes no more (the stream was cut).
func (s *Session) push(f Frame, start int64) bool {
	l := s.src
	l.mu.Lock()
	defer l.mu.Unlock()
	b := s.buf
	if b.ended || b.discard {
		return false
	}
	// Of the titles set before this frame only the last one is heard:
	// a source that changes its title between two frames makes one change.
	reached := 0
	for reached < len(s.titles) && (s.converted || s.titles[reached].pos <= start) {
		reached++
	}
	if reached > 0 {
		t := l.titleOf(s.titles[reached-1].text)
		b.latest, b.latestGen = &t, b.latestGen+1
		s.titles = s.titles[reached:]
	}
	f.Data = bytes.Clone(f.Data)
	b.q = append(b.q, liveFrame{f: f, gen: b.latestGen, title: b.latest})
	b.queued += f.Duration()
	if b.tmpl.Data == nil {
		b.tmpl = f
	}
	b.trim()
	if !b.offered && b.queued >= l.buffer() {
		b.offered = true
		l.ready()
	}
	return true
}

// ready tells the station a track may be ready. Under l.mu.
func (l *LiveSource) ready() {
	if l.feed != nil {
		l.feed.Ready()
	}
}

// liveTitle is a title with its ICY block, encoded once.
type liveTitle struct {
	text string
	meta []byte
}

func (l *LiveSource) titleOf(text string) liveTitle {
	return liveTitle{text: text, meta: icy.MetaBlock(text, l.Charset)}
}

// liveBuf is one session's jitter buffer: the frames received and not yet
// handed to the station. It outlives the session's Stream while its last
// frames play. Guarded by l.mu.
type liveBuf struct {
	l    *LiveSource
	sess *Session
	q    []liveFrame
	head int
	// queued is the audio in q.
	queued time.Duration
	// latest is the newest title and latestGen its generation; a frame
	// carries the generation and title it plays under, so titles that no
	// frame refers to any more are garbage.
	latest    *liveTitle
	latestGen int
	// ended: no more frames come. discard: none of the rest plays.
	ended, discard bool
	// offered: Buffer arrived (or the stream ended), so Next makes tracks.
	offered bool
	// rebuffering: the buffer ran dry; silence plays until it holds
	// Buffer again.
	rebuffering bool
	out         *liveFrames // the track the station has, if any
	// tmpl is the latest frame handed over (or the first received), the
	// model for silence; silence is its silent twin.
	tmpl    Frame
	silence Frame
	rec     *recording

	dropped, inserted int64 // this session's, for its log line
}

type liveFrame struct {
	f     Frame // Data owned
	gen   int
	title *liveTitle
}

func (b *liveBuf) len() int { return len(b.q) - b.head }

func (b *liveBuf) pop() liveFrame {
	fr := b.q[b.head]
	b.q[b.head] = liveFrame{}
	b.head++
	b.queued -= fr.f.Duration()
	switch {
	case b.head == len(b.q):
		b.q, b.head = b.q[:0], 0
	case b.head >= 256 && 2*b.head >= len(b.q):
		n := copy(b.q, b.q[b.head:])
		clear(b.q[n:])
		b.q, b.head = b.q[:n], 0
	}
	return fr
}

// nextGen is the title generation of the next frame to play.
func (b *liveBuf) nextGen() int {
	if b.len() > 0 {
		return b.q[b.head].gen
	}
	return b.latestGen
}

// nextTitle is the title of the next frame to play.
func (b *liveBuf) nextTitle() *liveTitle {
	if b.len() > 0 {
		return b.q[b.head].title
	}
	return b.latest
}

// trim drops the oldest frames when the stream runs ahead: once more than
// Buffer plus aheadSlack of audio waits, it is cut back to Buffer. It goes
// by the audio queued, not by when the station is due to play it: a station
// catching up after a slow source pulls frames faster than real time for a
// moment, and that must not count as the stream running ahead. While the
// buffer refills after running dry, nothing is dropped.
func (b *liveBuf) trim() {
	target := b.l.buffer()
	if b.rebuffering || b.queued <= target+aheadSlack {
		return
	}
	first := b.dropped == 0
	n := b.cutTo(target)
	// A source bursting megabytes would trip this every half second: the
	// first time is news, the rest goes into the session's end line.
	lvl := slog.LevelDebug
	if first {
		lvl = slog.LevelInfo
	}
	b.l.log().Log(context.Background(), lvl, "stream runs ahead of the station; dropped its oldest frames", "frames", n, "buffer", target)
}

// cutTo drops the oldest frames until at most target is queued, and
// returns how many went.
func (b *liveBuf) cutTo(target time.Duration) int64 {
	n := int64(0)
	for b.len() > 0 && b.queued > target {
		b.pop()
		n++
	}
	b.l.dropped += n
	b.dropped += n
	return n
}

func (b *liveBuf) stats() (dropped, inserted int64) {
	b.l.mu.Lock()
	defer b.l.mu.Unlock()
	return b.dropped, b.inserted
}

// silent returns a silent frame like the latest one played.
func (b *liveBuf) silent() Frame {
	t := b.tmpl
	if s := b.silence.Data; s == nil || len(s) != len(t.Data) || [4]byte(s[:4]) != [4]byte(silentFrame(t.Data[:4])[:4]) {
		b.silence = t
		b.silence.Data = silentFrame(t.Data)
	}
	return b.silence
}

// record adds audio handed to the station to the session's recording.
func (b *liveBuf) record(data []byte) {
	r := b.rec
	if r == nil || r.done || r.failed {
		return
	}
	if len(r.pending)+len(data) > maxRecordBacklog {
		r.failed = true
		r.pending = nil
		b.l.log().Warn("recording stopped: the disk does not keep up", "path", r.path)
		return
	}
	r.pending = append(r.pending, data...)
	b.l.wakeRun()
}

func (l *LiveSource) wakeRun() {
	select {
	case l.recWake <- struct{}{}:
	default:
	}
}

// reap drops the buffers that have nothing more to play and no track
// with the station. Under l.mu.
func (l *LiveSource) reap() {
	kept := l.bufs[:0]
	for _, b := range l.bufs {
		if b.out == nil && (b.discard || (b.ended && b.len() == 0)) {
			if b.rec != nil && !b.rec.done {
				b.rec.done = true
				l.wakeRun()
			}
			continue
		}
		kept = append(kept, b)
	}
	clear(l.bufs[len(kept):])
	l.bufs = kept
}

// liveFrames is one title's run of a session's frames: a Track's Frames
// and Closer.
type liveFrames struct {
	b      *liveBuf
	gen    int
	closed bool
}

// Next hands the station the next frame of the stream, or a silent one
// while the buffer refills; io.EOF at a title change (the next track goes
// on), at the end of the stream, and once it was cut. It never waits.
func (lf *liveFrames) Next() (Frame, error) {
	b := lf.b
	l := b.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if lf.closed || b.discard {
		return Frame{}, io.EOF
	}
	if b.rebuffering && (b.queued >= l.buffer() || b.ended) {
		b.rebuffering = false
		l.log().Info("stream buffer refilled", "silent_frames", b.inserted)
	}
	if !b.rebuffering && b.len() > 0 {
		if b.q[b.head].gen != lf.gen {
			return Frame{}, io.EOF
		}
		fr := b.pop()
		b.tmpl = fr.f
		b.record(fr.f.Data)
		return fr.f, nil
	}
	if b.ended {
		return Frame{}, io.EOF
	}
	if !b.rebuffering {
		b.rebuffering = true
		l.log().Info("stream ran dry; playing silence until its buffer refills", "buffer", l.buffer())
	}
	if b.nextGen() != lf.gen {
		return Frame{}, io.EOF
	}
	s := b.silent()
	l.inserted++
	b.inserted++
	b.record(s.Data)
	return s, nil
}

func (lf *liveFrames) realTime() {}

// Close is the station done with the track: the source makes the next
// one from where it stopped.
func (lf *liveFrames) Close() error {
	l := lf.b.l
	l.mu.Lock()
	defer l.mu.Unlock()
	lf.closed = true
	if lf.b.out == lf {
		lf.b.out = nil
	}
	l.reap()
	return nil
}

// SetTitle sets the title listeners see from the next frame on (in-band
// ICY metadata of the stream, /admin/metadata): frames whose bytes
// arrive after the call carry it.
func (s *Session) SetTitle(title string) {
	l := s.src
	l.mu.Lock()
	defer l.mu.Unlock()
	if s.state == sessionDone || title == s.title {
		return
	}
	s.title = title
	if s.state == sessionStreaming {
		pos := s.bytes.Load()
		if n := len(s.titles); n > 0 && s.titles[n-1].pos == pos {
			s.titles[n-1].text = title // no audio in between: only this one is heard
		} else if n < maxPendingTitles {
			s.titles = append(s.titles, titleChange{pos: pos, text: title})
		} else {
			s.titles[n-1] = titleChange{pos: pos, text: title} // a flood: keep the newest
		}
	}
}

// Close releases a claim that was not streamed, or ends a stream (its
// Stream returns context.Canceled).
func (s *Session) Close() {
	l := s.src
	l.mu.Lock()
	defer l.mu.Unlock()
	switch s.state {
	case sessionClaimed:
		s.release()
	case sessionStreaming:
		s.cancel(context.Canceled)
	}
}

// SetTitle sets the title of the attached stream; ErrNoStream if none.
func (l *LiveSource) SetTitle(title string) error {
	l.mu.Lock()
	s := l.claim
	l.mu.Unlock()
	if s == nil {
		return ErrNoStream
	}
	s.SetTitle(title)
	return nil
}

// Kick ends the attached stream (Icecast's killsource): its Stream
// returns ErrKicked and what it had buffered does not play. False if
// none.
func (l *LiveSource) Kick() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.claim
	if s == nil {
		return false
	}
	s.kicked = true
	if s.state == sessionStreaming {
		s.cancel(ErrKicked)
	}
	l.log().Info("stream kicked", "remote", s.info.RemoteAddr)
	return true
}

// Status reports the source's state. Dropped and Inserted count since
// the source was made; the other figures are the attached stream's.
func (l *LiveSource) Status() LiveStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := LiveStatus{Sessions: l.sessions, Dropped: l.dropped, Inserted: l.inserted}
	if s := l.claim; s != nil {
		st.OnAir, st.Info, st.Since, st.Title = true, s.info, s.since, s.title
		st.BytesIn, st.Converted = s.bytes.Load(), s.converted
	}
	return st
}

// Run implements Source: it tells the station about a stream that got
// ready before Run, writes the recordings, and when ctx ends cuts the
// stream (its Stream returns ErrStopped), refuses new ones and closes
// the recordings.
func (l *LiveSource) Run(ctx context.Context, f *Feed) {
	l.init()
	l.mu.Lock()
	l.feed = f
	ready := len(l.bufs) > 0 && l.bufs[0].offered
	l.mu.Unlock()
	if ready {
		f.Ready()
	}
	for {
		select {
		case <-ctx.Done():
			l.shutdown()
			l.writeRecordings()
			return
		case <-l.recWake:
			l.writeRecordings()
		}
	}
}

// shutdown is the station stopping: nothing more plays.
func (l *LiveSource) shutdown() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopped = true
	if s := l.claim; s != nil && s.state == sessionStreaming {
		s.cancel(ErrStopped)
	}
	for _, b := range l.bufs {
		b.discard = true
		if b.rec != nil {
			b.rec.done = true
		}
	}
	l.reap()
}

// Next implements Source: a track of the oldest session with audio to
// play, continuing its buffer where the last track stopped; nil while a
// track of it is with the station, or none has Buffer yet. It never
// blocks.
func (l *LiveSource) Next() *Track {
	l.init()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reap()
	if l.stopped || len(l.bufs) == 0 {
		return nil
	}
	b := l.bufs[0]
	if b.out != nil || !b.offered {
		return nil
	}

	title := b.nextTitle()
	format := b.tmpl
	if b.len() > 0 {
		format = b.q[b.head].f
	}
	lf := &liveFrames{b: b, gen: b.nextGen()}
	b.out = lf
	info := &TrackInfo{
		Title: title.text, Display: title.text, Meta: title.meta,
		Bitrate: format.Bitrate / 1000, SampleRate: format.SampleRate, Channels: format.Channels,
	}
	return &Track{Info: info, Frames: lf, Closer: lf}
}

// recording is one session's MP3 file. pending, done and failed are
// guarded by l.mu; file and name are Run's.
type recording struct {
	path    string
	pending []byte
	done    bool // the session's audio is all in pending or written
	failed  bool // an error was logged; nothing more is written
	file    *os.File
}

// recordingName names a session's file by its start time (UTC), with the
// source's kind as prefix, in characters every common filesystem takes.
func recordingName(kind string, start time.Time) string {
	safe := strings.Map(func(r rune) rune {
		if r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_') {
			return r
		}
		return '_'
	}, kind)
	return safe + "-" + start.UTC().Format("2006-01-02T15-04-05Z") + ".mp3"
}

// writeRecordings writes what the sessions handed to the station since
// the last call, and closes the recordings of sessions that are over.
// Run's goroutine only: a slow disk never holds up the station.
func (l *LiveSource) writeRecordings() {
	type job struct {
		rec  *recording
		data []byte
		done bool
	}
	l.mu.Lock()
	var jobs []job
	kept := l.recs[:0]
	for _, r := range l.recs {
		j := job{rec: r, data: r.pending, done: r.done || r.failed}
		r.pending = nil
		jobs = append(jobs, j)
		if !j.done {
			kept = append(kept, r)
		}
	}
	clear(l.recs[len(kept):])
	l.recs = kept
	l.mu.Unlock()
	for _, j := range jobs {
		if len(j.data) > 0 {
			if err := l.writeRecording(j.rec, j.data); err != nil {
				l.mu.Lock()
				j.rec.failed = true
				l.mu.Unlock()
				l.log().Warn("recording failed; the stream goes on unrecorded", "path", j.rec.path, "reason", err.Error())
				j.done = true
			}
		}
		if j.done && j.rec.file != nil {
			if err := j.rec.file.Close(); err != nil {
				l.log().Warn("recording failed; the stream goes on unrecorded", "path", j.rec.path, "reason", err.Error())
			}
			j.rec.file = nil
			if h := l.hooks.recorded; h != nil {
				h(j.rec.path)
			}
		}
	}
}

// writeRecording appends data to r's file, creating it on first use
// (next to a file of the same second, a suffix keeps both).
func (l *LiveSource) writeRecording(r *recording, data []byte) error {
	if r.file == nil {
		if err := os.MkdirAll(filepath.Dir(r.path), 0o755); err != nil {
			return err
		}
		base := strings.TrimSuffix(r.path, ".mp3")
		for i := 0; ; i++ {
			p := r.path
			if i > 0 {
				p = fmt.Sprintf("%s-%d.mp3", base, i)
			}
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err == nil {
				r.file, r.path = f, p
				l.log().Info("recording stream", "path", p)
				break
			}
			if !errors.Is(err, os.ErrExist) || i >= 100 {
				return err
			}
		}
	}
	_, err := r.file.Write(data)
	return err
}
