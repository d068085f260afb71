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
// It is safe for concurrent use: every report gets a scope of its own
// (a shared Hub's WithScope pushes and pops one stack, so reports made at
// the same moment from several stations would swap their tags).
type Reporter struct {
	client *sentry.Client
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
		// The telemetry buffer's Flush can return while an event is moving
		// from its buffer to the transport, so a report made just before
		// exit was lost about one time in ten. The plain HTTP transport
		// queues the event inside CaptureException, so Flush covers it.
		DisableTelemetryBuffer: true,
	})
	if err != nil {
		return nil, fmt.Errorf("sentry: %w", err)
	}
	return &Reporter{client: client}, nil
}

// Error reports err with tags (route, path, …).
func (r *Reporter) Error(err error, tags map[string]string) {
	if r == nil || err == nil {
		return
	}
	r.capture(err, tags, sentry.LevelError)
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
	r.capture(fmt.Errorf("panic: %w", err), tags, sentry.LevelFatal)
}

func (r *Reporter) capture(err error, tags map[string]string, level sentry.Level) {
	scope := sentry.NewScope()
	scope.SetTags(tags)
	scope.SetLevel(level)
	r.client.CaptureException(err, &sentry.EventHint{OriginalException: err}, scope)
}

// Flush waits up to timeout for queued events to be sent.
func (r *Reporter) Flush(timeout time.Duration) bool {
	if r == nil {
		return true
	}
	return r.client.Flush(timeout)
}
