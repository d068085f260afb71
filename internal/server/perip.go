package server

import "sync"

// connsPerIP counts open stream connections per client address: the
// address Server.clientAddr gives, so behind a trusted reverse proxy each
// listener counts as itself, not as the proxy (proxy.go). An
// address is forgotten when its last connection closes, so the table holds
// only addresses connected now, not every address ever seen. One mutex
// makes the check, the increment and the removal of an entry atomic: a
// connection arriving while the previous one leaves can neither lose its
// count nor be counted in an entry that was just removed.
type connsPerIP struct {
	mu     sync.Mutex
	counts map[string]int
	// released, if set, is called after every release (tests synchronise
	// on it).
	released func()
}

// acquire counts one more connection from ip unless ip already has limit;
// it reports whether the connection may proceed.
func (c *connsPerIP) acquire(ip string, limit int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts[ip] >= limit {
		return false
	}
	if c.counts == nil {
		c.counts = map[string]int{}
	}
	c.counts[ip]++
	return true
}

// release gives back a connection acquire counted.
func (c *connsPerIP) release(ip string) {
	c.mu.Lock()
	if n := c.counts[ip]; n > 1 {
		c.counts[ip] = n - 1
	} else {
		delete(c.counts, ip)
	}
	c.mu.Unlock()
	if c.released != nil {
		c.released()
	}
}

// addresses is how many addresses have a connection open.
func (c *connsPerIP) addresses() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.counts)
}
