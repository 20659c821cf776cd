package protojsonfast

import (
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Encoder appends protojson's output (EmitUnpopulated, compact) for the
// messages it supports. Its zero value is ready to use and it is safe for
// concurrent use; it must not be copied after first use. It compiles a plan
// once per message descriptor and keeps it, so an Encoder should live as
// long as the marshaler that owns it.
type Encoder struct {
	// plans maps a protoreflect.MessageDescriptor to its *plan, or to nil
	// when the message is unsupported, so that declining is as cheap as
	// encoding. A sync.Map because the set of descriptors stops growing
	// after the first call of each RPC and is read-mostly from then on.
	plans sync.Map
}

// Append appends m's JSON to b and reports true, or returns b unchanged and
// false when m's type is unsupported or one of its values is one protojson
// would escape or reject: the caller must then marshal m with protojson.
// A nil message or a typed nil is declined too, since protojson has its own
// answers for those.
//
// Append allocates nothing once m's plan is compiled, provided b has the
// capacity for the output.
func (e *Encoder) Append(b []byte, m proto.Message) ([]byte, bool) {
	if m == nil {
		return b, false
	}
	r := m.ProtoReflect()
	if !r.IsValid() {
		return b, false
	}
	p := e.plan(r.Descriptor())
	if p == nil {
		return b, false
	}
	out, ok := p.append(b, r)
	if !ok {
		return b, false
	}
	return out, true
}

// Supports reports whether messages of type md are on the fast path, that
// is whether Append encodes them whenever their values allow it.
func (e *Encoder) Supports(md protoreflect.MessageDescriptor) bool {
	return e.plan(md) != nil
}

// plan returns md's plan, compiling and caching it (and those of the
// messages it contains) on first sight; nil means unsupported.
func (e *Encoder) plan(md protoreflect.MessageDescriptor) *plan {
	if p, ok := e.plans.Load(md); ok {
		return p.(*plan)
	}
	return e.compile(md, nil)
}
