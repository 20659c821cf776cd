package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Admin endpoints let a person or script drive a standalone sandbox (for
// example under make run) without Go code. They are never faulted, so
// faults can always be turned off again.

// faultJSON is the wire form of Fault: durations are Go duration strings
// ("250ms") because raw nanosecond integers are unreadable by hand.
type faultJSON struct {
	Latency     string  `json:"latency"`
	Status      int     `json:"status"`
	RetryAfter  string  `json:"retry_after"`
	Malformed   bool    `json:"malformed"`
	FailureRate float64 `json:"failure_rate"`
}

// faultsJSON is the wire form of Faults.
type faultsJSON struct {
	Token faultJSON `json:"token"`
	API   faultJSON `json:"api"`
}

func toFaultJSON(f Fault) faultJSON {
	return faultJSON{
		Latency:     f.Latency.String(),
		Status:      f.Status,
		RetryAfter:  f.RetryAfter.String(),
		Malformed:   f.Malformed,
		FailureRate: f.FailureRate,
	}
}

// fault validates j and converts it. An empty duration means zero.
func (j faultJSON) fault() (Fault, error) {
	f := Fault{Status: j.Status, Malformed: j.Malformed, FailureRate: j.FailureRate}
	var err error
	if f.Latency, err = parseDuration(j.Latency); err != nil {
		return Fault{}, fmt.Errorf("latency: %w", err)
	}
	if f.RetryAfter, err = parseDuration(j.RetryAfter); err != nil {
		return Fault{}, fmt.Errorf("retry_after: %w", err)
	}
	switch {
	case f.Latency < 0 || f.RetryAfter < 0:
		return Fault{}, errors.New("durations must not be negative")
	case f.Status != 0 && (f.Status < 200 || f.Status > 599):
		return Fault{}, fmt.Errorf("status %d is not in 200-599", f.Status)
	case f.FailureRate < 0 || f.FailureRate > 1:
		return Fault{}, fmt.Errorf("failure_rate %v is not in [0,1]", f.FailureRate)
	}
	return f, nil
}

func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	return time.ParseDuration(s)
}

// handleStats serves GET /sandbox/stats.
func (s *Sandbox) handleStats(w http.ResponseWriter, r *http.Request) {
	if methodAllowed(w, r, http.MethodGet) {
		writeJSON(w, http.StatusOK, s.Stats())
	}
}

// handleFaults serves GET and PUT /sandbox/faults. PUT replaces all faults;
// omitted fields are zero.
func (s *Sandbox) handleFaults(w http.ResponseWriter, r *http.Request) {
	if !methodAllowed(w, r, http.MethodGet, http.MethodPut) {
		return
	}
	if r.Method == http.MethodPut {
		f, err := decodeFaults(http.MaxBytesReader(w, r.Body, maxBodyBytes))
		if err != nil {
			writeJSON(w, http.StatusBadRequest, errorBody{Error: "invalid_request", Description: err.Error()})
			return
		}
		s.SetFaults(f)
	}
	f := s.Faults()
	writeJSON(w, http.StatusOK, faultsJSON{Token: toFaultJSON(f.Token), API: toFaultJSON(f.API)})
}

// decodeFaults reads and validates a faultsJSON document. Unknown fields
// are errors so that a typo does not silently inject nothing.
func decodeFaults(body io.Reader) (Faults, error) {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	var j faultsJSON
	if err := dec.Decode(&j); err != nil {
		return Faults{}, fmt.Errorf("decode faults: %w", err)
	}
	token, err := j.Token.fault()
	if err != nil {
		return Faults{}, fmt.Errorf("token: %w", err)
	}
	api, err := j.API.fault()
	if err != nil {
		return Faults{}, fmt.Errorf("api: %w", err)
	}
	return Faults{Token: token, API: api}, nil
}
