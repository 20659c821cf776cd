package protojsonfast_test

import (
	"testing"

	"github.com/eeo-gateway/eeo-gateway/internal/protojsonfast"
	"google.golang.org/protobuf/encoding/protojson"
)

// BenchmarkAppendGetTokenResponse is the encoder on the REST facade's
// hottest response, into a reused buffer.
func BenchmarkAppendGetTokenResponse(b *testing.B) {
	enc := &protojsonfast.Encoder{}
	resp := tokenResponse()
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		var ok bool
		if buf, ok = enc.Append(buf[:0], resp); !ok {
			b.Fatal("declined")
		}
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkProtojsonGetTokenResponse is what the facade paid before: the
// same response through protojson.
func BenchmarkProtojsonGetTokenResponse(b *testing.B) {
	opts := protojson.MarshalOptions{EmitUnpopulated: true}
	resp := tokenResponse()
	var n int
	b.ReportAllocs()
	for b.Loop() {
		out, err := opts.Marshal(resp)
		if err != nil {
			b.Fatal(err)
		}
		n = len(out)
	}
	b.SetBytes(int64(n))
}
