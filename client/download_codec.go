package client

import (
	"encoding/binary"

	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// grpc-go's proto codec receives a DownloadReport message of 256 KiB as
// the 16 KiB frames it arrived in, copies them into one buffer from its
// pool (clearing it first), and protobuf then copies the data field again
// into a fresh allocation: a gigabyte of garbage per gigabyte downloaded.
// In a CPU profile of 1 GiB downloads that decoding, with the garbage
// collection it caused, was a fifth of the client's CPU, as much as the
// rest of the receive path. downloadCodec decodes the message straight from
// the frames, copying the data once, into a buffer it reuses from one
// message to the next; Download hashes and writes each message before it
// receives the next, so the reuse is safe there and only there.

// downloadCodec is the codec of one Download call: grpc-go's proto codec,
// with HttpBody messages decoded by decodeHTTPBody into buf.
type downloadCodec struct {
	encoding.CodecV2
	buf []byte
}

func newDownloadCodec() *downloadCodec {
	return &downloadCodec{CodecV2: encoding.GetCodecV2(grpcproto.Name)}
}

// Unmarshal implements encoding.CodecV2. An HttpBody's Data is valid only
// until the next Unmarshal.
func (c *downloadCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if m, ok := v.(*httpbody.HttpBody); ok {
		if err, ok := c.decodeHTTPBody(data, m); ok {
			return err
		}
	}
	return c.CodecV2.Unmarshal(data, v)
}

// httpBodyData is HttpBody's data field.
const httpBodyData protowire.Number = 2

// decodeHTTPBody decodes data into m as proto.Unmarshal would, with m.Data
// in c.buf; false (and m untouched) for input it does not take apart
// itself — groups, malformed fields — which the proto codec then decodes
// (or refuses) as usual. Every field but data goes through proto.Unmarshal,
// in the order it came, so content_type, extensions and unknown fields
// come out exactly as protobuf decodes them; of several data fields the
// last one wins, as for any non-repeated protobuf field.
func (c *downloadCodec) decodeHTTPBody(data mem.BufferSlice, m *httpbody.HttpBody) (error, bool) {
	total := data.Len()
	r := data.Reader()
	defer r.Close()
	var others []span // every field but data, tag included
	dataAt, dataLen := -1, 0
	for r.Remaining() > 0 {
		start := total - r.Remaining()
		tag, err := binary.ReadUvarint(r)
		if err != nil {
			return nil, false
		}
		num, typ := protowire.DecodeTag(tag)
		if num < protowire.MinValidNumber || num > protowire.MaxValidNumber {
			return nil, false
		}
		var skip uint64
		switch typ {
		case protowire.VarintType:
			if _, err := binary.ReadUvarint(r); err != nil {
				return nil, false
			}
		case protowire.Fixed32Type:
			skip = 4
		case protowire.Fixed64Type:
			skip = 8
		case protowire.BytesType:
			if skip, err = binary.ReadUvarint(r); err != nil {
				return nil, false
			}
		default: // groups, and wire types protobuf refuses
			return nil, false
		}
		if skip > uint64(r.Remaining()) {
			return nil, false
		}
		if num == httpBodyData && typ == protowire.BytesType {
			dataAt, dataLen = total-r.Remaining(), int(skip)
		}
		if _, err := r.Discard(int(skip)); err != nil {
			return nil, false
		}
		if num != httpBodyData || typ != protowire.BytesType {
			others = append(others, span{start, total - r.Remaining()})
		}
	}
	m.Reset()
	if len(others) > 0 {
		var rest []byte
		for _, s := range others {
			rest = appendSpan(rest, data, s)
		}
		if err := proto.Unmarshal(rest, m); err != nil {
			return err, true // what the proto codec returns
		}
	}
	if dataAt >= 0 {
		if cap(c.buf) < dataLen {
			c.buf = make([]byte, dataLen)
		}
		m.Data = appendSpan(c.buf[:0], data, span{dataAt, dataAt + dataLen})
	}
	return nil, true
}

// span is the bytes [from, to) of a message.
type span struct{ from, to int }

// appendSpan appends the bytes s of data to dst.
func appendSpan(dst []byte, data mem.BufferSlice, s span) []byte {
	off := 0
	for _, b := range data {
		p := b.ReadOnlyData()
		lo, hi := max(s.from-off, 0), min(s.to-off, len(p))
		if lo < hi {
			dst = append(dst, p[lo:hi]...)
		}
		off += len(p)
		if off >= s.to {
			break
		}
	}
	return dst
}

// DownloadCallOption is a grpc.CallOption for a DownloadReport call made
// with the generated stub instead of Download (which uses it): the
// messages are decoded without grpc-go's and protobuf's extra copies, and
// each message's Data is in one buffer reused for the next, so it is valid
// only until the next Recv: write or copy it before then. Make a new option
// for every call.
func DownloadCallOption() grpc.CallOption { return grpc.ForceCodecV2(newDownloadCodec()) }
