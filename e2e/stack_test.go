package e2e_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/faultproxy"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"

	"github.com/eeo-gateway/eeo-gateway/access"
	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/eeo"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/sandbox"
	"github.com/eeo-gateway/eeo-gateway/server"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
)

const (
	account  = "demo"
	clientID = "e2e-client"
	// otherAccount and otherClientID are the second account of stacks built
	// with stackOptions.SecondAccount: a second EEO client at the same
	// sandbox, whose imports and reports are invisible to the first.
	otherAccount  = "other"
	otherClientID = "e2e-other-client"
)

// evidence is everything the leak scan in TestMain inspects: the logs of every
// stack, the error messages and REST responses tests received, and the
// secrets and sandboxes (hence tokens) that must not appear in them.
var evidence struct {
	mu        sync.Mutex
	logs      bytes.Buffer
	seen      []string // error messages, REST error bodies, REST headers
	bodies    []string // successful REST bodies: scanned for caller credentials only
	secrets   []credential
	sandboxes []*sandbox.Sandbox
	// guarded is set once a stack runs an access.Guard, whose audit events
	// must then be in the scanned logs.
	guarded bool
}

// credential is something the leak scan must not find: a client secret, a
// caller's API key or JWT, …
type credential struct{ kind, value string }

// logSink is the shared, concurrency-safe destination of every stack's logs.
type logSink struct{}

func (logSink) Write(p []byte) (int, error) {
	evidence.mu.Lock()
	defer evidence.mu.Unlock()
	return evidence.logs.Write(p)
}

func allLogs() string {
	evidence.mu.Lock()
	defer evidence.mu.Unlock()
	return evidence.logs.String()
}

func record(what, s string) {
	evidence.mu.Lock()
	defer evidence.mu.Unlock()
	evidence.seen = append(evidence.seen, what+": "+s)
}

// recordErr keeps an error's message and, for a gRPC status, its details.
func recordErr(err error) {
	if err == nil {
		return
	}
	record("error", err.Error())
	if st, ok := status.FromError(err); ok {
		if b, merr := protojson.Marshal(st.Proto()); merr == nil {
			record("status", string(b))
		}
	}
}

func registerSecret(s string) { registerCredential("client secret", s) }

// registerCredential adds a credential of the given kind to the leak scan.
func registerCredential(kind, value string) {
	evidence.mu.Lock()
	defer evidence.mu.Unlock()
	evidence.secrets = append(evidence.secrets, credential{kind, value})
}

func newSecret(prefix string) string { return newClientSecret(clientID, prefix) }

// newClientSecret makes and registers a client secret for the EEO client id.
func newClientSecret(id, prefix string) string {
	s := prefix + rand.Text()
	registerSecret(s)
	// The Basic authorization value is as much a credential as the secret.
	registerSecret(base64.StdEncoding.EncodeToString([]byte(id + ":" + s)))
	return s
}

// recordingTransport records the headers of every response and the body of
// every error response. Successful bodies are not kept: a GetToken answer
// carries the token by design.
type recordingTransport struct{ base *http.Transport }

func (rt recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := rt.base.RoundTrip(req)
	if err != nil {
		recordErr(err)
		return nil, err
	}
	keys := make([]string, 0, len(resp.Header))
	for k := range resp.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var h strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&h, "%s: %s\n", k, strings.Join(resp.Header[k], ", "))
	}
	record("REST headers "+req.Method+" "+req.URL.Path, h.String())
	if resp.StatusCode >= 400 {
		body, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		if rerr != nil {
			return nil, rerr
		}
		record("REST error body "+req.Method+" "+req.URL.Path, string(body))
		resp.Body = io.NopCloser(bytes.NewReader(body))
	} else {
		resp.Body = &bodyRecorder{ReadCloser: resp.Body, what: "REST body " + req.Method + " " + req.URL.Path}
	}
	return resp, nil
}

// maxRecordedBody bounds how much of a successful REST body is kept.
const maxRecordedBody = 64 << 10

// bodyRecorder keeps the start of a successful REST body as it is read, for
// the scan for caller credentials (API keys, JWTs, client secrets). It is
// not scanned for EEO tokens: a GetToken answer carries one by design.
type bodyRecorder struct {
	io.ReadCloser
	what string
	buf  bytes.Buffer
	once sync.Once
}

func (b *bodyRecorder) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if room := maxRecordedBody - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(n, room)])
	}
	return n, err
}

func (b *bodyRecorder) Close() error {
	b.once.Do(func() {
		evidence.mu.Lock()
		defer evidence.mu.Unlock()
		evidence.bodies = append(evidence.bodies, b.what+": "+b.buf.String())
	})
	return b.ReadCloser.Close()
}

// recordErrors is a client interceptor that keeps every gRPC error received.
func recordErrors(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	recordErr(err)
	return err
}

// recordStreamErrors is recordErrors for streams (CreateImport, the watches,
// DownloadReport): it keeps every error a stream ends with, and its header
// and trailer metadata (DownloadReport sends headers for the REST facade).
// Stream messages are not kept: they are files and imports, not errors.
func recordStreamErrors(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	cs, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		recordErr(err)
		return nil, err
	}
	return &recordingStream{ClientStream: cs, method: method}, nil
}

type recordingStream struct {
	grpc.ClientStream
	method string
	header sync.Once
}

func (s *recordingStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	s.header.Do(func() {
		// After RecvMsg returned, Header does not block.
		if md, herr := s.ClientStream.Header(); herr == nil {
			record("gRPC header "+s.method, fmt.Sprint(md))
		}
	})
	if err != nil {
		if !errors.Is(err, io.EOF) {
			recordErr(err)
		}
		record("gRPC trailer "+s.method, fmt.Sprint(s.ClientStream.Trailer()))
	}
	return err
}

func (s *recordingStream) Header() (metadata.MD, error) {
	md, err := s.ClientStream.Header()
	if err == nil {
		record("gRPC header "+s.method, fmt.Sprint(md))
	}
	return md, err
}

// stackOptions tune newStack. Zero values give a working stack on real time.
type stackOptions struct {
	// Clock, if set, is the clock of the sandbox, the cache and the server.
	Clock *testkit.Clock
	// SandboxClock, if set, is the sandbox's clock instead of Clock, so a
	// test can age tokens (and imports and reports) at EEO without the
	// cache or the server noticing.
	SandboxClock *testkit.Clock
	// Sandbox options (StepDuration, MaxUploadBytes, …); Clients, Now and
	// Logger are filled in by newStack.
	Sandbox sandbox.Options
	// Cache options; Now and Logger are filled in by newStack. Zero
	// fields keep the production defaults (fetch timeout, backoff, …).
	Cache auth.Options
	// EEO tunes the account's EEO client (eeo.Options: Retry, Breaker,
	// MaxConcurrent, OperationTimeout, StreamIdleTimeout, Now, Sleep);
	// HTTPClient and Logger are filled in by newStack. Zero fields keep the
	// production defaults, and Now is not taken from Clock unless set here.
	EEO eeo.Options
	// Proxy puts a faultproxy.Proxy between the gateway and the sandbox:
	// the token URL and the base URL both point at proxy.URL(), so every
	// request the cache and the EEO client send crosses it. The proxy
	// starts in Pass; stack.proxy controls it, and stack.cutConnections
	// makes a new fault reach pooled connections.
	Proxy bool
	// WrongSecret makes the cache present a secret the sandbox rejects.
	WrongSecret bool
	// Server, if set, adjusts the server configuration before server.New.
	// Upstreams and WatchInterval are already set then.
	Server func(*server.Config)

	// Access, if set, puts an access.Guard in front of both services, wired
	// as production wires it (cmd/eeo-gateway/stack.go): its tap as
	// server.Config.StreamTap, its interceptors
	// as server.Config.UnaryInterceptors and StreamInterceptors and its
	// ForwardCertificate as RESTMetadata. Audit, if nil, is the shared log
	// sink (component "audit"). The Guard is closed at cleanup. Nil means
	// no Guard: every call is allowed, as in the tests of the token and
	// file paths.
	Access *access.Config
	// TLS, if set, is server.Config.TLS: both listeners serve TLS only. The
	// stack's clients then use ClientTLS (its RootCAs must trust the
	// server's certificate; a client certificate is optional).
	TLS       *tls.Config
	ClientTLS *tls.Config
	// SecondAccount adds account otherAccount: a second EEO client
	// (otherClientID, with its own secret) at the same sandbox, a second
	// cache account and a second EEO client, so tests can check that one
	// account's callers cannot reach another's objects.
	SecondAccount bool
	// SharedClient makes the second account use the first one's EEO client
	// (clientID and its secret), the setup config validation refuses: it
	// is how tests show the gateway's own owner record keeps accounts
	// apart when EEO cannot.
	SharedClient bool
	// SecretFile makes the account's fetcher read its client secret from a
	// file (stack.secretFile) through an auth.FileSecret, which
	// auth.WatchSecretFiles checks every SecretCheckInterval, as
	// production's newTokenCache and serve wire a client_secret_file.
	SecretFile          bool
	SecretCheckInterval time.Duration
	// DebugLogBytes, if positive, bounds the stack's debug logging: it logs
	// at debug level, as every stack does, until it has written that many
	// bytes to the shared log, then warnings and errors only. For long
	// runs (the soak), so the log the leak scan reads stays bounded while
	// still holding every component's debug lines from the start.
	DebugLogBytes int64
	// WrapListeners, if set, wraps the gRPC and REST listeners before the
	// server sees them, e.g. to count what it reads from each connection.
	WrapListeners func(grpcLis, httpLis net.Listener) (net.Listener, net.Listener)

	// shared, if set, is an EEO side (and its credentials) that several
	// stacks use, as replicas of one deployment do; newReplicas sets it.
	// The stack then neither starts nor stops a sandbox of its own.
	shared *sharedEEO
}

// countingSink is logSink, counting the bytes written through it.
type countingSink struct{ n atomic.Int64 }

func (c *countingSink) Write(p []byte) (int, error) {
	c.n.Add(int64(len(p)))
	return logSink{}.Write(p)
}

// budgetLevel is debug until its sink has taken limit bytes, then warn.
type budgetLevel struct {
	sink  *countingSink
	limit int64
}

func (b budgetLevel) Level() slog.Level {
	if b.sink.n.Load() < b.limit {
		return slog.LevelDebug
	}
	return slog.LevelWarn
}

// watchInterval is every stack's WatchInterval: short, so a watch notices a
// state change (made by advancing a clock) within milliseconds.
const watchInterval = 10 * time.Millisecond

// stackIDs numbers stacks, for their log lines.
var stackIDs atomic.Int64

// stack is one running sandbox + cache + server, with clients for both ports.
type stack struct {
	id              int64 // the "stack" attribute of its log lines
	sb              *sandbox.Sandbox
	presentedSecret string // the client secret the cache sends
	sandboxURL      string
	cache           *auth.Cache
	grpcAddr        string
	restURL         string
	conn            *grpc.ClientConn
	tokens          eeov1.TokenServiceClient
	files           eeov1.ImportReportServiceClient
	http            *http.Client
	// secretFile is the account's client secret file (SecretFile stacks).
	secretFile string
	// clientTLS is the TLS configuration of the stack's clients; nil for
	// plaintext.
	clientTLS *tls.Config
	// proxy is the fault proxy between the gateway and the sandbox (Proxy
	// stacks), and gatewayTransports the gateway's transports toward it
	// (the token fetcher's and the EEO client's), whose pooled connections
	// cutConnections drops.
	proxy             *faultproxy.Proxy
	gatewayTransports []*http.Transport
	// baseTransport is the REST client's transport, which views of the
	// stack (as) share.
	baseTransport *http.Transport
	// callerMD is metadata sent with every gRPC call of this view.
	callerMD metadata.MD

	cancelServe context.CancelFunc
	serveOnce   sync.Once
	served      chan error
	serveErr    error
}

// newStack starts a full gateway on loopback, wired as production wires
// it: EEO (the sandbox, optionally behind a fault proxy), the token cache,
// the EEO clients, the Guard, the server, and clients for both ports. The
// pieces are in stack_build_test.go. t.Cleanup stops it in production
// order and waits for each Serve.
func newStack(t *testing.T, opts stackOptions) *stack {
	t.Helper()
	logger, stackID := stackLogger(t, opts)
	var now func() time.Time
	if opts.Clock != nil {
		now = opts.Clock.Now
	}
	var (
		creds   stackCredentials
		eeoSide *stackEEO
	)
	if opts.shared != nil {
		creds, eeoSide = opts.shared.creds, opts.shared.eeo
	} else {
		creds = newStackCredentials(opts)
		eeoSide = startEEO(t, opts, creds, now, logger)
	}
	tokens := newStackCache(t, opts, creds, eeoSide.upstreamURL, now, logger)
	upstreams, upstreamTransport := newStackUpstreams(t, opts, eeoSide.upstreamURL, tokens.cache, logger)

	cfg := server.Config{
		Tokens:          tokens.cache,
		Upstreams:       upstreams,
		WatchInterval:   watchInterval,
		Logger:          logger.With("component", "server"),
		ShutdownTimeout: 5 * time.Second,
		Now:             now,
		TLS:             opts.TLS,
	}
	guard := guardStack(t, opts, &cfg, logger)
	if opts.Server != nil {
		opts.Server(&cfg)
	}
	s, clientTransport := serveStack(t, opts, cfg)
	s.id, s.sb, s.sandboxURL, s.cache, s.presentedSecret = stackID, eeoSide.sb, eeoSide.sandboxURL, tokens.cache, creds.presented
	s.secretFile, s.proxy = tokens.secretFile, eeoSide.proxy
	s.gatewayTransports = []*http.Transport{tokens.transport, upstreamTransport}
	stopWatch := watchStackSecrets(opts, tokens, logger)

	t.Cleanup(func() {
		s.conn.Close()
		// Idle HTTP/2 clients (REST over TLS) first: the server would
		// otherwise wait a second for them to answer its GOAWAY.
		clientTransport.CloseIdleConnections()
		if err := s.stopServer(); err != nil {
			t.Errorf("server Serve: %v", err)
		}
		// Production order (serve's defers): the secret watch, the cache,
		// then the Guard.
		stopWatch()
		tokens.cache.Close()
		if guard != nil {
			guard.Close()
		}
		// The gateway is stopped, so its pooled connections to the sandbox
		// are dead weight, and one may never have carried a request: a
		// call cancelled while dialling (an upload whose first chunk is
		// over the limit) leaves its connection, dialled on regardless, in
		// the pool. The sandbox's Shutdown counts such a connection as
		// busy for its first 5 s, as long as the sandbox waits, so it
		// would fail with "context deadline exceeded". Closed here, and
		// any dial still finishing is closed rather than pooled.
		tokens.transport.CloseIdleConnections()
		upstreamTransport.CloseIdleConnections()
		if opts.shared == nil {
			eeoSide.stop(t)
		}
		clientTransport.CloseIdleConnections()
	})
	return s
}

// cutConnections makes the proxy's current fault reach every later request:
// it cuts the connections open through the proxy and drops the gateway's
// pooled ones, so the next request dials anew (a pooled connection the
// proxy closed could otherwise fail a POST that net/http will not resend).
func (s *stack) cutConnections() {
	s.proxy.CloseConnections()
	for _, tr := range s.gatewayTransports {
		tr.CloseIdleConnections()
	}
}

// dial opens a new gRPC connection to the server, closed at cleanup: over
// TLS with the stack's client TLS configuration on a TLS stack, and sending
// the view's caller metadata (see as) with every call.
func (s *stack) dial(t *testing.T) *grpc.ClientConn {
	t.Helper()
	creds := insecure.NewCredentials()
	if s.clientTLS != nil {
		creds = credentials.NewTLS(s.clientTLS)
	}
	md := s.callerMD
	conn, err := grpc.NewClient(s.grpcAddr,
		grpc.WithTransportCredentials(creds),
		grpc.WithChainUnaryInterceptor(recordErrors, func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			return invoker(withMD(ctx, md), method, req, reply, cc, opts...)
		}),
		grpc.WithChainStreamInterceptor(recordStreamErrors, func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			return streamer(withMD(ctx, md), desc, cc, method, opts...)
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// withMD adds md to the outgoing metadata of ctx.
func withMD(ctx context.Context, md metadata.MD) context.Context {
	if len(md) == 0 {
		return ctx
	}
	out, _ := metadata.FromOutgoingContext(ctx)
	return metadata.NewOutgoingContext(ctx, metadata.Join(out, md))
}

// view says how a view of a stack (as) calls it.
type view struct {
	// Bearer, if set, is sent as "authorization: Bearer <Bearer>" with every
	// gRPC call and as the Authorization header of every REST request.
	Bearer string
	// MD is extra metadata for every gRPC call.
	MD metadata.MD
	// Header is extra headers for every REST request.
	Header http.Header
	// TLS, if set, replaces the stack's client TLS configuration (a TLS
	// stack only), e.g. to present another client certificate.
	TLS *tls.Config
}

// as returns a view of s that calls it as v says: its own gRPC connection
// and REST client, the same stack behind them. Helpers such as getToken,
// upload and rest work on a view as on the stack.
func (s *stack) as(t *testing.T, v view) *stack {
	t.Helper()
	c := &stack{
		id: s.id, sb: s.sb, presentedSecret: s.presentedSecret, sandboxURL: s.sandboxURL,
		cache: s.cache, grpcAddr: s.grpcAddr, restURL: s.restURL, secretFile: s.secretFile,
		clientTLS: s.clientTLS, baseTransport: s.baseTransport, callerMD: metadata.Join(s.callerMD, v.MD),
		proxy: s.proxy, gatewayTransports: s.gatewayTransports,
	}
	if v.Bearer != "" {
		c.callerMD = metadata.Join(c.callerMD, metadata.Pairs("authorization", "Bearer "+v.Bearer))
	}
	base := s.baseTransport
	if v.TLS != nil {
		if s.clientTLS == nil {
			t.Fatal("view with TLS on a plaintext stack")
		}
		c.clientTLS = v.TLS
		base = s.baseTransport.Clone()
		base.TLSClientConfig = v.TLS
		t.Cleanup(base.CloseIdleConnections)
	}
	header := v.Header.Clone()
	if v.Bearer != "" {
		if header == nil {
			header = http.Header{}
		}
		header.Set("Authorization", "Bearer "+v.Bearer)
	}
	c.http = &http.Client{Transport: headerTransport{header: header, next: recordingTransport{base}}}
	c.conn = c.dial(t)
	c.tokens = eeov1.NewTokenServiceClient(c.conn)
	c.files = eeov1.NewImportReportServiceClient(c.conn)
	// A view has no Serve of its own: stopping it stops nothing.
	c.serveOnce.Do(func() {})
	return c
}

// headerTransport adds headers to every request.
type headerTransport struct {
	header http.Header
	next   http.RoundTripper
}

func (h headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if len(h.header) > 0 {
		req = req.Clone(req.Context())
		for k, vs := range h.header {
			req.Header[k] = append([]string(nil), vs...)
		}
	}
	return h.next.RoundTrip(req)
}

// stopServer cancels Serve's context and returns what Serve returned. It may
// be called any number of times.
func (s *stack) stopServer() error {
	s.serveOnce.Do(func() {
		s.cancelServe()
		s.serveErr = <-s.served
	})
	return s.serveErr
}

func (s *stack) getToken(ctx context.Context) (*eeov1.Token, error) {
	resp, err := s.tokens.GetToken(ctx, &eeov1.GetTokenRequest{Account: account})
	return resp.GetToken(), err
}

func (s *stack) mustToken(t *testing.T) *eeov1.Token {
	t.Helper()
	tok, err := s.getToken(t.Context())
	if err != nil {
		t.Fatalf("GetToken: %v", err)
	}
	if tok.GetAccessToken() == "" || tok.GetFingerprint() == "" {
		t.Fatalf("GetToken returned an incomplete token (fingerprint %q)", tok.GetFingerprint())
	}
	return tok
}

func (s *stack) tokenRequests() int64 { return s.sb.Stats().TokenRequests }

func (s *stack) wantTokenRequests(t *testing.T, want int64) {
	t.Helper()
	if got := s.tokenRequests(); got != want {
		t.Errorf("sandbox saw %d token requests, want %d", got, want)
	}
}

// rest does a request against the REST facade and returns status, headers and body.
func (s *stack) rest(t *testing.T, method, path string) (int, http.Header, []byte) {
	t.Helper()
	return s.do(t, method, s.restURL+path, "")
}

// whoami calls the sandbox's protected probe with token and returns the HTTP
// status. Note that an accepted call slides the token's idle timer upstream.
func (s *stack) whoami(t *testing.T, token string) int {
	t.Helper()
	code, _, _ := s.do(t, http.MethodGet, s.sandboxURL+"/v1/whoami", token)
	return code
}

func (s *stack) do(t *testing.T, method, url, bearer string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return s.send(t, req)
}

// send does req with the recording client and returns status, headers and
// the whole body.
func (s *stack) send(t *testing.T, req *http.Request) (int, http.Header, []byte) {
	t.Helper()
	method := req.Method
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, req.URL.Path, err)
	}
	return resp.StatusCode, resp.Header, body
}

// restErrorDetail decodes a REST error body (a google.rpc.Status in JSON) and
// returns its first detail.
func restErrorDetail(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var st struct {
		Details []map[string]any `json:"details"`
	}
	if err := json.Unmarshal(body, &st); err != nil || len(st.Details) == 0 {
		t.Fatalf("REST error body %q: no details (%v)", body, err)
	}
	return st.Details[0]
}

// waitFor polls cond until it holds, failing after 10s. It is used only to
// wait for the sandbox to receive a request, which happens in an HTTP handler
// the test has no hook into.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
