package access_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"github.com/eeo-gateway/eeo-gateway/internal/accountview"
	"github.com/eeo-gateway/eeo-gateway/internal/callnote"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/testkit"

	"github.com/eeo-gateway/eeo-gateway/access"
	"github.com/eeo-gateway/eeo-gateway/access/identity"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
)

// fakeAccessToken is what the fake TokenService hands out; no audit event
// or error may ever contain it.
const fakeAccessToken = "eeo-live-access-token-7f3a9c"

// record notes a handler call and who made it.
type record struct {
	mu      sync.Mutex
	calls   int
	callers []access.Caller
}

func (r *record) note(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	c, _ := access.CallerFrom(ctx)
	r.callers = append(r.callers, c)
}

func (r *record) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

func (r *record) last() access.Caller {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.callers) == 0 {
		return access.Caller{}
	}
	return r.callers[len(r.callers)-1]
}

// fakeTokens is a TokenService returning fixed responses.
type fakeTokens struct {
	eeov1.UnimplementedTokenServiceServer
	record
	// cacheHits makes GetToken report (callnote) that it served the token
	// from the cache; set before the first call.
	cacheHits bool
	// filterByView makes ListAccounts filter its accounts by the caller's
	// view, as the real handler does; without it the fake ignores the view
	// and the Guard's trim must catch what it shows. Set before the first
	// call.
	filterByView bool
	// views are the views ListAccounts was given, one per call; ok false
	// for a call without one.
	views []seenView
}

// seenView is a view a handler was given, and whether there was one.
type seenView struct {
	view accountview.View
	ok   bool
}

// lastView is the view of the last ListAccounts call.
func (f *fakeTokens) lastView() seenView {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.views) == 0 {
		return seenView{}
	}
	return f.views[len(f.views)-1]
}

func (f *fakeTokens) GetToken(ctx context.Context, req *eeov1.GetTokenRequest) (*eeov1.GetTokenResponse, error) {
	f.note(ctx)
	if f.cacheHits {
		callnote.CacheHit(ctx)
	}
	return &eeov1.GetTokenResponse{Token: &eeov1.Token{Account: req.GetAccount(), AccessToken: fakeAccessToken, TokenType: "Bearer"}}, nil
}

func (f *fakeTokens) RefreshToken(ctx context.Context, req *eeov1.RefreshTokenRequest) (*eeov1.RefreshTokenResponse, error) {
	f.note(ctx)
	return &eeov1.RefreshTokenResponse{Token: &eeov1.Token{Account: req.GetAccount(), AccessToken: fakeAccessToken}}, nil
}

func (f *fakeTokens) InvalidateToken(ctx context.Context, _ *eeov1.InvalidateTokenRequest) (*eeov1.InvalidateTokenResponse, error) {
	f.note(ctx)
	return &eeov1.InvalidateTokenResponse{Invalidated: true}, nil
}

func (f *fakeTokens) ListAccounts(ctx context.Context, _ *eeov1.ListAccountsRequest) (*eeov1.ListAccountsResponse, error) {
	f.note(ctx)
	view, ok := accountview.From(ctx)
	f.mu.Lock()
	f.views = append(f.views, seenView{view, ok})
	f.mu.Unlock()
	resp := &eeov1.ListAccountsResponse{NextPageToken: fakeNextPageToken}
	for _, name := range []string{"A", "B"} {
		if !f.filterByView || !ok || view.Visible(name) {
			resp.Accounts = append(resp.Accounts, &eeov1.Account{Name: name})
		}
	}
	return resp, nil
}

// fakeNextPageToken is the next_page_token of fakeTokens' ListAccounts.
const fakeNextPageToken = "next-page"

// fakeFiles is an ImportReportService returning fixed responses. Its
// CreateImport counts every chunk it receives.
type fakeFiles struct {
	eeov1.UnimplementedImportReportServiceServer
	record
	chunks atomic.Int64
}

func (f *fakeFiles) CreateImport(stream grpc.ClientStreamingServer[eeov1.CreateImportRequest, eeov1.CreateImportResponse]) error {
	f.note(stream.Context())
	var md *eeov1.ImportMetadata
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if m := msg.GetMetadata(); m != nil {
			md = m
			continue
		}
		f.chunks.Add(1)
	}
	return stream.SendAndClose(&eeov1.CreateImportResponse{DataImport: &eeov1.Import{Account: md.GetAccount(), ImportId: "imp-1", RequestId: md.GetRequestId()}})
}

func (f *fakeFiles) GetImport(ctx context.Context, req *eeov1.GetImportRequest) (*eeov1.GetImportResponse, error) {
	f.note(ctx)
	return &eeov1.GetImportResponse{DataImport: &eeov1.Import{Account: req.GetAccount(), ImportId: req.GetImportId()}}, nil
}

func (f *fakeFiles) ListImports(ctx context.Context, _ *eeov1.ListImportsRequest) (*eeov1.ListImportsResponse, error) {
	f.note(ctx)
	return &eeov1.ListImportsResponse{}, nil
}

func (f *fakeFiles) CancelImport(ctx context.Context, req *eeov1.CancelImportRequest) (*eeov1.CancelImportResponse, error) {
	f.note(ctx)
	return &eeov1.CancelImportResponse{DataImport: &eeov1.Import{Account: req.GetAccount(), ImportId: req.GetImportId()}}, nil
}

func (f *fakeFiles) WatchImport(req *eeov1.WatchImportRequest, stream grpc.ServerStreamingServer[eeov1.WatchImportResponse]) error {
	f.note(stream.Context())
	return stream.Send(&eeov1.WatchImportResponse{DataImport: &eeov1.Import{Account: req.GetAccount(), ImportId: req.GetImportId()}})
}

func (f *fakeFiles) CreateReport(ctx context.Context, req *eeov1.CreateReportRequest) (*eeov1.CreateReportResponse, error) {
	f.note(ctx)
	return &eeov1.CreateReportResponse{Report: &eeov1.Report{Account: req.GetAccount(), ReportId: "rep-1", RequestId: req.GetRequestId()}}, nil
}

func (f *fakeFiles) GetReport(ctx context.Context, req *eeov1.GetReportRequest) (*eeov1.GetReportResponse, error) {
	f.note(ctx)
	return &eeov1.GetReportResponse{Report: &eeov1.Report{Account: req.GetAccount(), ReportId: req.GetReportId()}}, nil
}

func (f *fakeFiles) DownloadReport(_ *eeov1.DownloadReportRequest, stream grpc.ServerStreamingServer[httpbody.HttpBody]) error {
	f.note(stream.Context())
	return stream.Send(&httpbody.HttpBody{ContentType: "text/csv", Data: []byte("a,b\n1,2\n")})
}

// env is a real gRPC server guarded by a Guard, with the fakes behind it,
// and a client connection to it.
type env struct {
	guard  *access.Guard
	tokens *fakeTokens
	files  *fakeFiles
	conn   *grpc.ClientConn
	addr   string
	tc     eeov1.TokenServiceClient
	fc     eeov1.ImportReportServiceClient
}

// newEnv starts a plaintext server guarded by a Guard built from cfg.
func newEnv(t *testing.T, cfg access.Config) *env {
	t.Helper()
	g, err := access.New(cfg)
	if err != nil {
		t.Fatalf("access.New: %v", err)
	}
	t.Cleanup(g.Close)
	return startEnv(t, g, nil, insecure.NewCredentials())
}

// startEnv serves g's tap and interceptors, as production does, with
// serverCreds (nil: plaintext) and dials with clientCreds.
func startEnv(t *testing.T, g *access.Guard, serverCreds credentials.TransportCredentials, clientCreds credentials.TransportCredentials) *env {
	t.Helper()
	opts := []grpc.ServerOption{
		grpc.InTapHandle(g.TapHandle()),
		grpc.ChainUnaryInterceptor(g.UnaryInterceptor()),
		grpc.ChainStreamInterceptor(g.StreamInterceptor()),
	}
	if serverCreds != nil {
		opts = append(opts, grpc.Creds(serverCreds))
	}
	srv := grpc.NewServer(opts...)
	e := &env{guard: g, tokens: &fakeTokens{}, files: &fakeFiles{}}
	eeov1.RegisterTokenServiceServer(srv, e.tokens)
	eeov1.RegisterImportReportServiceServer(srv, e.files)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	reflection.Register(srv)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(lis) }()
	e.addr = lis.Addr().String()
	e.conn = dial(t, e.addr, clientCreds)
	t.Cleanup(func() {
		srv.Stop()
		<-served
	})
	e.tc = eeov1.NewTokenServiceClient(e.conn)
	e.fc = eeov1.NewImportReportServiceClient(e.conn)
	return e
}

func dial(t *testing.T, addr string, creds credentials.TransportCredentials) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// bearer returns ctx carrying "authorization: Bearer token".
func bearer(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// keyID is the identity an API key for caller proves.
func keyID(caller string) string { return identity.FromAPIKey(caller) }

// jwtID is the identity a JWT from testIssuer with sub proves.
func jwtID(sub string) string { return identity.FromJWT(testIssuer, sub) }

// apiKey returns a fresh random key and its APIKey entry.
func apiKey(t *testing.T, caller string) (string, access.APIKey) {
	t.Helper()
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	key := "eeo_" + hex.EncodeToString(raw)
	sum := sha256.Sum256([]byte(key))
	return key, access.APIKey{Caller: caller, SHA256: hex.EncodeToString(sum[:])}
}

const (
	testIssuer   = "https://idp.example.org"
	testAudience = "eeo-gateway"
)

// claims are valid claims for sub at now.
func claims(sub string, now time.Time) jwt.MapClaims {
	return testkit.Claims(testIssuer, testAudience, sub, now, 10*time.Minute)
}

// auditLog returns a logger writing JSON into a buffer and a function
// returning the "audit" events written so far.
func auditLog(t *testing.T) (*slog.Logger, *testkit.SyncBuffer, func() []map[string]any) {
	t.Helper()
	buf := &testkit.SyncBuffer{}
	log := slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	events := func() []map[string]any {
		var out []map[string]any
		dec := json.NewDecoder(bytes.NewReader([]byte(buf.String())))
		for {
			var m map[string]any
			if err := dec.Decode(&m); errors.Is(err, io.EOF) {
				return out
			} else if err != nil {
				t.Fatalf("audit log is not JSON lines: %v", err)
			}
			if m["msg"] == access.AuditMessage {
				out = append(out, m)
			}
		}
	}
	return log, buf, events
}
