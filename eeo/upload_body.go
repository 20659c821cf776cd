package eeo

import (
	"errors"
	"fmt"
	"io"
	"sync"
)

// uploadBody is an upload body for one attempt: it reads from the caller's
// stream, which every attempt shares. The transport's writer may read it
// even after the attempt's response has been handled, so once the attempt is
// ended (by end or the transport's Close) every read fails; and because a
// read in progress at that moment counts as a use, an attempt that end
// reports as untouched has read nothing and can read nothing more, so two
// attempts never read the stream concurrently.
//
// end also waits for a read of the stream in progress to finish, so that
// once the client has ended every attempt (and CreateImport returns) it
// neither reads the caller's stream nor will again.
//
// With a declared size it also holds the stream to that size, and withholds
// the last bytes until the stream has confirmed its end: the transport
// writes straight to the socket, so EEO could otherwise receive all
// Content-Length bytes, and create an import of them, before a longer
// stream's excess was noticed.
//
// A read of the source still blocked when the attempt's context ends (the
// call was cancelled or stalled past the idle timeout) is abandoned: Read
// returns, so the transport can give up the request, while the source's
// Read finishes in the background into a buffer of its own and its result
// is dropped. The attempt then counts as having touched the stream. This
// is the one read of the caller's stream that may outlast the call.
type uploadBody struct {
	src      io.Reader
	size     int64           // the exact length the caller promised; <= 0 if unknown
	progress func(int)       // if set, told of each read that delivered bytes; set before the first Read
	done     <-chan struct{} // the attempt's context's Done; nil reads the source directly. Set before the first Read

	// Used only by the Read holding the reading flag: reads of the source
	// go through buf, so an abandoned one never writes into the
	// transport's buffer.
	buf     []byte
	results chan sourceRead

	mu        sync.Mutex
	read      int64 // bytes taken from src; guarded by mu
	delivered int64 // bytes handed to the transport; guarded by mu
	reading   bool  // a Read of src is in progress; guarded by mu
	eof       bool  // src has ended where it should; guarded by mu
	ended     bool  // guarded by mu
	abandoned bool  // a read of src was abandoned and may still be running; guarded by mu
	err       error // src's failure, or a length mismatch; guarded by mu
	// readOver is signalled (with mu as its lock) when a Read of src is
	// over, for end to wait on. A condition rather than a channel closed
	// per Read: Reads are many (one per transport buffer) and ends few,
	// and a channel cost every Read an allocation.
	readOver sync.Cond
}

// sourceRead is the outcome of one Read of the source.
type sourceRead struct {
	n   int
	err error
}

// errAbandoned ends an attempt whose context ended while the source was
// being read. It is not the source's failure: the context's end is what
// the call reports.
var errAbandoned = errors.New("eeo: upload attempt ended while reading the body")

// Read implements io.Reader. The source is read outside the lock so that
// end never waits for a blocked source; the reading flag keeps reads
// exclusive.
func (b *uploadBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	switch {
	case b.ended, b.abandoned:
		b.mu.Unlock()
		return 0, errors.New("eeo: upload attempt is over")
	case b.reading:
		b.mu.Unlock()
		return 0, errors.New("eeo: concurrent read of an upload body")
	case b.err != nil:
		err := b.err
		b.mu.Unlock()
		return 0, err
	case b.eof:
		b.mu.Unlock()
		return 0, io.EOF
	}
	b.reading = true
	delivered := b.delivered
	b.mu.Unlock()

	n, taken, err := b.readBounded(p, delivered)
	if n > 0 && b.progress != nil {
		b.progress(n)
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	b.reading = false
	// Broadcast does not use L, which end sets before it first waits; with
	// nobody waiting it is an atomic load.
	b.readOver.Broadcast()
	b.read += taken
	b.delivered += int64(n)
	switch {
	// io.Reader's contract is that the end is io.EOF itself, which is what
	// the transport tests for; a wrapped EOF is a failure to it, so here too.
	case err == io.EOF:
		b.eof = true
	case errors.Is(err, errAbandoned):
		b.abandoned = true
	case err != nil:
		b.err = err
	}
	return n, err
}

// readSource reads the source into p, or gives up when the attempt's context
// ends; see uploadBody.
func (b *uploadBody) readSource(p []byte) (int, error) {
	if b.done == nil {
		return b.src.Read(p)
	}
	select {
	case <-b.done:
		return 0, errAbandoned
	default:
	}
	if cap(b.buf) < len(p) {
		b.buf = make([]byte, len(p))
	}
	if b.results == nil {
		b.results = make(chan sourceRead, 1)
	}
	// No earlier read is running: each either delivered its result, or was
	// abandoned, after which none starts.
	buf := b.buf[:len(p)]
	go func() {
		n, err := b.src.Read(buf)
		b.results <- sourceRead{n, err}
	}()
	select {
	case r := <-b.results:
		return copy(p, buf[:r.n]), r.err
	case <-b.done:
		return 0, errAbandoned
	}
}

// readBounded reads the next bytes for the transport, holding the source
// to its declared size: n are delivered in p, taken were consumed from the
// source (more than n when bytes are withheld).
func (b *uploadBody) readBounded(p []byte, delivered int64) (n int, taken int64, err error) {
	if b.size <= 0 {
		n, err = b.readSource(p)
		return n, int64(n), err
	}
	remaining := b.size - delivered
	if int64(len(p)) > remaining {
		p = p[:remaining]
	}
	if len(p) > 0 {
		n, err = b.readSource(p)
		taken = int64(n)
	}
	if err == nil && int64(n) == remaining {
		// All promised bytes are in hand; the stream must end here.
		var extra int64
		extra, err = b.confirmEnd()
		taken += extra
	}
	switch {
	case err == io.EOF && int64(n) < remaining:
		return 0, taken, fmt.Errorf("body ended after %d of its declared %d bytes: %w", delivered+int64(n), b.size, io.ErrUnexpectedEOF)
	case err != nil && err != io.EOF:
		return 0, taken, err // withhold n: EEO must see a short body
	}
	return n, taken, err
}

// confirmEnd reads the source once more, expecting io.EOF; data there means
// the body is longer than declared. It gives up on a source that keeps
// returning nothing, as bufio does.
func (b *uploadBody) confirmEnd() (int64, error) {
	var one [1]byte
	for range 100 {
		n, err := b.readSource(one[:])
		switch {
		case n > 0:
			return int64(n), fmt.Errorf("body is longer than its declared size of %d bytes", b.size)
		case err != nil:
			return 0, err
		}
	}
	return 0, io.ErrNoProgress
}

// Close implements io.Closer for the transport, which closes a request body
// when it is done with it. It ends the attempt without waiting for a read
// in progress (the transport may close from another goroutine than its
// writer's and must not block on it); the caller's stream stays open.
func (b *uploadBody) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ended = true
	return nil
}

// end ends the attempt and waits for a read of the stream in progress to be
// over: finished, or abandoned because the attempt's context ended. It
// reports whether the attempt left the stream untouched — nothing read and
// no read in progress when it was called — and the stream's failure, if any.
func (b *uploadBody) end() (untouched bool, sourceErr error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ended = true
	untouched, sourceErr = b.read == 0 && !b.reading && !b.abandoned, b.err
	// A Read that ends now cannot start another: ended is set.
	for b.reading {
		b.readOver.L = &b.mu
		b.readOver.Wait()
	}
	return untouched, sourceErr
}
