// Package protojsonfast appends protojson's JSON for the simple proto3
// messages the REST facade answers most (GetToken's above all) without
// protojson's per-call reflection walk, field sorting, time formatting and
// fmt: those cost the gateway about a tenth of its CPU and a sixth of its
// allocations per REST call.
//
// The output is exactly what protojson.MarshalOptions{EmitUnpopulated:
// true} writes, less the insignificant spaces protojson inserts at random
// (its internal/detrand), for the subset of messages and values the encoder
// supports. For anything else it declines, and the caller marshals with
// protojson: the encoder never has to reproduce protojson's errors, its
// string escaping or its rarer mappings, only to recognise them. A
// differential fuzz test against protojson over every message of the eeo.v1
// API holds it to that.
package protojsonfast
