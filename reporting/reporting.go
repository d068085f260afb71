// Package reporting sends errors that need a human (corrupt files, encoder
// failures, panics, startup failures) to Sentry. A nil *Reporter is valid
// and reports nothing, so callers never check whether Sentry is on.
package reporting

import (
	"errors"
	"fmt"
	"time"

	"github.com/getsentry/sentry-go"
)

// Reporter is a Sentry client with the server's release and environment.
type Reporter struct {
	hub *sentry.Hub
}

// New connects to dsn; an empty dsn returns nil (reporting off).
func New(dsn, release, environment string) (*Reporter, error) {
	if dsn == "" {
		return nil, nil
	}
	client, err := sentry.NewClient(sentry.ClientOptions{
		Dsn:              dsn,
		Release:          release, // set explicitly: otherwise the SDK may run git
		Environment:      environment,
		AttachStacktrace: true,
		SampleRate:       1,
	})
	if err != nil {
		return nil, fmt.Errorf("sentry: %w", err)
	}
	hub := sentry.NewHub(client, sentry.NewScope())
	return &Reporter{hub: hub}, nil
}

// Error reports err with tags (route, path, …).
func (r *Reporter) Error(err error, tags map[string]string) {
	if r == nil || err == nil {
		return
	}
	r.hub.WithScope(func(s *sentry.Scope) {
		s.SetTags(tags)
		r.hub.CaptureException(err)
	})
}

// Panic reports a recovered panic value.
func (r *Reporter) Panic(v any, tags map[string]string) {
	if r == nil {
		return
	}
	err, ok := v.(error)
	if !ok {
		err = errors.New(fmt.Sprint(v))
	}
	r.hub.WithScope(func(s *sentry.Scope) {
		s.SetTags(tags)
		s.SetLevel(sentry.LevelFatal)
		r.hub.CaptureException(fmt.Errorf("panic: %w", err))
	})
}

// Flush waits up to timeout for queued events to be sent.
func (r *Reporter) Flush(timeout time.Duration) bool {
	if r == nil {
		return true
	}
	return r.hub.Flush(timeout)
}
