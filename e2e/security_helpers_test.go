package e2e_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/access"
	"github.com/eeo-gateway/eeo-gateway/access/identity"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"github.com/eeo-gateway/eeo-gateway/server"
	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// Helpers for the security suite (security_*_test.go): callers and their
// credentials, a walk over every RPC and REST route, TLS material, JWTs and
// audit events.

// grant gives caller an API key and a policy with perms on accounts, and
// returns the key, registered with the leak scan.
func grant(cfg *access.Config, caller string, accounts []string, perms ...access.Permission) string {
	key := "e2e-api-key-" + rand.Text()
	registerCredential("API key", key)
	sum := sha256.Sum256([]byte(key))
	cfg.APIKeys = append(cfg.APIKeys, access.APIKey{Caller: caller, SHA256: hex.EncodeToString(sum[:])})
	cfg.Policies = append(cfg.Policies, access.Policy{Caller: identity.FromAPIKey(caller), Accounts: accounts, Permissions: perms})
	return key
}

// --- the walk over every RPC and REST route ---

// Placeholder ids for walks: no such import or report exists.
const (
	unknownImportID = "imp-does-not-exist"
	unknownReportID = "rep-does-not-exist"
)

// eeoServices are the gateway's own services, the subject of the walks.
var eeoServices = []grpc.ServiceDesc{eeov1.TokenService_ServiceDesc, eeov1.ImportReportService_ServiceDesc}

// eeoMethods returns every method of eeoServices from their descriptors,
// checking that the descriptors and the registered service descriptions
// agree, so a new RPC cannot escape the walk.
func eeoMethods(t *testing.T) []protoreflect.MethodDescriptor {
	t.Helper()
	var out []protoreflect.MethodDescriptor
	for _, sd := range eeoServices {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(sd.ServiceName))
		if err != nil {
			t.Fatalf("service %s: %v", sd.ServiceName, err)
		}
		svc := d.(protoreflect.ServiceDescriptor)
		if n := len(sd.Methods) + len(sd.Streams); n != svc.Methods().Len() {
			t.Fatalf("service %s: %d methods registered, %d in the descriptor", sd.ServiceName, n, svc.Methods().Len())
		}
		for i := range svc.Methods().Len() {
			out = append(out, svc.Methods().Get(i))
		}
	}
	if len(out) < 18 {
		t.Fatalf("walk covers %d methods; the API has at least 18", len(out))
	}
	return out
}

func fullMethod(m protoreflect.MethodDescriptor) string {
	return fmt.Sprintf("/%s/%s", m.Parent().FullName(), m.Name())
}

// walkRequest builds m's request naming acct and ids of nothing.
func walkRequest(t *testing.T, m protoreflect.MethodDescriptor, acct string) proto.Message {
	t.Helper()
	mt, err := protoregistry.GlobalTypes.FindMessageByName(m.Input().FullName())
	if err != nil {
		t.Fatalf("%s: request type: %v", fullMethod(m), err)
	}
	msg := mt.New()
	fields := msg.Descriptor().Fields()
	for name, v := range map[string]string{"account": acct, "import_id": unknownImportID, "report_id": unknownReportID} {
		if f := fields.ByName(protoreflect.Name(name)); f != nil && f.Kind() == protoreflect.StringKind && f.Cardinality() != protoreflect.Repeated {
			msg.Set(f, protoreflect.ValueOfString(v))
		}
	}
	if r, ok := msg.Interface().(*eeov1.CreateImportRequest); ok {
		r.Payload = &eeov1.CreateImportRequest_Metadata{Metadata: &eeov1.ImportMetadata{
			Account: acct, ImportType: "participants", FileName: "walk.csv", ContentType: "text/csv",
		}}
	}
	return msg.Interface()
}

// callRPC calls m on conn with its walk request: a unary call, or a stream
// that sends the request, closes its side and receives once. It returns the
// call's status.
func callRPC(ctx context.Context, t *testing.T, conn *grpc.ClientConn, m protoreflect.MethodDescriptor, acct string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req := walkRequest(t, m, acct)
	mt, err := protoregistry.GlobalTypes.FindMessageByName(m.Output().FullName())
	if err != nil {
		t.Fatalf("%s: response type: %v", fullMethod(m), err)
	}
	resp := mt.New().Interface()
	if !m.IsStreamingClient() && !m.IsStreamingServer() {
		return conn.Invoke(ctx, fullMethod(m), req, resp)
	}
	desc := &grpc.StreamDesc{StreamName: string(m.Name()), ServerStreams: m.IsStreamingServer(), ClientStreams: m.IsStreamingClient()}
	stream, err := conn.NewStream(ctx, desc, fullMethod(m))
	if err != nil {
		return err
	}
	if err := stream.SendMsg(req); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if err := stream.CloseSend(); err != nil {
		return err
	}
	err = stream.RecvMsg(resp)
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// route is one REST route of the facade, ready to call.
type route struct {
	method   string
	template string // as in the proto, e.g. /v1/accounts/{account}/token
	path     string // with the placeholders filled in
	body     string
	ctype    string
	rpc      string // the gRPC method it calls
}

var pathVar = regexp.MustCompile(`\{([a-z_]+)\}`)

// restRoutes returns one route per method of eeoServices, from the
// methods' google.api.http rules; CreateImport, which has none, is the
// hand-written upload route. Every placeholder is filled for acct.
func restRoutes(t *testing.T, acct string) []route {
	t.Helper()
	values := map[string]string{"account": acct, "import_id": unknownImportID, "report_id": unknownReportID}
	var out []route
	for _, m := range eeoMethods(t) {
		r := route{rpc: fullMethod(m)}
		rule, _ := proto.GetExtension(m.Options(), annotations.E_Http).(*annotations.HttpRule)
		switch p := rule.GetPattern().(type) {
		case *annotations.HttpRule_Get:
			r.method, r.template = http.MethodGet, p.Get
		case *annotations.HttpRule_Post:
			r.method, r.template = http.MethodPost, p.Post
		case *annotations.HttpRule_Delete:
			r.method, r.template = http.MethodDelete, p.Delete
		case *annotations.HttpRule_Put:
			r.method, r.template = http.MethodPut, p.Put
		case *annotations.HttpRule_Patch:
			r.method, r.template = http.MethodPatch, p.Patch
		case nil:
			if r.rpc != eeov1.ImportReportService_CreateImport_FullMethodName {
				t.Fatalf("%s has no REST route", r.rpc)
			}
			// The hand-written upload route (server/rest_files.go).
			r.method, r.template = http.MethodPost, "/v1/accounts/{account}/imports"
			r.body, r.ctype = participantsHeader+"P001,Ada,Lovelace,ada@example.com\n", "text/csv"
		default:
			t.Fatalf("%s: unexpected HTTP rule %v", r.rpc, rule)
		}
		if rule.GetBody() != "" {
			r.body, r.ctype = "{}", "application/json"
		}
		r.path = pathVar.ReplaceAllStringFunc(r.template, func(v string) string {
			name := v[1 : len(v)-1]
			val, ok := values[name]
			if !ok {
				t.Fatalf("%s: route %s has an unknown variable %s", r.rpc, r.template, v)
			}
			return url.PathEscape(val)
		})
		if r.rpc == eeov1.ImportReportService_CreateImport_FullMethodName {
			r.path += "?" + url.Values{"importType": {"participants"}, "fileName": {"walk.csv"}}.Encode()
		}
		out = append(out, r)
	}
	return out
}

// callREST does r with c's REST client and returns the status and body.
func callREST(t *testing.T, c *stack, r route) (int, http.Header, []byte) {
	t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(t.Context(), r.method, c.restURL+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if r.ctype != "" {
		req.Header.Set("Content-Type", r.ctype)
	}
	return c.send(t, req)
}

// restRefusal decodes a REST error body: a google.rpc.Status, or for a
// streaming route grpc-gateway's {"error": Status}. It returns the
// ErrorInfo's reason and metadata.
func restRefusal(body []byte) (reason string, md map[string]string, err error) {
	type status struct {
		Code    int `json:"code"`
		Details []struct {
			Type     string            `json:"@type"`
			Reason   string            `json:"reason"`
			Domain   string            `json:"domain"`
			Metadata map[string]string `json:"metadata"`
		} `json:"details"`
	}
	var doc struct {
		status
		Error *status `json:"error"`
	}
	// A streaming route may add a newline-delimited chunk after the error.
	line, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
	if err := json.Unmarshal([]byte(line), &doc); err != nil {
		return "", nil, fmt.Errorf("body %q is not a status: %w", body, err)
	}
	st := doc.status
	if doc.Error != nil {
		st = *doc.Error
	}
	for _, d := range st.Details {
		if d.Type == "type.googleapis.com/google.rpc.ErrorInfo" {
			if d.Domain != server.ErrorDomain {
				return "", nil, fmt.Errorf("ErrorInfo domain %q in %s", d.Domain, body)
			}
			return d.Reason, d.Metadata, nil
		}
	}
	return "", nil, fmt.Errorf("body %s has no ErrorInfo", body)
}

// grpcRefusal checks that err has code and an ErrorInfo with reason, and
// returns the ErrorInfo's metadata; it reports a mismatch as an error.
func grpcRefusal(err error, code codes.Code, reason string) (map[string]string, error) {
	if c := status.Code(err); c != code {
		return nil, fmt.Errorf("got %v (code %v), want %v", err, c, code)
	}
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			if info.GetReason() != reason || info.GetDomain() != server.ErrorDomain {
				return nil, fmt.Errorf("ErrorInfo %s/%s, want %s/%s (%v)", info.GetDomain(), info.GetReason(), server.ErrorDomain, reason, err)
			}
			return info.GetMetadata(), nil
		}
	}
	return nil, fmt.Errorf("%v carries no ErrorInfo", err)
}

// --- audit events ---

// audits returns the audit events of s.
func (s *stack) audits(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, e := range s.logs(t) {
		if e["component"] == "audit" && e["msg"] == access.AuditMessage {
			out = append(out, e)
		}
	}
	return out
}

// matchingAudits returns the audit events of s with all the attributes of want.
func (s *stack) matchingAudits(t *testing.T, want map[string]string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, e := range s.audits(t) {
		match := true
		for k, v := range want {
			match = match && e[k] == v
		}
		if match {
			out = append(out, e)
		}
	}
	return out
}

// wantAudit fails the test unless s logged an audit event with all the
// attributes of want.
func (s *stack) wantAudit(t *testing.T, what string, want map[string]string) {
	t.Helper()
	if len(s.matchingAudits(t, want)) == 0 {
		t.Errorf("%s: no audit event with %v; audit events: %v", what, want, s.audits(t))
	}
}

// --- TLS material ---

// pki is the TLS material of the mTLS tests: a server certificate for
// 127.0.0.1, a client CA the gateway trusts and one it does not.
type pki struct {
	serverCert tls.Certificate
	serverRoot *x509.CertPool // trusts serverCert's issuer
	clientCAs  *x509.CertPool // the client CA the gateway trusts
	clientCA   *testkit.Cert
	rogueCA    *testkit.Cert // a CA the gateway does not trust
}

// clientCert issues a client certificate from ca whose identity is the URI
// SAN id.
func clientCert(ca *testkit.Cert, id string) tls.Certificate {
	return ca.Client("e2e client", testkit.URI(id)).TLS()
}

func newPKI() pki {
	serverCA := testkit.NewCA("e2e server CA")
	p := pki{
		serverRoot: testkit.Pool(serverCA),
		clientCA:   testkit.NewCA("e2e client CA"),
		rogueCA:    testkit.NewCA("e2e rogue CA"),
	}
	p.clientCAs = testkit.Pool(p.clientCA)
	p.serverCert = serverCA.Server("eeo-gateway").TLS()
	return p
}

// serverTLS is the gateway's TLS configuration with the given client
// certificate policy.
func (p pki) serverTLS(auth tls.ClientAuthType) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{p.serverCert}, ClientCAs: p.clientCAs, ClientAuth: auth}
}

// clientTLS is a client configuration trusting the gateway, presenting
// certs (none if empty).
func (p pki) clientTLS(certs ...tls.Certificate) *tls.Config {
	return &tls.Config{RootCAs: p.serverRoot, Certificates: certs}
}

// insistingClientTLS presents cert whatever CAs the server asks for: Go's
// client would otherwise send no certificate the server's CertificateRequest
// does not name an issuer of, and the test would only show a missing
// certificate refused.
func (p pki) insistingClientTLS(cert tls.Certificate) *tls.Config {
	return &tls.Config{RootCAs: p.serverRoot, GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		return &cert, nil
	}}
}

// handshakeAlert connects to addr with cfg and returns the TLS alert the
// server refuses the connection with ("remote error: tls: …"), or an error
// if it does not. Under TLS 1.3 the client's handshake completes before the
// server has checked the client certificate, so the refusal arrives on the
// first read.
func handshakeAlert(addr string, cfg *tls.Config) (string, error) {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err == nil {
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		_, err = conn.Read(make([]byte, 1))
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "remote error" && strings.HasPrefix(op.Err.Error(), "tls: ") {
		return op.Err.Error(), nil
	}
	return "", fmt.Errorf("no TLS alert from %s (read: %v)", addr, err)
}

// --- JWTs ---

// issuer is an identity provider signing ES256 JWTs, with its JWKS in a file.
type issuer struct {
	name     string
	signer   testkit.Signer
	jwksFile string
}

// newIssuer returns an identity provider; every one has the same key id, so
// two of them sign with different keys under one kid.
func newIssuer(t *testing.T) issuer {
	t.Helper()
	iss := issuer{name: "https://idp.e2e.example", signer: testkit.ES256Signer(t, "e2e-key-1")}
	iss.jwksFile = testkit.JWKSFile(t, iss.signer)
	return iss
}

// signJWT makes a JWT with claims signed by s; it is registered with the
// leak scan.
func signJWT(t *testing.T, s testkit.Signer, claims jwt.MapClaims) string {
	t.Helper()
	tok := s.Sign(t, claims)
	registerCredential("JWT", tok)
	// The signature alone would let anyone holding the (public) claims
	// rebuild the token.
	if i := strings.LastIndexByte(tok, '.'); i >= 0 && len(tok)-i > 1 {
		registerCredential("JWT signature", tok[i+1:])
	}
	return tok
}

// claims returns claims for sub, valid now for audience aud.
func (iss issuer) claims(sub, aud string, now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss": iss.name, "sub": sub, "aud": aud,
		"iat": now.Add(-time.Minute).Unix(), "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix(),
	}
}

// containsAll reports whether every one of want is in got.
func containsAll[T comparable](got, want []T) bool {
	for _, w := range want {
		if !slices.Contains(got, w) {
			return false
		}
	}
	return true
}
