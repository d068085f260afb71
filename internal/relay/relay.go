// Package relay makes a station play another server's mount: one
// connection to the upstream (Icecast, SHOUTcast v1/v2 or another
// audio-streamer) whatever the number of listeners, fed into a
// mount.LiveSource that sits ahead of the station's folder. The upstream's
// ICY titles become the station's; a lost upstream is retried with
// backoff while the folder plays, and the relay takes over again when the
// upstream is back.
package relay

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/icy"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

// Relay pulls one upstream mount into Live. Fill the fields, then call
// Run; the fields must not change afterwards. Wake and Status may be
// called from any goroutine, also before Run.
type Relay struct {
	// URL is the upstream, http:// or https://; user:password@ in it is
	// sent as Basic auth and never shown (Status, logs).
	URL string
	// Live is where the stream goes (Kind "relay"), ahead of the folder.
	Live *mount.LiveSource
	// OnDemand connects only while Listeners (required then) reports
	// listeners. The station must call Wake whenever its listener count
	// changes (a listener is admitted or leaves): the relay waits on Wake,
	// it does not poll. The last listener leaving ends the connection at
	// once, as Icecast's on-demand relays do.
	OnDemand  bool
	Listeners func() int
	// Backoff is the wait before the attempt-th retry (1, 2, …); nil:
	// DefaultBackoff. Attempts count from 1 again after a connection that
	// played for longer than the longest wait (StableAfter).
	Backoff func(attempt int) time.Duration
	// ConnectTimeout bounds the dial, the TLS handshake and the wait for
	// the response head (0: 10 s). A body that stalls is ended by Live's
	// Timeout.
	ConnectTimeout time.Duration
	// Dial makes the TCP connections (nil: net.Dialer); TLS configures
	// https upstreams (nil: system roots).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	TLS  *tls.Config
	// UserAgent is sent upstream ("": "audio-streamer relay"). It must not
	// look like a browser's: SHOUTcast v1 answers those with its HTML page.
	UserAgent string
	Clock     mount.Clock  // nil: mount.SystemClock
	Logger    *slog.Logger // nil: discard

	// claim is Live.Claim; tests put a fake stream sink here.
	claim func(mount.StreamInfo) (session, error)
	// onState, if set, is told every state the relay enters (tests wait
	// on it).
	onState func(State)

	once     sync.Once
	wake     chan struct{}
	bytesIn  atomic.Int64
	mu       sync.Mutex
	st       Status
	connects int64 // guarded by mu
}

// session is what the relay uses of a *mount.Session.
type session interface {
	Stream(ctx context.Context, r io.Reader) error
	SetTitle(title string)
	Close()
}

// State is what the relay is doing.
type State string

const (
	StateIdle       State = "idle"       // on demand, no listeners
	StateConnecting State = "connecting" // dialling, waiting for the head
	StateConnected  State = "connected"  // the upstream's stream plays
	StateBackoff    State = "backoff"    // waiting to retry after a failure
	StateStopped    State = "stopped"    // Run has not started or has returned
)

// Status is what status pages show about a relay. It never holds the
// URL's credentials.
type Status struct {
	Upstream   string // the URL without userinfo
	State      State
	Connected  bool      // State == StateConnected
	Since      time.Time // when State began
	Reconnects int64     // connections after the first
	Failures   int64     // attempts that failed before or while streaming
	LastError  string    // why the last attempt or stream ended; "" if cleanly
	BytesIn    int64     // bytes read from the upstream, metadata included
}

// StableAfter is how long a connection must last for the backoff to start
// over at attempt 1: as long as the longest default wait, so an upstream
// that answers and then drops at once still backs off.
const StableAfter = 30 * time.Second

// DefaultBackoff waits 1 s before the first retry, doubling up to 30 s,
// each wait shortened by up to a quarter at random, so relays that lost
// the same upstream do not all come back in the same instant.
func DefaultBackoff(attempt int) time.Duration {
	d := min(time.Second<<min(max(attempt-1, 0), 5), 30*time.Second)
	return d - rand.N(d/4+1)
}

func (r *Relay) init() {
	r.once.Do(func() {
		r.wake = make(chan struct{}, 1)
		r.st = Status{Upstream: r.upstreamName(), State: StateStopped}
	})
}

// Wake tells an on-demand relay that the listener count may have changed.
// It never blocks.
func (r *Relay) Wake() {
	r.init()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Status reports the relay's state.
func (r *Relay) Status() Status {
	r.init()
	r.mu.Lock()
	s := r.st
	r.mu.Unlock()
	s.BytesIn = r.bytesIn.Load()
	return s
}

// Run connects, streams into Live and reconnects with backoff, until ctx
// ends. Call it once, from a goroutine the caller owns.
func (r *Relay) Run(ctx context.Context) {
	r.init()
	clock := r.clock()
	log := r.logger()
	client := r.newClient()
	defer client.CloseIdleConnections()
	defer func() { r.setState(StateStopped, clock.Now()) }()
	attempt := 0
	for ctx.Err() == nil {
		if r.OnDemand && !r.awaitListeners(ctx) {
			return
		}
		r.setState(StateConnecting, clock.Now())
		start := clock.Now()
		idle, err := r.session(ctx, client)
		if ctx.Err() != nil {
			return
		}
		if idle {
			log.Info("relay disconnected: no listeners left")
			attempt = 0
			continue
		}
		if clock.Now().Sub(start) >= StableAfter {
			attempt = 0
		}
		attempt++
		wait := r.backoff(attempt)
		r.ended(err, wait)
		r.setState(StateBackoff, clock.Now())
		if clock.SleepUntil(ctx, clock.Now().Add(wait)) != nil {
			return
		}
	}
}

// awaitListeners waits, idle, until the station has a listener; false if
// ctx ended first.
func (r *Relay) awaitListeners(ctx context.Context) bool {
	if r.listeners() > 0 {
		return true
	}
	r.setState(StateIdle, r.clock().Now())
	for {
		select {
		case <-r.wake:
			if r.listeners() > 0 {
				return true
			}
		case <-ctx.Done():
			return false
		}
	}
}

// session makes one connection and streams it until it ends. It reports
// whether an on-demand stream ended because the last listener left, and
// why the connection failed or ended (nil: a clean end of stream).
func (r *Relay) session(ctx context.Context, client *http.Client) (idle bool, err error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var noListeners atomic.Bool
	if r.OnDemand {
		watched := make(chan struct{})
		defer func() { cancel(); <-watched }()
		go func() {
			defer close(watched)
			for {
				select {
				case <-r.wake:
					if r.listeners() == 0 {
						noListeners.Store(true)
						cancel()
						return
					}
				case <-sctx.Done():
					return
				}
			}
		}()
	}
	err = r.stream(sctx, client)
	return noListeners.Load(), err
}

// stream connects, claims Live and plays the upstream until it ends; nil
// for a clean end of stream.
func (r *Relay) stream(ctx context.Context, client *http.Client) error {
	up, err := r.connect(ctx, client)
	if err != nil {
		return err
	}
	defer up.body.Close()
	sess, err := r.claimLive(up.info)
	if err != nil {
		return err
	}
	var body io.Reader = &counter{r: up.body, n: &r.bytesIn}
	if up.metaint > 0 {
		body = icy.NewDemuxer(body, up.metaint, sess.SetTitle)
	}
	r.connected()
	r.logger().Info("relay connected", "name", up.info.Name, "via", up.info.RemoteAddr, "metaint", up.metaint)
	return sess.Stream(ctx, body)
}

// ended records why a connection ended and logs it with the wait before
// the next attempt: a failure at Warn when its reason is new, at Debug
// while an upstream keeps failing the same way.
func (r *Relay) ended(err error, wait time.Duration) {
	log := r.logger()
	if err == nil {
		r.mu.Lock()
		r.st.LastError = ""
		r.mu.Unlock()
		log.Info("relay upstream ended the stream", "retry_in", wait)
		return
	}
	msg := r.scrub(err.Error())
	r.mu.Lock()
	r.st.Failures++
	repeat := msg == r.st.LastError
	r.st.LastError = msg
	r.mu.Unlock()
	level := slog.LevelWarn
	if repeat {
		level = slog.LevelDebug
	}
	log.Log(context.Background(), level, "relay failed", "reason", msg, "retry_in", wait)
}

func (r *Relay) connected() {
	now := r.clock().Now()
	r.mu.Lock()
	if r.connects > 0 {
		r.st.Reconnects++
	}
	r.connects++
	r.st.LastError = ""
	r.mu.Unlock()
	r.setState(StateConnected, now)
}

func (r *Relay) setState(s State, now time.Time) {
	r.mu.Lock()
	r.st.State, r.st.Connected, r.st.Since = s, s == StateConnected, now
	r.mu.Unlock()
	if r.onState != nil {
		r.onState(s)
	}
}

func (r *Relay) claimLive(info mount.StreamInfo) (session, error) {
	if r.claim != nil {
		return r.claim(info)
	}
	if r.Live == nil {
		return nil, errors.New("relay has no LiveSource")
	}
	return r.Live.Claim(info)
}

func (r *Relay) backoff(attempt int) time.Duration {
	if r.Backoff != nil {
		return r.Backoff(attempt)
	}
	return DefaultBackoff(attempt)
}

func (r *Relay) listeners() int {
	if r.Listeners == nil {
		return 0
	}
	return r.Listeners()
}

func (r *Relay) clock() mount.Clock {
	if r.Clock == nil {
		return mount.SystemClock{}
	}
	return r.Clock
}

func (r *Relay) logger() *slog.Logger {
	l := r.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return l.With("upstream", r.upstreamName())
}

func (r *Relay) connectTimeout() time.Duration { return cmp.Or(r.ConnectTimeout, 10*time.Second) }

func (r *Relay) userAgent() string { return cmp.Or(r.UserAgent, "audio-streamer relay") }

// upstreamName is URL without userinfo; an unparsable URL is not shown,
// as it might hold a password in a form url.Parse does not find.
func (r *Relay) upstreamName() string {
	u, err := url.Parse(r.URL)
	if err != nil {
		return "(invalid URL)"
	}
	return redact(u)
}

// scrub removes the URL's password from a message: errors of the layers
// below may quote a URL the relay did not format.
func (r *Relay) scrub(msg string) string {
	u, err := url.Parse(r.URL)
	if err != nil {
		return msg
	}
	if u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	if u.RawQuery != "" { // errors quote the URL, query and all
		msg = strings.ReplaceAll(msg, "?"+u.RawQuery, "?xxxxx")
	}
	return msg
}

// counter counts the bytes read through it.
type counter struct {
	r io.Reader
	n *atomic.Int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
