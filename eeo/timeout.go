package eeo

import (
	"context"
	"errors"
	"time"
)

// timeoutError is a time limit the client enforces itself: the operation
// timeout or the stream idle timeout (see stream_timeout.go). It is a
// timeout to net.Error and to errors.Is(err, context.DeadlineExceeded), but
// not a cancellation.
type timeoutError struct {
	msg  string
	idle bool
}

func (e *timeoutError) Error() string   { return e.msg }
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return true }

// Is makes the error a context.DeadlineExceeded.
func (e *timeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// operationTimeout is the cause of a call that ran out of its operation
// timeout d.
func operationTimeout(d time.Duration) error {
	return &timeoutError{msg: "no answer within the operation timeout of " + d.String()}
}

// ownTimeout returns the client's timeoutError that ended ctx, or nil.
func ownTimeout(ctx context.Context) error {
	if ctx.Err() == nil {
		return nil
	}
	var te *timeoutError
	if errors.As(context.Cause(ctx), &te) {
		return te
	}
	return nil
}
