package loadgen

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// RawHTTP1 is a wrk-class HTTP/1.1 load generator for one request: each
// call writes the same pre-rendered request bytes on a keep-alive
// connection and reads the response with a bufio.Reader, parsing only the
// status line and the headers that frame the body (Content-Length,
// Transfer-Encoding: chunked, Connection). Go's http.Client spends more
// CPU per request than a lean server (~35 µs here: a request object,
// header maps, a writer and a reader goroutine per connection), and on a
// machine whose cores the client shares with the server that cost halves
// the throughput it reports: RawHTTP1 measures the server instead, as wrk
// does.
//
// A call takes an idle connection or dials one, so under Closed each
// worker keeps a connection of its own. A response with Connection: close
// (or an HTTP/1.0 one without keep-alive) closes its connection after the
// body is read; any error closes it too, and the next call dials again
// (Reconnects counts them). A request that finds a reused connection
// already closed by the server — nothing read back at all — is sent once
// more on a fresh connection, as net/http does for a GET.
type RawHTTP1 struct {
	addr     string
	req      []byte
	validate func(body []byte) error
	// Timeout bounds each call when its context has no deadline; default 30s.
	Timeout time.Duration

	dialer     net.Dialer
	reconnects atomic.Int64

	mu     sync.Mutex
	idle   []*rawConn
	open   map[*rawConn]struct{}
	closed bool
}

// NewRawHTTP1 returns a generator that sends req (a complete HTTP/1.1
// request, headers and blank line included, with no body) to addr
// (host:port). validate, if not nil, judges a 200 response's body; a
// non-nil error fails the call.
func NewRawHTTP1(addr string, req []byte, validate func(body []byte) error) *RawHTTP1 {
	return &RawHTTP1{addr: addr, req: req, validate: validate, open: map[*rawConn]struct{}{}}
}

// RawHTTP1GetToken is GET {baseURL}/v1/accounts/{account}/token with the
// caller's API key, its body checked to be a GetToken response (it names
// the token's accessToken). baseURL is http://host:port.
func RawHTTP1GetToken(baseURL, apiKey, account string) (*RawHTTP1, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("loadgen: RawHTTP1 needs an http://host:port URL, not %q", baseURL)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	req := "GET " + strings.TrimSuffix(u.Path, "/") + "/v1/accounts/" + url.PathEscape(account) + "/token HTTP/1.1\r\n" +
		"Host: " + u.Host + "\r\n" +
		"Authorization: Bearer " + apiKey + "\r\n" +
		"User-Agent: eeo-bench-rawhttp1\r\n" +
		"Accept: application/json\r\n\r\n"
	return NewRawHTTP1(addr, []byte(req), ValidateGetToken), nil
}

// ValidateGetToken accepts a JSON GetToken response: an object naming the
// token's accessToken. It is cheap on purpose — a substring, not a parse —
// so the generator does not cost more than the server it measures.
func ValidateGetToken(body []byte) error {
	if len(body) == 0 || body[0] != '{' || !bytes.Contains(body, []byte(`"accessToken"`)) {
		// The body itself stays out of the error: a token may be in it.
		return fmt.Errorf("not a GetToken response (%d bytes)", len(body))
	}
	return nil
}

// Reconnects is how many connections were closed for another to be
// dialled in their place: after an error, a Connection: close, or a
// server that closed an idle one.
func (g *RawHTTP1) Reconnects() int64 { return g.reconnects.Load() }

// Close closes every connection; calls after it fail.
func (g *RawHTTP1) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	for c := range g.open {
		c.conn.Close()
	}
	clear(g.open)
	g.idle = nil
	return nil
}

// errClosed is returned by calls after Close.
var errClosed = errors.New("loadgen: RawHTTP1 closed")

// maxBody bounds a response body the generator buffers.
const maxBody = 1 << 20

// Call sends the request once and reads its response; it is a Call.
func (g *RawHTTP1) Call(ctx context.Context) error {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(cmp.Or(g.Timeout, 30*time.Second))
	}
	c, reused, err := g.get(ctx)
	if err != nil {
		return err
	}
	keep, got, err := c.roundTrip(deadline, g.req, g.validate)
	if err != nil && reused && !got {
		// The server closed the idle connection before this request:
		// nothing was answered, so sending it again is safe.
		g.drop(c)
		if c, _, err = g.dial(ctx); err != nil {
			return err
		}
		keep, _, err = c.roundTrip(deadline, g.req, g.validate)
	}
	if keep {
		g.put(c)
	} else {
		g.drop(c)
	}
	return err
}

// get returns an idle connection (reused) or a new one.
func (g *RawHTTP1) get(ctx context.Context) (c *rawConn, reused bool, err error) {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil, false, errClosed
	}
	if n := len(g.idle); n > 0 {
		c = g.idle[n-1]
		g.idle = g.idle[:n-1]
		g.mu.Unlock()
		return c, true, nil
	}
	g.mu.Unlock()
	return g.dial(ctx)
}

func (g *RawHTTP1) dial(ctx context.Context) (*rawConn, bool, error) {
	conn, err := g.dialer.DialContext(ctx, "tcp", g.addr)
	if err != nil {
		return nil, false, err
	}
	c := &rawConn{conn: conn, r: bufio.NewReaderSize(conn, 16<<10)}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		conn.Close()
		return nil, false, errClosed
	}
	g.open[c] = struct{}{}
	return c, false, nil
}

func (g *RawHTTP1) put(c *rawConn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		c.conn.Close()
		return
	}
	g.idle = append(g.idle, c)
}

// drop closes a connection that cannot carry another request; the next
// call that finds no idle one dials its replacement.
func (g *RawHTTP1) drop(c *rawConn) {
	c.conn.Close()
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.open[c]; ok && !g.closed {
		g.reconnects.Add(1)
	}
	delete(g.open, c)
}

// rawConn is one keep-alive connection and its read buffer.
type rawConn struct {
	conn net.Conn
	r    *bufio.Reader
	body []byte
}

// roundTrip writes req and reads one response. keep says whether the
// connection can carry the next request; got whether any of the response
// was read.
func (c *rawConn) roundTrip(deadline time.Time, req []byte, validate func([]byte) error) (keep, got bool, err error) {
	if err := c.conn.SetDeadline(deadline); err != nil {
		return false, false, err
	}
	if _, err := c.conn.Write(req); err != nil {
		return false, false, err
	}
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return false, len(line) > 0, fmt.Errorf("reading the status line: %w", err)
	}
	code, http10, err := parseStatusLine(line)
	if err != nil {
		return false, true, err
	}
	h, err := c.readHeaders(http10)
	if err != nil {
		return false, true, err
	}
	noBody := code/100 == 1 || code == 204 || code == 304
	switch {
	case noBody:
		c.body = c.body[:0]
	case h.chunked:
		err = c.readChunked()
	case h.length >= 0:
		err = c.readN(h.length)
	case h.close:
		err = c.readToEOF()
	default:
		err = errors.New("response has neither Content-Length nor chunked encoding on a keep-alive connection")
	}
	if err != nil {
		return false, true, err
	}
	keep = !h.close
	if code != 200 {
		return keep, true, fmt.Errorf("HTTP %d: %.200s", code, c.body)
	}
	if validate != nil {
		err = validate(c.body)
	}
	return keep, true, err
}

// parseStatusLine reads "HTTP/1.x NNN reason".
func parseStatusLine(line []byte) (code int, http10 bool, err error) {
	const prefix = len("HTTP/1.x ")
	switch {
	case len(line) < prefix+3 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[prefix-1] != ' ':
		return 0, false, fmt.Errorf("malformed status line %.80q", line)
	case line[7] == '0':
		http10 = true
	case line[7] != '1':
		return 0, false, fmt.Errorf("unsupported protocol in status line %.80q", line)
	}
	for _, d := range line[prefix : prefix+3] {
		if d < '0' || d > '9' {
			return 0, false, fmt.Errorf("malformed status code in %.80q", line)
		}
		code = code*10 + int(d-'0')
	}
	return code, http10, nil
}

// framing is what the headers say about the body and the connection.
type framing struct {
	length  int64 // -1 when absent
	chunked bool
	close   bool
}

func (c *rawConn) readHeaders(http10 bool) (framing, error) {
	h := framing{length: -1, close: http10}
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return h, fmt.Errorf("reading headers: %w", err)
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			return h, nil
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return h, fmt.Errorf("malformed header line %.80q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, ok := parseDecimal(value)
			if !ok || (h.length >= 0 && n != h.length) {
				return h, fmt.Errorf("bad Content-Length %.40q", value)
			}
			h.length = n
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			if !bytes.EqualFold(value, []byte("chunked")) {
				return h, fmt.Errorf("unsupported Transfer-Encoding %.40q", value)
			}
			h.chunked = true
		case bytes.EqualFold(name, []byte("Connection")):
			for tok := range bytes.SplitSeq(value, []byte(",")) {
				switch tok = bytes.TrimSpace(tok); {
				case bytes.EqualFold(tok, []byte("close")):
					h.close = true
				case bytes.EqualFold(tok, []byte("keep-alive")) && http10:
					h.close = false
				}
			}
		}
	}
}

// parseDecimal parses a non-negative Content-Length without allocating.
func parseDecimal(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, d := range b {
		if d < '0' || d > '9' {
			return 0, false
		}
		n = n*10 + int64(d-'0')
	}
	return n, true
}

func (c *rawConn) readN(n int64) error {
	if n > maxBody {
		return fmt.Errorf("response body of %d bytes is over the generator's %d", n, maxBody)
	}
	c.body = c.body[:0]
	return c.appendN(int(n))
}

// appendN appends the next n bytes of the connection to c.body.
func (c *rawConn) appendN(n int) error {
	start := len(c.body)
	c.body = slices.Grow(c.body, n)[:start+n]
	if _, err := io.ReadFull(c.r, c.body[start:]); err != nil {
		return fmt.Errorf("reading the body: %w", err)
	}
	return nil
}

// readChunked reads a chunked body (RFC 9112 §7.1), trailers included.
func (c *rawConn) readChunked() error {
	c.body = c.body[:0]
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return fmt.Errorf("reading a chunk size: %w", err)
		}
		sizeField, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		size, ok := parseHex(bytes.TrimSpace(sizeField))
		if !ok {
			return fmt.Errorf("malformed chunk size line %.40q", line)
		}
		if size == 0 {
			for { // trailers, then the blank line
				line, err := c.r.ReadSlice('\n')
				if err != nil {
					return fmt.Errorf("reading chunked trailers: %w", err)
				}
				if len(bytes.TrimRight(line, "\r\n")) == 0 {
					return nil
				}
			}
		}
		if int64(len(c.body))+size > maxBody {
			return fmt.Errorf("chunked response body over the generator's %d bytes", maxBody)
		}
		if err := c.appendN(int(size)); err != nil {
			return err
		}
		crlf, err := c.r.ReadSlice('\n')
		if err != nil || len(bytes.TrimRight(crlf, "\r\n")) != 0 {
			return fmt.Errorf("chunk not followed by CRLF: %q %v", crlf, err)
		}
	}
}

func parseHex(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 15 {
		return 0, false
	}
	var n int64
	for _, d := range b {
		var v byte
		switch {
		case '0' <= d && d <= '9':
			v = d - '0'
		case 'a' <= d && d <= 'f':
			v = d - 'a' + 10
		case 'A' <= d && d <= 'F':
			v = d - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | int64(v)
	}
	return n, true
}

// readToEOF reads a body delimited by the server closing the connection.
func (c *rawConn) readToEOF() error {
	c.body = c.body[:0]
	for {
		c.body = slices.Grow(c.body, 4096)
		n, err := c.r.Read(c.body[len(c.body):cap(c.body)])
		c.body = c.body[:len(c.body)+n]
		if len(c.body) > maxBody {
			return fmt.Errorf("response body over the generator's %d bytes", maxBody)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the body: %w", err)
		}
	}
}
