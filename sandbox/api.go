package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"time"
)

// apiError is an error answer from the imports and reports endpoints.
// Validation helpers return it so handlers have one way to answer.
type apiError struct {
	status int
	code   string
	field  string // the request field at fault, if any
	desc   string
}

func (e *apiError) Error() string { return e.code + ": " + e.desc }

// errInvalid is a 400 with the given code, naming field.
func errInvalid(code, field, desc string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, field: field, desc: desc}
}

// errRequest is a 400 invalid_request naming field.
func errRequest(field, desc string) *apiError {
	return errInvalid("invalid_request", field, desc)
}

// errConflict is a 409 with the given code.
func errConflict(code, desc string) *apiError {
	return &apiError{status: http.StatusConflict, code: code, desc: desc}
}

// errNotFound answers ids that do not exist and ids of other clients alike,
// so a client cannot probe for other clients' objects.
var errNotFound = &apiError{status: http.StatusNotFound, code: "not_found", desc: "no such object"}

// writeAPIError writes e as an errorBody.
func writeAPIError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.status, errorBody{Error: e.code, Description: e.desc, Field: e.field})
}

// newID returns a fresh object id. Ids are random rather than sequential so
// that they reveal nothing about other clients' activity.
func newID(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // never fails; see newToken
	return prefix + hex.EncodeToString(b)
}

// stage returns how many lifecycle steps an object created at created has
// completed by t, at most last, and the instant it completed the latest one
// (its update_time). Computing this on every read from the injected clock,
// instead of advancing objects with timers, keeps the sandbox free of
// background goroutines and lets tests move objects along with Advance.
func stage(created, t time.Time, step time.Duration, last int) (int, time.Time) {
	n := 0
	if d := t.Sub(created); d > 0 {
		n = int(min(int64(d/step), int64(last)))
	}
	return n, created.Add(time.Duration(n) * step)
}
