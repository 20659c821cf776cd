package server

import (
	"context"
	"net"
	"net/http/httptest"
	"testing"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// Only a call over the in-process connection reaches a REST download's
// response: a network caller that names a live sink (it would have to guess
// its random id) still gets gRPC messages, never someone else's response.
func TestDownloadSinkOnlyForFacadeCalls(t *testing.T) {
	sinks := newDownloadSinks()
	sink := newRESTSink(httptest.NewRecorder())
	out, unregister := sinks.add(context.Background(), sink)
	md, _ := metadata.FromOutgoingContext(out)
	in := metadata.NewIncomingContext(context.Background(), md)
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1234}

	network := peer.NewContext(in, &peer.Peer{Addr: addr, AuthInfo: credentials.TLSInfo{}})
	if got := sinks.from(network); got != nil {
		t.Error("a network call named a REST download's sink and got it")
	}
	facade := peer.NewContext(in, &peer.Peer{Addr: addr, AuthInfo: InternalAuthInfo{}})
	if got := sinks.from(facade); got != sink {
		t.Errorf("the facade's call got sink %p, want %p", got, sink)
	}
	unregister()
	if got := sinks.from(facade); got != nil {
		t.Error("a sink is still found after its call ended")
	}
}

// After close, the handler's writes fail rather than touch a response the
// facade has taken back.
func TestRESTSinkClosedRefusesWrites(t *testing.T) {
	rec := httptest.NewRecorder()
	sink := newRESTSink(rec)
	if started := sink.close(); started {
		t.Fatal("close reports a started response before any write")
	}
	if err := sink.write([]byte("late"), "text/csv"); err == nil {
		t.Fatal("write after close succeeded")
	}
	if rec.Body.Len() != 0 || rec.Code != 200 || len(rec.Header()) != 0 {
		t.Fatalf("the response was touched after close: %d %v %q", rec.Code, rec.Header(), rec.Body.String())
	}
}
