package floor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"

	"github.com/eeo-gateway/eeo-gateway/bench/loadgen"
	"github.com/eeo-gateway/eeo-gateway/internal/benchstack"
	"google.golang.org/grpc"
)

// Floors are both floor servers for a benchstack gateway, each in a process
// of its own, and the calls that load them as the gateway's REST and gRPC
// GetToken are loaded.
type Floors struct {
	HTTP, GRPC *Server
	// REST is REST GetToken from the wrk-class client (loadgen.RawHTTP1),
	// as the gateway's judged REST row; GRPCGetToken is gRPC GetToken over
	// one connection, as its gRPC row (ctx carries the same API key).
	REST, GRPCGetToken loadgen.Call
	// Captured are the gateway's responses the servers repeat.
	Captured struct {
		HTTP HTTPResponse
		GRPC GRPCResponse
	}

	closers []func() error
}

// StartForStack captures one GetToken response from the stack's gateway over
// REST (client) and over gRPC (conn), starts a floor server repeating each,
// and warms up their calls. ctx carries the API key (loadgen.WithAPIKey),
// which the floor's gRPC calls send as the gateway's do.
func StartForStack(ctx context.Context, stack *benchstack.Stack, client *http.Client, conn *grpc.ClientConn) (_ *Floors, err error) {
	f := &Floors{}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	url := stack.RESTURL + "/v1/accounts/" + benchstack.Account + "/token"
	restResp, err := CaptureHTTP(ctx, client, url, http.Header{"Authorization": {"Bearer " + stack.APIKey}})
	if err != nil {
		return nil, err
	}
	grpcResp, err := CaptureGRPC(ctx, conn, benchstack.Account)
	if err != nil {
		return nil, err
	}
	f.Captured.HTTP, f.Captured.GRPC = restResp, grpcResp
	if f.HTTP, err = Start(ctx, Spec{Kind: HTTP, HTTP: restResp}); err != nil {
		return nil, err
	}
	f.closers = append(f.closers, f.HTTP.Close)
	if f.GRPC, err = Start(ctx, Spec{Kind: GRPC, GRPC: grpcResp}); err != nil {
		return nil, err
	}
	f.closers = append(f.closers, f.GRPC.Close)
	// The floor answers as the gateway did, or it is not its floor.
	if got, err := CaptureHTTP(ctx, client, "http://"+f.HTTP.Addr+"/v1/accounts/"+benchstack.Account+"/token", nil); err != nil {
		return nil, err
	} else if !reflect.DeepEqual(got, restResp) {
		return nil, fmt.Errorf("floor: the REST floor answers %+v, not the gateway's %+v", got, restResp)
	}
	raw, err := loadgen.RawHTTP1GetToken("http://"+f.HTTP.Addr, stack.APIKey, benchstack.Account)
	if err != nil {
		return nil, err
	}
	f.closers = append(f.closers, raw.Close)
	gconn, err := loadgen.DialGRPC(f.GRPC.Addr)
	if err != nil {
		return nil, err
	}
	f.closers = append(f.closers, gconn.Close)
	f.REST, f.GRPCGetToken = raw.Call, loadgen.GRPCGetToken(gconn, benchstack.Account)
	for _, call := range []loadgen.Call{f.REST, f.GRPCGetToken} {
		if err := call(ctx); err != nil {
			return nil, fmt.Errorf("floor: warm-up: %w", err)
		}
	}
	return f, nil
}

// Close closes the clients, then stops the servers.
func (f *Floors) Close() error {
	var errs []error
	for i := len(f.closers) - 1; i >= 0; i-- {
		errs = append(errs, f.closers[i]())
	}
	f.closers = nil
	return errors.Join(errs...)
}
