package protojsonfast

import "google.golang.org/protobuf/reflect/protoreflect"

// enumNames maps an enum's numbers to the quoted names protojson writes for
// them: for an aliased number, the first value declared with it, which is
// what EnumValueDescriptors.ByNumber returns.
type enumNames struct {
	// dense serves the usual enum, numbered from zero without gaps, with
	// an index instead of a map lookup; "" marks a gap.
	dense []string
	// sparse holds the numbers outside dense's range.
	sparse map[protoreflect.EnumNumber]string
}

// denseLimit bounds dense so that an enum with one huge number does not
// get a huge slice.
const denseLimit = 256

// newEnumNames compiles ed's names.
func newEnumNames(ed protoreflect.EnumDescriptor) *enumNames {
	vals := ed.Values()
	n := &enumNames{}
	for i := range vals.Len() {
		num := vals.Get(i).Number()
		name := `"` + string(vals.ByNumber(num).Name()) + `"`
		if num >= 0 && num < denseLimit {
			for int(num) >= len(n.dense) {
				n.dense = append(n.dense, "")
			}
			n.dense[num] = name
			continue
		}
		if n.sparse == nil {
			n.sparse = make(map[protoreflect.EnumNumber]string)
		}
		n.sparse[num] = name
	}
	return n
}

// lookup returns num's quoted name, or false for a number the enum does
// not declare (which protojson writes as a bare number).
func (n *enumNames) lookup(num protoreflect.EnumNumber) (string, bool) {
	if num >= 0 && int(num) < len(n.dense) {
		name := n.dense[num]
		return name, name != ""
	}
	name, ok := n.sparse[num]
	return name, ok
}
