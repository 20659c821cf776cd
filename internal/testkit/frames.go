package testkit

import (
	"bytes"

	"google.golang.org/grpc/mem"
)

// Frames cuts b into buffers of at most n bytes each, copied, as grpc-go
// hands a codec a message that arrived in several HTTP/2 DATA frames. The
// transfer codecs' tests (server's and client's) decode messages split
// this way to show the split does not change what they decode.
func Frames(b []byte, n int) mem.BufferSlice {
	var s mem.BufferSlice
	for len(b) > 0 {
		k := min(n, len(b))
		s = append(s, mem.SliceBuffer(bytes.Clone(b[:k])))
		b = b[k:]
	}
	return s
}
