package server

import (
	"github.com/eeo-gateway/eeo-gateway/internal/protojsonfast"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// restJSON is the REST facade's JSON: grpc-gateway's default marshaler
// (JSONPb, unpopulated fields emitted, unknown fields discarded, inside
// HTTPBodyMarshaler for google.api.HttpBody responses), except that a
// message's bytes come straight from protojsonfast, or from protojson for
// the messages it declines. JSONPb.Marshal writes them into a bytes.Buffer
// and returns that: a second allocation and copy of every response body.
func restJSON() runtime.Marshaler {
	return &runtime.HTTPBodyMarshaler{Marshaler: &directJSONPb{
		JSONPb: runtime.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{EmitUnpopulated: true},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: true},
		},
		fast: &protojsonfast.Encoder{},
	}}
}

// directJSONPb is JSONPb with Marshal writing a message itself; anything
// else (never a message) is JSONPb's.
type directJSONPb struct {
	runtime.JSONPb
	// fast writes the messages it supports (GetToken's response among
	// them) with one allocation, against protojson's 27; its bytes
	// are protojson's less the spaces protojson adds at random.
	fast *protojsonfast.Encoder
}

// restBodyCap is the buffer a response starts with: room for a token
// response (about 400 bytes), so that it is the call's only allocation
// for the body.
const restBodyCap = 512

// Marshal implements runtime.Marshaler.
func (j *directJSONPb) Marshal(v any) ([]byte, error) {
	if m, ok := v.(proto.Message); ok {
		b, ok := j.fast.Append(make([]byte, 0, restBodyCap), m)
		if ok {
			return b, nil
		}
		// Declined: protojson writes into the same buffer, so the
		// allocation is not wasted.
		return j.MarshalOptions.MarshalAppend(b, m)
	}
	return j.JSONPb.Marshal(v)
}
