package protojsonfast_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/internal/protojsonfast"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// FuzzAppendMatchesProtojson builds one message of every eeo.v1 type (and
// Timestamp and Duration), each from the whole fuzz input, and holds Append to
// protojson: when it accepts, its bytes are protojson's compacted; when
// protojson fails, it declined. The seed corpus runs as a normal test.
func FuzzAppendMatchesProtojson(f *testing.F) {
	types := append(apiMessageTypes(f), kindTypes(f)...)
	for _, seed := range seeds() {
		f.Add(seed)
	}
	enc := &protojsonfast.Encoder{} // shared: plans are compiled once, as in the server
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, mt := range types {
			m := mt.New()
			fill(m, newSource(data), 0)
			checkMatchesProtojson(t, enc, m.Interface())
		}
	})
}

// seeds is the corpus the fuzz test runs as a normal test: a few
// hand-made inputs and enough pseudo-random ones (from a fixed seed, so
// every run checks the same messages) that each supported type is encoded
// and declined many times; TestSeedsReachBothPaths holds it to that.
func seeds() [][]byte {
	out := [][]byte{{}, bytes.Repeat([]byte{0}, 64), bytes.Repeat([]byte{0xff}, 256)}
	rng := rand.New(rand.NewPCG(13, 3))
	for range 200 {
		b := make([]byte, 512)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		out = append(out, b)
	}
	return out
}

// TestSeedsReachBothPaths keeps the fuzz test's seed run meaningful: for
// every type the encoder supports, the seeds must build messages it encodes
// (so their bytes are compared with protojson's) and messages it declines.
func TestSeedsReachBothPaths(t *testing.T) {
	types := append(apiMessageTypes(t), kindTypes(t)...)
	enc := &protojsonfast.Encoder{}
	encoded := make([]int, len(types))
	declined := make([]int, len(types))
	for _, seed := range seeds() {
		for i, mt := range types {
			m := mt.New()
			fill(m, newSource(seed), 0)
			if _, ok := enc.Append(nil, m.Interface()); ok {
				encoded[i]++
			} else {
				declined[i]++
			}
		}
	}
	supported := 0
	for i, mt := range types {
		md := mt.Descriptor()
		if !enc.Supports(md) {
			continue
		}
		supported++
		if encoded[i] < 5 || (declined[i] < 5 && declinable(md)) {
			t.Errorf("%s: the seeds encode %d and decline %d messages; want at least 5 of each", md.FullName(), encoded[i], declined[i])
		}
	}
	if supported < 5 {
		t.Errorf("only %d types supported", supported)
	}
}

// declinable reports whether some value of an md message makes the encoder
// decline: one of its strings, timestamps or durations, in it or nested.
func declinable(md protoreflect.MessageDescriptor) bool {
	if md.FullName() == "google.protobuf.Timestamp" || md.FullName() == "google.protobuf.Duration" {
		return true
	}
	for i := range md.Fields().Len() {
		fd := md.Fields().Get(i)
		if fd.Kind() == protoreflect.StringKind || (fd.Message() != nil && declinable(fd.Message())) {
			return true
		}
	}
	return false
}

// checkMatchesProtojson is the differential assertion.
func checkMatchesProtojson(t *testing.T, enc *protojsonfast.Encoder, m proto.Message) {
	t.Helper()
	prefix := []byte("prefix:")
	got, ok := enc.Append(prefix[:len(prefix):len(prefix)], m)
	if !bytes.HasPrefix(got, prefix) {
		t.Fatalf("%s: Append did not keep the bytes it was given: %q", m.ProtoReflect().Descriptor().FullName(), got)
	}
	want, err := protojson.MarshalOptions{EmitUnpopulated: true}.Marshal(m)
	if err != nil {
		if ok {
			t.Fatalf("%s: protojson fails (%v) but Append wrote %s", m.ProtoReflect().Descriptor().FullName(), err, got[len(prefix):])
		}
		return
	}
	if !ok {
		if len(got) != len(prefix) {
			t.Fatalf("%s: Append declined but grew the buffer to %q", m.ProtoReflect().Descriptor().FullName(), got)
		}
		return
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, want); err != nil {
		t.Fatalf("protojson wrote invalid JSON %s: %v", want, err)
	}
	if !bytes.Equal(got[len(prefix):], compact.Bytes()) {
		t.Fatalf("%s:\nAppend    %s\nprotojson %s", m.ProtoReflect().Descriptor().FullName(), got[len(prefix):], compact.Bytes())
	}
}

// source hands out fuzz bytes, then zeros once they run out, so that any
// input builds a message.
type source struct {
	data []byte
	// tame inputs (odd first byte) draw only values protojson writes
	// verbatim and accepts, so that messages with many strings and
	// timestamps reach the fast path too, not only the decline.
	tame bool
}

// newSource reads data.
func newSource(data []byte) *source {
	return &source{data: data, tame: len(data) > 0 && data[0]&1 == 1}
}

func (s *source) byte() byte {
	if len(s.data) == 0 {
		return 0
	}
	b := s.data[0]
	s.data = s.data[1:]
	return b
}

func (s *source) uint64() uint64 {
	var buf [8]byte
	for i := range buf {
		buf[i] = s.byte()
	}
	return binary.LittleEndian.Uint64(buf[:])
}

// edges are the values either side of protojson's limits and of the
// trimming of fractional digits, which random 64-bit numbers never hit.
var edges = []int64{
	0, 1, -1, 999, 1000, 1000000, 999999999, 1000000000, -999999999, -1000000000,
	-62135596800, -62135596801, 253402300799, 253402300800,
	315576000000, 315576000001, -315576000000, -315576000001,
	math.MaxInt32, math.MinInt32, math.MaxInt64, math.MinInt64, 1 << 53, 500000000, 120000,
}

// limits are protojson's bounds for Timestamp and Duration seconds.
var limits = []int64{-62135596800, 253402300799, -315576000000, 315576000000}

// int64 is an edge, a value next to a limit, a small or a well-formed
// seconds or nanos value, or any 64-bit number.
func (s *source) int64() int64 {
	if s.tame {
		// Valid as seconds of either type and as nanos.
		switch s.byte() % 3 {
		case 0:
			return int64(s.byte())
		case 1:
			return int64(s.byte()) * []int64{1000, 1000000}[s.byte()%2]
		default:
			return int64(s.uint64() % 1000000000)
		}
	}
	switch s.byte() % 8 {
	case 0, 1:
		return edges[int(s.byte())%len(edges)]
	case 2:
		return limits[int(s.byte())%len(limits)] + int64(int8(s.byte()))%3
	case 3:
		return int64(int8(s.byte()))
	case 4:
		// Inside Timestamp's range.
		return int64(s.uint64()%uint64(253402300799+62135596800)) - 62135596800
	case 5:
		// Whole seconds, milliseconds and microseconds of nanos.
		return int64(s.byte()) * []int64{1, 1000, 1000000, 100000000}[s.byte()%4]
	case 6:
		return -int64(s.uint64() % 1000000000)
	default:
		return int64(s.uint64())
	}
}

// clean are non-ASCII and odd-looking strings protojson writes verbatim.
var clean = []string{"\x7f", "é", "€", "😀", "\u2028", "\ufffd", "<>&", "/", " ", "'"}

// dirty are strings protojson escapes or refuses.
var dirty = []string{`"`, `\`, "\x00", "\x1f", "\n", "\t", "\xff", "\xc3", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc0\xaf"}

// string is, in tame inputs and half the time otherwise, one protojson
// writes verbatim, made of printable ASCII and clean runs; else it mixes in
// raw bytes and a dirty run, at any offset.
func (s *source) string() string {
	var b []byte
	isClean := s.tame || s.byte()%2 == 0
	for range int(s.byte() % 6) {
		switch c := s.byte(); {
		case c%4 < 2:
			for range int(s.byte() % 12) {
				if ch := ' ' + s.byte()%95; !isClean || (ch != '"' && ch != '\\') {
					b = append(b, ch)
				}
			}
		case c%4 == 2:
			b = append(b, clean[int(s.byte())%len(clean)]...)
		case isClean:
			b = append(b, "abc"...)
		case c%8 == 3:
			b = append(b, dirty[int(s.byte())%len(dirty)]...)
		default:
			b = append(b, s.byte())
		}
	}
	if !isClean {
		b = append(b, dirty[int(s.byte())%len(dirty)]...)
		for range int(s.byte() % 16) {
			b = append(b, 'z')
		}
	}
	return string(b)
}

// fill sets m's fields from src: scalars to fuzzed values, some message
// fields to fuzzed (or empty) messages, lists, maps and oneofs too so that
// the declined types are exercised as well. depth bounds recursive types.
func fill(m protoreflect.Message, src *source, depth int) {
	fds := m.Descriptor().Fields()
	for i := range fds.Len() {
		fd := fds.Get(i)
		if src.byte()%4 == 0 {
			continue // leave unset
		}
		switch {
		case fd.IsList():
			list := m.Mutable(fd).List()
			for range int(src.byte() % 3) {
				if v, ok := value(list.NewElement(), fd, src, depth); ok {
					list.Append(v)
				}
			}
		case fd.IsMap():
			mp := m.Mutable(fd).Map()
			for range int(src.byte() % 3) {
				k, _ := value(protoreflect.Value{}, fd.MapKey(), src, depth)
				if v, ok := value(mp.NewValue(), fd.MapValue(), src, depth); ok {
					mp.Set(k.MapKey(), v)
				}
			}
		case fd.Message() != nil:
			if depth < 3 {
				fill(m.Mutable(fd).Message(), src, depth+1)
			}
		default:
			v, _ := value(protoreflect.Value{}, fd, src, depth)
			m.Set(fd, v)
		}
	}
}

// value is a fuzzed value of fd's kind; for a message kind, newMsg is the
// new element to fill, and ok is false past the depth limit.
func value(newMsg protoreflect.Value, fd protoreflect.FieldDescriptor, src *source, depth int) (protoreflect.Value, bool) {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(src.byte()&1 == 1), true
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(src.int64())), true
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(uint32(src.int64())), true
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(src.int64()), true
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(uint64(src.int64())), true
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(math.Float32frombits(uint32(src.uint64()))), true
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(math.Float64frombits(src.uint64())), true
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(src.string()), true
	case protoreflect.BytesKind:
		return protoreflect.ValueOfBytes([]byte(src.string())), true
	case protoreflect.EnumKind:
		// Mostly declared values; sometimes a number the enum lacks.
		if vals := fd.Enum().Values(); src.byte()%4 != 0 && vals.Len() > 0 {
			return protoreflect.ValueOfEnum(vals.Get(int(src.byte()) % vals.Len()).Number()), true
		}
		return protoreflect.ValueOfEnum(protoreflect.EnumNumber(src.int64())), true
	default: // message or group
		if depth >= 3 {
			return protoreflect.Value{}, false
		}
		fill(newMsg.Message(), src, depth+1)
		return newMsg, true
	}
}
