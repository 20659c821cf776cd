//go:build race

package multiprocess_test

// raceBuild builds the processes with the race detector when the tests run
// with it, so the binary reuses the packages `go test -race` compiled and
// races in the replicas' Redis paths are caught too.
const raceBuild = true
