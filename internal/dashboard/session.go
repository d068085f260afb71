package dashboard

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/auth"
)

// Session lifetimes and the store's bound.
const (
	// IdleTimeout ends a session nobody used for this long.
	IdleTimeout = 12 * time.Hour
	// MaxAge ends every session this long after login, used or not.
	MaxAge = 7 * 24 * time.Hour
	// MaxSessions bounds the store: logging in once more evicts the
	// session used least recently.
	MaxSessions = 64
)

// Session is one logged-in browser.
type Session struct {
	// ID is what the browser's cookie holds: 256 random bits, base64url.
	ID string
	// CSRF is the token the page must send back (X-CSRF-Token) with every
	// request that changes something: 256 random bits of its own, so a
	// page that only knows the cookie is sent cannot forge one.
	CSRF    string
	Created time.Time
}

// CheckCSRF reports whether token is the session's CSRF token, compared in
// constant time.
func (s Session) CheckCSRF(token string) bool { return auth.Equal(token, s.CSRF) }

// Sessions is the server-side session store, in memory: a restart logs
// everybody out. The zero value is ready to use; it is safe for
// concurrent use. Times are passed in, so tests move them.
type Sessions struct {
	mu sync.Mutex
	// m is keyed by the ID's SHA-256: a lookup's timing depends on the
	// hash, never on how much of a guessed ID is right.
	m map[[sha256.Size]byte]*entry
}

type entry struct {
	Session
	lastSeen time.Time
}

// Create starts a session at now.
func (s *Sessions) Create(now time.Time) Session {
	sess := Session{ID: randomToken(), CSRF: randomToken(), Created: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[[sha256.Size]byte]*entry{}
	}
	s.prune(now)
	for len(s.m) >= MaxSessions {
		s.evictOldest()
	}
	s.m[sha256.Sum256([]byte(sess.ID))] = &entry{Session: sess, lastSeen: now}
	return sess
}

// Lookup finds the live session with id and marks it used at now; an
// expired one is deleted and not found.
func (s *Sessions) Lookup(id string, now time.Time) (Session, bool) {
	if id == "" {
		return Session{}, false
	}
	key := sha256.Sum256([]byte(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.m[key]
	if e == nil {
		return Session{}, false
	}
	if expired(e, now) {
		delete(s.m, key)
		return Session{}, false
	}
	e.lastSeen = now
	return e.Session, true
}

// Delete ends the session with id (logout); false if there was none.
func (s *Sessions) Delete(id string) bool {
	key := sha256.Sum256([]byte(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[key]
	delete(s.m, key)
	return ok
}

// Len is how many sessions the store holds, expired ones not yet dropped
// included.
func (s *Sessions) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

func expired(e *entry, now time.Time) bool {
	return now.Sub(e.lastSeen) >= IdleTimeout || now.Sub(e.Created) >= MaxAge
}

// prune drops expired sessions; called with mu held.
func (s *Sessions) prune(now time.Time) {
	for k, e := range s.m {
		if expired(e, now) {
			delete(s.m, k)
		}
	}
}

// evictOldest drops the session used least recently; called with mu held.
func (s *Sessions) evictOldest() {
	var oldest [sha256.Size]byte
	var at time.Time
	first := true
	for k, e := range s.m {
		if first || e.lastSeen.Before(at) {
			oldest, at, first = k, e.lastSeen, false
		}
	}
	delete(s.m, oldest)
}

// randomToken is 256 random bits, base64url without padding (cookie- and
// header-safe).
func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it panics instead)
	return base64.RawURLEncoding.EncodeToString(b[:])
}
