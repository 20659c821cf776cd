// Package exitcode carries a process exit status inside an error, so that
// commands deep in the eeo-gateway command tree can say how the process
// should end while main stays the only place that calls os.Exit.
//
// The codes are part of the command line's interface: scripts branch on
// them, so they never change meaning.
package exitcode

import (
	"errors"
	"fmt"
)

// The exit statuses of eeo-gateway.
const (
	// OK is success.
	OK = 0
	// Failure is anything not covered below.
	Failure = 1
	// Usage is a command-line mistake: unknown command or flag, wrong
	// number of arguments, a flag value that does not parse.
	Usage = 2
	// Auth is the gateway refusing the caller: no or bad credentials, or
	// not allowed to do this.
	Auth = 3
	// NotFound is an account, import or report that does not exist.
	NotFound = 4
	// Upstream is EEO (or the gateway in front of it) failing or being
	// unreachable.
	Upstream = 5
	// Integrity is data that arrived damaged: a checksum or size mismatch.
	Integrity = 6
)

// Error is an error with the exit status it should end the process with.
type Error struct {
	Code int
	Err  error
}

// Error returns the wrapped error's message.
func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *Error) Unwrap() error { return e.Err }

// With attaches code to err; a nil err stays nil.
func With(code int, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: code, Err: err}
}

// Usagef is a command-line mistake.
func Usagef(format string, args ...any) error {
	return &Error{Code: Usage, Err: fmt.Errorf(format, args...)}
}

// Of returns the exit status for err: OK for nil, the outermost Error's code
// if err wraps one, else Failure.
func Of(err error) int {
	if err == nil {
		return OK
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return Failure
}
