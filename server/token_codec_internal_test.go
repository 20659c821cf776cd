package server

import (
	"bytes"
	"testing"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// tokenFrom builds a GetToken response from fuzz values; mask leaves out
// (nil) the token and each of its messages.
func tokenFrom(mask uint8, account, access, typ, fingerprint string, s1, s2, s3, s4 int64, n1, n2, n3, n4 int32) *eeov1.GetTokenResponse {
	if mask&1 != 0 {
		return &eeov1.GetTokenResponse{}
	}
	t := &eeov1.Token{Account: account, AccessToken: access, TokenType: typ, Fingerprint: fingerprint}
	if mask&2 == 0 {
		t.IssueTime = &timestamppb.Timestamp{Seconds: s1, Nanos: n1}
	}
	if mask&4 == 0 {
		t.IdleExpireTime = &timestamppb.Timestamp{Seconds: s2, Nanos: n2}
	}
	if mask&8 == 0 {
		t.ExpireTime = &timestamppb.Timestamp{Seconds: s3, Nanos: n3}
	}
	if mask&16 == 0 {
		t.IdleTimeout = &durationpb.Duration{Seconds: s4, Nanos: n4}
	}
	return &eeov1.GetTokenResponse{Token: t}
}

// The server's codec writes a GetToken response byte for byte as protobuf
// does, whatever its values (empty strings, absent or zero timestamps,
// negative seconds and nanos, out-of-range values), and leaves a response
// carrying unknown fields to protobuf.
func FuzzTokenCodecMatchesProtobuf(f *testing.F) {
	f.Add(uint8(0), "demo", "t0k3n", "Bearer", "f1", int64(1_800_000_000), int64(1_800_003_599), int64(1_800_007_200), int64(3599), int32(123), int32(0), int32(999_999_999), int32(0))
	f.Add(uint8(0), "", "", "", "", int64(0), int64(-1), int64(1<<62), int64(-3599), int32(0), int32(-5), int32(1<<30), int32(-999_999_999))
	f.Add(uint8(1), "a", "b", "c", "d", int64(1), int64(2), int64(3), int64(4), int32(1), int32(2), int32(3), int32(4))
	f.Add(uint8(30), "acc\x00ount", "é", "\xff", "", int64(-62135596800), int64(253402300799), int64(0), int64(0), int32(0), int32(0), int32(0), int32(0))
	c := newTransferCodec(nil)
	if !c.tokenWire {
		f.Fatal("GetTokenResponse and Token are no longer what marshalGetToken writes: update token_codec.go with the proto")
	}
	f.Fuzz(func(t *testing.T, mask uint8, account, access, typ, fingerprint string, s1, s2, s3, s4 int64, n1, n2, n3, n4 int32) {
		m := tokenFrom(mask, account, access, typ, fingerprint, s1, s2, s3, s4, n1, n2, n3, n4)
		want, err := proto.Marshal(m)
		got, ok := marshalGetToken(m)
		if err != nil {
			if ok {
				t.Fatalf("encoded %v, which protobuf refuses: %v", m, err)
			}
			return
		}
		if !ok {
			t.Fatal("declined a response without unknown fields")
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%v:\n got % x\nwant % x", m, got, want)
		}
		out, err := c.Marshal(m)
		if err != nil || !bytes.Equal(out.Materialize(), want) {
			t.Fatalf("the codec wrote % x (%v), protobuf % x", out.Materialize(), err, want)
		}
	})
}

// A response with a string protobuf refuses (not UTF-8), or with unknown
// fields anywhere, gets protobuf's answer, not the fast path's.
func TestTokenCodecLeavesTheUnusualToProtobuf(t *testing.T) {
	c := newTransferCodec(nil)
	bad := &eeov1.GetTokenResponse{Token: &eeov1.Token{Account: "\xff"}}
	if _, err := c.Marshal(bad); err == nil {
		t.Error("a token with an invalid UTF-8 account was encoded; protobuf refuses it")
	}
	unknown := protowire.AppendString(protowire.AppendTag(nil, 99, protowire.BytesType), "x")
	for name, m := range map[string]*eeov1.GetTokenResponse{
		"response":  {Token: &eeov1.Token{Account: "a"}},
		"token":     {Token: &eeov1.Token{Account: "a"}},
		"timestamp": {Token: &eeov1.Token{Account: "a", IssueTime: &timestamppb.Timestamp{Seconds: 1}}},
		"duration":  {Token: &eeov1.Token{Account: "a", IdleTimeout: &durationpb.Duration{Seconds: 1}}},
	} {
		switch name {
		case "response":
			m.ProtoReflect().SetUnknown(unknown)
		case "token":
			m.Token.ProtoReflect().SetUnknown(unknown)
		case "timestamp":
			m.Token.IssueTime.ProtoReflect().SetUnknown(unknown)
		case "duration":
			m.Token.IdleTimeout.ProtoReflect().SetUnknown(unknown)
		}
		if _, ok := marshalGetToken(m); ok {
			t.Errorf("%s: unknown fields were not left to protobuf", name)
		}
		want, _ := proto.Marshal(m)
		got, err := c.Marshal(m)
		if err != nil || !bytes.Equal(got.Materialize(), want) {
			t.Errorf("%s: codec % x (%v), protobuf % x", name, got.Materialize(), err, want)
		}
	}
}
