// Package floor serves the floor a protocol puts under the gateway's
// GetToken: a bare net/http server and a bare grpc-go server, with no
// grpc-gateway, interceptors, logging or metrics, answering with the exact
// response a real gateway gave (captured once from it). Loaded like the
// gateway and measured in their own process like the gateway (Start), they
// say how much of a REST or gRPC call's cost is the protocol stack itself
// and how much is the gateway's.
package floor

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
)

// Kind is which floor server a Spec asks for.
type Kind string

const (
	// HTTP is the bare net/http server.
	HTTP Kind = "http"
	// GRPC is the bare grpc-go server.
	GRPC Kind = "grpc"
)

// Spec is what a floor server answers.
type Spec struct {
	Kind Kind `json:"kind"`
	// HTTP answers GET requests for its path.
	HTTP HTTPResponse `json:"http,omitzero"`
	// GRPC answers TokenService/GetToken.
	GRPC GRPCResponse `json:"grpc,omitzero"`
}

// HTTPResponse is one REST response, as the HTTP floor repeats it.
type HTTPResponse struct {
	// Path is the request path answered; any other gets a 404.
	Path   string `json:"path"`
	Status int    `json:"status"`
	// Header is every header the gateway sent but Date and Content-Length,
	// which net/http writes itself (after the handler's headers) for a
	// body written whole before the handler returns, the gateway's
	// included.
	Header http.Header `json:"header"`
	Body   []byte      `json:"body"`
}

// GRPCResponse is one GetToken response, as the gRPC floor repeats it.
type GRPCResponse struct {
	// Message is the marshalled GetTokenResponse.
	Message []byte `json:"message"`
	// Header is the response metadata the gateway sent (x-request-id, say),
	// without what the transport writes itself.
	Header metadata.MD `json:"header"`
}

// CaptureHTTP GETs url with header and returns the response for the HTTP
// floor to repeat. A response other than 200 is an error: the floor of a
// failure measures nothing.
func CaptureHTTP(ctx context.Context, client *http.Client, url string, header http.Header) (HTTPResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return HTTPResponse{}, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return HTTPResponse{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return HTTPResponse{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return HTTPResponse{}, fmt.Errorf("floor: capturing GET %s: HTTP %d: %.200s", req.URL.Path, resp.StatusCode, body)
	}
	if resp.ContentLength != int64(len(body)) {
		// The floor's handler writes the body whole, so net/http frames it
		// with a Content-Length: a chunked original would differ on the wire.
		return HTTPResponse{}, fmt.Errorf("floor: capturing GET %s: the response is not framed by a Content-Length", req.URL.Path)
	}
	h := resp.Header.Clone()
	h.Del("Date")
	h.Del("Content-Length")
	return HTTPResponse{Path: req.URL.Path, Status: resp.StatusCode, Header: h, Body: body}, nil
}

// CaptureGRPC calls GetToken for account on conn (ctx carries the caller's
// credentials) and returns the response for the gRPC floor to repeat.
func CaptureGRPC(ctx context.Context, conn grpc.ClientConnInterface, account string) (GRPCResponse, error) {
	var md metadata.MD
	resp, err := eeov1.NewTokenServiceClient(conn).GetToken(ctx, &eeov1.GetTokenRequest{Account: account}, grpc.Header(&md))
	if err != nil {
		return GRPCResponse{}, fmt.Errorf("floor: capturing GetToken: %w", err)
	}
	msg, err := proto.Marshal(resp)
	if err != nil {
		return GRPCResponse{}, err
	}
	out := metadata.MD{}
	for k, v := range md {
		// The transport writes these itself on every response.
		if k == "content-type" || strings.HasPrefix(k, ":") || strings.HasPrefix(k, "grpc-") {
			continue
		}
		out[k] = v
	}
	return GRPCResponse{Message: msg, Header: out}, nil
}
