package server

import (
	"context"
	"hash"
	"io"
	"sync"
	"sync/atomic"
)

// A report download has three jobs per chunk — reading it from EEO, sending
// it to the caller, hashing it — and done one after another each waits for
// the other two: EEO's socket fills while the gateway hashes, the caller's
// window sits open while it reads. downloadPipe runs them concurrently,
// reading ahead into a few pooled buffers on one goroutine and hashing on
// another, so the gateway moves bytes as fast as the slowest stage alone.

// downloadChunk is the size of each DownloadReport message: large enough to
// keep per-message overhead small, far below the 4 MiB a gRPC client
// accepts by default.
const downloadChunk = 256 << 10

// downloadBuffers is how many chunks one download holds at most: one being
// read from EEO, one being sent, one being hashed, and one spare so that no
// stage waits for another's buffer. It bounds a download's memory to
// downloadBuffers × downloadChunk whatever the report's size.
const downloadBuffers = 4

// downloadChunkRead is one chunk read from EEO: n bytes of buf, and the
// error the read ended with (io.EOF after the last chunk).
type downloadChunkRead struct {
	buf *pipeBuffer
	n   int
	err error
}

func (c downloadChunkRead) data() []byte { return (*c.buf.b)[:c.n] }

// pipeBuffer is one of a downloadPipe's buffers. It goes back to the
// reader once everything holding it has let go: the handler (after
// hashing), and grpc-go, which keeps a sent chunk until its connection has
// written it (transferCodec takes a reference for it).
type pipeBuffer struct {
	b    *[]byte
	refs atomic.Int32
	p    *downloadPipe
}

// ref takes one more reference.
func (b *pipeBuffer) ref() { b.refs.Add(1) }

// unref drops a reference, and recycles the buffer with the last one.
func (b *pipeBuffer) unref() {
	if b.refs.Add(-1) == 0 {
		b.p.recycle(b)
	}
}

// Get implements mem.BufferPool; grpc-go never calls it on a buffer's
// pool, only Put.
func (b *pipeBuffer) Get(length int) *[]byte {
	s := make([]byte, length)
	return &s
}

// Put implements mem.BufferPool: grpc-go is done with the chunk.
func (b *pipeBuffer) Put(*[]byte) { b.unref() }

type downloadPipe struct {
	pool    *sync.Pool // of downloadChunk buffers, shared across downloads
	cancel  context.CancelFunc
	free    chan *pipeBuffer
	read    chan downloadChunkRead
	toHash  chan downloadChunkRead
	readers sync.WaitGroup
	hashed  chan struct{}
	once    sync.Once

	mu      sync.Mutex
	stopped bool // guarded by mu: buffers released from now on go to pool
}

// startDownloadPipe starts reading body ahead into buffers from pool (of
// downloadChunk bytes; recycled across downloads, so a busy gateway does
// not allocate and collect one per chunk) and hashing into h (a nil h
// hashes nothing). body must be the upstream response to a request made
// with ctx, and cancel must cancel ctx: that is how stop unblocks a read
// in flight. The caller takes
// each chunk with next, hands it to hash once sent, calls wait before
// reading h, and always calls stop.
func startDownloadPipe(ctx context.Context, cancel context.CancelFunc, body io.Reader, h hash.Hash, pool *sync.Pool) *downloadPipe {
	p := &downloadPipe{
		pool:   pool,
		cancel: cancel,
		free:   make(chan *pipeBuffer, downloadBuffers),
		read:   make(chan downloadChunkRead, downloadBuffers),
		toHash: make(chan downloadChunkRead, downloadBuffers),
		hashed: make(chan struct{}),
	}
	for range downloadBuffers {
		p.free <- &pipeBuffer{b: pool.Get().(*[]byte), p: p}
	}
	p.readers.Go(func() {
		defer close(p.read)
		for {
			var buf *pipeBuffer
			select {
			case buf = <-p.free:
			case <-ctx.Done():
				return
			}
			buf.refs.Store(1) // the handler's, until it hashes or releases the chunk
			n, err := fill(body, *buf.b)
			select {
			case p.read <- downloadChunkRead{buf: buf, n: n, err: err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	})
	go func() {
		defer close(p.hashed)
		for c := range p.toHash {
			if h != nil {
				h.Write(c.data())
			}
			c.buf.unref()
		}
	}()
	return p
}

// next is the next chunk read from EEO; false once the reader has stopped
// (after a chunk carrying an error, or on stop).
func (p *downloadPipe) next() (downloadChunkRead, bool) {
	c, ok := <-p.read
	return c, ok
}

// hash hashes c's bytes, then lets go of its buffer.
func (p *downloadPipe) hash(c downloadChunkRead) { p.toHash <- c }

// release lets go of c's buffer without hashing it, for a chunk the caller
// hashed itself after wait.
func (p *downloadPipe) release(c downloadChunkRead) { c.buf.unref() }

// recycle takes back a buffer nothing holds any more: for the reader, or
// for the pool once the pipe has stopped (grpc-go may let go of the last
// chunks after the call has ended).
func (p *downloadPipe) recycle(b *pipeBuffer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		p.pool.Put(b.b)
		return
	}
	select {
	case p.free <- b:
	default: // cannot happen: free has room for every buffer
	}
}

// wait returns once every chunk handed to hash has been hashed; after it,
// hash must not be called and h is the caller's.
func (p *downloadPipe) wait() {
	p.once.Do(func() { close(p.toHash) })
	<-p.hashed
}

// stop ends the reader and the hasher and returns the free buffers to the
// pool; those grpc-go still holds follow when it lets go of them. A buffer
// still in flight on an abandoned download is left to the garbage
// collector.
func (p *downloadPipe) stop() {
	p.cancel()
	p.readers.Wait()
	p.wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	for {
		select {
		case buf := <-p.free:
			p.pool.Put(buf.b)
		default:
			return
		}
	}
}
