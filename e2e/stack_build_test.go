package e2e_test

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/access"
	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/eeo"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/faultproxy"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"github.com/eeo-gateway/eeo-gateway/sandbox"
	"github.com/eeo-gateway/eeo-gateway/server"
	"google.golang.org/grpc"
)

// The pieces newStack assembles, in the order it assembles them. Each
// wires its part as production does (cmd/eeo-gateway); newStack owns the
// order they are stopped in.

// stackLogger is the stack's logger into the shared log sink, and the
// stack's number: "stack" tells apart the stacks of one test, and of its
// repeats under -count, in the shared log.
func stackLogger(t *testing.T, opts stackOptions) (*slog.Logger, int64) {
	stackID := stackIDs.Add(1)
	var sink io.Writer = logSink{}
	var level slog.Leveler = slog.LevelDebug
	if opts.DebugLogBytes > 0 {
		cs := &countingSink{}
		sink, level = cs, budgetLevel{sink: cs, limit: opts.DebugLogBytes}
	}
	logger := slog.New(slog.NewJSONHandler(sink, &slog.HandlerOptions{Level: level})).With("test", t.Name(), "stack", stackID)
	return logger, stackID
}

// stackCredentials are the EEO client secrets of a stack: the one EEO
// knows, the one the cache presents (another with WrongSecret), and the
// second account's.
type stackCredentials struct {
	secret, presented, otherSecret string
}

func newStackCredentials(opts stackOptions) stackCredentials {
	c := stackCredentials{secret: newSecret("e2e-secret-")}
	c.presented = c.secret
	if opts.WrongSecret {
		c.presented = newSecret("e2e-wrong-secret-")
	}
	if opts.SecondAccount {
		c.otherSecret = newClientSecret(otherClientID, "e2e-other-secret-")
	}
	return c
}

// stackEEO is the EEO side of a stack: the sandbox, serving, and the fault
// proxy in front of it (Proxy stacks).
type stackEEO struct {
	sb         *sandbox.Sandbox
	sandboxURL string
	// upstreamURL is where the gateway reaches EEO: the sandbox, or the
	// fault proxy in front of it.
	upstreamURL string
	proxy       *faultproxy.Proxy
	cancel      context.CancelFunc
	done        chan error
}

// startEEO starts the sandbox knowing the stack's clients, and the fault
// proxy if asked for.
func startEEO(t *testing.T, opts stackOptions, creds stackCredentials, now func() time.Time, logger *slog.Logger) *stackEEO {
	sbOpts := opts.Sandbox
	sbOpts.Clients = []sandbox.Client{{ID: clientID, Secret: creds.secret}}
	if opts.SecondAccount {
		sbOpts.Clients = append(sbOpts.Clients, sandbox.Client{ID: otherClientID, Secret: creds.otherSecret})
	}
	sbOpts.Now = now
	if opts.SandboxClock != nil {
		sbOpts.Now = opts.SandboxClock.Now
	}
	sbOpts.Logger = logger.With("component", "sandbox")
	e := &stackEEO{sb: sandbox.New(sbOpts), done: make(chan error, 1)}
	evidence.mu.Lock()
	evidence.sandboxes = append(evidence.sandboxes, e.sb)
	evidence.mu.Unlock()
	lis := testkit.Listen(t)
	var ctx context.Context
	ctx, e.cancel = context.WithCancel(context.Background())
	go func() { e.done <- e.sb.Serve(ctx, lis) }()
	e.sandboxURL = "http://" + lis.Addr().String()
	e.upstreamURL = e.sandboxURL
	if opts.Proxy {
		var err error
		e.proxy, err = faultproxy.New(faultproxy.Options{Target: lis.Addr().String(), Logger: logger.With("component", "faultproxy")})
		if err != nil {
			t.Fatal(err)
		}
		e.upstreamURL = e.proxy.URL()
	}
	return e
}

// stop closes the proxy, then the sandbox, and waits for it.
func (e *stackEEO) stop(t *testing.T) {
	if e.proxy != nil {
		// Before the sandbox: a blackholed connection would hold nothing
		// up, but a connection still open to the sandbox would delay its
		// shutdown.
		if err := e.proxy.Close(); err != nil {
			t.Errorf("fault proxy Close: %v", err)
		}
	}
	e.cancel()
	if err := <-e.done; err != nil {
		t.Errorf("sandbox Serve: %v", err)
	}
}

// stackCache is the token cache of a stack, the transport its fetchers
// share, and its secret file (SecretFile stacks).
type stackCache struct {
	cache       *auth.Cache
	transport   *http.Transport
	secretFile  string
	secretFiles map[string]*auth.FileSecret
}

// newStackCache builds the token cache fetching from upstreamURL, as
// production's newTokenCache does.
func newStackCache(t *testing.T, opts stackOptions, creds stackCredentials, upstreamURL string, now func() time.Time, logger *slog.Logger) stackCache {
	c := stackCache{transport: http.DefaultTransport.(*http.Transport).Clone()}
	cacheOpts := opts.Cache
	cacheOpts.Now = now
	cacheOpts.Logger = logger.With("component", "token-cache")
	fetcher := &auth.ClientCredentials{
		TokenURL:     upstreamURL + "/oauth2/token",
		ClientID:     clientID,
		ClientSecret: auth.NewSecret(creds.presented),
		HTTPClient:   &http.Client{Transport: c.transport},
	}
	if opts.SecretFile {
		// As production's newTokenCache does for a client_secret_file.
		c.secretFile = filepath.Join(t.TempDir(), "client-secret")
		if err := os.WriteFile(c.secretFile, []byte(creds.presented+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		fs, err := auth.NewFileSecret(c.secretFile)
		if err != nil {
			t.Fatal(err)
		}
		fetcher.ClientSecret = auth.Secret{}
		fetcher.SecretSource, c.secretFiles = fs, map[string]*auth.FileSecret{account: fs}
	}
	accounts := []auth.Account{{Name: account, Fetcher: fetcher}}
	if opts.SecondAccount {
		id, secret := otherClientID, creds.otherSecret
		if opts.SharedClient {
			id, secret = clientID, creds.presented
		}
		accounts = append(accounts, auth.Account{Name: otherAccount, Fetcher: &auth.ClientCredentials{
			TokenURL:     upstreamURL + "/oauth2/token",
			ClientID:     id,
			ClientSecret: auth.NewSecret(secret),
			HTTPClient:   &http.Client{Transport: c.transport},
		}})
	}
	var err error
	if c.cache, err = auth.NewCache(accounts, cacheOpts); err != nil {
		t.Fatal(err)
	}
	return c
}

// newStackUpstreams builds ImportReportService's upstream for each account,
// wired as production's newUpstreams does: the transport waits for 100
// Continue, so EEO can refuse a stale token before an upload's body is
// sent.
func newStackUpstreams(t *testing.T, opts stackOptions, upstreamURL string, cache *auth.Cache, logger *slog.Logger) (map[string]server.Upstream, *http.Transport) {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.ExpectContinueTimeout = time.Second
	names := []string{account}
	if opts.SecondAccount {
		names = append(names, otherAccount)
	}
	upstreams := map[string]server.Upstream{}
	for _, name := range names {
		o := opts.EEO
		o.HTTPClient = &http.Client{Transport: transport}
		o.Logger = logger.With("component", "eeo", "account", name)
		client, err := eeo.New(name, upstreamURL, cache, o)
		if err != nil {
			t.Fatal(err)
		}
		upstreams[name] = client
	}
	return upstreams, transport
}

// guardStack puts an access.Guard in front of both services if opts asks
// for one, as production's serve wires it; nil otherwise.
func guardStack(t *testing.T, opts stackOptions, cfg *server.Config, logger *slog.Logger) *access.Guard {
	if opts.Access == nil {
		return nil
	}
	guardCfg := *opts.Access
	if guardCfg.Audit == nil {
		guardCfg.Audit = logger.With("component", "audit")
	}
	guard, err := access.New(guardCfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.StreamTap = guard.TapHandle()
	cfg.UnaryInterceptors = []grpc.UnaryServerInterceptor{guard.UnaryInterceptor()}
	cfg.StreamInterceptors = []grpc.StreamServerInterceptor{guard.StreamInterceptor()}
	cfg.RESTMetadata = guard.ForwardCertificate
	evidence.mu.Lock()
	evidence.guarded = true
	evidence.mu.Unlock()
	return guard
}

// serveStack starts the server on two loopback listeners and connects the
// stack's gRPC and REST clients to it. It returns the stack, with its
// server and client fields set, and the REST client's transport.
func serveStack(t *testing.T, opts stackOptions, cfg server.Config) (*stack, *http.Transport) {
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	grpcLis, httpLis := testkit.Listen(t), testkit.Listen(t)
	servedGRPC, servedHTTP := net.Listener(grpcLis), net.Listener(httpLis)
	if opts.WrapListeners != nil {
		servedGRPC, servedHTTP = opts.WrapListeners(grpcLis, httpLis)
	}
	ctx, cancel := context.WithCancel(context.Background())
	scheme := "http://"
	if opts.TLS != nil {
		scheme = "https://"
	}
	clientTransport := http.DefaultTransport.(*http.Transport).Clone()
	clientTransport.TLSClientConfig = opts.ClientTLS
	s := &stack{
		grpcAddr: grpcLis.Addr().String(), restURL: scheme + httpLis.Addr().String(),
		cancelServe: cancel, served: make(chan error, 1), baseTransport: clientTransport,
	}
	if opts.TLS != nil {
		s.clientTLS = opts.ClientTLS
		if s.clientTLS == nil {
			s.clientTLS = &tls.Config{}
		}
	}
	go func() { s.served <- srv.Serve(ctx, servedGRPC, servedHTTP) }()
	s.http = &http.Client{Transport: recordingTransport{clientTransport}}
	s.conn = s.dial(t)
	s.tokens = eeov1.NewTokenServiceClient(s.conn)
	s.files = eeov1.NewImportReportServiceClient(s.conn)
	return s, clientTransport
}

// watchStackSecrets runs auth.WatchSecretFiles over the stack's secret
// file, as production's serve does, and returns what stops it (a no-op
// without a secret file); it must be stopped before the cache closes.
func watchStackSecrets(opts stackOptions, c stackCache, logger *slog.Logger) (stop func()) {
	if c.secretFiles == nil {
		return func() {}
	}
	every := opts.SecretCheckInterval
	if every <= 0 {
		every = 5 * time.Millisecond
	}
	ctx, cancel := context.WithCancel(context.Background())
	watched := make(chan struct{})
	go func() {
		auth.WatchSecretFiles(ctx, c.cache, c.secretFiles, every, logger.With("component", "secrets"))
		close(watched)
	}()
	return func() { cancel(); <-watched }
}
