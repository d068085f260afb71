package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/aposazhennikov/stream-audio-to-web/icy"
)

// Limits of /events, so open pages cost what a listener costs: a page
// that stops reading is dropped after eventsWriteTimeout, and the kernel
// keeps at most about eventsSendBuffer of its data.
const (
	defaultMaxEventStreams      = 1024
	defaultMaxEventStreamsPerIP = 32
	defaultEventsWriteTimeout   = 10 * time.Second
	eventsSendBuffer            = 16 << 10
	eventsTick                  = 500 * time.Millisecond
	eventsKeepAlive             = 15 * time.Second
)

// eventStreams counts open /events connections in total and per address.
type eventStreams struct {
	mu    sync.Mutex
	total int
	perIP connsPerIP
}

// acquire reserves a slot for ip, or returns why there is none.
func (e *eventStreams) acquire(ip string, maxTotal, maxPerIP int) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.total >= maxTotal {
		return fmt.Sprintf("503 Service Unavailable: too many live-update connections (limit %d); the page falls back to polling", maxTotal)
	}
	if !e.perIP.acquire(ip, maxPerIP) {
		return fmt.Sprintf("503 Service Unavailable: too many live-update connections from %s (limit %d)", ip, maxPerIP)
	}
	e.total++
	return ""
}

func (e *eventStreams) release(ip string) {
	e.mu.Lock()
	e.total--
	e.mu.Unlock()
	e.perIP.release(ip)
}

// events is a Server-Sent Events feed of the stations' state (what
// listeners hear, listener counts): every station in a "stations" event on
// connect, then a "station" event for each station that changed, checked
// twice a second, with a keep-alive comment every 15 s. The data is built
// once for all pages (see eventsCache), not by each page. SSE over polling:
// one connection, changes arrive within a second (a tick plus the age of
// the shared data and Stats), and EventSource reconnects by itself.
//
// The connection is hijacked and written like a listener's: a small send
// buffer and a deadline on every write, so a page that stops reading is
// dropped instead of pinning kernel memory.
func (s *Server) events(ctx *fasthttp.RequestCtx) {
	if !methodIs(ctx, "GET") {
		return
	}
	ip := s.clientAddr(ctx).String()
	sch, h := s.scheme(ctx), s.host(ctx)
	done := ctx.Done() // closed on server shutdown
	proto := "HTTP/1.0"
	if ctx.Request.Header.IsHTTP11() {
		proto = "HTTP/1.1"
	}
	head := proto + " 200 OK\r\n" +
		"Server: " + s.ServerID + "\r\n" +
		"Content-Type: text/event-stream; charset=utf-8\r\n" +
		"Cache-Control: no-cache, no-store\r\n" +
		"Access-Control-Allow-Origin: *\r\n" +
		"X-Accel-Buffering: no\r\n" +
		"Connection: close\r\n\r\n" +
		"retry: 3000\n\n"
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(c net.Conn) {
		defer s.recoverHijack(c, "/events")
		// The slot is taken here, not in the handler: fasthttp skips this
		// callback when it cannot hand the connection over, and a slot
		// taken before would never be given back.
		if why := s.eventConns.acquire(ip, s.maxEventStreams(), s.maxEventStreamsPerIP()); why != "" {
			writeAndClose(c, icy.ErrorResponse(nil, fasthttp.StatusServiceUnavailable, why))
			return
		}
		defer s.eventConns.release(ip)
		sc := streamConn(c)
		if tc, ok := sc.(*net.TCPConn); ok {
			tc.SetWriteBuffer(eventsSendBuffer)
		}
		s.serveEvents(sc, sch, h, []byte(head), done)
	})
}

// serveEvents writes the feed to c until the client leaves, a write
// misses its deadline or done closes, then closes c.
func (s *Server) serveEvents(c net.Conn, sch, h string, head []byte, done <-chan struct{}) {
	// The client sends nothing after its request: a read ends when it
	// hangs up, which frees its slot without waiting for the next write.
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		buf := make([]byte, 512)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	}()
	defer func() {
		c.Close()
		<-gone
	}()
	timeout := s.eventsWriteTimeout()
	write := func(b []byte) bool {
		c.SetWriteDeadline(time.Now().Add(timeout))
		_, err := c.Write(b)
		if err != nil && s.eventsDropped != nil {
			s.eventsDropped()
		}
		return err == nil
	}

	tick := time.NewTicker(eventsTick)
	defer tick.Stop()
	var sent [][]byte // last data per sorted station (shared: read only)
	var sentSet *stationSet
	out := head
	lastWrite := time.Time{}
	for {
		now := time.Now()
		snap := s.eventData.get(s, sch, h, now)
		// On connect, and when a reload changed the stations, the page
		// gets the whole list again.
		whole := sent == nil || snap.set != sentSet
		if whole {
			out = appendEvent(out, "stations", snap.all)
			sent, sentSet = make([][]byte, len(snap.station)), snap.set
		}
		for i, body := range snap.station {
			if !whole && !bytes.Equal(body, sent[i]) {
				out = appendEvent(out, "station", body)
			}
			sent[i] = body
		}
		if len(out) == 0 && now.Sub(lastWrite) > eventsKeepAlive {
			out = append(out, ": ping\n\n"...)
		}
		if len(out) > 0 {
			if !write(out) {
				return
			}
			out, lastWrite = out[:0], now
		}
		select {
		case <-done:
			return
		case <-gone:
			return
		case <-tick.C:
		}
	}
}

func appendEvent(b []byte, name string, data []byte) []byte {
	b = append(b, "event: "...)
	b = append(b, name...)
	b = append(b, "\ndata: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
}

// eventStations is every station as /streams describes it, so with Stats
// shared by all pages (see statsCache), but without the elapsed time,
// which changes every tick (the page computes it), and with the station's
// nominal delay rather than its listeners' average, which moves by
// milliseconds as they join and would send every page an event for
// nothing it shows (/streams has the average).
func (s *Server) eventStations(sch, h string, now time.Time) []stationJSON {
	list := make([]stationJSON, 0, len(s.stationList()))
	for _, st := range s.sortedStations() {
		d := s.describe(st, sch, h, now)
		d.ElapsedS = 0
		d.DelayS = round3(st.BurstDelay().Seconds())
		list = append(list, d)
	}
	return list
}

// eventsBody is the data of a "stations" event.
func (s *Server) eventsBody(sch, h string, now time.Time) []byte {
	body, _ := json.Marshal(s.eventStations(sch, h, now))
	return body
}

func (s *Server) maxEventStreams() int {
	if s.MaxEventStreams > 0 {
		return s.MaxEventStreams
	}
	return defaultMaxEventStreams
}

func (s *Server) maxEventStreamsPerIP() int {
	if s.MaxEventStreamsPerIP > 0 {
		return s.MaxEventStreamsPerIP
	}
	return defaultMaxEventStreamsPerIP
}

func (s *Server) eventsWriteTimeout() time.Duration {
	if s.EventsWriteTimeout > 0 {
		return s.EventsWriteTimeout
	}
	return defaultEventsWriteTimeout
}
