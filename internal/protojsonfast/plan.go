package protojsonfast

import (
	"slices"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// plan is the compiled encoding of one message type: what protojson's
// reflection walk, field sort and per-field switches decide on every call,
// decided once.
type plan struct {
	// wellKnown is the message's special JSON mapping, if it has one; its
	// fields are then seconds and nanos rather than fields.
	wellKnown wellKnown
	seconds   protoreflect.FieldDescriptor
	nanos     protoreflect.FieldDescriptor

	// fields are the message's fields in declaration order, the order
	// protojson's order.IndexNameFieldOrder puts them in.
	fields []field
}

// field is how to write one field.
type field struct {
	fd   protoreflect.FieldDescriptor
	kind fieldKind
	// key is the field's JSON name, quoted, with the colon, and with the
	// comma before it for every field but the first.
	key string
	// enum holds the value names of an enum field.
	enum *enumNames
	// msg is the plan of a message field's type.
	msg *plan
}

// fieldKind groups the protobuf kinds by the JSON protojson writes for them.
type fieldKind uint8

const (
	kindBool    fieldKind = iota
	kindInt32             // int32, sint32, sfixed32: a JSON number
	kindUint32            // uint32, fixed32: a JSON number
	kindInt64             // int64, sint64, sfixed64: a quoted decimal
	kindUint64            // uint64, fixed64: a quoted decimal
	kindString            // string: quoted, verbatim when nothing needs escaping
	kindEnum              // enum: the value's name quoted, else its number
	kindMessage           // singular message: its JSON, or null when unset
)

// googleProtobuf prefixes the well-known types, whose JSON mappings are
// protojson's own: only Timestamp and Duration are reproduced here.
const googleProtobuf = "google.protobuf."

// compile returns md's plan, compiling it and the plans of the messages it
// contains unless cached; nil means unsupported. visiting holds the
// messages being compiled further up, so that a recursive type, whose
// encoder would need a plan that does not exist yet, is declined rather than
// looped on. Declining every message on the cycle is right: each of them
// contains a recursive type.
func (e *Encoder) compile(md protoreflect.MessageDescriptor, visiting []protoreflect.MessageDescriptor) *plan {
	if p, ok := e.plans.Load(md); ok {
		return p.(*plan)
	}
	if slices.Contains(visiting, md) {
		return nil
	}
	p := e.build(md, append(visiting, md))
	// Another goroutine may have compiled md meanwhile; both plans are
	// equal, keep the first so every caller shares one.
	got, _ := e.plans.LoadOrStore(md, p)
	return got.(*plan)
}

// build compiles md, or returns nil if protojson's JSON for it is outside
// what this package reproduces.
func (e *Encoder) build(md protoreflect.MessageDescriptor, visiting []protoreflect.MessageDescriptor) *plan {
	if wk := wellKnownOf(md.FullName()); wk != notWellKnown {
		return buildWellKnown(md, wk)
	}
	if strings.HasPrefix(string(md.FullName()), googleProtobuf) {
		return nil // Any, Struct, Value, the wrappers, FieldMask, Empty...
	}
	// proto2 and editions bring presence for scalars (null when unset),
	// defaults, required fields and groups; none of our API uses them.
	if md.ParentFile() == nil || md.ParentFile().Syntax() != protoreflect.Proto3 {
		return nil
	}
	if md.ExtensionRanges().Len() > 0 || md.IsMapEntry() {
		return nil
	}
	fds := md.Fields()
	p := &plan{fields: make([]field, 0, fds.Len())}
	for i := range fds.Len() {
		f, ok := e.buildField(fds.Get(i), visiting)
		if !ok {
			return nil
		}
		f.key = quotedKey(fds.Get(i), i > 0)
		if f.key == "" {
			return nil
		}
		p.fields = append(p.fields, f)
	}
	return p
}

// buildField compiles one field, reporting false for the kinds and
// cardinalities left to protojson.
func (e *Encoder) buildField(fd protoreflect.FieldDescriptor, visiting []protoreflect.MessageDescriptor) (field, bool) {
	// Oneof members (proto3 optional included, as a synthetic oneof) are
	// omitted when unset rather than written as defaults; lists and maps
	// have their own shapes.
	if fd.IsList() || fd.IsMap() || fd.IsExtension() || fd.ContainingOneof() != nil {
		return field{}, false
	}
	f := field{fd: fd}
	switch fd.Kind() {
	case protoreflect.BoolKind:
		f.kind = kindBool
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		f.kind = kindInt32
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		f.kind = kindUint32
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		f.kind = kindInt64
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		f.kind = kindUint64
	case protoreflect.StringKind:
		f.kind = kindString
	case protoreflect.EnumKind:
		// NullValue is written as null whatever its number.
		if fd.Enum().FullName() == nullValue {
			return field{}, false
		}
		f.kind, f.enum = kindEnum, newEnumNames(fd.Enum())
	case protoreflect.MessageKind:
		f.kind, f.msg = kindMessage, e.compile(fd.Message(), visiting)
		if f.msg == nil {
			return field{}, false
		}
	default:
		// bytes (base64), float and double (shortest round-trip, NaN and
		// the infinities as strings), groups.
		return field{}, false
	}
	return f, true
}

// nullValue is google.protobuf.NullValue, the one enum protojson writes as
// JSON null.
const nullValue protoreflect.FullName = "google.protobuf.NullValue"

// quotedKey renders fd's JSON name as protojson writes it between fields,
// or returns "" if the name would need escaping (a custom json_name), which
// is left to protojson.
func quotedKey(fd protoreflect.FieldDescriptor, comma bool) string {
	name := fd.JSONName()
	if !verbatim(name) {
		return ""
	}
	key := `"` + name + `":`
	if comma {
		key = "," + key
	}
	return key
}
