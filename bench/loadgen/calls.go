package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/eeo-gateway/eeo-gateway/client"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// DialGRPC connects to a gRPC server at addr, without TLS, as the README
// advises clients to (client.DialOptions: large static flow-control
// windows). With grpc-go's default windows, sized on the fly from
// bandwidth-delay pings, GetToken's 430-byte responses made both ends
// spend about 1.5 µs a call more on flow control than Health's 7 bytes in
// some runs and not in others.
func DialGRPC(addr string) (*grpc.ClientConn, error) {
	return grpc.NewClient(addr, append(client.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
}

// WithAPIKey returns ctx carrying the caller's API key as gRPC metadata.
func WithAPIKey(ctx context.Context, key string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
}

// GRPCGetToken calls TokenService/GetToken for account; ctx must carry the
// API key (WithAPIKey). The response is checked, not decoded (rawCodec).
func GRPCGetToken(conn grpc.ClientConnInterface, account string) Call {
	return rawCall(conn, eeov1.TokenService_GetToken_FullMethodName, &eeov1.GetTokenRequest{Account: account}, ValidateGetTokenProto)
}

// GRPCHealth calls grpc.health.v1.Health/Check: the floor a gRPC call on
// the same server costs. The response is checked, not decoded (rawCodec).
func GRPCHealth(conn grpc.ClientConnInterface) Call {
	serving, err := proto.Marshal(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING})
	if err != nil {
		panic(err) // a constant message
	}
	return rawCall(conn, healthpb.Health_Check_FullMethodName, &healthpb.HealthCheckRequest{}, func(resp []byte) error {
		if !bytes.Equal(resp, serving) {
			return fmt.Errorf("health: not SERVING: % x", resp)
		}
		return nil
	})
}

// rawCall calls method with req, encoded once, and hands the response's
// bytes to validate.
func rawCall(conn grpc.ClientConnInterface, method string, req proto.Message, validate func([]byte) error) Call {
	b, err := proto.Marshal(req)
	if err != nil {
		panic(err) // the callers' requests are constant messages
	}
	in := &rawMessage{data: b}
	codec := grpc.ForceCodecV2(rawCodec{})
	return func(ctx context.Context) error {
		var out rawMessage
		if err := conn.Invoke(ctx, method, in, &out, codec); err != nil {
			return err
		}
		return validate(out.data)
	}
}

// ValidateGetTokenProto accepts a binary GetToken response: a token
// (field 1) whose access_token (field 2) is not empty. It walks the fields
// instead of decoding them, as ValidateGetToken looks for a substring
// instead of parsing JSON.
func ValidateGetTokenProto(resp []byte) error {
	num, typ, n := protowire.ConsumeTag(resp)
	if n < 0 || num != 1 || typ != protowire.BytesType {
		// The bytes themselves stay out of the error: a token may be in them.
		return fmt.Errorf("not a GetToken response (%d bytes)", len(resp))
	}
	token, n2 := protowire.ConsumeBytes(resp[n:])
	if n2 < 0 {
		return fmt.Errorf("GetToken response: %w", protowire.ParseError(n2))
	}
	for len(token) > 0 {
		num, typ, n := protowire.ConsumeTag(token)
		if n < 0 {
			return fmt.Errorf("GetToken response: %w", protowire.ParseError(n))
		}
		if num == 2 && typ == protowire.BytesType {
			if v, m := protowire.ConsumeBytes(token[n:]); m > 0 && len(v) > 0 {
				return nil
			}
			break
		}
		m := protowire.ConsumeFieldValue(num, typ, token[n:])
		if m < 0 {
			return fmt.Errorf("GetToken response: %w", protowire.ParseError(m))
		}
		token = token[n+m:]
	}
	return errors.New("GetToken response without an access token")
}

// rawMessage is a message as bytes on the wire.
type rawMessage struct{ data []byte }

// rawCodec sends a rawMessage's bytes and receives a response's bytes
// without decoding them, as a wrk-class HTTP client reads a body: decoding
// GetToken's response (a token, three timestamps, a duration) cost the
// generator more CPU per call than decoding Health's two bytes, on cores it
// shares with the server it measures, so it weighed on the ratio of the
// two calls without being any of the server's doing. Its name is protobuf's
// so that the server decodes requests and encodes responses as for any
// client.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(*rawMessage)
	if !ok {
		return nil, fmt.Errorf("rawCodec: cannot send a %T", v)
	}
	return mem.BufferSlice{mem.SliceBuffer(m.data)}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(*rawMessage)
	if !ok {
		return fmt.Errorf("rawCodec: cannot receive into a %T", v)
	}
	m.data = data.Materialize()
	return nil
}

// RESTGetToken calls GET {baseURL}/v1/accounts/{account}/token.
func RESTGetToken(client *http.Client, baseURL, apiKey, account string) Call {
	url := baseURL + "/v1/accounts/" + account + "/token"
	auth := "Bearer " + apiKey
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", auth)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		return err
	}
}

// H2CClient is an HTTP client that speaks only HTTP/2 without TLS (prior
// knowledge), as a sidecar does: its workers' requests share one
// connection, as gRPC calls share theirs, unless the server's stream limit
// makes it open more.
func H2CClient() *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: &p}}
}
