// Command benchreport runs every comparison of the benchmark suite in one
// run and writes BENCHMARKS.md: the machine, the exact commands, and a
// table with each target's goal next to what was measured.
//
//	make bench-report                  # 1 GiB file transfers
//	make bench-report SIZE=67108864    # a quick run
//
// It runs from the bench module's directory (the Makefile does that).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/eeo-gateway/eeo-gateway/bench/floor"
)

// config is what the command line sets.
type config struct {
	root     string // the gateway repository
	out      string
	size     int64
	duration time.Duration
	// loadSlices is how many interleaved slices each load run is made of.
	loadSlices int
	// floorDuration is the length of each floor server's run.
	floorDuration time.Duration
	rounds        int
	concurrency   int
	stampede      int
	// stampedeRounds is how many cold/warm pairs the stampede runs.
	stampedeRounds int
	count          int
	fileRounds     int
	only           string // comma-separated step keys; empty runs them all
	soak           time.Duration
}

func main() {
	floor.ServeIfChild() // the load step's floor servers are this program again
	var c config
	flag.StringVar(&c.root, "root", "..", "the gateway repository's root")
	flag.StringVar(&c.out, "out", "../BENCHMARKS.md", "where to write the report")
	flag.Int64Var(&c.size, "size", 1<<30, "bytes per file transfer")
	flag.DurationVar(&c.duration, "duration", 8*time.Second, "length of each load-generator run")
	flag.IntVar(&c.loadSlices, "load-slices", 4, "slices each run of the load step is cut into, the runs of a round taking turns slice by slice")
	flag.DurationVar(&c.floorDuration, "floor-duration", 4*time.Second, "length of each run against a floor server (bare net/http, bare grpc-go) in the load step's rounds")
	flag.IntVar(&c.rounds, "rounds", 3, "load-generator rounds (Health, gRPC GetToken, REST GetToken in turn); the round with the median GetToken/Health ratio is judged")
	flag.IntVar(&c.concurrency, "concurrency", 16, "load-generator workers")
	flag.IntVar(&c.stampede, "stampede", 10_000, "concurrent GetToken calls in the stampede")
	flag.IntVar(&c.stampedeRounds, "stampede-rounds", 3, "cold/warm pairs of stampede bursts; the median pair is judged")
	flag.IntVar(&c.count, "count", 5, "runs of each Go benchmark; the median is reported")
	flag.IntVar(&c.fileRounds, "file-rounds", 5, "rounds of file transfers; each transfer's median is reported")
	flag.DurationVar(&c.soak, "soak", 30*time.Second, "length of the soak whose gateway heap is reported (make soak runs 10m)")
	flag.StringVar(&c.only, "only", "", "run only these steps (comma-separated: "+strings.Join(stepKeys(), ",")+
		") and print the report instead of writing -out, for working on one measurement")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, c); err != nil {
		log.Fatal(err)
	}
}

// steps are the measurements, in the order they run.
var steps = []struct {
	key, name string
	f         func(context.Context, *report) error
}{
	{"hit", "cache hit (Go benchmarks)", measureCacheHit},
	{"memory", "memory per record and per account (Go benchmarks)", measureMemory},
	{"load", "GetToken vs Health, REST vs gRPC (load generator)", measureLoad},
	{"stampede", "stampede on a cold cache", measureStampede},
	{"files", "file transfers", measureFiles},
	{"soak", "gateway heap after a soak", measureSoak},
}

func stepKeys() []string {
	var keys []string
	for _, s := range steps {
		keys = append(keys, s.key)
	}
	return keys
}

func run(ctx context.Context, c config) error {
	if c.loadSlices < 1 {
		return fmt.Errorf("-load-slices %d: need at least 1", c.loadSlices)
	}
	root, err := filepath.Abs(c.root)
	if err != nil {
		return err
	}
	c.root = root
	r := &report{cfg: c, started: time.Now(), machine: probeMachine(ctx, root)}
	log.Printf("machine: %s, %d cores, load %s", r.machine.CPU, r.machine.Cores, r.machine.LoadBefore)

	only := map[string]bool{}
	for _, k := range strings.Split(c.only, ",") {
		if k = strings.TrimSpace(k); k != "" {
			if !slices.Contains(stepKeys(), k) {
				return fmt.Errorf("-only %s: no such step (have %s)", k, strings.Join(stepKeys(), ", "))
			}
			only[k] = true
		}
	}
	for _, s := range steps {
		if len(only) > 0 && !only[s.key] {
			continue
		}
		log.Printf("== %s", s.name)
		if err := s.f(ctx, r); err != nil {
			// One broken measurement must not hide the others: record it.
			log.Printf("%s: %v", s.name, err)
			r.failures = append(r.failures, fmt.Sprintf("%s: %v", s.name, err))
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if r.workDir != "" {
		os.RemoveAll(r.workDir)
	}
	r.machine.LoadAfter = loadAverage()
	r.elapsed = time.Since(r.started)
	if len(only) > 0 { // a partial report must not replace the full one
		fmt.Print(r.markdown())
	} else {
		if err := os.WriteFile(c.out, []byte(r.markdown()), 0o644); err != nil {
			return err
		}
		log.Printf("wrote %s in %v", c.out, r.elapsed.Round(time.Second))
	}
	if len(r.failures) > 0 {
		return fmt.Errorf("%d measurements failed (see the report)", len(r.failures))
	}
	return nil
}
