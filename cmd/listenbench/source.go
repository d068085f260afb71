package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"
)

// The source pushes 128 kbit/s MPEG-1 Layer III frames at 44.1 kHz,
// stereo: silent (zero side info, no main data), padded the way encoders
// pad so the stream is exactly 128,000 bit/s, each carrying a tag
// (latency.go).
const (
	srcKbps       = 128
	srcSampleRate = 44100
	srcFrameNs    = 1152 * int64(time.Second) / srcSampleRate // 26.12 ms
)

// sourceFrame returns frame k of the source's stream with its tag.
// Frame k is padded when the bytes owed by the end of it (144 × bitrate /
// sample rate per frame) are one more than an unpadded frame gives.
func sourceFrame(k int64, sent int64) []byte {
	const num, den = 144 * srcKbps * 1000, srcSampleRate
	size := (k+1)*num/den - k*num/den // 417 or 418
	fr := make([]byte, size)
	b2 := byte(9 << 4) // bitrate index 9 = 128 kbit/s; sample-rate index 0 = 44.1 kHz
	if size > num/den {
		b2 |= 0x02 // padding
	}
	fr[0], fr[1], fr[2], fr[3] = 0xFF, 0xFB, b2, 0x64 // MPEG-1 Layer III, no CRC; joint stereo
	putTag(fr, uint32(k), sent)
	return fr
}

// sourceRequest is an Icecast 2 source's PUT, as ffmpeg's icecast://
// sends it without Expect: no Content-Length, audio follows the head.
func sourceRequest(path, host, password string) []byte {
	auth := base64.StdEncoding.EncodeToString([]byte("source:" + password))
	return fmt.Appendf(nil, "PUT %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Basic %s\r\nUser-Agent: listenbench/1.0\r\n"+
		"Content-Type: audio/mpeg\r\nIce-Name: listenbench source\r\nIce-Public: 0\r\n\r\n", path, host, auth)
}

// sourceResult is how the push went.
type sourceResult struct {
	frames   int64
	bytes    int64
	lagNs    []int64 // per frame: write time − due time (the tool's own lateness)
	err      error   // why it ended early; nil if it ran until stopped
	startedS float64 // first frame, s since base
}

// pusher is the live source of a run.
type pusher struct {
	conn *net.TCPConn
	done chan struct{}
	res  sourceResult
}

// startSource connects, sends the PUT, waits for the server's 200 and
// starts writing frames in real time from a goroutine until stop.
func (r *load) startSource(ctx context.Context) (*pusher, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	c, err := d.DialContext(ctx, "tcp", r.tgt.addr)
	if err != nil {
		return nil, fmt.Errorf("source: connect: %w", err)
	}
	tc := c.(*net.TCPConn)
	tc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := tc.Write(sourceRequest(r.tgt.paths[0], r.tgt.host, r.cfg.SourcePassword)); err != nil {
		tc.Close()
		return nil, fmt.Errorf("source: request: %w", err)
	}
	// The server answers once it has claimed the station; a refusal has a
	// body, a 200 none (audio flows one way from here).
	status, err := bufio.NewReader(tc).ReadString('\n')
	if err != nil {
		tc.Close()
		return nil, fmt.Errorf("source: no answer: %w", err)
	}
	if f := strings.Fields(status); len(f) < 2 || f[1] != "200" {
		tc.Close()
		return nil, fmt.Errorf("source refused: %s", strings.TrimSpace(status))
	}
	tc.SetDeadline(time.Time{})
	p := &pusher{conn: tc, done: make(chan struct{})}
	go p.run(ctx, r)
	return p, nil
}

// run writes frame k when it is due: start + k × frame duration. A late
// wake-up writes the frames owed at once (as an encoder that fell behind
// would). Each frame is stamped just before its write.
func (p *pusher) run(ctx context.Context, r *load) {
	defer close(p.done)
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	start := r.now()
	p.res.startedS = float64(start) / 1e9
	for k := int64(0); ; k++ {
		due := start + k*srcFrameNs
		if d := time.Duration(due - r.now()); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return
			}
		}
		if r.srcStop.Load() {
			return
		}
		sent := r.now()
		fr := sourceFrame(k, sent)
		p.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := p.conn.Write(fr); err != nil {
			if !r.srcStop.Load() {
				p.res.err = fmt.Errorf("source: write of frame %d: %s", k, errText(err))
			}
			return
		}
		p.res.frames++
		p.res.bytes += int64(len(fr))
		p.res.lagNs = append(p.res.lagNs, sent-due)
	}
}

// stop ends the push and closes the connection; it returns how it went.
func (p *pusher) stop(r *load) sourceResult {
	r.srcStop.Store(true)
	p.conn.SetWriteDeadline(time.Unix(1, 0)) // a blocked write returns at once
	<-p.done
	p.conn.Close()
	return p.res
}

// failed reports a push that ended before it was stopped.
func (p *pusher) failed() error {
	select {
	case <-p.done:
		if p.res.err != nil {
			return p.res.err
		}
		return errors.New("source: ended early")
	default:
		return nil
	}
}

// SourceReport is what --source pushed and how well it kept its clock.
type SourceReport struct {
	Route   string  `json:"route"`
	Frames  int64   `json:"frames"`
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"audio_s"` // audio time pushed
	// LagMs: how late the tool wrote frames against the frame clock (its
	// own scheduling on a busy machine); latencies are measured from the
	// actual write, so lag does not inflate them.
	LagMs   LatDist `json:"lag_ms"`
	WarmupS float64 `json:"warmup_s"` // pushing before the first listener connects
	Error   string  `json:"error,omitempty"`
}

func sourceReport(res sourceResult, route string, warmup time.Duration) *SourceReport {
	lag := make([]float64, len(res.lagNs))
	for i, v := range res.lagNs {
		lag[i] = ms(v)
	}
	rep := &SourceReport{
		Route: route, Frames: res.frames, Bytes: res.bytes,
		Seconds: round(float64(res.frames*srcFrameNs)/1e9, 2), LagMs: latDist(slices.Clip(lag)), WarmupS: warmup.Seconds(),
	}
	if res.err != nil {
		rep.Error = res.err.Error()
	}
	return rep
}
