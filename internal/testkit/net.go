package testkit

import (
	"net"
	"testing"
)

// Listen returns a TCP listener on a free loopback port, closed at the
// end of the test if nobody else closed it.
func Listen(t testing.TB) net.Listener {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lis.Close() })
	return lis
}
