// Command unaryprof measures targets 2 and 3 of the benchmark suite
// (GetToken against Health/Check over gRPC, REST GetToken against gRPC
// GetToken) on gateways with their production defaults, and profiles them.
// It is what the unary hot path was tuned with:
//
//	cd bench && go run -mod=mod ./cmd/unaryprof -profile /tmp/prof
//	cd bench && go run -mod=mod ./cmd/unaryprof -baseline /path/to/other/checkout
//
// With -baseline it builds a second gateway from another checkout (the
// code before a change, say) and measures both in alternating rounds, so
// before and after are compared in the same run on the same load. With
// -profile it writes the gateway's CPU and allocation profiles
// (/debug/pprof on the admin listener) taken during a gRPC and a REST
// GetToken run, for `go tool pprof`.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/eeo-gateway/eeo-gateway/bench/loadgen"
	"github.com/eeo-gateway/eeo-gateway/internal/benchstack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

type config struct {
	root, baseline, profile string
	duration                time.Duration
	rounds, concurrency     int
	h2c                     bool
}

func main() {
	var c config
	flag.StringVar(&c.root, "root", "..", "the gateway checkout to measure")
	flag.StringVar(&c.baseline, "baseline", "", "another checkout to measure alongside, in alternating rounds")
	flag.StringVar(&c.profile, "profile", "", "directory for CPU and allocation profiles of -root's gateway")
	flag.DurationVar(&c.duration, "duration", 5*time.Second, "length of each load-generator run")
	flag.IntVar(&c.rounds, "rounds", 2, "rounds")
	flag.IntVar(&c.concurrency, "concurrency", 16, "load-generator workers")
	flag.BoolVar(&c.h2c, "h2c", false, "also measure REST GetToken over HTTP/2 without TLS (every checkout must know http.h2c)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, c); err != nil {
		log.Fatal(err)
	}
}

// target is one gateway under test and its three calls.
type target struct {
	name                     string
	stack                    *benchstack.Stack
	ctx                      context.Context // carries the stack's API key
	health, grpcTok, restTok loadgen.Call
	restH2                   loadgen.Call // nil without -h2c
}

func run(ctx context.Context, c config) error {
	work, err := os.MkdirTemp("", "unaryprof-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	roots := []string{c.root}
	if c.baseline != "" {
		roots = append(roots, c.baseline)
	}
	var targets []*target
	for i, root := range roots {
		root, err := filepath.Abs(root)
		if err != nil {
			return err
		}
		dir := filepath.Join(work, fmt.Sprint(i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		bin, err := benchstack.Build(ctx, root, dir)
		if err != nil {
			return err
		}
		t, err := start(ctx, c, bin, dir)
		if err != nil {
			return err
		}
		defer t.stack.Close()
		t.name = describe(root)
		targets = append(targets, t)
	}
	log.Printf("load before: %s", loadAvg())
	for r := range c.rounds {
		for _, t := range targets {
			var res [3]loadgen.Result
			var cpu [3]float64 // the gateway's CPU time per call, µs
			for i, call := range []loadgen.Call{t.health, t.grpcTok, t.restTok} {
				before := cpuTime(t.stack.GatewayPID())
				res[i] = loadgen.Closed(t.ctx, c.concurrency, c.duration, call)
				if err := res[i].Check(); err != nil {
					return err
				}
				cpu[i] = float64((cpuTime(t.stack.GatewayPID()) - before).Microseconds()) / float64(res[i].Calls)
			}
			h, g, rest := res[0], res[1], res[2]
			fmt.Printf("round %d %-26s health %6.0f/s  grpc %6.0f/s  rest %6.0f/s  grpc/health %.2f  rest/grpc %.2f  | gateway CPU/call %.1f %.1f %.1f µs (health/grpc %.2f, grpc/rest %.2f) | load %s\n",
				r+1, t.name, h.PerSecond(), g.PerSecond(), rest.PerSecond(),
				g.PerSecond()/h.PerSecond(), rest.PerSecond()/g.PerSecond(),
				cpu[0], cpu[1], cpu[2], cpu[0]/cpu[1], cpu[1]/cpu[2], loadAvg())
			if t.restH2 != nil {
				before := cpuTime(t.stack.GatewayPID())
				h2 := loadgen.Closed(t.ctx, c.concurrency, c.duration, t.restH2)
				if err := h2.Check(); err != nil {
					return err
				}
				cpuH2 := float64((cpuTime(t.stack.GatewayPID()) - before).Microseconds()) / float64(h2.Calls)
				fmt.Printf("round %d %-26s rest-h2c %6.0f/s  rest-h2c/grpc %.2f  | gateway CPU/call %.1f µs (grpc/rest-h2c %.2f) | load %s\n",
					r+1, t.name, h2.PerSecond(), h2.PerSecond()/g.PerSecond(), cpuH2, cpu[1]/cpuH2, loadAvg())
			}
		}
	}
	if c.profile != "" {
		t := targets[0]
		if err := os.MkdirAll(c.profile, 0o755); err != nil {
			return err
		}
		runs := []struct {
			name string
			call loadgen.Call
		}{{"health", t.health}, {"grpc", t.grpcTok}, {"rest", t.restTok}}
		if t.restH2 != nil {
			runs = append(runs, struct {
				name string
				call loadgen.Call
			}{"rest-h2c", t.restH2})
		}
		for _, p := range runs {
			if err := profile(ctx, c, t, p.name, p.call); err != nil {
				return err
			}
		}
	}
	return nil
}

func start(ctx context.Context, c config, bin, dir string) (*target, error) {
	yaml := "admin:\n  pprof: true\n"
	if c.h2c {
		yaml += "http:\n  h2c: true\n"
	}
	stack, err := benchstack.Start(ctx, benchstack.Options{Binary: bin, Dir: dir, GatewayYAML: yaml})
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(stack.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		stack.Close()
		return nil, err
	}
	context.AfterFunc(ctx, func() { conn.Close() })
	httpClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c.concurrency}}
	t := &target{
		stack:   stack,
		health:  loadgen.GRPCHealth(conn),
		grpcTok: loadgen.GRPCGetToken(conn, benchstack.Account),
		restTok: loadgen.RESTGetToken(httpClient, stack.RESTURL, stack.APIKey, benchstack.Account),
	}
	t.ctx = loadgen.WithAPIKey(ctx, stack.APIKey)
	calls := []loadgen.Call{t.health, t.grpcTok, t.restTok}
	if c.h2c {
		h2 := loadgen.H2CClient()
		context.AfterFunc(ctx, h2.CloseIdleConnections)
		t.restH2 = loadgen.RESTGetToken(h2, stack.RESTURL, stack.APIKey, benchstack.Account)
		calls = append(calls, t.restH2)
	}
	for _, call := range calls {
		if err := call(t.ctx); err != nil {
			stack.Close()
			return nil, fmt.Errorf("warm-up: %w\n%s", err, stack.GatewayLog())
		}
	}
	return t, nil
}

// profile runs call under load while the gateway records a CPU profile,
// then saves its allocation profile.
func profile(ctx context.Context, c config, t *target, name string, call loadgen.Call) error {
	secs := int(c.duration.Seconds())
	done := make(chan error, 1)
	go func() {
		done <- benchstack.SaveProfile(ctx, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", t.stack.AdminURL, secs), filepath.Join(c.profile, name+".cpu.pprof"))
	}()
	res := loadgen.Closed(t.ctx, c.concurrency, c.duration+500*time.Millisecond, call)
	if err := <-done; err != nil {
		return err
	}
	log.Printf("profiled %s: %v", name, res)
	return benchstack.SaveProfile(ctx, t.stack.AdminURL+"/debug/pprof/allocs", filepath.Join(c.profile, name+".allocs.pprof"))
}

func describe(root string) string {
	out, err := exec.Command("git", "-C", root, "describe", "--always", "--dirty").Output()
	if err != nil {
		return root
	}
	return filepath.Base(root) + "@" + strings.TrimSpace(string(out))
}

// cpuTime is the user and system CPU time process pid has used so far.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticksPerSecond
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
