// Package e2e holds end-to-end tests of eeo-gateway: every test wires the real
// stack (the EEO sandbox served over loopback HTTP, the auth token cache with
// client-credentials fetchers, and the gRPC server with its REST facade) and
// drives it only through its network interfaces. It contains no production
// code.
package e2e
