package multiprocess_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/eeo-gateway/eeo-gateway/client"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/redistest"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
)

const (
	// account is the one EEO account every replica serves.
	account  = "acme"
	clientID = "mp-client"
	// Environment variables the replicas read their secrets from, as
	// production does; the config files name them, never the values.
	clientSecretEnv = "EEO_MP_CLIENT_SECRET"
	redisKeyEnv     = "EEO_MP_REDIS_KEY"
	// pollTimeout bounds every wait for a condition the test cannot be
	// told about (a metric, a Redis key, a request reaching the sandbox).
	pollTimeout = 30 * time.Second
)

// clusterOptions shape a deployment.
type clusterOptions struct {
	// Replicas is how many `serve` processes to start.
	Replicas int
	// Redis, when set, gives the replicas a redis section pointing at a
	// redis-server of the test's own.
	Redis bool
	// OneActiveToken makes the sandbox revoke a client's token whenever it
	// issues another, as many OAuth providers do.
	OneActiveToken bool
	// SandboxArgs are further `eeo-gateway sandbox` flags.
	SandboxArgs []string
	// TokenYAML and RedisYAML are extra lines (two-space indented) for the
	// token and redis sections.
	TokenYAML, RedisYAML string
}

// cluster is one deployment: the sandbox as EEO, maybe a redis-server,
// and the replicas, all processes of their own.
type cluster struct {
	t        *testing.T
	bin      string
	opts     clusterOptions
	dir      string
	http     *http.Client
	sandbox  *sandboxProc
	redis    *redistest.Server // nil without Redis
	gateways []*gateway

	// Credentials, all random per test; none may appear in a replica's
	// output.
	clientSecret, apiKey, redisKey string

	// procs is every replica process started, a restarted replica's
	// earlier life included, for the output checks.
	procs []*proc

	mu     sync.Mutex
	tokens map[string]bool // every access token a caller received
}

// newCluster starts the sandbox, Redis if asked for, and the replicas, and
// waits until every replica is ready. Everything is stopped when the test
// ends: the replicas first, Redis and the sandbox last.
func newCluster(t *testing.T, opts clusterOptions) *cluster {
	t.Helper()
	c := &cluster{
		t:            t,
		bin:          gatewayBinary(t),
		opts:         opts,
		dir:          t.TempDir(),
		http:         &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second},
		clientSecret: "mp-secret-" + rand.Text(),
		apiKey:       "mp-key-" + rand.Text(),
		redisKey:     hex.EncodeToString([]byte(rand.Text() + rand.Text())[:32]),
		tokens:       map[string]bool{},
	}
	if opts.Redis {
		c.redis = redistest.Start(t, redistest.Options{})
	}
	c.sandbox = startSandbox(t, c.bin, clientID, c.clientSecret, opts.OneActiveToken, opts.SandboxArgs, c.http)
	// Runs after every replica's own cleanup (cleanups run last first).
	t.Cleanup(c.checkOutputs)
	for i := range opts.Replicas {
		c.gateways = append(c.gateways, c.startGateway(i))
	}
	return c
}

// gateway is one `serve` process and the test's connection to it.
type gateway struct {
	*proc
	index     int
	grpcAddr  string
	adminAddr string
	conn      *grpc.ClientConn
	tokens    eeov1.TokenServiceClient
	files     eeov1.ImportReportServiceClient
	client    *client.Client
}

// servingLine is the server's start-up log line, which carries the
// addresses its listeners got.
var servingLine = regexp.MustCompile(`"msg":"serving".*`)

// startGateway writes replica i's config file and starts it.
func (c *cluster) startGateway(i int) *gateway {
	t := c.t
	t.Helper()
	path := filepath.Join(c.dir, fmt.Sprintf("gateway-%d.yaml", i))
	if err := os.WriteFile(path, []byte(c.config()), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{clientSecretEnv + "=" + c.clientSecret, redisKeyEnv + "=" + c.redisKey}
	p := startProc(t, fmt.Sprintf("gateway-%d", i), c.bin, env, "serve", "--config", path)
	c.procs = append(c.procs, p)
	line := p.waitOutput(t, p.stderr, servingLine)[0]
	var serving struct {
		GRPC  string `json:"grpc_addr"`
		Admin string `json:"admin_addr"`
	}
	if err := json.Unmarshal([]byte("{"+line), &serving); err != nil || serving.GRPC == "" || serving.Admin == "" {
		t.Fatalf("gateway-%d: serving line %q: %v", i, line, err)
	}
	g := &gateway{proc: p, index: i, grpcAddr: serving.GRPC, adminAddr: serving.Admin}
	c.waitReady(g)
	conn, err := grpc.NewClient(g.grpcAddr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(apiKeyCredentials(c.apiKey)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	g.conn = conn
	g.tokens = eeov1.NewTokenServiceClient(conn)
	g.files = eeov1.NewImportReportServiceClient(conn)
	g.client = client.New(conn)
	return g
}

// config is a replica's configuration file: loopback listeners on free
// ports, JSON logs (the harness reads the "serving" line), API-key caller
// authentication as production requires, the sandbox as EEO, and Redis if
// the cluster has it.
func (c *cluster) config() string {
	sum := sha256.Sum256([]byte(c.apiKey))
	var b strings.Builder
	fmt.Fprintf(&b, `grpc_addr: 127.0.0.1:0
http_addr: 127.0.0.1:0
admin_addr: 127.0.0.1:0
log_level: info
log_format: json
shutdown_timeout: 5s
token:
  backoff_initial: 50ms
  backoff_max: 500ms
%s
files:
  watch_interval: 50ms
access:
  api_keys:
    - caller: mp
      sha256: %s
  policies:
    - caller: apikey:mp
      accounts: [%q]
      permissions: [token:get, token:refresh, token:invalidate, imports:write, imports:read, reports:write, reports:read]
accounts:
  - name: %q
    token_url: %s/oauth2/token
    base_url: %s
    client_id: %q
    client_secret_env: %s
`, c.opts.TokenYAML, hex.EncodeToString(sum[:]), account, account, c.sandbox.url, c.sandbox.url, clientID, clientSecretEnv)
	if c.redis != nil {
		fmt.Fprintf(&b, `redis:
  addr: %s
  encryption_key_env: %s
  key_prefix: "mp:"
%s
`, c.redis.Addr, redisKeyEnv, c.opts.RedisYAML)
	}
	return b.String()
}

// waitReady polls the replica's /readyz until it answers 200.
func (c *cluster) waitReady(g *gateway) {
	c.t.Helper()
	c.eventually(fmt.Sprintf("gateway-%d ready", g.index), func() bool { return c.ready(g) })
}

// ready reports whether the replica's /readyz answers 200.
func (c *cluster) ready(g *gateway) bool {
	resp, err := c.http.Get("http://" + g.adminAddr + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// eventually polls cond until it holds, failing the test after
// pollTimeout. It is only for conditions in other processes that nothing
// announces (a metric, a Redis key, a request reaching the sandbox); the
// pause between polls carries no logic.
func (c *cluster) eventually(what string, cond func() bool) {
	c.t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(pollTimeout)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline.C:
			c.t.Fatalf("timed out after %v waiting for %s", pollTimeout, what)
		}
	}
}

// restartAll stops every replica gracefully (SIGTERM to all at once, as
// a rolling update's last step or a full redeploy does) and starts them
// again on the same config files, with new ports and empty memory.
func (c *cluster) restartAll() {
	c.t.Helper()
	for _, g := range c.gateways {
		g.conn.Close()
		g.terminate()
	}
	for _, g := range c.gateways {
		g.waitStopped(c.t)
	}
	for i := range c.gateways {
		c.gateways[i] = c.startGateway(i)
	}
}

// getToken calls GetToken on g and remembers the token for the output
// checks.
func (c *cluster) getToken(ctx context.Context, g *gateway) (*eeov1.Token, error) {
	resp, err := g.tokens.GetToken(ctx, &eeov1.GetTokenRequest{Account: account})
	if err != nil {
		return nil, err
	}
	tok := resp.GetToken()
	c.mu.Lock()
	c.tokens[tok.GetAccessToken()] = true
	c.mu.Unlock()
	return tok, nil
}

// metrics scrapes g's /metrics.
func (c *cluster) metrics(g *gateway) testkit.Metrics {
	c.t.Helper()
	return testkit.Scrape(c.t, c.http, "http://"+g.adminAddr+"/metrics")
}

// checkOutputs fails the test if any replica, in any of its lives, wrote
// a credential (client secret, caller API key, Redis encryption key, an
// access token a caller received) to its output, or reported a data race
// or a panic. It runs when the replicas have ended.
func (c *cluster) checkOutputs() {
	t := c.t
	needles := map[string]string{c.clientSecret: "the client secret", c.apiKey: "the caller API key", c.redisKey: "the Redis encryption key"}
	c.mu.Lock()
	for tok := range c.tokens {
		needles[tok] = "an access token"
	}
	c.mu.Unlock()
	for _, p := range c.procs {
		out := p.stdout.String() + p.stderr.String()
		for needle, what := range needles {
			if strings.Contains(out, needle) {
				t.Errorf("%s wrote %s to its output", p.name, what)
			}
		}
		for _, bad := range []string{"WARNING: DATA RACE", "panic: "} {
			if strings.Contains(out, bad) {
				t.Errorf("%s reported %q:\n%s", p.name, bad, tail(out, 80))
			}
		}
	}
}

// apiKeyCredentials authenticates the test's calls with the caller API
// key, over plaintext loopback.
type apiKeyCredentials string

func (k apiKeyCredentials) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(k)}, nil
}

func (apiKeyCredentials) RequireTransportSecurity() bool { return false }
