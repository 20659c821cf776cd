// Package benchstack runs an EEO sandbox and an eeo-gateway, each in its own
// process, the way an operator would: built from cmd/eeo-gateway, the
// gateway configured by a YAML file with caller authentication (an API key),
// the sandbox standalone. Benchmarks measure through it, so what they
// measure is what a deployment runs, and the cheap smoke test of the file
// benchmark breaks when the way the gateway is started changes.
package benchstack

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// GatewayPackage is the import path of the gateway's main package.
const GatewayPackage = "github.com/eeo-gateway/eeo-gateway/cmd/eeo-gateway"

// Account is the one account the stack's gateway serves.
const Account = "demo"

// sandboxClientID is the EEO client the sandbox accepts and the gateway uses.
const sandboxClientID = "demo-client"

// Build compiles the gateway into dir and returns the binary's path. root is
// the gateway module's directory ("" for the working directory, which must
// then be inside it), so the gateway builds with its own go.mod whichever
// module asks. A race-enabled caller builds a race-enabled binary, so tests
// share the compile cache the race test run has filled.
func Build(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "eeo-gateway")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.CommandContext(ctx, goCommand(), append(args, GatewayPackage)...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", GatewayPackage, err, out)
	}
	return bin, nil
}

// goCommand is the go binary of the running toolchain when it is known, so a
// test run by one Go version does not build with another on PATH.
func goCommand() string {
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); fileExists(p) {
			return p
		}
	}
	return "go"
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// Options configure a Stack.
type Options struct {
	// Binary is the gateway binary from Build.
	Binary string
	// Dir holds the stack's config and the processes' logs.
	Dir string
	// MaxUploadBytes bounds uploads in the sandbox and the gateway; default 4 GiB.
	MaxUploadBytes int64
	// Step is how long the sandbox keeps an import or report in each
	// state; default 50ms.
	Step time.Duration
	// GatewayLogLevel and GatewayLogFormat are the gateway's; empty means
	// its production defaults.
	GatewayLogLevel  string
	GatewayLogFormat string
	// GatewayYAML is appended to the generated config's top level, for
	// settings a benchmark needs (for example a token section).
	GatewayYAML string
}

// Stack is a running sandbox and gateway.
type Stack struct {
	// SandboxURL is the sandbox's base URL: its token endpoint is
	// SandboxURL+"/oauth2/token".
	SandboxURL string
	// ClientID and ClientSecret are the EEO credentials the sandbox accepts.
	ClientID     string
	ClientSecret string
	// GRPCAddr and RESTURL are the gateway's listeners.
	GRPCAddr string
	RESTURL  string
	// AdminURL serves /metrics, /livez and /readyz, as in production.
	AdminURL string
	// APIKey authenticates to the gateway as a caller with every permission.
	APIKey string

	dir     string
	sandbox *process
	gateway *process
}

// Start starts the sandbox, then the gateway, and returns once both accept
// connections. Close stops them.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	if opts.Binary == "" || opts.Dir == "" {
		return nil, errors.New("benchstack: Binary and Dir are required")
	}
	if opts.MaxUploadBytes <= 0 {
		opts.MaxUploadBytes = 4 << 30
	}
	if opts.Step <= 0 {
		opts.Step = 50 * time.Millisecond
	}
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	s := &Stack{
		SandboxURL:   "http://127.0.0.1:" + ports[0],
		ClientID:     sandboxClientID,
		ClientSecret: rand.Text(),
		GRPCAddr:     "127.0.0.1:" + ports[1],
		RESTURL:      "http://127.0.0.1:" + ports[2],
		AdminURL:     "http://127.0.0.1:" + ports[3],
		APIKey:       "bench-" + rand.Text(),
		dir:          opts.Dir,
	}
	s.sandbox, err = startProcess(ctx, opts.Binary, filepath.Join(opts.Dir, "sandbox.log"),
		[]string{"EEO_SANDBOX_CLIENT_SECRET=" + s.ClientSecret},
		"sandbox", "--listen", strings.TrimPrefix(s.SandboxURL, "http://"), "--client-id", s.ClientID,
		"--step", opts.Step.String(), "--max-upload-bytes", strconv.FormatInt(opts.MaxUploadBytes, 10), "--log-level", "warn")
	if err != nil {
		return nil, err
	}
	if err := s.sandbox.waitListening(ctx, strings.TrimPrefix(s.SandboxURL, "http://")); err != nil {
		s.Close()
		return nil, err
	}
	cfgPath := filepath.Join(opts.Dir, "gateway.yaml")
	if err := os.WriteFile(cfgPath, []byte(s.gatewayConfig(opts)), 0o600); err != nil {
		s.Close()
		return nil, err
	}
	s.gateway, err = startProcess(ctx, opts.Binary, filepath.Join(opts.Dir, "gateway.log"),
		[]string{"BENCH_EEO_CLIENT_SECRET=" + s.ClientSecret}, "serve", "--config", cfgPath)
	if err != nil {
		s.Close()
		return nil, err
	}
	for _, addr := range []string{s.GRPCAddr, strings.TrimPrefix(s.RESTURL, "http://"), strings.TrimPrefix(s.AdminURL, "http://")} {
		if err := s.gateway.waitListening(ctx, addr); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// gatewayConfig is the gateway's YAML: the one account on the sandbox and
// one API key (stored, as in production, only as its SHA-256) allowed
// everything. No rate limit, so load generators measure the gateway rather
// than the limiter; no drain delay, so Close is quick.
func (s *Stack) gatewayConfig(opts Options) string {
	sum := sha256.Sum256([]byte(s.APIKey))
	var b strings.Builder
	fmt.Fprintf(&b, "grpc_addr: %s\nhttp_addr: %s\nadmin_addr: %s\n", s.GRPCAddr,
		strings.TrimPrefix(s.RESTURL, "http://"), strings.TrimPrefix(s.AdminURL, "http://"))
	if opts.GatewayLogLevel != "" {
		fmt.Fprintf(&b, "log_level: %s\n", opts.GatewayLogLevel)
	}
	if opts.GatewayLogFormat != "" {
		fmt.Fprintf(&b, "log_format: %s\n", opts.GatewayLogFormat)
	}
	fmt.Fprintf(&b, `shutdown_drain_delay: 0s
shutdown_timeout: 5s
files:
  max_upload_bytes: %d
  watch_interval: 50ms
access:
  api_keys:
    - caller: bench
      sha256: %s
  policies:
    - caller: apikey:bench
      accounts: ["*"]
      permissions: [token:get, token:refresh, token:invalidate, accounts:list, imports:write, imports:read, reports:write, reports:read]
accounts:
  - name: %s
    token_url: %s/oauth2/token
    base_url: %s
    client_id: %s
    client_secret_env: BENCH_EEO_CLIENT_SECRET
`, opts.MaxUploadBytes, hex.EncodeToString(sum[:]), Account, s.SandboxURL, s.SandboxURL, s.ClientID)
	b.WriteString(opts.GatewayYAML)
	return b.String()
}

// GatewayPID is the gateway process's id.
func (s *Stack) GatewayPID() int { return s.gateway.cmd.Process.Pid }

// GatewayPeakRSS is the gateway process's peak resident set (VmHWM) so far.
func (s *Stack) GatewayPeakRSS() (int64, error) { return peakRSS(s.GatewayPID()) }

// GatewayCPUTime is the CPU time (user plus system) the gateway process has
// used so far: a load generator's run divided by its calls is the gateway's
// own cost per call, whatever else shares the machine.
func (s *Stack) GatewayCPUTime() (time.Duration, error) { return cpuTime(s.GatewayPID()) }

// GatewayMallocs is how many heap objects the gateway has allocated so far
// (go_memstats_mallocs_total on its admin listener): a load generator's run
// divided by its calls is the gateway's allocations per call, exactly, on
// however busy a machine. The scrape itself allocates a few thousand.
func (s *Stack) GatewayMallocs(ctx context.Context) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.AdminURL+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /metrics: HTTP %d", resp.StatusCode)
	}
	const name = "go_memstats_mallocs_total "
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return 0, fmt.Errorf("%s: %w", name, err)
			}
			return int64(f), nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no %s on the admin listener", strings.TrimSpace(name))
}

// CPUTime is the CPU time (user plus system) the gateway and the sandbox
// processes have used so far.
func (s *Stack) CPUTime() (gateway, sandbox time.Duration, err error) {
	if gateway, err = cpuTime(s.GatewayPID()); err != nil {
		return 0, 0, err
	}
	sandbox, err = cpuTime(s.sandbox.cmd.Process.Pid)
	return gateway, sandbox, err
}

// SandboxStats returns the sandbox's counters (GET /sandbox/stats).
func (s *Stack) SandboxStats(ctx context.Context) (SandboxStats, error) {
	var st SandboxStats
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.SandboxURL+"/sandbox/stats", nil)
	if err != nil {
		return st, err
	}
	return st, doJSON(req, &st)
}

// SandboxStats are the sandbox counters benchmarks read.
type SandboxStats struct {
	TokenRequests int64 `json:"token_requests"`
	TokensIssued  int64 `json:"tokens_issued"`
	APIRequests   int64 `json:"api_requests"`
}

// SetTokenLatency makes the sandbox answer token requests d late.
func (s *Stack) SetTokenLatency(ctx context.Context, d time.Duration) error {
	body := fmt.Sprintf(`{"token": {"latency": %q}}`, d.String())
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, s.SandboxURL+"/sandbox/faults", strings.NewReader(body))
	if err != nil {
		return err
	}
	return doJSON(req, nil)
}

func doJSON(req *http.Request, into any) error {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: HTTP %d", req.Method, req.URL.Path, resp.StatusCode)
	}
	if into == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(into)
}

// Close stops the gateway, then the sandbox (SIGTERM, then SIGKILL after a
// few seconds), and reports a gateway that did not exit cleanly.
func (s *Stack) Close() error {
	var errs []error
	if s.gateway != nil {
		errs = append(errs, s.gateway.stop())
	}
	if s.sandbox != nil {
		s.sandbox.stop() // its exit status after SIGTERM says nothing about the benchmark
	}
	return errors.Join(errs...)
}

// GatewayLog returns the gateway's output so far, for failure messages.
func (s *Stack) GatewayLog() string { return s.gateway.output() }

// process is a child process whose output goes to a log file.
type process struct {
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	err     error // set before exited is closed
}

func startProcess(ctx context.Context, bin, logPath string, env []string, args ...string) (*process, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting %s %s: %w", bin, args[0], err)
	}
	p := &process{cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	return p, nil
}

// waitListening returns once addr accepts connections, or fails if the
// process exits or ctx ends first.
func (p *process) waitListening(ctx context.Context, addr string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited before listening on %s: %v\n%s", p.cmd.Args[1], addr, p.err, p.output())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: nothing listening on %s after 30s\n%s", p.cmd.Args[1], addr, p.output())
		}
	}
}

func (p *process) stop() error {
	select {
	case <-p.exited:
		return fmt.Errorf("%s had exited: %v\n%s", p.cmd.Args[1], p.err, p.output())
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return p.err
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("%s ignored SIGTERM for 10s", p.cmd.Args[1])
	}
}

// output is the tail of the process's log.
func (p *process) output() string {
	b, _ := os.ReadFile(p.logPath)
	const tail = 4096
	if len(b) > tail {
		b = b[len(b)-tail:]
	}
	return string(bytes.TrimSpace(b))
}

// freePorts reserves n loopback ports by listening on port 0 and closing.
// Another process could take one in between; the stack then fails to start
// with a clear error rather than measuring the wrong thing.
func freePorts(n int) ([]string, error) {
	var ports []string
	var lis []net.Listener
	defer func() {
		for _, l := range lis {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lis = append(lis, l)
		ports = append(ports, strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
	}
	return ports, nil
}
