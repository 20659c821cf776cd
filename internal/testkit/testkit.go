// Package testkit is the test kit every package's tests share, so that a
// certificate, a status check or a signed JWT is built one way across the
// repo (as connect-go's internal/assert serves its tests):
//
//   - seams (this file): Clock, a settable clock for Now func() time.Time
//     fields, and SyncBuffer for capturing logs from many goroutines;
//   - PKI (pki.go): NewCA, Cert.Server, Cert.Client, Pool, PEMBundle;
//   - gRPC errors (status.go): WantStatus, ErrorInfo, RetryInfo,
//     RetryDelay, FieldViolations;
//   - JWTs (jwt.go): Signer for ES256/ES384/RS256/EdDSA, JWKS, Claims;
//   - network (net.go): Listen, a loopback listener closed at cleanup.
//   - codecs (frames.go): Frames, a message split as HTTP/2 frames bring it.
//
// Only tests import it.
package testkit

import (
	"strings"
	"sync"
	"time"
)

// Clock is a settable clock for code with a Now func() time.Time seam. One
// Clock shared by the sandbox and the token cache makes EEO's rules and the
// cache's reckoning see the same time.
type Clock struct {
	mu  sync.Mutex
	now time.Time // guarded by mu
}

// NewClock returns a clock stopped at a fixed instant.
func NewClock() *Clock {
	return NewClockAt(time.Date(2031, time.March, 4, 9, 0, 0, 0, time.UTC))
}

// NewClockAt returns a clock stopped at t, for tests whose fixtures (such as
// certificates) are valid only around a given time.
func NewClockAt(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// SyncBuffer is an io.Writer safe for concurrent writers, for capturing logs.
type SyncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder // guarded by mu
}

// Write implements io.Writer.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
