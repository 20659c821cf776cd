package sandbox

import (
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// malformedBody is answered by the Malformed fault: a truncated JSON
// document, as a connection cut mid-response would produce.
const malformedBody = `{"access_token": "trunc`

// Fault describes misbehaviour injected into one group of endpoints. The
// zero value injects nothing. Latency is applied first; then at most one of
// FailureRate, Status and Malformed decides the answer, in that order.
type Fault struct {
	// Latency delays the answer. If the request context ends first, the
	// request is answered 503 at once.
	Latency time.Duration
	// Status, if non-zero, is answered instead of normal handling, with the
	// JSON body {"error":"<status text in snake_case>","error_description":"sandbox fault"}.
	// It must be a valid HTTP status (200–599).
	Status int
	// RetryAfter, with Status, sets the Retry-After header in whole seconds,
	// rounded up so a client never retries early.
	RetryAfter time.Duration
	// Malformed answers 200 with a body that is not valid JSON.
	Malformed bool
	// FailureRate is the fraction, in [0,1], of requests answered 503.
	FailureRate float64
}

// Faults are the faults currently injected. Admin endpoints are never faulted.
type Faults struct {
	Token Fault // the token endpoint
	API   Fault // every protected endpoint
}

// SetFaults replaces the injected faults; Faults{} turns them all off.
func (s *Sandbox) SetFaults(f Faults) {
	s.faultsMu.Lock()
	s.faults = f
	s.faultsMu.Unlock()
	s.log.Info("sandbox: faults set", "token", f.Token != Fault{}, "api", f.API != Fault{})
}

// Faults returns the faults currently injected.
func (s *Sandbox) Faults() Faults {
	s.faultsMu.Lock()
	defer s.faultsMu.Unlock()
	return s.faults
}

// injectFault applies f to the request and reports whether it answered it,
// in which case normal handling must not run.
func (s *Sandbox) injectFault(w http.ResponseWriter, r *http.Request, f Fault) bool {
	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			// The caller gave up or the sandbox is stopping. Answer anyway in
			// case someone still listens, but never as a success.
			s.log.Debug("sandbox: request cancelled during injected latency", "path", r.URL.Path)
			writeFault(w, http.StatusServiceUnavailable, 0)
			return true
		}
	}
	switch {
	case f.FailureRate > 0 && rand.Float64() < f.FailureRate:
		writeFault(w, http.StatusServiceUnavailable, 0)
	case f.Status != 0:
		writeFault(w, f.Status, f.RetryAfter)
	case f.Malformed:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, malformedBody)
	default:
		return false
	}
	s.log.Debug("sandbox: fault injected", "path", r.URL.Path)
	return true
}

// writeFault writes a faulted answer with the given status.
func writeFault(w http.ResponseWriter, status int, retryAfter time.Duration) {
	if retryAfter > 0 {
		secs := (retryAfter + time.Second - 1) / time.Second
		w.Header().Set("Retry-After", strconv.FormatInt(int64(secs), 10))
	}
	code := "sandbox_fault"
	if text := http.StatusText(status); text != "" {
		code = strings.ToLower(strings.ReplaceAll(text, " ", "_"))
	}
	writeJSON(w, status, errorBody{Error: code, Description: "sandbox fault"})
}
