// Package multiprocess holds the gateway's multi-process acceptance tests
// (issue 14: replicas sharing one EEO token and one idempotency record per
// request through Redis). Where e2e/ wires the stack inside the test
// binary, these tests build the eeo-gateway binary and run what an operator
// runs: a real redis-server, `eeo-gateway sandbox` as EEO and several
// `eeo-gateway serve --config FILE` processes, each a replica with its own
// memory, talked to only over gRPC, their admin endpoints and the
// sandbox's stats. That is what makes a killed lock holder or a restart of
// every replica a real one. It contains no production code.
package multiprocess
