package server

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc/metadata"
)

// A REST download is a DownloadReport call over the facade's in-process
// connection, so caller authentication, access policy, transfer limits,
// logging, metrics and tracing apply to it exactly as to a gRPC download.
// Only its bytes take a shorter way: the facade registers its response as a
// restSink and names it in the call's metadata, and DownloadReport writes
// the report straight into it. Sent as gRPC messages instead, every byte
// would be framed, copied through the in-process pipe twice, decoded into a
// fresh buffer and collected: profiles show that costing as much CPU as
// the rest of the download together.

// mdDownloadSink names the restSink a DownloadReport call from the facade
// writes into. Reserved (no REST header can set it) and believed only on
// the in-process connection.
const mdDownloadSink = reservedMetadataPrefix + "download-sink"

// downloadSinks are the REST downloads in flight, by the id their calls
// carry. The facade and the gRPC server of one Server share it.
type downloadSinks struct {
	mu    sync.Mutex
	sinks map[string]*restSink // guarded by mu
}

func newDownloadSinks() *downloadSinks {
	return &downloadSinks{sinks: map[string]*restSink{}}
}

// add registers k for one call and returns the context to make it with
// and the function that unregisters k once the call is over.
func (d *downloadSinks) add(ctx context.Context, k *restSink) (context.Context, func()) {
	id := rand.Text()
	d.mu.Lock()
	d.sinks[id] = k
	d.mu.Unlock()
	return metadata.AppendToOutgoingContext(ctx, mdDownloadSink, id), func() {
		d.mu.Lock()
		delete(d.sinks, id)
		d.mu.Unlock()
	}
}

// from returns the sink a call names, if the call came over the in-process
// connection and the sink is registered; otherwise nil, and the bytes go as
// messages.
func (d *downloadSinks) from(ctx context.Context) *restSink {
	if d == nil {
		return nil
	}
	if _, internal := fromFacade(ctx); !internal {
		return nil
	}
	v := metadata.ValueFromIncomingContext(ctx, mdDownloadSink)
	if len(v) != 1 {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sinks[v[0]]
}

// restSink is a REST download's response. The gRPC handler writes into it
// while the facade's handler waits for the call to end; close hands it
// back. Headers are written with the first bytes, so an error before them
// can still be answered as a JSON status.
type restSink struct {
	w  http.ResponseWriter
	rc *http.ResponseController

	mu      sync.Mutex
	header  metadata.MD // guarded by mu: x-content-length, x-content-sha256, content-disposition
	started bool        // guarded by mu: the status line is written
	closed  bool        // guarded by mu: the facade's handler has taken w back
}

func newRESTSink(w http.ResponseWriter) *restSink {
	return &restSink{w: w, rc: http.NewResponseController(w)}
}

// errSinkClosed fails a write after the facade's handler took w back (its
// call ended first, the client having gone).
var errSinkClosed = errors.New("the REST download's response is closed")

// setHeader records the DownloadReport response header metadata.
func (k *restSink) setHeader(md metadata.MD) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.header = md
}

// write writes p, with the response's headers first when it is the first
// write (contentType is the report's).
func (k *restSink) write(p []byte, contentType string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return errSinkClosed
	}
	if !k.started {
		k.started = true
		h := k.w.Header()
		h.Set("Content-Type", contentType)
		h.Set("Cache-Control", "no-store")
		if v := k.header.Get(mdContentLength); len(v) > 0 {
			if _, err := strconv.ParseInt(v[0], 10, 64); err == nil {
				h.Set("Content-Length", v[0])
			}
		}
		if v := k.header.Get(mdContentDisposition); len(v) > 0 {
			h.Set("Content-Disposition", v[0])
		}
		if v := k.header.Get(mdContentSHA256); len(v) > 0 && v[0] != "" {
			h.Set("X-Content-SHA256", v[0])
		}
		k.w.WriteHeader(http.StatusOK)
	}
	if len(p) == 0 {
		return nil
	}
	_, err := k.w.Write(p)
	return err
}

// close takes the response back for the facade's handler and reports
// whether any of it was written. A write still in flight (the call ended
// because the client went away) is cut short rather than waited for.
func (k *restSink) close() (started bool) {
	if !k.mu.TryLock() {
		k.rc.SetWriteDeadline(time.Now())
		k.mu.Lock()
	}
	defer k.mu.Unlock()
	k.closed = true
	return k.started
}
