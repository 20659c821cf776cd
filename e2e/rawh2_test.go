package e2e_test

import (
	"bytes"
	"encoding/binary"
	"net"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// rawH2 is a minimal HTTP/2 client for gRPC, the attacker's tool: it opens
// unary calls, declares a request message and sends only part of it, then
// stalls, which no gRPC library does. It honours flow control, so it sends
// as much as the server's windows let it, as a real attacker would.
type rawH2 struct {
	conn net.Conn
	fr   *http2.Framer

	mu      sync.Mutex
	cond    *sync.Cond
	enc     *hpack.Encoder
	hbuf    bytes.Buffer
	next    uint32
	connWin int32            // the connection's send window
	windows map[uint32]int32 // open streams' send windows
	initial int32
	ended   map[uint32]string // stream → grpc-status, or "reset"/"closed"
	closed  bool
}

func dialRawH2(addr string) (*rawH2, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	r := &rawH2{conn: c, fr: http2.NewFramer(c, c), next: 1, connWin: 65535, initial: 65535,
		windows: map[uint32]int32{}, ended: map[uint32]string{}}
	r.cond = sync.NewCond(&r.mu)
	r.enc = hpack.NewEncoder(&r.hbuf)
	r.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if _, err := c.Write([]byte(http2.ClientPreface)); err != nil {
		c.Close()
		return nil, err
	}
	if err := r.fr.WriteSettings(); err != nil {
		c.Close()
		return nil, err
	}
	go r.read()
	return r, nil
}

func (r *rawH2) close() { r.conn.Close() }

// read follows the server's frames: windows, resets, trailers.
func (r *rawH2) read() {
	defer func() {
		r.mu.Lock()
		r.closed = true
		for id := range r.windows {
			if _, ok := r.ended[id]; !ok {
				r.ended[id] = "closed"
			}
		}
		r.cond.Broadcast()
		r.mu.Unlock()
	}()
	for {
		f, err := r.fr.ReadFrame()
		if err != nil {
			return
		}
		r.mu.Lock()
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				if v, ok := f.Value(http2.SettingInitialWindowSize); ok {
					for id := range r.windows {
						r.windows[id] += int32(v) - r.initial
					}
					r.initial = int32(v)
				}
				r.fr.WriteSettingsAck()
			}
		case *http2.WindowUpdateFrame:
			if f.StreamID == 0 {
				r.connWin += int32(f.Increment)
			} else if _, ok := r.windows[f.StreamID]; ok {
				r.windows[f.StreamID] += int32(f.Increment)
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				r.fr.WritePing(true, f.Data)
			}
		case *http2.RSTStreamFrame:
			if _, ok := r.ended[f.StreamID]; !ok {
				r.ended[f.StreamID] = "reset"
			}
		case *http2.MetaHeadersFrame:
			if st := f.PseudoValue("status"); st != "" && st != "200" {
				r.ended[f.StreamID] = "http " + st
			}
			for _, hf := range f.RegularFields() {
				if hf.Name == "grpc-status" {
					r.ended[f.StreamID] = hf.Value
				}
			}
		case *http2.GoAwayFrame:
			r.fr.WriteGoAway(0, http2.ErrCodeNo, nil)
		}
		r.cond.Broadcast()
		r.mu.Unlock()
	}
}

// stall opens a unary call of method with the given authorization (none
// if empty), declares a request message of declared bytes and sends
// declared-1 of them, as fast as flow control allows. It returns the
// stream's id once it has sent them all or the stream has ended.
func (r *rawH2) stall(method, authorization string, declared int) (uint32, error) {
	r.mu.Lock()
	id := r.next
	r.next += 2
	r.hbuf.Reset()
	for _, hf := range [][2]string{
		{":method", "POST"}, {":scheme", "http"}, {":path", method}, {":authority", "gateway"},
		{"content-type", "application/grpc"}, {"te", "trailers"},
	} {
		r.enc.WriteField(hpack.HeaderField{Name: hf[0], Value: hf[1]})
	}
	if authorization != "" {
		r.enc.WriteField(hpack.HeaderField{Name: "authorization", Value: authorization})
	}
	r.windows[id] = r.initial
	err := r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: r.hbuf.Bytes(), EndHeaders: true})
	r.mu.Unlock()
	if err != nil {
		return id, err
	}
	prefix := make([]byte, 5)
	binary.BigEndian.PutUint32(prefix[1:], uint32(declared))
	for sent, total := 0, declared-1+len(prefix); sent < total; {
		r.mu.Lock()
		for {
			if _, done := r.ended[id]; done || r.closed {
				r.mu.Unlock()
				return id, nil
			}
			if r.connWin > 0 && r.windows[id] > 0 {
				break
			}
			r.cond.Wait()
		}
		var chunk []byte
		if sent == 0 {
			chunk = prefix
		} else {
			chunk = filler[:min(int(r.connWin), int(r.windows[id]), total-sent, len(filler))]
		}
		r.connWin -= int32(len(chunk))
		r.windows[id] -= int32(len(chunk))
		err := r.fr.WriteData(id, false, chunk)
		r.mu.Unlock()
		if err != nil {
			return id, err
		}
		sent += len(chunk)
	}
	return id, nil
}

// filler is the bytes of every partial message: one frame's worth.
var filler = bytes.Repeat([]byte{'x'}, 16<<10)

// wait blocks until every stream in ids has ended, or until the deadline,
// and returns how each ended ("" for still open).
func (r *rawH2) wait(ids []uint32, deadline time.Time) map[uint32]string {
	timer := time.AfterFunc(time.Until(deadline), func() { r.mu.Lock(); r.cond.Broadcast(); r.mu.Unlock() })
	defer timer.Stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		open := 0
		for _, id := range ids {
			if _, ok := r.ended[id]; !ok {
				open++
			}
		}
		if open == 0 || time.Now().After(deadline) {
			out := map[uint32]string{}
			for _, id := range ids {
				out[id] = r.ended[id]
			}
			return out
		}
		r.cond.Wait()
	}
}
