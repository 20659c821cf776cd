package client

import "google.golang.org/grpc/encoding"

// NewDownloadCodec is the codec of one Download call, for tests that hold
// its decoding to protobuf's.
func NewDownloadCodec() encoding.CodecV2 { return newDownloadCodec() }
