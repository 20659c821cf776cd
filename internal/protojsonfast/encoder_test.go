package protojsonfast_test

import (
	"bytes"
	"encoding/json"
	"sync"
	"testing"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/protojsonfast"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// TestAppendDeclinesWhatItDoesNotReproduce: every message whose JSON
// protojson shapes in a way the encoder leaves alone comes back declined
// with the buffer untouched, even when its values are simple.
func TestAppendDeclinesWhatItDoesNotReproduce(t *testing.T) {
	enc := &protojsonfast.Encoder{}
	cases := map[string]proto.Message{
		"nil message":               nil,
		"typed nil":                 (*eeov1.Token)(nil),
		"Any":                       &anypb.Any{},
		"Struct":                    &structpb.Struct{},
		"Value":                     structpb.NewStringValue("x"),
		"wrapper":                   wrapperspb.String("x"),
		"Empty":                     &emptypb.Empty{},
		"FieldMask":                 &fieldmaskpb.FieldMask{},
		"proto2 descriptor":         &descriptorpb.DescriptorProto{},
		"repeated field":            &eeov1.ListAccountsResponse{},
		"map field":                 &eeov1.CreateReportRequest{},
		"recursive type":            kindType(t, "Tree").New().Interface(),
		"contains a recursive type": kindType(t, "HasTree").New().Interface(),
		"proto3 optional":           kindType(t, "Optional").New().Interface(),
		"oneof":                     kindType(t, "Choice").New().Interface(),
		"float, double, bytes":      kindType(t, "Floats").New().Interface(),
		"NullValue":                 kindType(t, "Nullish").New().Interface(),
		"json_name needs escaping":  kindType(t, "Escaped").New().Interface(),
		"proto2 syntax":             kindType(t, "Legacy").New().Interface(),
		"string needing escape":     &eeov1.GetTokenResponse{Token: &eeov1.Token{Account: "line\nbreak"}},
		"invalid UTF-8":             &eeov1.Token{AccessToken: "\xff"},
		"timestamp out of range":    &eeov1.Token{IssueTime: &timestamppb.Timestamp{Seconds: 253402300800}},
		"duration signs disagree":   &eeov1.Token{IdleTimeout: &durationpb.Duration{Seconds: 1, Nanos: -1}},
	}
	for name, m := range cases {
		t.Run(name, func(t *testing.T) {
			buf := []byte("kept")
			got, ok := enc.Append(buf, m)
			if ok || string(got) != "kept" {
				t.Fatalf("Append = %q, %v; want the buffer back and false", got, ok)
			}
		})
	}
}

// TestAppendAllocatesNothing: with a buffer that has room, encoding a
// GetTokenResponse costs no allocation, which is the point of the package.
func TestAppendAllocatesNothing(t *testing.T) {
	enc := &protojsonfast.Encoder{}
	resp := tokenResponse()
	buf := make([]byte, 0, 512)
	if _, ok := enc.Append(buf, resp); !ok {
		t.Fatal("GetTokenResponse declined")
	}
	allocs := testing.AllocsPerRun(100, func() {
		buf, _ = enc.Append(buf[:0], resp)
	})
	if allocs != 0 {
		t.Fatalf("Append allocates %v times per GetTokenResponse; want 0", allocs)
	}
}

// TestConcurrentFirstUse: goroutines racing to compile the same plans all
// get protojson's bytes (and the race detector sees no unsynchronised
// access).
func TestConcurrentFirstUse(t *testing.T) {
	enc := &protojsonfast.Encoder{}
	resp := tokenResponse()
	want := compactProtojson(t, resp)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			got, ok := enc.Append(nil, resp)
			if !ok || !bytes.Equal(got, want) {
				t.Errorf("Append = %s, %v; want %s", got, ok, want)
			}
		})
	}
	wg.Wait()
}

// compactProtojson is protojson's EmitUnpopulated output without the
// spaces it inserts at random.
func compactProtojson(t testing.TB, m proto.Message) []byte {
	t.Helper()
	raw, err := protojson.MarshalOptions{EmitUnpopulated: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
