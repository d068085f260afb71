package mount

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

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
	// Buffer is the jitter buffer's target depth (0: 1 s).
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
}

// Session is one attached stream. Claim makes it; Stream plays it.
type Session struct {
	src *LiveSource
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

// Claim reserves the source for a stream described by info; ErrBusy if a
// stream is attached or claimed. A claim that is never streamed must be
// released with Session.Close.
func (l *LiveSource) Claim(info StreamInfo) (*Session, error) {
	return nil, errors.ErrUnsupported
}

// Stream plays r until it ends, fails, sends nothing for Timeout, is
// kicked, or ctx ends; it then releases the claim and returns why (nil
// for a clean end of stream). A partial frame at the end is never played.
func (s *Session) Stream(ctx context.Context, r io.Reader) error {
	return errors.ErrUnsupported
}

// SetTitle sets the title listeners see from the next frame on (in-band
// ICY metadata of the stream, /admin/metadata).
func (s *Session) SetTitle(title string) {}

// Close releases a claim that was not streamed, or ends a stream.
func (s *Session) Close() {}

// SetTitle sets the title of the attached stream; ErrNoStream if none.
func (l *LiveSource) SetTitle(title string) error { return ErrNoStream }

// Kick ends the attached stream (Icecast's killsource); false if none.
func (l *LiveSource) Kick() bool { return false }

// Status reports the source's state.
func (l *LiveSource) Status() LiveStatus { return LiveStatus{} }

// Run implements Source.
func (l *LiveSource) Run(ctx context.Context, f *Feed) {}

// Next implements Source.
func (l *LiveSource) Next() *Track { return nil }
