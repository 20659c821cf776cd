package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// Every REST request body is bounded twice before routing or caller
// authentication sees it: in size (maxRESTBodyBytes, whatever
// Content-Length or the Content-Type claim) and in time. A non-upload body
// must arrive whole within Limits.BodyReadTimeout; the upload route instead
// gets the raw body with an idle deadline, moved forward on every read that
// makes progress, so a large file may take as long as it needs but a
// stalled one is cut off.
//
// The deadline is the connection's (HTTP/1) or the stream's (HTTP/2) read
// deadline, set through http.ResponseController, so a client that sends
// nothing cannot hold a handler goroutine past it.

// rawBodyKey is the context key of the request's unbounded body, which only
// the upload handler takes.
type rawBodyKey struct{}

// rawBody is the request body as it came, before the size cap.
type rawBody struct {
	body   io.ReadCloser
	rc     *http.ResponseController
	capped *deadlineBody // the capped body every other handler reads
}

// boundBodies caps every request body at maxRESTBodyBytes with a total read
// deadline of timeout, and keeps the uncapped body for takeUploadBody.
func boundBodies(timeout time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		// Not every ResponseWriter supports deadlines (test recorders do
		// not); the size cap holds regardless.
		_ = rc.SetReadDeadline(time.Now().Add(timeout))
		capped := &deadlineBody{ReadCloser: http.MaxBytesReader(w, r.Body, maxRESTBodyBytes), rc: rc}
		raw := &rawBody{body: r.Body, rc: rc, capped: capped}
		r = r.WithContext(context.WithValue(r.Context(), rawBodyKey{}, raw))
		r.Body = capped
		next.ServeHTTP(w, r)
	})
}

// takeUploadBody returns r's uncapped body with an idle deadline of idle
// instead of the total one, and a func that makes its pending and later
// reads fail at once. Only the upload handler calls it, after routing chose
// it, so the cap exemption follows the route actually served and not a
// guess from the path. If something already read from the capped body
// (form parsing for a method override), the capped body is returned as is.
func takeUploadBody(r *http.Request, idle time.Duration) (io.Reader, func()) {
	raw, ok := r.Context().Value(rawBodyKey{}).(*rawBody)
	if !ok || raw.capped.started {
		return r.Body, func() {}
	}
	b := &idleBody{body: raw.body, rc: raw.rc, idle: idle}
	return b, b.interrupt
}

// deadlineBody clears the read deadline once the body has been read to its
// end, so the deadline cannot fire on net/http's background read of a
// connection whose handler is still streaming a response. After any other
// error the deadline stays: net/http may still try to drain the body.
type deadlineBody struct {
	io.ReadCloser
	rc      *http.ResponseController
	started bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	b.started = true
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// idleBody moves the read deadline to idle from now before each read that
// follows progress, and clears it at the end of the body. It moves the
// deadline at most every idle/8, so a fast upload does not pay for a
// deadline update per read.
type idleBody struct {
	interrupted atomic.Bool
	body        io.ReadCloser
	rc          *http.ResponseController
	idle        time.Duration
	extended    time.Time   // when the deadline was last moved
	done        atomic.Bool // the body has been read to its end
}

// errInterrupted fails the reads of an interrupted upload body.
var errInterrupted = errors.New("upload body read interrupted: the call has ended")

// interrupt fails the pending read, if any, and every later one.
func (b *idleBody) interrupt() {
	b.interrupted.Store(true)
	if !b.done.Load() {
		_ = b.rc.SetReadDeadline(time.Unix(1, 0))
	}
}

func (b *idleBody) Read(p []byte) (int, error) {
	if b.interrupted.Load() {
		return 0, errInterrupted
	}
	if b.done.Load() {
		return b.body.Read(p)
	}
	if now := time.Now(); now.Sub(b.extended) >= b.idle/8 {
		_ = b.rc.SetReadDeadline(now.Add(b.idle))
		b.extended = now
	}
	n, err := b.body.Read(p)
	if err == io.EOF {
		b.done.Store(true)
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// drainableBody is the body takeUploadBody handed out, without the idle
// deadline's moves, for draining after a refusal: the uncapped body, or
// the capped one if the upload had to take that (its cap still holds).
func drainableBody(r *http.Request) io.Reader {
	raw, ok := r.Context().Value(rawBodyKey{}).(*rawBody)
	switch {
	case !ok:
		return r.Body
	case raw.capped.started:
		return raw.capped
	}
	return raw.body
}
