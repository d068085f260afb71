// Package auth checks the credentials clients present (the admin token, a
// station's source password) and slows down guessing: every check compares
// in constant time, and an address that keeps presenting wrong credentials
// is locked out for a while without its guesses being compared at all.
package auth

import (
	"crypto/subtle"
	"encoding/base64"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Failed attempts: after FailLimit of them from one address within
// FailWindow, that address is refused until the window ends.
const (
	FailLimit  = 5
	FailWindow = time.Minute
	// maxAddrs bounds the memory a spray of addresses can take; when
	// full, expired entries go first, then those not locked out; locked
	// ones are never forgotten early (a spray must not unlock them).
	maxAddrs = 4096
)

// Credentials is what an Authorization header carries.
type Credentials struct {
	Scheme string // "Basic" or "Bearer" as sent ("" if none)
	User   string // Basic only
	Secret string // the Basic password or the Bearer token
}

// Presented reports whether the client sent any credentials: only those
// count as a guess; a request without any (a script not updated yet) locks
// nobody out.
func (c Credentials) Presented() bool { return c.Scheme != "" || c.Secret != "" }

// Parse reads an Authorization header value. The scheme name is
// case-insensitive (RFC 9110 §11.1): curl users type "bearer" as often as
// "Bearer". Anything unreadable gives Credentials with Secret "".
func Parse(header string) Credentials {
	scheme, cred, _ := strings.Cut(strings.TrimSpace(header), " ")
	cred = strings.TrimSpace(cred)
	c := Credentials{Scheme: scheme}
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		c.Secret = cred
	case strings.EqualFold(scheme, "Basic"):
		if raw, err := base64.StdEncoding.DecodeString(cred); err == nil {
			c.User, c.Secret, _ = strings.Cut(string(raw), ":")
		}
	}
	return c
}

// Equal compares a presented secret with the expected one in time that
// does not depend on where they differ. An empty want matches nothing.
func Equal(given, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(given), []byte(want)) == 1
}

// Failures counts failed attempts per address within a fixed window. The
// zero value is ready to use; it is safe for concurrent use.
type Failures struct {
	mu sync.Mutex
	m  map[string]*window
}

type window struct {
	start time.Time
	n     int
}

// key is what failures are counted by: the address, or for IPv6 its /64,
// which one client can fill with addresses of its own.
func key(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil || ip.Is4() || ip.Is4In6() {
		return addr
	}
	p, err := ip.Prefix(64)
	if err != nil {
		return addr
	}
	return p.String()
}

// LockedFor is how long addr must still wait, 0 if it may try.
func (a *Failures) LockedFor(addr string, now time.Time) time.Duration {
	addr = key(addr)
	a.mu.Lock()
	defer a.mu.Unlock()
	w := a.m[addr]
	if w == nil || w.n < FailLimit {
		return 0
	}
	return max(w.start.Add(FailWindow).Sub(now), 0)
}

// Fail records a wrong attempt from addr.
func (a *Failures) Fail(addr string, now time.Time) {
	addr = key(addr)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil {
		a.m = map[string]*window{}
	}
	w := a.m[addr]
	if w == nil || now.Sub(w.start) >= FailWindow {
		if w == nil && len(a.m) >= maxAddrs {
			if a.prune(now); len(a.m) >= maxAddrs {
				return // every entry is a lockout: this one goes uncounted
			}
		}
		w = &window{start: now}
		a.m[addr] = w
	}
	w.n++
}

// Forget clears addr's record: a typo before the right secret is no attack.
func (a *Failures) Forget(addr string) {
	addr = key(addr)
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.m, addr)
}

// prune drops expired windows, then, if still full, those below the limit.
func (a *Failures) prune(now time.Time) {
	for k, w := range a.m {
		if now.Sub(w.start) >= FailWindow {
			delete(a.m, k)
		}
	}
	if len(a.m) < maxAddrs {
		return
	}
	for k, w := range a.m {
		if w.n < FailLimit {
			delete(a.m, k)
		}
	}
}
