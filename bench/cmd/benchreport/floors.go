package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"reflect"

	"github.com/eeo-gateway/eeo-gateway/bench/floor"
	"github.com/eeo-gateway/eeo-gateway/bench/loadgen"
	"github.com/eeo-gateway/eeo-gateway/internal/benchstack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// floors are the protocols' floor servers for the load step, each in a
// process of its own, and the calls that load them.
type floors struct {
	http, grpc *floor.Server
	// rest is REST GetToken from the wrk-class client, as the gateway's
	// judged REST row; grpcToken is gRPC GetToken over one connection, as
	// its gRPC row (the context carries the same API key).
	rest, grpcToken loadgen.Call

	closers []func() error
}

// startFloors captures one GetToken response from the stack's gateway over
// REST (client) and over gRPC (conn), starts a floor server repeating each,
// and warms up their calls. ctx carries the API key (loadgen.WithAPIKey),
// which the floor's gRPC calls send as the gateway's do.
func startFloors(ctx context.Context, stack *benchstack.Stack, client *http.Client, conn *grpc.ClientConn) (_ *floors, err error) {
	f := &floors{}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	url := stack.RESTURL + "/v1/accounts/" + benchstack.Account + "/token"
	restResp, err := floor.CaptureHTTP(ctx, client, url, http.Header{"Authorization": {"Bearer " + stack.APIKey}})
	if err != nil {
		return nil, err
	}
	grpcResp, err := floor.CaptureGRPC(ctx, conn, benchstack.Account)
	if err != nil {
		return nil, err
	}
	log.Printf("floor responses: REST %d, %d-byte body, headers %v; gRPC %d-byte message, metadata %v",
		restResp.Status, len(restResp.Body), restResp.Header, len(grpcResp.Message), grpcResp.Header)
	if f.http, err = floor.Start(ctx, floor.Spec{Kind: floor.HTTP, HTTP: restResp}); err != nil {
		return nil, err
	}
	f.closers = append(f.closers, f.http.Close)
	if f.grpc, err = floor.Start(ctx, floor.Spec{Kind: floor.GRPC, GRPC: grpcResp}); err != nil {
		return nil, err
	}
	f.closers = append(f.closers, f.grpc.Close)
	// The floor answers as the gateway did, or it is not its floor.
	if got, err := floor.CaptureHTTP(ctx, client, "http://"+f.http.Addr+"/v1/accounts/"+benchstack.Account+"/token", nil); err != nil {
		return nil, err
	} else if !reflect.DeepEqual(got, restResp) {
		return nil, fmt.Errorf("the REST floor answers %+v, not the gateway's %+v", got, restResp)
	}
	raw, err := loadgen.RawHTTP1GetToken("http://"+f.http.Addr, stack.APIKey, benchstack.Account)
	if err != nil {
		return nil, err
	}
	f.closers = append(f.closers, raw.Close)
	gconn, err := grpc.NewClient(f.grpc.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	f.closers = append(f.closers, gconn.Close)
	f.rest, f.grpcToken = raw.Call, loadgen.GRPCGetToken(gconn, benchstack.Account)
	for _, call := range []loadgen.Call{f.rest, f.grpcToken} {
		if err := call(ctx); err != nil {
			return nil, fmt.Errorf("floor warm-up: %w", err)
		}
	}
	return f, nil
}

// Close closes the clients, then stops the servers.
func (f *floors) Close() error {
	var errs []error
	for i := len(f.closers) - 1; i >= 0; i-- {
		errs = append(errs, f.closers[i]())
	}
	f.closers = nil
	return errors.Join(errs...)
}
