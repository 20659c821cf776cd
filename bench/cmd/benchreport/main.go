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
	"time"
)

// config is what the command line sets.
type config struct {
	root        string // the gateway repository
	out         string
	size        int64
	duration    time.Duration
	rounds      int
	concurrency int
	stampede    int
	count       int
	fileRounds  int
}

func main() {
	var c config
	flag.StringVar(&c.root, "root", "..", "the gateway repository's root")
	flag.StringVar(&c.out, "out", "../BENCHMARKS.md", "where to write the report")
	flag.Int64Var(&c.size, "size", 1<<30, "bytes per file transfer")
	flag.DurationVar(&c.duration, "duration", 5*time.Second, "length of each load-generator run")
	flag.IntVar(&c.rounds, "rounds", 2, "load-generator rounds (Health, gRPC GetToken, REST GetToken in turn); the median is reported")
	flag.IntVar(&c.concurrency, "concurrency", 16, "load-generator workers")
	flag.IntVar(&c.stampede, "stampede", 10_000, "concurrent GetToken calls in the stampede")
	flag.IntVar(&c.count, "count", 5, "runs of each Go benchmark; the median is reported")
	flag.IntVar(&c.fileRounds, "file-rounds", 2, "rounds of file transfers; each transfer's best is reported")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, c); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, c config) error {
	root, err := filepath.Abs(c.root)
	if err != nil {
		return err
	}
	c.root = root
	r := &report{cfg: c, started: time.Now(), machine: probeMachine(ctx, root)}
	log.Printf("machine: %s, %d cores, load %s", r.machine.CPU, r.machine.Cores, r.machine.LoadBefore)

	steps := []struct {
		name string
		f    func(context.Context, *report) error
	}{
		{"cache hit (Go benchmarks)", measureCacheHit},
		{"memory per record and per account (Go benchmarks)", measureMemory},
		{"GetToken vs Health, REST vs gRPC (load generator)", measureLoad},
		{"stampede on a cold cache", measureStampede},
		{"file transfers", measureFiles},
	}
	for _, s := range steps {
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
	if err := os.WriteFile(c.out, []byte(r.markdown()), 0o644); err != nil {
		return err
	}
	log.Printf("wrote %s in %v", c.out, r.elapsed.Round(time.Second))
	if len(r.failures) > 0 {
		return fmt.Errorf("%d measurements failed (see the report)", len(r.failures))
	}
	return nil
}
