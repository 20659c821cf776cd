package server

import (
	"encoding/binary"
	"io"
	"sync"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
)

// Decoding an upload chunk with protobuf allocates a new buffer for its
// bytes, so every uploaded byte became garbage once it was passed on to EEO:
// a gigabyte of it per gigabyte uploaded, which drove the heap to twice its
// live size over and over, the largest part of the gateway's peak RSS.
// transferCodec decodes a chunk message into a pooled buffer instead, which
// feed returns to the pool once EEO has taken the bytes (chunkPools.release).
// Every other message, and any chunk message it does not recognise exactly,
// goes to grpc-go's own proto codec.

// transferCodec is the gRPC server's codec: grpc-go's proto codec, with
// CreateImportRequest chunks decoded into pooled buffers, download chunks
// (downloadMessage) sent without copying (see download_codec.go) and
// GetToken responses written without reflection (token_codec.go).
type transferCodec struct {
	encoding.CodecV2
	chunks *chunkPools
	// tokenWire: GetToken responses are written by marshalGetToken,
	// which knows their messages field for field (token_codec.go).
	tokenWire bool
}

func newTransferCodec(chunks *chunkPools) transferCodec {
	return transferCodec{CodecV2: encoding.GetCodecV2(proto.Name), chunks: chunks, tokenWire: tokenWireKnown()}
}

// chunkTag is CreateImportRequest's chunk field (2) with the
// length-delimited wire type.
const chunkTag = 2<<3 | 2

// Unmarshal implements encoding.CodecV2.
func (c transferCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if req, ok := v.(*eeov1.CreateImportRequest); ok {
		if chunk, ok := c.chunks.decode(data); ok {
			req.Reset()
			req.Payload = &eeov1.CreateImportRequest_Chunk{Chunk: chunk}
			return nil
		}
	}
	return c.CodecV2.Unmarshal(data, v)
}

// decode returns the bytes of a message that is exactly one non-empty
// chunk field, in a pooled buffer; false for anything else.
func (p *chunkPools) decode(data mem.BufferSlice) ([]byte, bool) {
	total := data.Len()
	if total < 2 || total > maxRecvMessageBytes {
		return nil, false
	}
	r := data.Reader()
	defer r.Close()
	if tag, err := r.ReadByte(); err != nil || tag != chunkTag {
		return nil, false
	}
	n, err := binary.ReadUvarint(r)
	if err != nil || n == 0 || n != uint64(r.Remaining()) {
		return nil, false
	}
	buf := p.get(int(n))
	if _, err := io.ReadFull(r, buf); err != nil {
		p.release(buf)
		return nil, false
	}
	return buf, true
}

// The REST facade sends each upload as gRPC messages of uploadChunk bytes
// over the in-process connection, and grpc-go's proto codec marshals a
// message into a buffer from its default pool, whose tiers jump from 32 KiB
// to 1 MiB: every 256 KiB chunk held a 1 MiB buffer while in flight, and
// the pool kept several, about 3.5 MiB of a REST upload's live heap (and
// twice that in peak RSS, as the GC's heap goal follows the live heap).
// The facade's connection uses transferCodec too, which encodes a chunk
// message into a chunk buffer of its own size instead (encode).

// encode marshals req as protobuf does when it is exactly one chunk of at
// least mem's pooling threshold, with the chunk copied into a pooled buffer
// that goes back to the pool when grpc-go has written it; false for any
// other message, which protobuf then encodes.
func (p *chunkPools) encode(req *eeov1.CreateImportRequest) (mem.BufferSlice, bool) {
	chunk := req.GetChunk()
	if len(chunk) > maxRecvMessageBytes || mem.IsBelowBufferPoolingThreshold(len(chunk)) ||
		len(req.ProtoReflect().GetUnknown()) > 0 {
		return nil, false
	}
	hdr := protowire.AppendVarint([]byte{chunkTag}, uint64(len(chunk)))
	buf := p.get(len(chunk))
	copy(buf, chunk)
	return mem.BufferSlice{mem.SliceBuffer(hdr), mem.NewBuffer(&buf, chunkReturn{p})}, true
}

// chunkReturn is the mem.BufferPool that grpc-go hands an encoded chunk's
// buffer back to.
type chunkReturn struct{ p *chunkPools }

// Get implements mem.BufferPool; grpc-go only calls Put on a buffer's pool.
func (r chunkReturn) Get(n int) *[]byte { b := r.p.get(n); return &b }

// Put implements mem.BufferPool.
func (r chunkReturn) Put(b *[]byte) { r.p.release(*b) }

// Upload chunk buffers come in two sizes: up to 256 KiB (the REST facade's
// and client.Upload's chunks) and up to the receive limit (a 1 MiB chunk
// plus slack). The small ones are a download chunk's size, so downloads
// (downloadPipe) draw on the same pool.
const smallChunkBytes = downloadChunk

// chunkPools recycles a Server's transfer buffers. Its codec and its
// service share it; it is the Server's rather than the package's so that
// nothing outside a Server holds or hands out its buffers.
type chunkPools struct {
	small, large sync.Pool // *[]byte of smallChunkBytes, maxRecvMessageBytes
}

func newChunkPools() *chunkPools {
	p := &chunkPools{}
	p.small.New = func() any { b := make([]byte, smallChunkBytes); return &b }
	p.large.New = func() any { b := make([]byte, maxRecvMessageBytes); return &b }
	return p
}

// get returns a pooled buffer of length n (at most maxRecvMessageBytes).
func (p *chunkPools) get(n int) []byte {
	pool := &p.large
	if n <= smallChunkBytes {
		pool = &p.small
	}
	return (*pool.Get().(*[]byte))[:n]
}

// release returns a chunk's buffer to its pool once nothing refers to it
// any more. A chunk protobuf allocated (a message transferCodec passed on)
// is simply left to the garbage collector.
func (p *chunkPools) release(chunk []byte) {
	switch cap(chunk) {
	case smallChunkBytes:
		b := chunk[:smallChunkBytes]
		p.small.Put(&b)
	case maxRecvMessageBytes:
		b := chunk[:maxRecvMessageBytes]
		p.large.Put(&b)
	}
}
