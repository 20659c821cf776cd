// Command filebench moves large files through the gateway — uploads and
// report downloads, over gRPC and REST — with the gateway, the EEO sandbox
// and this client each in their own process, then prints throughput,
// integrity and the gateway's peak resident memory (VmHWM).
//
//	make bench-files                 # 1 GiB each way (go run ./cmd/filebench in bench/)
//	make bench-files SIZE=268435456
//
// With -profile DIR it also turns on the gateway's /debug/pprof/ (admin.pprof)
// and, after the measured run, records CPU and allocation profiles of the
// gateway while each transfer repeats (see filebench.Profile):
//
//	cd bench && go run ./cmd/filebench -size 268435456 -profile /tmp/prof -only 'download gRPC,download REST'
//	go tool pprof -top /tmp/prof/download-gRPC.cpu.pprof
//
// -transfers limits the measured run to some transfers, -rounds repeats it,
// and -client-cpuprofile records this process's own CPU profile over the
// measured rounds (the client's side of the transfers):
//
//	go run ./cmd/filebench -transfers 'download direct,download gRPC' -rounds 3 -client-cpuprofile /tmp/client.pprof
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/benchstack"
	"github.com/eeo-gateway/eeo-gateway/internal/filebench"
)

func main() {
	size := flag.Int64("size", 1<<30, "bytes per transfer")
	var p profiling
	flag.StringVar(&p.dir, "profile", "", "record the gateway's CPU and allocation profiles into this directory (off when empty)")
	flag.DurationVar(&p.length, "profile-time", 10*time.Second, "how long each transfer is profiled")
	keep := flag.Bool("keep", false, "keep the gateway's and the sandbox's logs (run with GODEBUG=gctrace=1 to see the gateway's heap)")
	only := flag.String("only", "", "with -profile, the comma-separated transfers to profile (default all through the gateway)")
	var m measuring
	transfers := flag.String("transfers", "", "the comma-separated transfers to measure (default all)")
	flag.IntVar(&m.rounds, "rounds", 1, "how many times to measure each transfer")
	flag.StringVar(&m.clientProfile, "client-cpuprofile", "", "write this process's CPU profile over the measured rounds to this file")
	flag.Parse()
	if *only != "" {
		p.only = splitNames(*only)
	}
	if *transfers != "" {
		m.only = splitNames(*transfers)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *size, p, m, *keep); err != nil {
		log.Fatal(err)
	}
}

// splitNames splits a comma-separated list of transfer names; a comma
// followed by a space is part of a name ("download gRPC, gateway hashes
// too").
func splitNames(s string) []string {
	var names []string
	for _, part := range strings.Split(s, ",") {
		if strings.HasPrefix(part, " ") && len(names) > 0 {
			names[len(names)-1] += "," + part
			continue
		}
		names = append(names, part)
	}
	return names
}

// measuring is what the measured run makes.
type measuring struct {
	only          []string
	rounds        int
	clientProfile string
}

// profiling is what -profile asked for.
type profiling struct {
	dir    string
	length time.Duration
	only   []string
}

func run(ctx context.Context, size int64, p profiling, m measuring, keep bool) error {
	dir, err := os.MkdirTemp("", "filebench-")
	if err != nil {
		return err
	}
	defer func() {
		if keep {
			fmt.Println("the processes' logs are in", dir)
			return
		}
		os.RemoveAll(dir)
	}()
	bin, err := benchstack.Build(ctx, "..", dir)
	if err != nil {
		return err
	}
	opts := benchstack.Options{Binary: bin, Dir: dir, MaxUploadBytes: 2 * size}
	if p.dir != "" {
		opts.GatewayYAML = "admin:\n  pprof: true\n"
		if err := os.MkdirAll(p.dir, 0o755); err != nil {
			return err
		}
	}
	stack, err := benchstack.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer stack.Close()

	fmt.Printf("moving %d bytes each way through the gateway (pid %d) on %d cores\n", size, stack.GatewayPID(), runtime.NumCPU())
	target := filebench.Target{GRPCAddr: stack.GRPCAddr, RESTURL: stack.RESTURL, APIKey: stack.APIKey, Account: benchstack.Account,
		CPU: stack.CPUTime, PeakRSS: stack.GatewayPeakRSS}
	direct := &filebench.Direct{BaseURL: stack.SandboxURL, ClientID: stack.ClientID, ClientSecret: stack.ClientSecret}
	// A small round first, so no measured transfer pays for connections,
	// the token fetch or the processes' first allocations.
	if rss, err := stack.GatewayPeakRSS(); err == nil {
		fmt.Printf("gateway peak RSS before any transfer: %.1f MiB\n", float64(rss)/(1<<20))
	}
	if _, err := filebench.Run(ctx, target, direct, 4<<20); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	target.Only = m.only
	if m.clientProfile != "" {
		f, err := os.Create(m.clientProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	var results []filebench.Result
	for range max(1, m.rounds) {
		var round []filebench.Result
		round, err = filebench.Run(ctx, target, direct, size)
		results = append(results, round...)
		if err != nil {
			break
		}
	}
	if m.clientProfile != "" {
		pprof.StopCPUProfile()
	}
	// CPU columns: seconds of CPU each process spent on the transfer; on a
	// small machine their sum, not any one of them, can be the bound.
	fmt.Printf("%-34s %12s %9s %10s %8s %8s %8s %8s  %s\n", "transfer", "bytes", "seconds", "MiB/s", "cpu:cli", "gateway", "sandbox", "peakMiB", "integrity")
	failed := err != nil
	for _, r := range results {
		verdict := "sha256 ok"
		if r.Err != nil {
			verdict, failed = "FAILED: "+r.Err.Error(), true
		}
		fmt.Printf("%-34s %12d %9.2f %10.1f %8.2f %8.2f %8.2f %8.1f  %s\n", r.Name, r.Bytes, r.Duration.Seconds(), r.MiBPerSecond(),
			r.CPU.Client.Seconds(), r.CPU.Gateway.Seconds(), r.CPU.Sandbox.Seconds(), float64(r.GatewayPeakRSS)/(1<<20), verdict)
	}
	if rss, rerr := stack.GatewayPeakRSS(); rerr == nil {
		fmt.Printf("gateway peak RSS (VmHWM): %.1f MiB\n", float64(rss)/(1<<20))
	}
	if err != nil {
		return err
	}
	if failed {
		return fmt.Errorf("a transfer failed")
	}
	if p.dir != "" {
		return filebench.Profile(ctx, target, stack.AdminURL, p.dir, size, p.length, p.only...)
	}
	return nil
}
