package station

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/relay"
	"github.com/aposazhennikov/stream-audio-to-web/internal/transcode"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

// liveSources are what a station plays ahead of its folder, highest first:
// a DJ's source client (when it takes sources), then a relay's upstream,
// then, for a station without a folder, its fallback route's stream.
type liveSources struct {
	live     *mount.LiveSource // nil: the station takes no source clients
	password string
	relay    *relay.Relay // nil: no relay
	relayed  *mount.LiveSource
	mirror   *mount.MirrorSource // nil: no fallback

	// waiting counts listeners waiting for an on-demand relay to play;
	// demanded is when the last one stopped waiting. Both count as
	// listeners for the relay (pending), the latter for joinGrace, until
	// the listener has joined.
	waiting  atomic.Int64
	demanded atomic.Int64
}

// joinGrace is how long a listener that waited for an on-demand relay
// keeps it connected before joining: the hand-over takes milliseconds.
const joinGrace = 2 * time.Second

// demand tells an on-demand relay that a listener waits for it; the
// returned func ends the wait.
func (l *liveSources) demand() (done func()) {
	r := l.relay
	if r == nil || !r.OnDemand {
		return func() {}
	}
	l.waiting.Add(1)
	r.Wake()
	return func() {
		l.demanded.Store(time.Now().UnixNano())
		l.waiting.Add(-1)
		// Look again once the grace is over: if nobody joined, disconnect.
		time.AfterFunc(joinGrace, r.Wake)
	}
}

// pending is the number of listeners waiting for the relay, counting one
// that just stopped waiting and has not joined yet.
func (l *liveSources) pending() int {
	n := int(l.waiting.Load())
	if time.Since(time.Unix(0, l.demanded.Load())) < joinGrace {
		n++
	}
	return n
}

// list is the source list for Mountpoint.Sources, in priority order.
func (l *liveSources) list() []mount.Source {
	var out []mount.Source
	if l.live != nil {
		out = append(out, l.live)
	}
	if l.relayed != nil {
		out = append(out, l.relayed)
	}
	if l.mirror != nil {
		out = append(out, l.mirror)
	}
	return out
}

// buildLive makes the live sources of a radio station from its settings.
func buildLive(cfg *config.Config, set config.Station, deps Deps, encoders *transcode.Limiter, log *slog.Logger) *liveSources {
	l := &liveSources{}
	if set.Mode != config.ModeRadio {
		return l // config refuses live settings there; an inherited password is ignored
	}
	format := mount.StreamFormat{Bitrate: set.Bitrate, SampleRate: set.SampleRate, Channels: set.Channels}
	if set.LiveOnly && set.Fallback == "" {
		format = mount.StreamFormat{} // nothing else plays here: any format goes
	}
	var convert func(context.Context, io.Reader, mount.StreamFormat) (io.ReadCloser, error)
	if deps.FFmpeg == nil {
		convert = func(ctx context.Context, in io.Reader, want mount.StreamFormat) (io.ReadCloser, error) {
			return transcode.StartReader(ctx, in, transcode.Options{
				FFmpegPath: cfg.FFmpegPath, Bitrate: want.Bitrate, SampleRate: want.SampleRate,
				Channels: want.Channels, StallTimeout: set.SourceTimeout + time.Second, Logger: log,
				Limiter: encoders, // a full cap refuses the source (*transcode.BusyError)
			})
		}
	}
	mode := map[string]mount.TranscodeMode{"auto": mount.TranscodeAuto, "never": mount.TranscodeNever, "always": mount.TranscodeAlways}[set.LiveTranscode]
	newLive := func(kind string) *mount.LiveSource {
		return &mount.LiveSource{
			Kind: kind, Charset: set.ICYCharset, Timeout: set.SourceTimeout,
			Transcode: mode, Format: format, Convert: convert,
			Logger: log.With("route", set.Route),
		}
	}
	if set.SourcePassword != "" {
		l.live = newLive("live")
		l.live.RecordDir = set.RecordDir
		l.password = set.SourcePassword
	}
	if set.Relay != "" {
		l.relayed = newLive("relay")
		l.relay = &relay.Relay{
			URL: set.Relay, Live: l.relayed, OnDemand: set.OnDemand,
			Logger: log.With("route", set.Route, "source", "relay"),
		}
	}
	if set.Fallback != "" {
		l.mirror = &mount.MirrorSource{} // Station is set by BuildAll, which knows the fallback
	}
	return l
}

// linkFallbacks points each mirror at the station its fallback names.
func linkFallbacks(stations []*Station) {
	byRoute := map[string]*Station{}
	for _, st := range stations {
		byRoute[st.settings.Route] = st
	}
	for _, st := range stations {
		if m := st.live.mirror; m != nil {
			if fb := byRoute[st.settings.Fallback]; fb != nil {
				m.Station = fb.mount.Radio
			}
		}
	}
}

// OnAir says what a station plays now, for status pages.
type OnAir struct {
	// Source is "folder", "live", "relay", "fallback", or "" while the
	// station is off the air.
	Source string
	// Stream describes a live or relayed stream as its client announced it.
	Stream mount.StreamInfo
	Since  time.Time
	// BytesIn and Sessions are the live source's counters (for a relay,
	// Sessions counts its connections).
	BytesIn, Sessions int64
	// Relay is the relay's state; nil without a relay.
	Relay *relay.Status
}

// OnAir reports which source is on the air.
func (s *Station) OnAir() OnAir {
	var a OnAir
	if s.live.relay != nil {
		rs := s.live.relay.Status()
		a.Relay = &rs
	}
	for _, src := range []struct {
		kind string
		live *mount.LiveSource
	}{{"live", s.live.live}, {"relay", s.live.relayed}} {
		if src.live == nil {
			continue
		}
		if st := src.live.Status(); st.OnAir {
			a.Source, a.Stream, a.Since, a.BytesIn, a.Sessions = src.kind, st.Info, st.Since, st.BytesIn, st.Sessions
			return a
		}
	}
	switch {
	case !s.mount.Ready():
	case s.live.mirror != nil:
		a.Source = "fallback"
	case s.settings.HasFolder():
		a.Source = "folder"
	}
	return a
}

// LiveSource is where the station's source clients stream to, and the
// password they must give; nil if the station takes none.
func (s *Station) LiveSource() (*mount.LiveSource, string) { return s.live.live, s.live.password }
