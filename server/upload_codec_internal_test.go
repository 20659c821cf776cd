package server

import (
	"bytes"
	"testing"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// transferCodec decodes every message as protobuf does, chunks into pooled
// buffers, however the message is split into frames.
func TestUploadCodecDecodesAsProtobuf(t *testing.T) {
	chunk := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i * 7)
		}
		return b
	}
	msgs := map[string][]byte{}
	for _, n := range []int{1, 127, 128, 16 << 10, smallChunkBytes, smallChunkBytes + 1, 1 << 20, maxRecvMessageBytes - 8} {
		b, _ := proto.Marshal(&eeov1.CreateImportRequest{Payload: &eeov1.CreateImportRequest_Chunk{Chunk: chunk(n)}})
		msgs["chunk of "+string(rune('0'+len(msgs)))] = b
	}
	md, _ := proto.Marshal(&eeov1.CreateImportRequest{Payload: &eeov1.CreateImportRequest_Metadata{Metadata: &eeov1.ImportMetadata{Account: "demo", FileName: "f.csv"}}})
	msgs["metadata"] = md
	empty, _ := proto.Marshal(&eeov1.CreateImportRequest{Payload: &eeov1.CreateImportRequest_Chunk{Chunk: []byte{}}})
	msgs["empty chunk"] = empty
	withUnknown := protowire.AppendBytes(protowire.AppendTag(bytes.Clone(msgs["chunk of 0"]), 9, protowire.BytesType), []byte("x"))
	msgs["chunk and an unknown field"] = withUnknown
	twoChunks := append(bytes.Clone(msgs["chunk of 0"]), msgs["chunk of 1"]...)
	msgs["two chunk fields"] = twoChunks

	codec := newTransferCodec(newChunkPools())
	for name, b := range msgs {
		want := new(eeov1.CreateImportRequest)
		if err := proto.Unmarshal(b, want); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, frame := range []int{1, 3, 16 << 10, len(b)} {
			if frame < 16 && len(b) > 4<<10 {
				continue // byte by byte is slow under -race and proves nothing more
			}
			got := new(eeov1.CreateImportRequest)
			if err := codec.Unmarshal(testkit.Frames(b, frame), got); err != nil {
				t.Fatalf("%s in %d-byte frames: %v", name, frame, err)
			}
			if !proto.Equal(got, want) {
				t.Fatalf("%s in %d-byte frames: decoded differently from protobuf", name, frame)
			}
		}
	}

	// A plain chunk lands in a pooled buffer; what is not one is protobuf's.
	got := new(eeov1.CreateImportRequest)
	codec.Unmarshal(testkit.Frames(msgs["chunk of 4"], 16<<10), got)
	if c := cap(got.GetChunk()); c != smallChunkBytes {
		t.Errorf("a 256 KiB chunk decoded into a buffer of capacity %d, want the pooled %d", c, smallChunkBytes)
	}
}

// Malformed input is protobuf's to refuse, as without transferCodec.
func TestUploadCodecMalformed(t *testing.T) {
	codec := newTransferCodec(newChunkPools())
	for name, b := range map[string][]byte{
		"length past the end": {chunkTag, 10, 1, 2},
		"unterminated varint": {chunkTag, 0x80, 0x80},
		"length short of end": {chunkTag, 1, 1, 2},
		"tag alone":           {chunkTag},
		"varint over 64 bits": append([]byte{chunkTag}, bytes.Repeat([]byte{0xff}, 11)...),
	} {
		wantErr := proto.Unmarshal(b, new(eeov1.CreateImportRequest)) != nil
		gotErr := codec.Unmarshal(testkit.Frames(b, 2), new(eeov1.CreateImportRequest)) != nil
		if gotErr != wantErr {
			t.Errorf("%s: error %v, protobuf's %v", name, gotErr, wantErr)
		}
	}
}

// Decoding a chunk allocates nothing for its bytes once the pool is warm.
func BenchmarkUploadCodecChunk(b *testing.B) {
	msg, _ := proto.Marshal(&eeov1.CreateImportRequest{Payload: &eeov1.CreateImportRequest_Chunk{Chunk: make([]byte, 1<<20)}})
	data := testkit.Frames(msg, 16<<10)
	codec := newTransferCodec(newChunkPools())
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		req := new(eeov1.CreateImportRequest)
		if err := codec.Unmarshal(data, req); err != nil {
			b.Fatal(err)
		}
		codec.chunks.release(req.GetChunk())
	}
}

// The REST facade's side of the codec encodes every upload message as
// protobuf does, a plain chunk into a pooled buffer of its own size (not
// one of grpc-go's 1 MiB ones) that goes back to the pool once sent.
func TestUploadCodecEncodesAsProtobuf(t *testing.T) {
	pools := newChunkPools()
	codec := newTransferCodec(pools)
	data := bytes.Repeat([]byte("0123456789abcdef"), uploadChunk/16)
	withUnknown := &eeov1.CreateImportRequest{Payload: &eeov1.CreateImportRequest_Chunk{Chunk: data[:4096]}}
	withUnknown.ProtoReflect().SetUnknown(protowire.AppendBytes(protowire.AppendTag(nil, 9, protowire.BytesType), []byte("x")))
	for name, req := range map[string]*eeov1.CreateImportRequest{
		"256 KiB chunk":              {Payload: &eeov1.CreateImportRequest_Chunk{Chunk: data}},
		"small chunk":                {Payload: &eeov1.CreateImportRequest_Chunk{Chunk: data[:100]}},
		"4 KiB chunk":                {Payload: &eeov1.CreateImportRequest_Chunk{Chunk: data[:4096]}},
		"empty chunk":                {Payload: &eeov1.CreateImportRequest_Chunk{Chunk: []byte{}}},
		"metadata":                   {Payload: &eeov1.CreateImportRequest_Metadata{Metadata: &eeov1.ImportMetadata{Account: "demo", FileName: "f.csv"}}},
		"chunk and an unknown field": withUnknown,
	} {
		want, err := proto.Marshal(req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out, err := codec.Marshal(req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := out.Materialize(); !bytes.Equal(got, want) {
			t.Errorf("%s: encoded %d bytes unlike protobuf's %d", name, len(got), len(want))
		}
		out.Free()
	}

	// The encoded chunk sits in a pooled buffer that Free returns: the next
	// get reuses it (sync.Pool drops some Puts under -race, so a few tries).
	for range 100 {
		out, _ := codec.Marshal(&eeov1.CreateImportRequest{Payload: &eeov1.CreateImportRequest_Chunk{Chunk: data}})
		if n := len(out); n != 2 || cap(out[1].ReadOnlyData()) != smallChunkBytes {
			t.Fatalf("a 256 KiB chunk encoded as %d buffers, want a header and one pooled %d-byte chunk buffer", n, smallChunkBytes)
		}
		sent := &out[1].ReadOnlyData()[0]
		out.Free()
		b := pools.get(uploadChunk)
		if &b[0] == sent {
			return
		}
		pools.release(b)
	}
	t.Error("a sent chunk's buffer never went back to the pool")
}
