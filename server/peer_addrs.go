package server

import (
	"net"
	"sync/atomic"
)

// peerAddrs remembers how recent TCP peer addresses render, so that the
// access log formats a connection's address once rather than on every
// call (net.TCPAddr.String allocates, and a busy connection makes
// thousands of calls a second from the same address).
//
// It is a small direct-mapped table indexed by port, each slot holding
// the last address seen on it; a slot whose address differs is simply
// replaced. Entries are compared by value, not by pointer, because calls
// from the REST facade carry a freshly parsed address each. It never grows.
type peerAddrs [peerAddrSlots]atomic.Pointer[renderedAddr]

// peerAddrSlots is a power of two: clients' ephemeral ports are spread
// evenly, so the low bits of the port index well.
const peerAddrSlots = 256

// renderedAddr is an immutable address and its rendering.
type renderedAddr struct {
	ip   net.IP // owned copy
	port int
	zone string
	s    string
}

// render returns a.String(), from the table when a was seen last on its
// slot.
func (c *peerAddrs) render(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || tcp == nil {
		return a.String()
	}
	slot := &c[tcp.Port&(peerAddrSlots-1)]
	if r := slot.Load(); r != nil && r.port == tcp.Port && r.zone == tcp.Zone && r.ip.Equal(tcp.IP) {
		return r.s
	}
	s := tcp.String()
	slot.Store(&renderedAddr{ip: append(net.IP(nil), tcp.IP...), port: tcp.Port, zone: tcp.Zone, s: s})
	return s
}
