package access_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/url"
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
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
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
}

func (f *fakeTokens) GetToken(ctx context.Context, req *eeov1.GetTokenRequest) (*eeov1.GetTokenResponse, error) {
	f.note(ctx)
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
	return &eeov1.ListAccountsResponse{Accounts: []*eeov1.Account{{Name: "A"}, {Name: "B"}}}, nil
}

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
	return stream.SendAndClose(&eeov1.CreateImportResponse{Import: &eeov1.Import{Account: md.GetAccount(), ImportId: "imp-1", RequestId: md.GetRequestId()}})
}

func (f *fakeFiles) GetImport(ctx context.Context, req *eeov1.GetImportRequest) (*eeov1.GetImportResponse, error) {
	f.note(ctx)
	return &eeov1.GetImportResponse{Import: &eeov1.Import{Account: req.GetAccount(), ImportId: req.GetImportId()}}, nil
}

func (f *fakeFiles) ListImports(ctx context.Context, _ *eeov1.ListImportsRequest) (*eeov1.ListImportsResponse, error) {
	f.note(ctx)
	return &eeov1.ListImportsResponse{}, nil
}

func (f *fakeFiles) CancelImport(ctx context.Context, req *eeov1.CancelImportRequest) (*eeov1.CancelImportResponse, error) {
	f.note(ctx)
	return &eeov1.CancelImportResponse{Import: &eeov1.Import{Account: req.GetAccount(), ImportId: req.GetImportId()}}, nil
}

func (f *fakeFiles) WatchImport(req *eeov1.WatchImportRequest, stream grpc.ServerStreamingServer[eeov1.WatchImportResponse]) error {
	f.note(stream.Context())
	return stream.Send(&eeov1.WatchImportResponse{Import: &eeov1.Import{Account: req.GetAccount(), ImportId: req.GetImportId()}})
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

// startEnv serves g's interceptors with serverCreds (nil: plaintext) and
// dials with clientCreds.
func startEnv(t *testing.T, g *access.Guard, serverCreds credentials.TransportCredentials, clientCreds credentials.TransportCredentials) *env {
	t.Helper()
	opts := []grpc.ServerOption{
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

// wantStatus fails unless err is a gRPC status with code and an ErrorInfo
// of domain "eeo-gateway" and reason; it returns the status.
func wantStatus(t *testing.T, err error, code codes.Code, reason string) *status.Status {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || st.Code() != code {
		t.Fatalf("got %v, want code %v", err, code)
	}
	if reason == "" {
		return st
	}
	info := errorInfo(st)
	if info == nil {
		t.Fatalf("%v: no ErrorInfo", err)
	}
	if info.GetDomain() != "eeo-gateway" || info.GetReason() != reason {
		t.Fatalf("ErrorInfo %s/%s, want eeo-gateway/%s", info.GetDomain(), info.GetReason(), reason)
	}
	return st
}

func errorInfo(st *status.Status) *errdetails.ErrorInfo {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	return nil
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

// signer is a JWT signing key with its JWK.
type signer struct {
	kid    string
	method jwt.SigningMethod
	priv   crypto.Signer
}

func ecSigner(t *testing.T, kid string) signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signer{kid: kid, method: jwt.SigningMethodES256, priv: k}
}

func ec384Signer(t *testing.T, kid string) signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signer{kid: kid, method: jwt.SigningMethodES384, priv: k}
}

func rsaSigner(t *testing.T, kid string) signer {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return signer{kid: kid, method: jwt.SigningMethodRS256, priv: k}
}

func edSigner(t *testing.T, kid string) signer {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signer{kid: kid, method: jwt.SigningMethodEdDSA, priv: k}
}

// sign makes a JWT with claims, naming the signer's kid.
func (s signer) sign(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(s.method, claims)
	if s.kid != "" {
		tok.Header["kid"] = s.kid
	}
	out, err := tok.SignedString(s.priv)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// jwk is the public half of the signer as a JWK.
func (s signer) jwk() map[string]any {
	b64 := base64.RawURLEncoding.EncodeToString
	m := map[string]any{"kid": s.kid, "use": "sig", "alg": s.method.Alg()}
	switch pub := s.priv.Public().(type) {
	case *rsa.PublicKey:
		m["kty"] = "RSA"
		m["n"] = b64(pub.N.Bytes())
		m["e"] = b64(big.NewInt(int64(pub.E)).Bytes())
	case *ecdsa.PublicKey:
		raw, err := pub.Bytes() // 0x04 || X || Y
		if err != nil {
			panic(err)
		}
		size := (len(raw) - 1) / 2
		m["kty"] = "EC"
		m["crv"] = pub.Curve.Params().Name
		m["x"] = b64(raw[1 : 1+size])
		m["y"] = b64(raw[1+size:])
	case ed25519.PublicKey:
		m["kty"] = "OKP"
		m["crv"] = "Ed25519"
		m["x"] = b64(pub)
	}
	return m
}

// jwks is a JWK Set of the signers' public keys.
func jwks(signers ...signer) []byte {
	keys := make([]map[string]any, 0, len(signers))
	for _, s := range signers {
		keys = append(keys, s.jwk())
	}
	out, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		panic(err)
	}
	return out
}

const (
	testIssuer   = "https://idp.example.org"
	testAudience = "eeo-gateway"
)

// claims are valid claims for sub at now.
func claims(sub string, now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss": testIssuer,
		"aud": testAudience,
		"sub": sub,
		"iat": now.Unix(),
		"exp": now.Add(10 * time.Minute).Unix(),
	}
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

// pki is a throwaway CA issuing server and client certificates.
type pki struct {
	cert *x509.Certificate
	key  crypto.Signer
	pool *x509.CertPool
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &pki{cert: cert, key: key, pool: pool}
}

// issue signs a leaf certificate; edit fills in names and usages.
func (p *pki) issue(t *testing.T, edit func(*x509.Certificate)) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	edit(tmpl)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.cert, key.Public(), p.key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

func (p *pki) server(t *testing.T) tls.Certificate {
	return p.issue(t, func(c *x509.Certificate) {
		c.Subject = pkix.Name{CommonName: "gateway"}
		c.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	})
}

// client issues a client certificate with the given URI SAN, DNS SAN and
// CN (empty ones left out).
func (p *pki) client(t *testing.T, uri, dns, cn string) tls.Certificate {
	return p.issue(t, func(c *x509.Certificate) {
		c.Subject = pkix.Name{CommonName: cn}
		if uri != "" {
			u, err := url.Parse(uri)
			if err != nil {
				t.Fatal(err)
			}
			c.URIs = []*url.URL{u}
		}
		if dns != "" {
			c.DNSNames = []string{dns}
		}
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	})
}
