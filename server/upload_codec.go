package server

import (
	"encoding/binary"
	"io"
	"sync"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
)

// Decoding an upload chunk with protobuf allocates a new buffer for its
// bytes, so every uploaded byte became garbage once it was passed on to EEO:
// a gigabyte of it per gigabyte uploaded, which drove the heap to twice its
// live size over and over, the largest part of the gateway's peak RSS.
// uploadCodec decodes a chunk message into a pooled buffer instead, which
// feed returns to the pool once EEO has taken the bytes (releaseChunk).
// Every other message, and any chunk message it does not recognise exactly,
// goes to grpc-go's own proto codec.

// uploadCodec is the gRPC server's codec: grpc-go's proto codec, with
// CreateImportRequest chunks decoded into pooled buffers.
type uploadCodec struct {
	encoding.CodecV2
}

func newUploadCodec() uploadCodec {
	return uploadCodec{encoding.GetCodecV2(proto.Name)}
}

// chunkTag is CreateImportRequest's chunk field (2) with the
// length-delimited wire type.
const chunkTag = 2<<3 | 2

// Unmarshal implements encoding.CodecV2.
func (c uploadCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if req, ok := v.(*eeov1.CreateImportRequest); ok {
		if chunk, ok := decodeChunk(data); ok {
			req.Reset()
			req.Payload = &eeov1.CreateImportRequest_Chunk{Chunk: chunk}
			return nil
		}
	}
	return c.CodecV2.Unmarshal(data, v)
}

// decodeChunk returns the bytes of a message that is exactly one non-empty
// chunk field, in a pooled buffer; false for anything else.
func decodeChunk(data mem.BufferSlice) ([]byte, bool) {
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
	buf := chunkBuffer(int(n))
	if _, err := io.ReadFull(r, buf); err != nil {
		releaseChunk(buf)
		return nil, false
	}
	return buf, true
}

// Upload chunk buffers come in two sizes: up to 256 KiB (the REST facade's
// and client.Upload's chunks) and up to the receive limit (a 1 MiB chunk
// plus slack).
const smallChunkBytes = 256 << 10

var (
	smallChunks = sync.Pool{New: func() any { b := make([]byte, smallChunkBytes); return &b }}
	largeChunks = sync.Pool{New: func() any { b := make([]byte, maxRecvMessageBytes); return &b }}
)

// chunkBuffer returns a pooled buffer of length n (at most
// maxRecvMessageBytes).
func chunkBuffer(n int) []byte {
	pool := &largeChunks
	if n <= smallChunkBytes {
		pool = &smallChunks
	}
	return (*pool.Get().(*[]byte))[:n]
}

// releaseChunk returns a chunk's buffer to its pool once nothing refers to
// it any more. A chunk protobuf allocated (a message uploadCodec passed on)
// is simply left to the garbage collector.
func releaseChunk(chunk []byte) {
	switch cap(chunk) {
	case smallChunkBytes:
		b := chunk[:smallChunkBytes]
		smallChunks.Put(&b)
	case maxRecvMessageBytes:
		b := chunk[:maxRecvMessageBytes]
		largeChunks.Put(&b)
	}
}
