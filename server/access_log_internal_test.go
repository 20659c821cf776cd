package server

import (
	"net"
	"net/netip"
	"testing"
	"time"
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

// A deadline renders as RFC 3339 whatever was rendered before it: another
// second, another location, the same second again.
func TestAccessLogDeadlineRendering(t *testing.T) {
	a := newAccessLog(nil, AccessLogSampling{})
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		ny = time.FixedZone("EST", -5*3600)
	}
	base := time.Date(2026, 11, 30, 7, 30, 0, 0, time.UTC)
	for _, dl := range []time.Time{
		base, base.Add(300 * time.Millisecond), base.Add(time.Second), base.Add(time.Second).In(ny),
		base.Add(time.Second).In(time.FixedZone("X", 3600)), base.Add(time.Second).In(time.FixedZone("X", 7200)), base,
	} {
		if got, want := a.renderDeadline(dl), dl.Format(time.RFC3339); got != want {
			t.Errorf("renderDeadline(%v) = %q, want %q", dl, got, want)
		}
	}
}
