// The benchmark suite (make bench-report). A module of its own so that what
// it compares against — golang.org/x/oauth2, cloud.google.com/go/auth — is
// pinned here and never enters the gateway's go.mod.
module github.com/eeo-gateway/eeo-gateway/bench

go 1.26.8

require (
	cloud.google.com/go/auth v0.24.4
	github.com/eeo-gateway/eeo-gateway v0.0.0
	github.com/eeo-gateway/eeo-gateway/gen/eeo v0.0.0-00010101000000-000000000000
	go.uber.org/goleak v1.3.0
	golang.org/x/oauth2 v0.38.0
	google.golang.org/grpc v1.85.0
	google.golang.org/protobuf v1.36.12
)

require (
	cloud.google.com/go/compute/metadata v0.10.0 // indirect
	github.com/cenkalti/backoff/v5 v5.0.3 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	github.com/googleapis/gax-go/v2 v2.27.0 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/pandatix/go-abnf v0.5.3 // indirect
	github.com/prometheus/client_model v0.6.3 // indirect
	github.com/prometheus/common v0.73.1 // indirect
	golang.org/x/net v0.61.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	google.golang.org/genproto/googleapis/api v0.0.0-20261110000943-09e21b237f2c // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20261110000943-09e21b237f2c // indirect
)

replace github.com/eeo-gateway/eeo-gateway => ../

// The gateway's generated stubs are a module of their own; replaces in the
// gateway's go.mod do not reach here.
replace github.com/eeo-gateway/eeo-gateway/gen/eeo => ../gen/eeo
