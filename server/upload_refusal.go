package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// A REST upload the gateway refuses part way through its body must still
// reach the caller as its status and google.rpc.Status JSON. Answering and
// closing a connection the client is still writing to makes the kernel
// reset it, and a reset discards the answer the client has not read yet; a
// client still busy sending a large file often has not. So a refusal
// mid-body is answered in full (with Content-Length and Connection: close)
// and flushed, and the connection is then kept open for up to
// refusalHold: the gateway reads and discards at most refusalDrainBytes
// more of the body, and once that budget is spent (or a read fails) it
// stops reading and waits out the rest of refusalHold before closing; only
// a body read to its end ends the hold early. A client that stops on an
// early answer (curl) simply stops sending; one that keeps writing (Go's
// net/http) blocks on a full socket while it reads the answer that is
// already there. The byte budget keeps a refused caller from making the
// gateway read more than the body caps elsewhere allow; the hold keeps a
// handler for at most a second.
const (
	refusalDrainBytes = 256 << 10
	refusalHold       = time.Second
)

// uploadBody tracks how far the upload handler read the request body, so a
// refusal knows whether the client is still sending.
type uploadBody struct {
	r       io.Reader
	started bool // a Read happened: net/http has sent 100 Continue
	ended   bool // the body was read to its end
}

func (b *uploadBody) Read(p []byte) (int, error) {
	b.started = true
	n, err := b.r.Read(p)
	if err == io.EOF {
		b.ended = true
	}
	return n, err
}

// expectsContinue reports whether the client waits for 100 Continue before
// sending the body.
func expectsContinue(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Expect"), "100-continue")
}

// refuse writes err as the upload's answer so that it reaches the client
// whatever state the body is in.
func (f *restFiles) refuse(ctx context.Context, w http.ResponseWriter, r *http.Request, body *uploadBody, err error) {
	switch {
	case body.ended:
		// The client has sent everything and is waiting for the answer.
		f.fail(ctx, w, r, err)
		return
	case !body.started && expectsContinue(r):
		// Nothing was read, so net/http never sent 100 Continue: the
		// client is waiting, sends no body, and net/http closes the
		// connection after this answer.
		f.fail(ctx, w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	// HTTP/1 only: an HTTP/2 stream is full duplex already and its unread
	// body is dropped without resetting the connection.
	duplex := r.ProtoMajor == 1 && rc.EnableFullDuplex() == nil
	if r.ProtoMajor == 1 {
		w.Header().Set("Connection", "close")
	}
	if !duplex {
		f.fail(ctx, w, r, err)
		return
	}
	// With a Content-Length the answer is complete once flushed; chunked,
	// its last chunk would wait for the drain, and so would the client.
	answer := &capturedResponse{header: w.Header(), code: http.StatusOK}
	f.fail(ctx, answer, r, err)
	w.Header().Set("Content-Length", strconv.Itoa(answer.body.Len()))
	w.WriteHeader(answer.code)
	if _, err := w.Write(answer.body.Bytes()); err != nil || rc.Flush() != nil {
		return
	}
	until := time.Now().Add(refusalHold)
	_ = rc.SetReadDeadline(until)
	if _, err := io.CopyN(io.Discard, drainableBody(r), refusalDrainBytes); errors.Is(err, io.EOF) {
		return // the body ended: the client is reading the answer
	}
	// The budget is spent, or the read failed: the deadline of an
	// interrupted body, or the client gone. The request's context is no
	// guide either (net/http cancels it on any read error), so the rest of
	// the hold is waited out whatever happened.
	hold := time.NewTimer(time.Until(until))
	defer hold.Stop()
	<-hold.C
}

// capturedResponse holds an answer's status and body so they can be sent
// with a Content-Length; its headers are the real response's.
type capturedResponse struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (c *capturedResponse) Header() http.Header         { return c.header }
func (c *capturedResponse) WriteHeader(code int)        { c.code = code }
func (c *capturedResponse) Write(p []byte) (int, error) { return c.body.Write(p) }
