package server

import (
	"context"
	"hash"
	"io"
	"sync"
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
	buf *[]byte
	n   int
	err error
}

func (c downloadChunkRead) data() []byte { return (*c.buf)[:c.n] }

type downloadPipe struct {
	pool    *sync.Pool // of downloadChunk buffers, shared across downloads
	cancel  context.CancelFunc
	free    chan *[]byte
	read    chan downloadChunkRead
	toHash  chan downloadChunkRead
	readers sync.WaitGroup
	hashed  chan struct{}
	once    sync.Once
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
		free:   make(chan *[]byte, downloadBuffers),
		read:   make(chan downloadChunkRead, downloadBuffers),
		toHash: make(chan downloadChunkRead, downloadBuffers),
		hashed: make(chan struct{}),
	}
	for range downloadBuffers {
		p.free <- pool.Get().(*[]byte)
	}
	p.readers.Go(func() {
		defer close(p.read)
		for {
			var buf *[]byte
			select {
			case buf = <-p.free:
			case <-ctx.Done():
				return
			}
			n, err := fill(body, *buf)
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
			p.free <- c.buf
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

// hash hashes c's bytes, then frees its buffer for the reader.
func (p *downloadPipe) hash(c downloadChunkRead) { p.toHash <- c }

// release frees c's buffer without hashing it, for a chunk the caller
// hashed itself after wait.
func (p *downloadPipe) release(c downloadChunkRead) {
	select {
	case p.free <- c.buf:
	default: // cannot happen: free has room for every buffer
	}
}

// wait returns once every chunk handed to hash has been hashed; after it,
// hash must not be called and h is the caller's.
func (p *downloadPipe) wait() {
	p.once.Do(func() { close(p.toHash) })
	<-p.hashed
}

// stop ends the reader and the hasher and returns the buffers to the pool.
// A buffer still in flight on an abandoned download is left to the garbage
// collector.
func (p *downloadPipe) stop() {
	p.cancel()
	p.readers.Wait()
	p.wait()
	for {
		select {
		case buf := <-p.free:
			p.pool.Put(buf)
		default:
			return
		}
	}
}
