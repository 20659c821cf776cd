package protojsonfast_test

import (
	"cmp"
	"slices"
	"testing"
	"time"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// apiMessageTypes returns every message type of the eeo.v1 package, nested
// ones included, and Timestamp and Duration, sorted by name: whatever proto
// file is added to the package is covered without editing the tests.
func apiMessageTypes(t testing.TB) []protoreflect.MessageType {
	t.Helper()
	var mds []protoreflect.MessageDescriptor
	var walk func(protoreflect.MessageDescriptors)
	walk = func(ms protoreflect.MessageDescriptors) {
		for i := range ms.Len() {
			md := ms.Get(i)
			if !md.IsMapEntry() {
				mds = append(mds, md)
			}
			walk(md.Messages())
		}
	}
	pkg := eeov1.File_eeo_v1_token_service_proto.Package()
	protoregistry.GlobalFiles.RangeFilesByPackage(pkg, func(fd protoreflect.FileDescriptor) bool {
		walk(fd.Messages())
		return true
	})
	mds = append(mds, (&timestamppb.Timestamp{}).ProtoReflect().Descriptor(), (&durationpb.Duration{}).ProtoReflect().Descriptor())
	slices.SortFunc(mds, func(a, b protoreflect.MessageDescriptor) int { return cmp.Compare(a.FullName(), b.FullName()) })

	types := make([]protoreflect.MessageType, 0, len(mds))
	for _, md := range mds {
		mt, err := protoregistry.GlobalTypes.FindMessageByName(md.FullName())
		if err != nil {
			t.Fatalf("%s has no registered Go type: %v", md.FullName(), err)
		}
		types = append(types, mt)
	}
	if len(types) < 20 {
		t.Fatalf("found only %d message types in %s; the file walk is broken", len(types), pkg)
	}
	return types
}

// tokenResponse is a GetTokenResponse as the gateway returns it: every
// field set, timestamps with sub-second parts.
func tokenResponse() *eeov1.GetTokenResponse {
	issued := time.Date(2026, 11, 30, 10, 15, 42, 123456789, time.UTC)
	return &eeov1.GetTokenResponse{Token: &eeov1.Token{
		Account:        "demo",
		AccessToken:    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJkZW1vIiwiZXhwIjoxNzk2MDM0NTQyfQ.c2lnbmF0dXJlLWJ5dGVzLWhlcmU",
		TokenType:      "Bearer",
		IssueTime:      timestamppb.New(issued),
		IdleExpireTime: timestamppb.New(issued.Add(3599 * time.Second)),
		ExpireTime:     timestamppb.New(issued.Add(59 * time.Minute).Truncate(time.Millisecond)),
		IdleTimeout:    durationpb.New(3599 * time.Second),
		Fingerprint:    "9f86d081884c7d65",
	}}
}
