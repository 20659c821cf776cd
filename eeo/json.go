package eeo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// doJSON makes the call r and decodes a 2xx JSON answer into out. check, if
// set, validates the decoded value; its error makes the answer malformed.
//
// The call holds a concurrency slot throughout, runs under the operation
// timeout (an upload: the idle timeout), and is retried as RetryPolicy says,
// each attempt under the breaker.
func (c *Client) doJSON(ctx context.Context, r *request, out any, check func() error) error {
	if err := c.checkBreaker(r.op); err != nil {
		return err
	}
	release, err := c.acquire(ctx, r.op)
	if err != nil {
		return err
	}
	defer release()
	var callCtx context.Context
	var until time.Time
	if r.stream {
		wd := newWatchdog(ctx)
		defer wd.stop()
		wd.idle(c.guard.idle, idleTimeout(c.guard.idle))
		r.progress = wd.kick
		callCtx = wd.ctx
	} else {
		var cancel context.CancelFunc
		callCtx, cancel = context.WithTimeoutCause(ctx, c.guard.opTimeout, operationTimeout(c.guard.opTimeout))
		defer cancel()
		until, _ = callCtx.Deadline()
	}
	return c.attempts(callCtx, ctx, r, until, func(ctx context.Context) error {
		return c.exchangeJSON(ctx, r, out, check)
	})
}

// exchangeJSON is one attempt of doJSON.
func (c *Client) exchangeJSON(ctx context.Context, r *request, out any, check func() error) error {
	x, err := c.do(ctx, r)
	if err != nil {
		return err
	}
	if r.progress != nil {
		r.progress() // the answer has begun
	}
	// Finish only after the body is read: see exchange.finish.
	defer x.finish()
	status := x.resp.StatusCode
	data, err := io.ReadAll(io.LimitReader(x.resp.Body, c.maxJSON+1))
	if err != nil {
		// The answer was cut off: whatever EEO did, we cannot know it.
		return transportError(ctx, r.op, err)
	}
	if int64(len(data)) > c.maxJSON {
		return malformed(r.op, status, fmt.Errorf("response body exceeds %d bytes", c.maxJSON))
	}
	if err := json.Unmarshal(data, out); err != nil {
		return malformed(r.op, status, decodeError(err))
	}
	if check != nil {
		if err := check(); err != nil {
			return malformed(r.op, status, err)
		}
	}
	return nil
}

// jsonBody returns a request body function sending v as JSON. The encoded
// bytes are shared by every attempt, so a retry sends the same body.
func jsonBody(v any) (func(*http.Request) *attemptBody, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return func(req *http.Request) *attemptBody {
		req.Header.Set("Content-Type", "application/json")
		req.ContentLength = int64(len(data))
		req.Body = io.NopCloser(bytes.NewReader(data))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
		return nil // replayable: nothing for do to track
	}, nil
}

// decodeError describes a JSON decoding failure without quoting the input:
// some of encoding/json's and time.Time's messages repeat values from the
// body, and a body is EEO's text, which errors never carry.
func decodeError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return errors.New("invalid JSON at byte " + strconv.FormatInt(syntax.Offset, 10))
	case errors.As(err, &typ):
		return fmt.Errorf("JSON value at byte %d cannot be a %v", typ.Offset, typ.Type)
	}
	return errors.New("invalid JSON value (timestamps must be RFC 3339)")
}

// needID is a doJSON check: an object without an id is of no use.
func needID(kind, id string) error {
	if id == "" {
		return errors.New(kind + " has no id")
	}
	return nil
}
