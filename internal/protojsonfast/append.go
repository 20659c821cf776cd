package protojsonfast

import (
	"strconv"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// append writes m by p. On false, b may hold part of m; Append drops it.
func (p *plan) append(b []byte, m protoreflect.Message) ([]byte, bool) {
	switch p.wellKnown {
	case timestamp:
		return appendTimestamp(b, m.Get(p.seconds).Int(), m.Get(p.nanos).Int())
	case duration:
		return appendDuration(b, m.Get(p.seconds).Int(), m.Get(p.nanos).Int())
	}
	b = append(b, '{')
	for i := range p.fields {
		f := &p.fields[i]
		b = append(b, f.key...)
		ok := true
		switch f.kind {
		case kindBool:
			b = strconv.AppendBool(b, m.Get(f.fd).Bool())
		case kindInt32:
			b = strconv.AppendInt(b, m.Get(f.fd).Int(), 10)
		case kindUint32:
			b = strconv.AppendUint(b, m.Get(f.fd).Uint(), 10)
		case kindInt64:
			// Quoted because JSON numbers lose precision past 2^53.
			b = append(strconv.AppendInt(append(b, '"'), m.Get(f.fd).Int(), 10), '"')
		case kindUint64:
			b = append(strconv.AppendUint(append(b, '"'), m.Get(f.fd).Uint(), 10), '"')
		case kindString:
			b, ok = appendString(b, m.Get(f.fd).String())
		case kindEnum:
			num := m.Get(f.fd).Enum()
			if name, known := f.enum.lookup(num); known {
				b = append(b, name...)
			} else {
				b = strconv.AppendInt(b, int64(num), 10)
			}
		case kindMessage:
			// EmitUnpopulated writes an unset message field as null; a set
			// one, even empty, as its object.
			if !m.Has(f.fd) {
				b = append(b, "null"...)
			} else {
				b, ok = f.msg.append(b, m.Get(f.fd).Message())
			}
		}
		if !ok {
			return b, false
		}
	}
	return append(b, '}'), true
}
