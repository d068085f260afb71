package server

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

// statsMaxAge is how old a station's shared Stats may be. Stats walks
// every listener; /events asks for it on every page's tick, so without
// sharing the cost is pages × listeners twice a second.
const statsMaxAge = 250 * time.Millisecond

// statsCache shares each station's Stats among the requests of the same
// quarter second: /events pages, /streams, /now-playing, /status.json and
// playlist files. The zero value is ready to use.
type statsCache struct {
	// read is how a station's Stats are taken; nil: Station.Stats.
	// Tests count calls through it.
	read func(Station) mount.Stats

	mu sync.Mutex
	m  map[Station]*statsEntry
}

type statsEntry struct {
	// mu is held while reading, so callers that find the entry stale at
	// the same time wait for one walk instead of each doing their own.
	mu    sync.Mutex
	at    time.Time // now of the call that read stats; zero: never read
	stats mount.Stats
}

// get returns st's Stats as read at most statsMaxAge before now.
func (c *statsCache) get(st Station, now time.Time) mount.Stats {
	c.mu.Lock()
	e := c.m[st]
	if e == nil {
		if c.m == nil {
			c.m = map[Station]*statsEntry{}
		}
		e = &statsEntry{}
		c.m[st] = e
	}
	c.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.at.IsZero() || now.Sub(e.at) >= statsMaxAge {
		if c.read != nil {
			e.stats = c.read(st)
		} else {
			e.stats = st.Stats()
		}
		e.at = now
	}
	return e.stats
}

// eventsMaxAge is how old the station events that /events pages share
// may be; each page checks for changes every eventsTick.
const eventsMaxAge = statsMaxAge

// maxEventsKeys bounds the addresses (scheme and Host) events are kept
// for: the Host header is the client's to choose. Past it, a page whose
// address is not kept builds its own.
const maxEventsKeys = 64

// eventsCache shares the data of /events among the pages of the same
// quarter second: every station described and marshalled once for all
// pages that reach the server at the same scheme and host (the station
// URLs embed them), not once per page per tick. The zero value is ready
// to use.
type eventsCache struct {
	// built, if set, is called for every station's data built. Tests
	// count calls through it.
	built func()

	mu sync.Mutex
	m  map[string]*eventsEntry // by scheme + " " + host
}

type eventsEntry struct {
	// mu is held while building, so pages that find the entry stale at
	// the same time wait for one build instead of each doing their own.
	mu   sync.Mutex
	at   time.Time       // now of the call that built snap
	snap *eventsSnapshot // nil: never built
	used time.Time       // now of the last call that asked for it; under eventsCache.mu
}

// eventsSnapshot is every station's "station" event data, in route
// order, and the "stations" event data that lists them all. Shared by
// pages: read only.
type eventsSnapshot struct {
	all     []byte
	station [][]byte
	set     *stationSet // the stations described (or older: see build)
}

// get returns the events as built by s at most eventsMaxAge before now
// for pages at sch://h.
func (c *eventsCache) get(s *Server, sch, h string, now time.Time) *eventsSnapshot {
	key := sch + " " + h
	c.mu.Lock()
	e := c.m[key]
	if e == nil {
		if c.m == nil {
			c.m = map[string]*eventsEntry{}
		}
		if len(c.m) >= maxEventsKeys {
			// Forget addresses no page has asked for in a while.
			for k, old := range c.m {
				if now.Sub(old.used) > 4*eventsTick {
					delete(c.m, k)
				}
			}
		}
		if len(c.m) >= maxEventsKeys {
			c.mu.Unlock()
			return c.build(s, sch, h, now)
		}
		e = &eventsEntry{}
		c.m[key] = e
	}
	if now.After(e.used) {
		e.used = now
	}
	c.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.snap == nil || now.Sub(e.at) >= eventsMaxAge {
		e.snap = c.build(s, sch, h, now)
		e.at = now
	}
	return e.snap
}

// build describes and marshals every station. The "stations" data is
// the stations' data joined into a JSON list, byte for byte what
// json.Marshal makes of the list.
func (c *eventsCache) build(s *Server, sch, h string, now time.Time) *eventsSnapshot {
	set := s.current() // before the list: a swap meanwhile makes the next build differ too
	list := s.eventStations(sch, h, now)
	snap := &eventsSnapshot{station: make([][]byte, len(list)), set: set}
	n := 2
	for i := range list {
		body, _ := json.Marshal(list[i])
		if c.built != nil {
			c.built()
		}
		snap.station[i] = body
		n += len(body) + 1
	}
	all := make([]byte, 0, n)
	all = append(all, '[')
	for i, body := range snap.station {
		if i > 0 {
			all = append(all, ',')
		}
		all = append(all, body...)
	}
	all = append(all, ']')
	snap.all = all
	return snap
}
