// Command filebench moves large files through the gateway — uploads and
// report downloads, over gRPC and REST — with the gateway, the EEO sandbox
// and this client each in their own process, then prints throughput,
// integrity and the gateway's peak resident memory (VmHWM).
//
//	make bench-files                 # 1 GiB each way (go run ./cmd/filebench in bench/)
//	make bench-files SIZE=268435456
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"runtime"

	"github.com/eeo-gateway/eeo-gateway/internal/benchstack"
	"github.com/eeo-gateway/eeo-gateway/internal/filebench"
)

func main() {
	size := flag.Int64("size", 1<<30, "bytes per transfer")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *size); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, size int64) error {
	dir, err := os.MkdirTemp("", "filebench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin, err := benchstack.Build(ctx, "..", dir)
	if err != nil {
		return err
	}
	stack, err := benchstack.Start(ctx, benchstack.Options{Binary: bin, Dir: dir, MaxUploadBytes: 2 * size})
	if err != nil {
		return err
	}
	defer stack.Close()

	fmt.Printf("moving %d bytes each way through the gateway (pid %d) on %d cores\n", size, stack.GatewayPID(), runtime.NumCPU())
	target := filebench.Target{GRPCAddr: stack.GRPCAddr, RESTURL: stack.RESTURL, APIKey: stack.APIKey, Account: benchstack.Account}
	direct := &filebench.Direct{BaseURL: stack.SandboxURL, ClientID: stack.ClientID, ClientSecret: stack.ClientSecret}
	// A small round first, so no measured transfer pays for connections,
	// the token fetch or the processes' first allocations.
	if _, err := filebench.Run(ctx, target, direct, 4<<20); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	results, err := filebench.Run(ctx, target, direct, size)
	fmt.Printf("%-18s %12s %9s %10s  %s\n", "transfer", "bytes", "seconds", "MiB/s", "integrity")
	failed := err != nil
	for _, r := range results {
		verdict := "sha256 ok"
		if r.Err != nil {
			verdict, failed = "FAILED: "+r.Err.Error(), true
		}
		fmt.Printf("%-18s %12d %9.2f %10.1f  %s\n", r.Name, r.Bytes, r.Duration.Seconds(), r.MiBPerSecond(), verdict)
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
	return nil
}
