package protojsonfast_test

import (
	"testing"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	_ "google.golang.org/protobuf/types/known/structpb" // struct.proto, for NullValue
)

// kindsProto3 has what the eeo.v1 API lacks but the encoder must get right
// or decline: every integer kind, an enum with an alias, a gap, negative
// and large numbers, custom JSON names (one that needs escaping), a
// recursive type, proto3 optional, a oneof, NullValue, bytes and floats.
const kindsProto3 = `
name: "protojsonfast/kinds.proto"
package: "protojsonfast.test"
syntax: "proto3"
dependency: "google/protobuf/timestamp.proto"
dependency: "google/protobuf/duration.proto"
dependency: "google/protobuf/struct.proto"
enum_type {
  name: "Sparse"
  options { allow_alias: true }
  value { name: "SPARSE_ZERO" number: 0 }
  value { name: "SPARSE_ALIAS" number: 0 }
  value { name: "SPARSE_GAP" number: 3 }
  value { name: "SPARSE_NEG" number: -5 }
  value { name: "SPARSE_BIG" number: 100000 }
}
message_type {
  name: "Flat"
  field { name: "a_bool" number: 1 type: TYPE_BOOL label: LABEL_OPTIONAL }
  field { name: "an_int32" number: 2 type: TYPE_INT32 label: LABEL_OPTIONAL }
  field { name: "a_sint32" number: 3 type: TYPE_SINT32 label: LABEL_OPTIONAL }
  field { name: "a_sfixed32" number: 4 type: TYPE_SFIXED32 label: LABEL_OPTIONAL }
  field { name: "a_uint32" number: 5 type: TYPE_UINT32 label: LABEL_OPTIONAL }
  field { name: "a_fixed32" number: 6 type: TYPE_FIXED32 label: LABEL_OPTIONAL }
  field { name: "an_int64" number: 7 type: TYPE_INT64 label: LABEL_OPTIONAL }
  field { name: "a_sint64" number: 8 type: TYPE_SINT64 label: LABEL_OPTIONAL }
  field { name: "a_sfixed64" number: 9 type: TYPE_SFIXED64 label: LABEL_OPTIONAL }
  field { name: "a_uint64" number: 10 type: TYPE_UINT64 label: LABEL_OPTIONAL }
  field { name: "a_fixed64" number: 11 type: TYPE_FIXED64 label: LABEL_OPTIONAL }
  field { name: "a_string" number: 12 type: TYPE_STRING label: LABEL_OPTIONAL json_name: "customName" }
  field { name: "sparse" number: 13 type: TYPE_ENUM label: LABEL_OPTIONAL type_name: ".protojsonfast.test.Sparse" }
  field { name: "declared_later" number: 14 type: TYPE_INT32 label: LABEL_OPTIONAL json_name: "évolué" }
}
message_type {
  name: "Holder"
  field { name: "flat" number: 3 type: TYPE_MESSAGE label: LABEL_OPTIONAL type_name: ".protojsonfast.test.Flat" }
  field { name: "at" number: 1 type: TYPE_MESSAGE label: LABEL_OPTIONAL type_name: ".google.protobuf.Timestamp" }
  field { name: "for" number: 2 type: TYPE_MESSAGE label: LABEL_OPTIONAL type_name: ".google.protobuf.Duration" }
}
message_type {
  name: "Tree"
  field { name: "name" number: 1 type: TYPE_STRING label: LABEL_OPTIONAL }
  field { name: "child" number: 2 type: TYPE_MESSAGE label: LABEL_OPTIONAL type_name: ".protojsonfast.test.Tree" }
}
message_type {
  name: "HasTree"
  field { name: "tree" number: 1 type: TYPE_MESSAGE label: LABEL_OPTIONAL type_name: ".protojsonfast.test.Tree" }
}
message_type {
  name: "Escaped"
  field { name: "x" number: 1 type: TYPE_INT32 label: LABEL_OPTIONAL json_name: "say \"x\"" }
}
message_type {
  name: "Optional"
  field { name: "x" number: 1 type: TYPE_INT32 label: LABEL_OPTIONAL proto3_optional: true oneof_index: 0 }
  oneof_decl { name: "_x" }
}
message_type {
  name: "Choice"
  field { name: "s" number: 1 type: TYPE_STRING label: LABEL_OPTIONAL oneof_index: 0 }
  field { name: "n" number: 2 type: TYPE_INT32 label: LABEL_OPTIONAL oneof_index: 0 }
  oneof_decl { name: "pick" }
}
message_type {
  name: "Nullish"
  field { name: "nothing" number: 1 type: TYPE_ENUM label: LABEL_OPTIONAL type_name: ".google.protobuf.NullValue" }
}
message_type {
  name: "Floats"
  field { name: "f" number: 1 type: TYPE_FLOAT label: LABEL_OPTIONAL }
  field { name: "d" number: 2 type: TYPE_DOUBLE label: LABEL_OPTIONAL }
  field { name: "raw" number: 3 type: TYPE_BYTES label: LABEL_OPTIONAL }
}
`

// kindsProto2 is a proto2 message: scalars have presence there (protojson
// writes null for an unset one), so the encoder declines the syntax.
const kindsProto2 = `
name: "protojsonfast/kinds2.proto"
package: "protojsonfast.test2"
syntax: "proto2"
message_type {
  name: "Legacy"
  field { name: "x" number: 1 type: TYPE_INT32 label: LABEL_OPTIONAL }
}
`

// kindTypes returns the test-only message types, as dynamic messages.
func kindTypes(t testing.TB) []protoreflect.MessageType {
	t.Helper()
	var types []protoreflect.MessageType
	for _, text := range []string{kindsProto3, kindsProto2} {
		fdp := &descriptorpb.FileDescriptorProto{}
		if err := prototext.Unmarshal([]byte(text), fdp); err != nil {
			t.Fatal(err)
		}
		fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
		if err != nil {
			t.Fatal(err)
		}
		for i := range fd.Messages().Len() {
			types = append(types, dynamicpb.NewMessageType(fd.Messages().Get(i)))
		}
	}
	return types
}

// kindType returns the test-only type with the given short name.
func kindType(t testing.TB, name protoreflect.Name) protoreflect.MessageType {
	t.Helper()
	for _, mt := range kindTypes(t) {
		if mt.Descriptor().Name() == name {
			return mt
		}
	}
	t.Fatalf("no test type %s", name)
	return nil
}
