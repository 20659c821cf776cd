package client_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/client"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// fakeGateway is a gateway whose answers a test controls: tokens with
// chosen lifetimes, a recorded InvalidateToken, uploads and downloads that
// can lie about their SHA-256.
type fakeGateway struct {
	eeov1.UnimplementedTokenServiceServer
	eeov1.UnimplementedImportReportServiceServer

	clock *testkit.Clock

	mu           sync.Mutex
	issued       int      // tokens handed out
	invalidated  []string // fingerprints InvalidateToken received
	lifetime     time.Duration
	idleLifetime time.Duration
	chunks       int    // CreateImport chunks received
	received     []byte // their bytes
	metadata     *eeov1.ImportMetadata
	uploadSHA    string // if set, the SHA-256 CreateImport reports
	report       []byte
	reportSHA    string
	reportChunk  int      // bytes per DownloadReport message; 4 when zero
	addr         string   // where it listens; set before it serves
	verifiedBy   []string // the x-verify-sha256 metadata DownloadReport received
}

// token is the current token: "tok-<n>" with fingerprint "fp-<n>".
func (f *fakeGateway) current() *eeov1.Token {
	now := f.clock.Now()
	return &eeov1.Token{
		Account:        "demo",
		AccessToken:    fmt.Sprintf("tok-%d", f.issued),
		TokenType:      "Bearer",
		Fingerprint:    fmt.Sprintf("fp-%d", f.issued),
		ExpireTime:     timestamppb.New(now.Add(f.lifetime)),
		IdleExpireTime: timestamppb.New(now.Add(f.idleLifetime)),
	}
}

func (f *fakeGateway) GetToken(context.Context, *eeov1.GetTokenRequest) (*eeov1.GetTokenResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.issued++
	return &eeov1.GetTokenResponse{Token: f.current()}, nil
}

func (f *fakeGateway) InvalidateToken(_ context.Context, req *eeov1.InvalidateTokenRequest) (*eeov1.InvalidateTokenResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.invalidated = append(f.invalidated, req.GetFingerprint())
	return &eeov1.InvalidateTokenResponse{Invalidated: true}, nil
}

func (f *fakeGateway) CreateImport(stream grpc.ClientStreamingServer[eeov1.CreateImportRequest, eeov1.CreateImportResponse]) error {
	for {
		msg, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		f.mu.Lock()
		if md := msg.GetMetadata(); md != nil {
			f.metadata = md
		} else {
			f.chunks++
			f.received = append(f.received, msg.GetChunk()...)
		}
		f.mu.Unlock()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	sum := f.uploadSHA
	if sum == "" {
		sum = sha256Hex(f.received)
	}
	return stream.SendAndClose(&eeov1.CreateImportResponse{DataImport: &eeov1.Import{
		Account: "demo", ImportId: "imp_1", RequestId: f.metadata.GetRequestId(),
		SizeBytes: int64(len(f.received)), Sha256: sum,
	}})
}

func (f *fakeGateway) DownloadReport(_ *eeov1.DownloadReportRequest, stream grpc.ServerStreamingServer[httpbody.HttpBody]) error {
	f.mu.Lock()
	f.verifiedBy = metadata.ValueFromIncomingContext(stream.Context(), "x-verify-sha256")
	body, sum, chunk := f.report, f.reportSHA, f.reportChunk
	f.mu.Unlock()
	if chunk == 0 {
		chunk = 4
	}
	if err := stream.SendHeader(metadata.Pairs("x-content-sha256", sum)); err != nil {
		return err
	}
	for i := 0; i < len(body); i += chunk {
		msg := &httpbody.HttpBody{Data: body[i:min(i+chunk, len(body))]}
		if i == 0 {
			msg.ContentType = "text/csv"
		}
		if err := stream.Send(msg); err != nil {
			return err
		}
	}
	return nil
}

// startFake serves a fakeGateway on loopback and returns it with a client
// on the fake clock; both stop when the test ends.
func startFake(t *testing.T, opts ...client.Option) (*fakeGateway, *client.Client) {
	t.Helper()
	f := &fakeGateway{clock: testkit.NewClock(), lifetime: time.Hour, idleLifetime: 50 * time.Minute}
	srv := grpc.NewServer()
	eeov1.RegisterTokenServiceServer(srv, f)
	eeov1.RegisterImportReportServiceServer(srv, f)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = lis.Addr().String()
	done := make(chan struct{})
	go func() { _ = srv.Serve(lis); close(done) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		srv.Stop()
		<-done
	})
	return f, client.New(conn, append([]client.Option{client.WithClock(f.clock.Now)}, opts...)...)
}

func (f *fakeGateway) counts() (issued int, invalidated []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.issued, append([]string(nil), f.invalidated...)
}
