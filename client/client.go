package client

import (
	"sync"
	"time"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"google.golang.org/grpc"
)

// Client calls an eeo-gateway over one gRPC connection. It is safe for
// concurrent use; make one per gateway and share it.
type Client struct {
	tokens eeov1.TokenServiceClient
	files  eeov1.ImportReportServiceClient
	opts   options

	mu      sync.Mutex
	sources map[string]*tokenSource
}

// New returns a Client calling the gateway over conn (typically a
// *grpc.ClientConn whose credentials authenticate this service to the
// gateway). The Client does not own conn: close it yourself.
func New(conn grpc.ClientConnInterface, opts ...Option) *Client {
	o := options{
		now:         time.Now,
		expiryDelta: DefaultExpiryDelta,
		chunkSize:   DefaultChunkSize,
	}
	for _, opt := range opts {
		opt(&o)
	}
	return &Client{
		tokens:  eeov1.NewTokenServiceClient(conn),
		files:   eeov1.NewImportReportServiceClient(conn),
		opts:    o,
		sources: map[string]*tokenSource{},
	}
}

// source is the one token source of an account, shared by TokenSource,
// PerRPCCredentials and Transport so they reuse and invalidate the same
// token.
func (c *Client) source(account string) *tokenSource {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.sources[account]
	if !ok {
		s = &tokenSource{c: c, account: account}
		c.sources[account] = s
	}
	return s
}
