package server

import (
	"net"
	"net/netip"
	"testing"
)

// A remembered rendering is only ever given back for the same address: a
// different host, zone or port on the same slot renders afresh.
func TestPeerAddrsRenderLikeString(t *testing.T) {
	var c peerAddrs
	addrs := []net.Addr{
		&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000},
		&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000},               // same, another pointer
		net.TCPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:40000")), // 4-byte form
		&net.TCPAddr{IP: net.IPv4(10, 0, 0, 2), Port: 40000},
		&net.TCPAddr{IP: net.IPv4(10, 0, 0, 2), Port: 40000 + peerAddrSlots}, // same slot
		&net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 40000, Zone: "eth0"},
		&net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 40000, Zone: "eth1"},
		&net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 40000},
		&net.TCPAddr{Port: 40000},
		&net.UnixAddr{Name: "/run/gw.sock", Net: "unix"},
		&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000},
	}
	for round := range 2 {
		for _, a := range addrs {
			if got, want := c.render(a), a.String(); got != want {
				t.Errorf("round %d: render(%#v) = %q, want %q", round, a, got, want)
			}
		}
	}
}

// The same connection's address renders without allocating once seen.
func TestPeerAddrsRememberedWithoutAllocating(t *testing.T) {
	var c peerAddrs
	a := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 51234}
	c.render(a)
	if n := testing.AllocsPerRun(100, func() { c.render(a) }); n != 0 {
		t.Errorf("render of a remembered address: %v allocs, want 0", n)
	}
}
