// Package cpuclock reads the CPU time this process has used. It is the one
// copy the benchmarks, the load generator and the file benchmark share;
// the CPU time of other processes (a gateway, a sandbox) is
// internal/benchstack's, from /proc.
package cpuclock
