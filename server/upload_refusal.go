package server

import (
	"context"
	"io"
	"net/http"
	"strings"
	"time"
)

// A REST upload the gateway refuses part way through its body must still
// reach the caller as its status and google.rpc.Status JSON. Answering and
// closing a connection the client is still writing to makes the kernel
// reset it, and a reset discards the answer the client has not read yet; a
// client that reads no answer before it has sent its whole body (Go's
// net/http client) then sees only the reset. So a refusal mid-body is
// answered with Connection: close and flushed, and then the rest of the
// body is read and discarded, up to refusalDrainBytes and for at most
// refusalDrainTime, before the connection closes. Clients that stop on an
// early answer (curl) stop at once; others finish sending and read it. A
// refused upload with more than refusalDrainBytes still to send, from a
// client that does not stop, can still see a reset: the bound keeps a
// refused caller from making the gateway read without limit.
const (
	refusalDrainBytes = 64 << 20
	refusalDrainTime  = 10 * time.Second
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
	f.fail(ctx, w, r, err)
	if !duplex {
		return
	}
	if rc.Flush() != nil {
		return
	}
	_ = rc.SetReadDeadline(time.Now().Add(refusalDrainTime))
	_, _ = io.CopyN(io.Discard, rawUploadBody(r), refusalDrainBytes)
}
