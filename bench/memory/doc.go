// Package memory measures what the gateway holds per cached account, in
// benchmarks that report bytes per item (run with -benchtime=1x).
package memory
