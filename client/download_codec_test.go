package client_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/eeo-gateway/eeo-gateway/client"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// patterned is n bytes that differ from one position to the next.
func patterned(n, seed int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31 + i>>9 + seed)
	}
	return b
}

// field appends one field of the given wire type to b.
func field(b []byte, num protowire.Number, typ protowire.Type, v []byte) []byte {
	b = protowire.AppendTag(b, num, typ)
	switch typ {
	case protowire.VarintType:
		return protowire.AppendVarint(b, uint64(len(v))*131)
	case protowire.Fixed32Type:
		return protowire.AppendFixed32(b, 0xdeadbeef)
	case protowire.Fixed64Type:
		return protowire.AppendFixed64(b, 0xdeadbeefcafe)
	case protowire.StartGroupType:
		b = protowire.AppendVarint(protowire.AppendTag(b, 1, protowire.VarintType), 5)
		return protowire.AppendTag(b, num, protowire.EndGroupType)
	}
	return protowire.AppendBytes(b, v)
}

// downloadMessages are encodings of HttpBody a gateway sends, and the odd
// ones protobuf has its own rules for.
func downloadMessages(t testing.TB) map[string][]byte {
	ext, err := anypb.New(&httpbody.HttpBody{ContentType: "inner"})
	if err != nil {
		t.Fatal(err)
	}
	extBytes, err := proto.Marshal(ext)
	if err != nil {
		t.Fatal(err)
	}
	data := patterned(256<<10, 0)
	msgs := map[string][]byte{}
	for _, n := range []int{0, 1, 127, 128, 16<<10 + 3, 256 << 10} {
		b, err := proto.Marshal(&httpbody.HttpBody{ContentType: "text/csv", Data: data[:n]})
		if err != nil {
			t.Fatal(err)
		}
		msgs["content type and "+string(rune('a'+len(msgs)))+" data"] = b
		b, _ = proto.Marshal(&httpbody.HttpBody{Data: data[:n]})
		msgs["data only "+string(rune('a'+len(msgs)))] = b
	}
	msgs["empty message"] = nil
	msgs["data before content type"] = field(field(nil, 2, protowire.BytesType, data[:5000]), 1, protowire.BytesType, []byte("text/csv"))
	msgs["two data fields, the last wins"] = field(field(nil, 2, protowire.BytesType, data[:5000]), 2, protowire.BytesType, patterned(3000, 9))
	msgs["an empty data field after one"] = field(field(nil, 2, protowire.BytesType, data[:5000]), 2, protowire.BytesType, nil)
	msgs["extensions around data"] = field(field(field(nil, 3, protowire.BytesType, extBytes), 2, protowire.BytesType, data[:40000]), 3, protowire.BytesType, extBytes)
	unknown := field(nil, 2, protowire.BytesType, data[:20000])
	for _, typ := range []protowire.Type{protowire.VarintType, protowire.Fixed32Type, protowire.Fixed64Type, protowire.BytesType} {
		unknown = field(unknown, 9, typ, []byte("unknown"))
	}
	msgs["unknown fields of every wire type"] = field(unknown, 1, protowire.BytesType, []byte("text/plain"))
	msgs["data as a varint (unknown to protobuf)"] = field(field(nil, 2, protowire.VarintType, []byte("x")), 2, protowire.BytesType, data[:100])
	msgs["a group"] = field(field(nil, 2, protowire.BytesType, data[:100]), 7, protowire.StartGroupType, nil)
	msgs["content type not UTF-8"] = field(field(nil, 2, protowire.BytesType, data[:100]), 1, protowire.BytesType, []byte{0xff, 0xfe})
	msgs["extension not an Any"] = field(field(nil, 2, protowire.BytesType, data[:100]), 3, protowire.BytesType, []byte{0x0a, 0x05})
	whole := msgs["content type and k data"]
	msgs["data cut short"] = whole[:len(whole)-1]
	msgs["a length past the end"] = append(protowire.AppendVarint(protowire.AppendTag(nil, 2, protowire.BytesType), 1<<40), 1, 2, 3)
	msgs["a tag cut short"] = []byte{0x80}
	msgs["field number zero"] = []byte{0x02, 0x00}
	msgs["an overlong varint"] = append(bytes.Repeat([]byte{0xff}, 10), 0x7f)
	msgs["end group alone"] = []byte{0x0c}
	return msgs
}

// checkAsProtobuf decodes b, split into frames of n bytes, with a fresh
// download codec into a message holding stale fields, and holds the result
// to proto.Unmarshal's: the same error or none, and an equal message.
func checkAsProtobuf(t *testing.T, name string, b []byte, n int) {
	t.Helper()
	want := new(httpbody.HttpBody)
	wantErr := proto.Unmarshal(b, want)
	got := &httpbody.HttpBody{ContentType: "stale", Data: []byte("stale")}
	gotErr := client.NewDownloadCodec().Unmarshal(testkit.Frames(b, n), got)
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("%s in %d-byte frames: error %v, protobuf's %v", name, n, gotErr, wantErr)
	}
	if wantErr == nil && !proto.Equal(got, want) {
		t.Fatalf("%s in %d-byte frames: decoded content type %q, %d data bytes, %d extensions, %d unknown bytes; protobuf: %q, %d, %d, %d",
			name, n, got.GetContentType(), len(got.GetData()), len(got.GetExtensions()), len(got.ProtoReflect().GetUnknown()),
			want.GetContentType(), len(want.GetData()), len(want.GetExtensions()), len(want.ProtoReflect().GetUnknown()))
	}
}

// Download's codec decodes every HttpBody as protobuf does — the data, the
// other fields, unknown fields, repeated data fields, malformed input —
// however the message is split into frames.
func TestDownloadCodecDecodesAsProtobuf(t *testing.T) {
	for name, b := range downloadMessages(t) {
		for _, n := range []int{1, 5, 16 << 10, max(len(b), 1)} {
			if n < 16 && len(b) > 64<<10 {
				continue // byte by byte is slow under -race and proves nothing more
			}
			checkAsProtobuf(t, name, b, n)
		}
	}
}

// Random concatenations of fields, cut anywhere, decode as protobuf does.
func FuzzDownloadCodec(f *testing.F) {
	for _, b := range downloadMessages(f) {
		if len(b) < 4<<10 {
			f.Add(b, uint16(3))
		}
	}
	f.Add(field(field(nil, 1, protowire.BytesType, []byte("text/csv")), 2, protowire.BytesType, []byte("a,b\n")), uint16(1))
	f.Fuzz(func(t *testing.T, b []byte, frame uint16) {
		checkAsProtobuf(t, "fuzzed input", b, int(frame%64)+1)
	})
}

// Randomly built messages of many fields decode as protobuf does.
func TestDownloadCodecRandomMessages(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	parts := downloadMessages(t)
	var names []string
	for name := range parts {
		names = append(names, name)
	}
	for range 300 {
		var b []byte
		for range rng.IntN(5) + 1 {
			b = append(b, parts[names[rng.IntN(len(names))]]...)
		}
		if rng.IntN(4) == 0 && len(b) > 0 {
			b = b[:rng.IntN(len(b))]
		}
		checkAsProtobuf(t, "random message", b, rng.IntN(20<<10)+1)
	}
}

// The codec of one Download decodes each message's data into the same
// buffer: a download makes no garbage per message. (Download writes each
// message before it receives the next.)
func TestDownloadCodecReusesItsBuffer(t *testing.T) {
	codec := client.NewDownloadCodec()
	var first []byte
	for i := range 3 {
		data := patterned(256<<10, i)
		b, err := proto.Marshal(&httpbody.HttpBody{Data: data})
		if err != nil {
			t.Fatal(err)
		}
		m := new(httpbody.HttpBody)
		if err := codec.Unmarshal(testkit.Frames(b, 16<<10), m); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(m.GetData(), data) {
			t.Fatalf("message %d: data differs", i)
		}
		if i == 0 {
			first = m.GetData()
		} else if unsafe.SliceData(m.GetData()) != unsafe.SliceData(first) {
			t.Fatalf("message %d: data decoded into a new buffer", i)
		}
	}
}

// largeReport has the fake send a report of a few MiB in messages of
// 256 KiB and a bit, the shape of a gateway's, and returns it.
func largeReport(f *fakeGateway) []byte {
	report := patterned(3<<20+777, 5)
	f.mu.Lock()
	f.report, f.reportSHA, f.reportChunk = report, sha256Hex(report), 256<<10+3
	f.mu.Unlock()
	return report
}

// A report of many large messages reaches Download's writer whole, though
// every message is decoded into the same buffer.
func TestDownloadLargeReportIntact(t *testing.T) {
	f, c := startFake(t)
	report := largeReport(f)
	var buf bytes.Buffer
	d, err := c.Download(t.Context(), "demo", "rep_1", &buf)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), report) || d.Size != int64(len(report)) || d.ContentType != "text/csv" {
		t.Fatalf("Download = %+v with %d bytes; want the report's %d bytes, text/csv", d, buf.Len(), len(report))
	}
}

// With DownloadCallOption, the generated stub's messages carry the
// report's bytes, each valid until the next Recv.
func TestDownloadCallOption(t *testing.T) {
	f, _ := startFake(t)
	report := largeReport(f)
	conn, err := grpc.NewClient(f.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stream, err := eeov1.NewImportReportServiceClient(conn).DownloadReport(t.Context(),
		&eeov1.DownloadReportRequest{Account: "demo", ReportId: "rep_1"}, client.DownloadCallOption())
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	contentType := ""
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if contentType == "" {
			contentType = msg.GetContentType()
		}
		got = append(got, msg.GetData()...)
	}
	if !bytes.Equal(got, report) || contentType != "text/csv" {
		t.Fatalf("received %d bytes, content type %q; want the report's %d bytes, text/csv", len(got), contentType, len(report))
	}
}
