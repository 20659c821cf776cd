package server

import (
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// restJSON is the REST facade's JSON: grpc-gateway's default marshaler
// (JSONPb, unpopulated fields emitted, unknown fields discarded, inside
// HTTPBodyMarshaler for google.api.HttpBody responses), except that a
// message's bytes are protojson's own. JSONPb.Marshal writes them into a
// bytes.Buffer and returns that: a second allocation and copy of every
// response body.
func restJSON() runtime.Marshaler {
	return &runtime.HTTPBodyMarshaler{Marshaler: &directJSONPb{JSONPb: runtime.JSONPb{
		MarshalOptions:   protojson.MarshalOptions{EmitUnpopulated: true},
		UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: true},
	}}}
}

// directJSONPb is JSONPb with Marshal returning protojson's buffer for a
// message; anything else (never a message) is JSONPb's.
type directJSONPb struct {
	runtime.JSONPb
}

// Marshal implements runtime.Marshaler.
func (j *directJSONPb) Marshal(v any) ([]byte, error) {
	if m, ok := v.(proto.Message); ok {
		return j.MarshalOptions.Marshal(m)
	}
	return j.JSONPb.Marshal(v)
}
