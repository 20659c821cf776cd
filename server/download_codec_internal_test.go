package server

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// testPipe is a stopped-or-running downloadPipe with one buffer's worth of
// free list, enough to see where a released buffer goes.
func testPipe() *downloadPipe {
	pool := &sync.Pool{New: func() any { b := make([]byte, downloadChunk); return &b }}
	return &downloadPipe{pool: pool, free: make(chan *pipeBuffer, 1)}
}

// chunkOf is a pipe buffer holding n patterned bytes, referenced once (by
// the handler), as the reader hands it over.
func chunkOf(p *downloadPipe, n int) (*pipeBuffer, []byte) {
	b := &pipeBuffer{b: p.pool.Get().(*[]byte), p: p}
	b.refs.Store(1)
	data := (*b.b)[:n]
	for i := range data {
		data[i] = byte(i*31 + i>>9)
	}
	return b, data
}

// A download message goes on the wire byte for byte as protobuf encodes
// the same HttpBody, whatever its content type and size.
func TestDownloadCodecEncodesAsProtobuf(t *testing.T) {
	codec := newTransferCodec(newChunkPools())
	p := testPipe()
	for _, ct := range []string{"", "text/csv", strings.Repeat("x", 200)} {
		for _, n := range []int{0, 1, 127, 128, 16 << 10, downloadChunk - 1, downloadChunk} {
			buf, data := chunkOf(p, n)
			msg := &httpbody.HttpBody{ContentType: ct, Data: data}
			want, err := proto.Marshal(msg)
			if err != nil {
				t.Fatal(err)
			}
			out, err := codec.Marshal(&downloadMessage{HttpBody: msg, buf: buf})
			if err != nil {
				t.Fatal(err)
			}
			if got := out.Materialize(); !bytes.Equal(got, want) {
				t.Fatalf("content type %q, %d bytes: encoded %d bytes, want protobuf's %d", ct, n, len(got), len(want))
			}
			out.Free()
			buf.unref()
			<-p.free
		}
	}
}

// What the fast path does not cover — extensions, unknown fields, a plain
// HttpBody, a buffer too small for grpc-go to hand back — protobuf encodes,
// copying, so the chunk's buffer is the handler's again once Marshal
// returns.
func TestDownloadCodecFallsBackToProtobuf(t *testing.T) {
	codec := newTransferCodec(newChunkPools())
	p := testPipe()
	ext, err := anypb.New(&httpbody.HttpBody{ContentType: "inner"})
	if err != nil {
		t.Fatal(err)
	}
	buf, data := chunkOf(p, 1000)
	small := []byte("a few bytes in a buffer of their own")
	withUnknown := &httpbody.HttpBody{Data: data}
	withUnknown.ProtoReflect().SetUnknown(protowire.AppendVarint(protowire.AppendTag(nil, 9, protowire.VarintType), 7))
	for name, m := range map[string]any{
		"extensions":         &downloadMessage{HttpBody: &httpbody.HttpBody{Data: data, Extensions: []*anypb.Any{ext}}, buf: buf},
		"unknown fields":     &downloadMessage{HttpBody: withUnknown, buf: buf},
		"no buffer":          &downloadMessage{HttpBody: &httpbody.HttpBody{Data: data}},
		"a plain HttpBody":   &httpbody.HttpBody{ContentType: "text/csv", Data: data},
		"a small allocation": &downloadMessage{HttpBody: &httpbody.HttpBody{Data: small[:8:8]}, buf: buf},
	} {
		var want []byte
		switch m := m.(type) {
		case *downloadMessage:
			want, err = proto.Marshal(m.HttpBody)
		case proto.Message:
			want, err = proto.Marshal(m)
		}
		if err != nil {
			t.Fatal(err)
		}
		out, err := codec.Marshal(m)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := out.Materialize(); !bytes.Equal(got, want) {
			t.Errorf("%s: encoded %x, want protobuf's %x", name, got, want)
		}
		out.Free()
		if refs := buf.refs.Load(); refs != 1 {
			t.Fatalf("%s: the chunk has %d references after Marshal, want only the handler's", name, refs)
		}
	}
}

// The chunk's buffer goes back to the pipe only once both the handler and
// grpc-go (which frees what Marshal returned when it has written it) have
// let go of it, in either order; after the pipe stops, to the pool.
func TestDownloadCodecReleasesChunkAfterGRPC(t *testing.T) {
	codec := newTransferCodec(newChunkPools())
	for _, grpcFirst := range []bool{false, true} {
		p := testPipe()
		buf, data := chunkOf(p, downloadChunk)
		out, err := codec.Marshal(&downloadMessage{HttpBody: &httpbody.HttpBody{Data: data}, buf: buf})
		if err != nil {
			t.Fatal(err)
		}
		out.Ref() // the transport's, as http2Server.write takes
		out.Free()
		if grpcFirst {
			out.Free()
		} else {
			buf.unref()
		}
		select {
		case <-p.free:
			t.Fatalf("grpc first %v: the buffer was recycled while still held", grpcFirst)
		default:
		}
		if grpcFirst {
			buf.unref()
		} else {
			out.Free()
		}
		select {
		case got := <-p.free:
			if got != buf {
				t.Fatal("another buffer was recycled")
			}
		default:
			t.Fatalf("grpc first %v: the buffer was not recycled once both let go", grpcFirst)
		}
	}

	// A call can end before grpc-go has written its last chunk.
	ctx, cancel := context.WithCancel(t.Context())
	p := startDownloadPipe(ctx, cancel, strings.NewReader("the whole report"), nil, testPipe().pool)
	c, ok := p.next()
	if !ok {
		t.Fatal("no chunk")
	}
	out, err := codec.Marshal(&downloadMessage{HttpBody: &httpbody.HttpBody{Data: c.data()}, buf: c.buf})
	if err != nil {
		t.Fatal(err)
	}
	p.release(c)
	p.stop()
	out.Free()
	if len(p.free) != 0 {
		t.Fatal("a buffer released after the pipe stopped went back to its free list, which nobody reads any more")
	}
}
