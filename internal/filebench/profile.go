package filebench

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/benchstack"
)

// Profile records the gateway's CPU and allocation profiles while it moves
// files: for each transfer named in only (all of Run's gateway transfers when
// empty), a CPU profile of the given length taken while that transfer repeats
// back to back, and the allocations it made (the allocs profile after minus
// before; `go tool pprof -base NAME.allocs-before.pprof NAME.allocs.pprof`).
// adminURL is the gateway's admin listener, serving /debug/pprof/ (its
// admin.pprof setting on). Files land in dir as NAME.cpu.pprof and
// NAME.allocs.pprof, with NAME.heap.pprof the live heap halfway through,
// NAME the transfer with spaces as dashes and commas dropped.
func Profile(ctx context.Context, t Target, adminURL, dir string, size int64, length time.Duration, only ...string) error {
	conn, c, err := dialClient(t, size)
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx = withAPIKey(ctx, t)
	rep, err := c.report(ctx)
	if err != nil {
		return fmt.Errorf("creating a report to download: %w", err)
	}
	transfers := map[string]func(context.Context) (int64, error){
		UploadGRPC:                c.uploadGRPC,
		UploadREST:                c.uploadREST,
		DownloadGRPC:              func(ctx context.Context) (int64, error) { return c.downloadGRPC(ctx, rep, true) },
		DownloadREST:              func(ctx context.Context) (int64, error) { return c.downloadREST(ctx, rep, true) },
		DownloadGRPCGatewayHashes: func(ctx context.Context) (int64, error) { return c.downloadGRPC(ctx, rep, false) },
		DownloadRESTGatewayHashes: func(ctx context.Context) (int64, error) { return c.downloadREST(ctx, rep, false) },
	}
	if len(only) == 0 {
		only = []string{UploadGRPC, UploadREST, DownloadGRPC, DownloadREST}
	}
	for _, name := range only {
		transfer, ok := transfers[name]
		if !ok {
			return fmt.Errorf("no transfer named %q", name)
		}
		base := filepath.Join(dir, strings.ReplaceAll(strings.ReplaceAll(name, ",", ""), " ", "-"))
		if err := benchstack.SaveProfile(ctx, adminURL+"/debug/pprof/allocs", base+".allocs-before.pprof"); err != nil {
			return err
		}
		cpu := make(chan error, 1)
		go func() {
			cpu <- benchstack.SaveProfile(ctx, adminURL+"/debug/pprof/profile?seconds="+strconv.Itoa(int(length.Seconds())), base+".cpu.pprof")
		}()
		// The heap halfway through: what the transfer holds live.
		heap := time.AfterFunc(length/2, func() {
			if err := benchstack.SaveProfile(ctx, adminURL+"/debug/pprof/heap", base+".heap.pprof"); err != nil {
				fmt.Println("heap profile:", err)
			}
		})
		var moved int64
		rounds := 0
		start := time.Now()
		for time.Since(start) < length {
			n, err := transfer(ctx)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			moved += n
			rounds++
		}
		elapsed := time.Since(start)
		heap.Stop()
		if err := <-cpu; err != nil {
			return err
		}
		if err := benchstack.SaveProfile(ctx, adminURL+"/debug/pprof/allocs", base+".allocs.pprof"); err != nil {
			return err
		}
		fmt.Printf("profiled %s: %d rounds, %.1f MiB/s → %s.{cpu,allocs}.pprof\n", name, rounds,
			float64(moved)/elapsed.Seconds()/(1<<20), base)
	}
	return nil
}
