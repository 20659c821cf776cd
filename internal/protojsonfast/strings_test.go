package protojsonfast_test

import (
	"bytes"
	"strings"
	"testing"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/protojsonfast"
	"google.golang.org/protobuf/encoding/protojson"
)

// TestEveryByteAtEveryOffset: the string check looks at eight bytes at a
// time, so every byte value, and the multi-byte sequences, are tried at
// each offset of the first words and the tail: wherever a byte protojson
// escapes or refuses sits, the encoder declines, and wherever a byte it
// writes verbatim sits, the encoder writes protojson's bytes.
func TestEveryByteAtEveryOffset(t *testing.T) {
	enc := &protojsonfast.Encoder{}
	var inserts []string
	for c := range 256 {
		inserts = append(inserts, string([]byte{byte(c)}))
	}
	inserts = append(inserts, "é", "€", "😀", "\ufffd", "\xed\xa0\x80", "\xc3\x28", "\xf4\x90\x80\x80")
	const base = "abcdefghijklmnopqrstuvw"
	for _, ins := range inserts {
		for at := 0; at <= len(base); at++ {
			m := &eeov1.GetTokenRequest{Account: base[:at] + ins + base[at:]}
			got, ok := enc.Append(nil, m)
			want, err := protojson.Marshal(m)
			switch {
			case err != nil && ok:
				t.Fatalf("%q: protojson fails (%v), Append wrote %s", m.GetAccount(), err, got)
			case err == nil && ok && !bytes.Equal(got, want):
				t.Fatalf("%q: Append %s, protojson %s", m.GetAccount(), got, want)
			case err == nil && !ok && !strings.ContainsRune(string(want), '\\'):
				t.Fatalf("%q: declined although protojson writes it verbatim: %s", m.GetAccount(), want)
			}
		}
	}
}
