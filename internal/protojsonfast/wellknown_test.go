package protojsonfast_test

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/protojsonfast"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestTimestampsAndDurationsMatchProtojson holds the encoder's own date
// arithmetic to protojson's time.Format across the whole Timestamp range:
// the ends, leap days and century rules, the instants either side of the
// epoch, and many random instants with each length of fraction.
func TestTimestampsAndDurationsMatchProtojson(t *testing.T) {
	enc := &protojsonfast.Encoder{}
	var msgs []proto.Message
	for _, at := range []time.Time{
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999000000, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 1000, time.UTC),
		time.Date(1600, 2, 29, 12, 0, 0, 0, time.UTC),
		time.Date(1900, 2, 28, 23, 59, 59, 0, time.UTC),
		time.Date(1900, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC),
		time.Date(2100, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(400, 12, 31, 0, 0, 0, 0, time.UTC),
	} {
		msgs = append(msgs, timestamppb.New(at))
	}
	rng := rand.New(rand.NewPCG(26, 11))
	nanos := func() int64 {
		return []int64{0, rng.Int64N(1000) * 1000000, rng.Int64N(1000000) * 1000, rng.Int64N(1000000000)}[rng.IntN(4)]
	}
	for range 20000 {
		secs := rng.Int64N(253402300799+62135596800+1) - 62135596800
		msgs = append(msgs, &timestamppb.Timestamp{Seconds: secs, Nanos: int32(nanos())})
		d := &durationpb.Duration{Seconds: rng.Int64N(315576000001), Nanos: int32(nanos())}
		if rng.IntN(2) == 0 {
			d.Seconds, d.Nanos = -d.Seconds, -d.Nanos
		}
		msgs = append(msgs, d)
	}
	for _, m := range msgs {
		got, ok := enc.Append(nil, m)
		if want := compactProtojson(t, m); !ok || !bytes.Equal(got, want) {
			t.Fatalf("%v: Append = %s, %v; protojson %s", m, got, ok, want)
		}
	}
}
