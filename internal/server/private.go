package server

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/transcode"
)

// privateStreams counts the private streams of individual-mode stations,
// from admission until the station closes the listener's connection. Each
// is a station of its own (and maybe an ffmpeg process), so anyone who can
// connect could otherwise make the server do unbounded work. One mutex
// makes the check against both caps and the count atomic: a burst of
// connections cannot all pass the check before any of them is counted.
type privateStreams struct {
	mu         sync.Mutex
	perStation map[Station]int
	total      int
	// released, if set, is called after every release (tests synchronise
	// on it).
	released func()
}

// encoderStation is a station that counts its ffmpeg processes
// (*station.Station): a private stream that may need one holds an encoder
// from admission until its station starts it (ReserveEncoder), and
// /metrics shows how many run.
type encoderStation interface {
	Encoders() *transcode.Limiter
	ReserveEncoder() (*transcode.Lease, error)
}

// acquire counts one more private stream of st unless st already has
// stationCap or all stations together have serverCap (0: no cap), or the
// stream may need an encoder and none is free (max_encoders of st or of
// the server). It returns the function that gives the stream (and an
// unused encoder) back, or why it was refused.
func (p *privateStreams) acquire(st Station, stationCap, serverCap int) (release func(), refused refusal, why string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if stationCap > 0 && p.perStation[st] >= stationCap {
		return nil, refusedStationPrivate, fmt.Sprintf("station %s is full: %d private streams", st.Profile().Route, stationCap)
	}
	if serverCap > 0 && p.total >= serverCap {
		return nil, refusedServerPrivate, fmt.Sprintf("server is full: %d private streams of individual-mode stations", serverCap)
	}
	var lease *transcode.Lease
	if es, ok := st.(encoderStation); ok {
		l, err := es.ReserveEncoder()
		if err != nil {
			reason := refusedServerEncoders
			if be := (*transcode.BusyError)(nil); errors.As(err, &be) && be.Station != "" {
				reason = refusedStationEncoders
			}
			return nil, reason, err.Error()
		}
		lease = l
	}
	if p.perStation == nil {
		p.perStation = map[Station]int{}
	}
	p.perStation[st]++
	p.total++
	var once sync.Once
	return func() {
		once.Do(func() {
			lease.Cancel() // a no-op once the private station started its encoder
			p.release(st)
		})
	}, 0, ""
}

func (p *privateStreams) release(st Station) {
	p.mu.Lock()
	if n := p.perStation[st]; n > 1 {
		p.perStation[st] = n - 1
	} else {
		delete(p.perStation, st)
	}
	p.total--
	p.mu.Unlock()
	if p.released != nil {
		p.released()
	}
}

// serverPrivateStreamCap is the cap over all individual-mode stations:
// every station built from one configuration carries the same value in
// its profile; should they differ, the strictest one wins (0: no cap).
func serverPrivateStreamCap(stations []Station) int {
	limit := 0
	for _, st := range stations {
		p := st.Profile()
		if p.Mode != config.ModeIndividual || p.ServerMaxPrivateStreams <= 0 {
			continue
		}
		if limit == 0 || p.ServerMaxPrivateStreams < limit {
			limit = p.ServerMaxPrivateStreams
		}
	}
	return limit
}

// refusal is why a listener was turned away with a 503.
type refusal int

const (
	refusedNoAudio refusal = iota
	refusedStationListeners
	refusedServerListeners
	refusedConnsPerIP
	refusedStationPrivate
	refusedServerPrivate
	refusedStationEncoders
	refusedServerEncoders
	refusalKinds // the number of kinds above
)

// String is the reason label of audio_stream_listeners_refused_total.
func (r refusal) String() string {
	switch r {
	case refusedNoAudio:
		return "no_audio"
	case refusedStationListeners:
		return "station_listeners"
	case refusedServerListeners:
		return "server_listeners"
	case refusedConnsPerIP:
		return "conns_per_ip"
	case refusedStationPrivate:
		return "station_private_streams"
	case refusedServerPrivate:
		return "server_private_streams"
	case refusedStationEncoders:
		return "station_encoders"
	case refusedServerEncoders:
		return "server_encoders"
	}
	return "unknown"
}

// refusalCounts are one station's refused listeners by reason.
type refusalCounts [refusalKinds]atomic.Uint64
