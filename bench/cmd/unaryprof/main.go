// Command unaryprof measures targets 2 and 3 of the benchmark suite
// (GetToken against Health/Check over gRPC, REST GetToken against gRPC
// GetToken) on gateways with their production defaults, and profiles them.
// "rest" is REST GetToken from the wrk-class HTTP/1.1 client
// (loadgen.RawHTTP1), the number benchreport judges; "rest-net/http" is the
// same call from Go's http.Client, whose own CPU per request is about twice
// the gateway's and so halves what a shared machine reports.
// It is what the unary hot path was tuned with:
//
//	cd bench && go run -mod=mod ./cmd/unaryprof -profile /tmp/prof
//	cd bench && go run -mod=mod ./cmd/unaryprof -baseline /path/to/other/checkout
//	cd bench && go run -mod=mod ./cmd/unaryprof -floor
//
// With -baseline it builds a second gateway from another checkout (the
// code before a change, say) and measures both in alternating rounds, so
// before and after are compared in the same run on the same load. With
// -profile it writes the gateway's CPU and allocation profiles
// (/debug/pprof on the admin listener) taken during a gRPC and a REST
// GetToken run, for `go tool pprof`, and the load generator's own CPU
// profile of each run (NAME.loadgen.cpu.pprof). With -floor it also loads,
// each round, the protocols' floors as benchreport does (bench/floor).
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
	"runtime/pprof"
	"strings"
	"time"

	"github.com/eeo-gateway/eeo-gateway/bench/floor"
	"github.com/eeo-gateway/eeo-gateway/bench/loadgen"
	"github.com/eeo-gateway/eeo-gateway/internal/benchstack"
	"google.golang.org/grpc"
)

type config struct {
	root, baseline, profile string
	duration                time.Duration
	rounds, concurrency     int
	h2c, floor              bool
}

func main() {
	floor.ServeIfChild() // -floor's servers are this program again
	var c config
	flag.StringVar(&c.root, "root", "..", "the gateway checkout to measure")
	flag.StringVar(&c.baseline, "baseline", "", "another checkout to measure alongside, in alternating rounds")
	flag.StringVar(&c.profile, "profile", "", "directory for CPU and allocation profiles of -root's gateway")
	flag.DurationVar(&c.duration, "duration", 5*time.Second, "length of each load-generator run")
	flag.IntVar(&c.rounds, "rounds", 2, "rounds")
	flag.IntVar(&c.concurrency, "concurrency", 16, "load-generator workers")
	flag.BoolVar(&c.h2c, "h2c", false, "also measure REST GetToken over HTTP/2 without TLS (every checkout must know http.h2c)")
	flag.BoolVar(&c.floor, "floor", false, "also measure the protocols' floors each round (bench/floor: bare net/http and bare grpc-go answering with -root's gateway's GetToken response)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := measureAll(ctx, c); err != nil {
		log.Fatal(err)
	}
}

// target is one gateway under test and its calls.
type target struct {
	name                     string
	stack                    *benchstack.Stack
	conn                     *grpc.ClientConn
	ctx                      context.Context // carries the stack's API key
	health, grpcTok, restTok loadgen.Call    // restTok: the wrk-class HTTP/1.1 client (judged)
	restStd                  loadgen.Call    // REST GetToken through Go's net/http client (reference)
	restH2                   loadgen.Call    // nil without -h2c
	floors                   *floor.Floors   // nil without -floor
}

// run is one load-generator run and what it cost the gateway.
type run struct {
	loadgen.Result
	allocs float64 // the gateway's heap allocations per call
}

// measure runs call under load and charges the gateway's CPU and
// allocations to it.
func (t *target) measure(c config, call loadgen.Call) (run, error) {
	before, err := t.stack.GatewayMallocs(t.ctx)
	if err != nil {
		return run{}, err
	}
	res, err := loadgen.ClosedCPU(t.ctx, c.concurrency, c.duration, call, t.stack.GatewayCPUTime)
	if err != nil {
		return run{Result: res}, err
	}
	after, err := t.stack.GatewayMallocs(t.ctx)
	if err != nil {
		return run{Result: res}, err
	}
	return run{Result: res, allocs: float64(after-before) / float64(res.Calls)}, res.Check()
}

// measureFloor runs call against a floor server, charging it the floor
// process's CPU.
func (t *target) measureFloor(c config, call loadgen.Call, cpu loadgen.CPUClock) (run, error) {
	res, err := loadgen.ClosedCPU(t.ctx, c.concurrency, c.duration, call, cpu)
	if err != nil {
		return run{Result: res}, err
	}
	return run{Result: res}, res.Check()
}

func measureAll(ctx context.Context, c config) error {
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
	if c.floor {
		// The floors repeat the first checkout's responses.
		if targets[0].floors, err = floor.StartForStack(targets[0].ctx, targets[0].stack, http.DefaultClient, targets[0].conn); err != nil {
			return err
		}
		defer targets[0].floors.Close()
	}
	log.Printf("load before: %s", loadAvg())
	for r := range c.rounds {
		for _, t := range targets {
			var res [4]run
			for i, call := range []loadgen.Call{t.health, t.grpcTok, t.restTok, t.restStd} {
				if res[i], err = t.measure(c, call); err != nil {
					return err
				}
			}
			h, g, rest, std := res[0], res[1], res[2], res[3]
			fmt.Printf("round %d %-26s health %6.0f/s  grpc %6.0f/s  rest %6.0f/s  grpc/health %.2f  rest/grpc %.2f  | gateway CPU/call %.1f %.1f %.1f µs (health/grpc %.2f, grpc/rest %.2f) | load %s\n",
				r+1, t.name, h.PerSecond(), g.PerSecond(), rest.PerSecond(),
				g.PerSecond()/h.PerSecond(), rest.PerSecond()/g.PerSecond(),
				us(h), us(g), us(rest), us(h)/us(g), us(g)/us(rest), loadAvg())
			fmt.Printf("round %d %-26s rest-net/http %6.0f/s  rest-net/http/grpc %.2f  | gateway CPU/call %.1f µs (grpc/rest-net/http %.2f)\n",
				r+1, t.name, std.PerSecond(), std.PerSecond()/g.PerSecond(), us(std), us(g)/us(std))
			fmt.Printf("round %d %-26s gateway allocs/call: health %.1f  grpc %.1f  rest %.1f  rest-net/http %.1f | load generator's CPU/call: health %.1f  grpc %.1f  rest %.1f  rest-net/http %.1f µs\n",
				r+1, t.name, h.allocs, g.allocs, rest.allocs, std.allocs, clientUS(h), clientUS(g), clientUS(rest), clientUS(std))
			if f := t.floors; f != nil {
				rest, err := t.measureFloor(c, f.REST, f.HTTP.CPUTime)
				if err != nil {
					return err
				}
				grpcFloor, err := t.measureFloor(c, f.GRPCGetToken, f.GRPC.CPUTime)
				if err != nil {
					return err
				}
				fmt.Printf("round %d %-26s floor: bare net/http %6.0f/s %.1f µs/call  bare grpc-go %6.0f/s %.1f µs/call  floor rest/grpc %.2f | gateway/floor CPU/call: rest %.1f×  grpc %.1f×\n",
					r+1, t.name, rest.PerSecond(), us(rest), grpcFloor.PerSecond(), us(grpcFloor), rest.PerSecond()/grpcFloor.PerSecond(),
					us(res[2])/us(rest), us(g)/us(grpcFloor))
			}
			if t.restH2 != nil {
				h2, err := t.measure(c, t.restH2)
				if err != nil {
					return err
				}
				fmt.Printf("round %d %-26s rest-h2c %6.0f/s  rest-h2c/grpc %.2f  | gateway CPU/call %.1f µs (grpc/rest-h2c %.2f) | load %s\n",
					r+1, t.name, h2.PerSecond(), h2.PerSecond()/g.PerSecond(), us(h2), us(g)/us(h2), loadAvg())
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
		}{{"health", t.health}, {"grpc", t.grpcTok}, {"rest", t.restTok}, {"rest-net-http", t.restStd}}
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
	conn, err := loadgen.DialGRPC(stack.GRPCAddr)
	if err != nil {
		stack.Close()
		return nil, err
	}
	context.AfterFunc(ctx, func() { conn.Close() })
	httpClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c.concurrency}}
	raw, err := loadgen.RawHTTP1GetToken(stack.RESTURL, stack.APIKey, benchstack.Account)
	if err != nil {
		stack.Close()
		return nil, err
	}
	context.AfterFunc(ctx, func() { raw.Close() })
	t := &target{
		stack:   stack,
		conn:    conn,
		health:  loadgen.GRPCHealth(conn),
		grpcTok: loadgen.GRPCGetToken(conn, benchstack.Account),
		restTok: raw.Call,
		restStd: loadgen.RESTGetToken(httpClient, stack.RESTURL, stack.APIKey, benchstack.Account),
	}
	t.ctx = loadgen.WithAPIKey(ctx, stack.APIKey)
	calls := []loadgen.Call{t.health, t.grpcTok, t.restTok, t.restStd}
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
	// The load generator's own profile too: on shared cores its cost per
	// call is throughput the gateway is not credited with.
	self, err := os.Create(filepath.Join(c.profile, name+".loadgen.cpu.pprof"))
	if err != nil {
		return err
	}
	defer self.Close()
	if err := pprof.StartCPUProfile(self); err != nil {
		return err
	}
	res := loadgen.Closed(t.ctx, c.concurrency, c.duration+500*time.Millisecond, call)
	pprof.StopCPUProfile()
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

// us is the gateway's CPU time per call of a run, in µs.
func us(r run) float64 { return float64(r.ServerCPUPerCall().Nanoseconds()) / 1e3 }

// clientUS is the load generator's CPU time per call of a run, in µs.
func clientUS(r run) float64 { return float64(r.ClientCPUPerCall().Nanoseconds()) / 1e3 }

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
