package server

import (
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
