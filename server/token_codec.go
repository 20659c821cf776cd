package server

import (
	"unicode/utf8"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// GetToken's response is the gateway's hot path and the one thing a gRPC
// GetToken does that a Health/Check does not, besides authorising the
// caller: protobuf's marshalling of it (a size pass, a reflective walk of
// the token, its three timestamps and its duration, then a second size
// pass inside proto.Marshal) was a quarter of what a GetToken cost the
// gateway more than a Health/Check in CPU profiles. marshalGetToken writes
// the same bytes from the fields directly; TestTokenCodecMatchesProtobuf
// holds it to proto.Marshal, and tokenWireKnown keeps it from running
// against a Token it does not know field for field.

// Token's fields as marshalGetToken writes them.
const (
	getTokenResponseToken protowire.Number = 1
	tokenAccount          protowire.Number = 1
	tokenAccessToken      protowire.Number = 2
	tokenTokenType        protowire.Number = 3
	tokenIssueTime        protowire.Number = 4
	tokenIdleExpireTime   protowire.Number = 5
	tokenExpireTime       protowire.Number = 6
	tokenIdleTimeout      protowire.Number = 7
	tokenFingerprint      protowire.Number = 8
	// Timestamp's and Duration's seconds and nanos.
	wktSeconds protowire.Number = 1
	wktNanos   protowire.Number = 2
)

// tokenWireKnown says whether GetTokenResponse and Token are exactly the
// messages marshalGetToken writes: a field added to either (or renumbered,
// or retyped) turns it off rather than being left out of the wire.
func tokenWireKnown() bool {
	resp := (&eeov1.GetTokenResponse{}).ProtoReflect().Descriptor()
	if !fieldsAre(resp, map[protowire.Number]protoreflect.Kind{getTokenResponseToken: protoreflect.MessageKind}) {
		return false
	}
	return fieldsAre((&eeov1.Token{}).ProtoReflect().Descriptor(), map[protowire.Number]protoreflect.Kind{
		tokenAccount: protoreflect.StringKind, tokenAccessToken: protoreflect.StringKind, tokenTokenType: protoreflect.StringKind,
		tokenIssueTime: protoreflect.MessageKind, tokenIdleExpireTime: protoreflect.MessageKind, tokenExpireTime: protoreflect.MessageKind,
		tokenIdleTimeout: protoreflect.MessageKind, tokenFingerprint: protoreflect.StringKind,
	})
}

// fieldsAre says whether md's fields are exactly want's numbers and kinds,
// all singular, none in a oneof.
func fieldsAre(md protoreflect.MessageDescriptor, want map[protowire.Number]protoreflect.Kind) bool {
	fields := md.Fields()
	if fields.Len() != len(want) {
		return false
	}
	for i := range fields.Len() {
		fd := fields.Get(i)
		if kind, ok := want[fd.Number()]; !ok || kind != fd.Kind() || fd.IsList() || fd.IsMap() || fd.ContainingOneof() != nil {
			return false
		}
	}
	return true
}

// marshalGetToken encodes m as proto.Marshal does, or reports false for a
// message carrying unknown fields or a string that is not UTF-8, which
// protobuf then encodes or refuses.
func marshalGetToken(m *eeov1.GetTokenResponse) ([]byte, bool) {
	t := m.GetToken()
	if len(m.ProtoReflect().GetUnknown()) > 0 || (t != nil && (!tokenPartsKnown(t) || !tokenStringsValid(t))) {
		return nil, false
	}
	if t == nil {
		return []byte{}, true
	}
	n := tokenSize(t)
	b := make([]byte, 0, protowire.SizeTag(getTokenResponseToken)+protowire.SizeBytes(n))
	b = protowire.AppendTag(b, getTokenResponseToken, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(n))
	b = appendString(b, tokenAccount, t.GetAccount())
	b = appendString(b, tokenAccessToken, t.GetAccessToken())
	b = appendString(b, tokenTokenType, t.GetTokenType())
	b = appendTimestamp(b, tokenIssueTime, t.GetIssueTime())
	b = appendTimestamp(b, tokenIdleExpireTime, t.GetIdleExpireTime())
	b = appendTimestamp(b, tokenExpireTime, t.GetExpireTime())
	if d := t.GetIdleTimeout(); d != nil {
		b = appendSecondsNanos(b, tokenIdleTimeout, d.GetSeconds(), d.GetNanos())
	}
	return appendString(b, tokenFingerprint, t.GetFingerprint()), true
}

// tokenPartsKnown says whether t and the messages in it carry no unknown
// fields.
func tokenPartsKnown(t *eeov1.Token) bool {
	for _, m := range []protoreflect.ProtoMessage{t, t.GetIssueTime(), t.GetIdleExpireTime(), t.GetExpireTime(), t.GetIdleTimeout()} {
		if r := m.ProtoReflect(); r.IsValid() && len(r.GetUnknown()) > 0 {
			return false
		}
	}
	return true
}

// tokenStringsValid says whether t's strings are UTF-8, as proto3 strings
// must be: proto.Marshal refuses one that is not.
func tokenStringsValid(t *eeov1.Token) bool {
	return utf8.ValidString(t.GetAccount()) && utf8.ValidString(t.GetAccessToken()) &&
		utf8.ValidString(t.GetTokenType()) && utf8.ValidString(t.GetFingerprint())
}

// tokenSize is the encoded size of t.
func tokenSize(t *eeov1.Token) int {
	n := stringSize(tokenAccount, t.GetAccount()) + stringSize(tokenAccessToken, t.GetAccessToken()) +
		stringSize(tokenTokenType, t.GetTokenType()) + stringSize(tokenFingerprint, t.GetFingerprint())
	for _, f := range [...]struct {
		num protowire.Number
		ts  *timestamppb.Timestamp
	}{{tokenIssueTime, t.GetIssueTime()}, {tokenIdleExpireTime, t.GetIdleExpireTime()}, {tokenExpireTime, t.GetExpireTime()}} {
		if f.ts != nil {
			n += messageSize(f.num, secondsNanosSize(f.ts.GetSeconds(), f.ts.GetNanos()))
		}
	}
	if d := t.GetIdleTimeout(); d != nil {
		n += messageSize(tokenIdleTimeout, secondsNanosSize(d.GetSeconds(), d.GetNanos()))
	}
	return n
}

// stringSize is the size of a string field: nothing when empty, as proto3
// leaves it out.
func stringSize(num protowire.Number, s string) int {
	if s == "" {
		return 0
	}
	return protowire.SizeTag(num) + protowire.SizeBytes(len(s))
}

// messageSize is the size of a present message field whose body is n bytes.
func messageSize(num protowire.Number, n int) int {
	return protowire.SizeTag(num) + protowire.SizeBytes(n)
}

// secondsNanosSize is the size of a Timestamp's or Duration's body.
func secondsNanosSize(seconds int64, nanos int32) int {
	n := 0
	if seconds != 0 {
		n += protowire.SizeTag(wktSeconds) + protowire.SizeVarint(uint64(seconds))
	}
	if nanos != 0 {
		n += protowire.SizeTag(wktNanos) + protowire.SizeVarint(uint64(int64(nanos)))
	}
	return n
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	return protowire.AppendString(protowire.AppendTag(b, num, protowire.BytesType), s)
}

func appendTimestamp(b []byte, num protowire.Number, ts *timestamppb.Timestamp) []byte {
	if ts == nil {
		return b
	}
	return appendSecondsNanos(b, num, ts.GetSeconds(), ts.GetNanos())
}

// appendSecondsNanos appends a Timestamp or Duration field.
func appendSecondsNanos(b []byte, num protowire.Number, seconds int64, nanos int32) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(secondsNanosSize(seconds, nanos)))
	if seconds != 0 {
		b = protowire.AppendVarint(protowire.AppendTag(b, wktSeconds, protowire.VarintType), uint64(seconds))
	}
	if nanos != 0 {
		b = protowire.AppendVarint(protowire.AppendTag(b, wktNanos, protowire.VarintType), uint64(int64(nanos)))
	}
	return b
}
