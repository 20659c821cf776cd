package protojsonfast_test

import (
	"strings"
	"testing"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/protojsonfast"
	"google.golang.org/protobuf/proto"
)

// TestFastPathResponses lists which of the API's responses the REST facade
// encodes itself, and fails if the token responses ever leave that list:
// GetToken's REST latency target depends on it, and a proto change (a
// repeated, optional, bytes or oneof field in Token, say) would otherwise
// move it back onto protojson without a word.
func TestFastPathResponses(t *testing.T) {
	enc := &protojsonfast.Encoder{}
	for _, mt := range apiMessageTypes(t) {
		md := mt.Descriptor()
		if strings.HasSuffix(string(md.Name()), "Response") {
			t.Logf("fast path %-5v %s", enc.Supports(md), md.FullName())
		}
	}
	for _, m := range []proto.Message{&eeov1.GetTokenResponse{}, &eeov1.Token{}, &eeov1.RefreshTokenResponse{}, &eeov1.InvalidateTokenResponse{}} {
		if md := m.ProtoReflect().Descriptor(); !enc.Supports(md) {
			t.Errorf("%s is no longer on the JSON fast path: REST calls returning it fall back to protojson (see the package doc for the supported fields)", md.FullName())
		}
	}
	// A realistic token, not just its type, must encode.
	if _, ok := enc.Append(nil, tokenResponse()); !ok {
		t.Errorf("a populated GetTokenResponse is declined")
	}
}
