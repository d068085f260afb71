package server

import (
	"bufio"
	"encoding/json"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/aposazhennikov/stream-audio-to-web/internal/web"
)

// events is a Server-Sent Events feed of every station's state (what
// listeners hear, listener counts), sent on connect and whenever it
// changes; checked twice a second, with a keep-alive comment every 15 s.
// SSE over polling: one connection, changes arrive within a second (a
// tick plus the age of the shared Stats), and EventSource reconnects by
// itself.
func (s *Server) events(ctx *fasthttp.RequestCtx) {
	if !methodIs(ctx, "GET") {
		return
	}
	sch, h := scheme(ctx), host(ctx)
	done := ctx.Done() // closed on server shutdown
	ctx.SetContentType("text/event-stream; charset=utf-8")
	ctx.Response.Header.Set("Cache-Control", "no-cache, no-store")
	ctx.Response.Header.Set("Access-Control-Allow-Origin", "*")
	ctx.Response.Header.Set("X-Accel-Buffering", "no")
	// The stream writer runs after the handler; the server's WriteTimeout
	// would cut it, so this response has no deadline of its own and ends
	// when a write fails (the client left) or the server shuts down.
	ctx.SetWriteDeadline(time.Time{})
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		var last []byte
		lastWrite := time.Time{}
		w.WriteString("retry: 3000\n\n")
		for {
			now := time.Now()
			body := s.eventsBody(sch, h, now)
			switch {
			case string(body) != string(last):
				w.WriteString("event: stations\ndata: ")
				w.Write(body)
				w.WriteString("\n\n")
				last, lastWrite = body, now
			case now.Sub(lastWrite) > 15*time.Second:
				w.WriteString(": ping\n\n")
				lastWrite = now
			}
			if err := w.Flush(); err != nil {
				return
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
}

// eventsBody is the data of a stations event: every station as /streams
// describes it, so with Stats shared by all pages (see statsCache), but
// without the elapsed time, which changes every tick (the page computes it),
// and with the station's nominal delay rather than its listeners' average,
// which moves by milliseconds as they join and would send every page an
// event for nothing it shows (/streams has the average).
func (s *Server) eventsBody(sch, h string, now time.Time) []byte {
	list := make([]stationJSON, 0, len(s.Stations))
	for _, st := range s.sortedStations() {
		d := s.describe(st, sch, h, now)
		d.ElapsedS = 0
		d.DelayS = round3(st.BurstDelay().Seconds())
		list = append(list, d)
	}
	body, _ := json.Marshal(list)
	return body
}

func (s *Server) webPage(ctx *fasthttp.RequestCtx) {
	if !methodIs(ctx, "GET", "HEAD") {
		return
	}
	ctx.SetContentType("text/html; charset=utf-8")
	ctx.Response.Header.Set("Cache-Control", "no-cache")
	ctx.Response.Header.Set("X-Content-Type-Options", "nosniff")
	ctx.Response.Header.Set("Content-Security-Policy", web.ContentSecurityPolicy())
	ctx.SetBody(web.Page())
}
