package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
)

// benchResult is one benchmark's metrics (unit → median value).
type benchResult map[string]float64

// goBench runs `go test -bench` in dir and returns each benchmark's median
// metrics, keyed by name without the -GOMAXPROCS suffix. The command line
// is recorded for the report.
func (r *report) goBench(ctx context.Context, dir string, args ...string) (map[string]benchResult, error) {
	full := append([]string{"test", "-run", "^$"}, args...)
	rel := dir
	if rel == r.cfg.root {
		rel = "."
	} else if strings.HasPrefix(dir, r.cfg.root+"/") {
		rel = strings.TrimPrefix(dir, r.cfg.root+"/")
	}
	r.commands = append(r.commands, fmt.Sprintf("(cd %s && go %s)", rel, strings.Join(quoteAll(full), " ")))
	cmd := exec.CommandContext(ctx, "go", full...)
	cmd.Dir = dir
	if dir == r.benchDir() {
		// As the Makefile runs this module: the gateway's own dependencies,
		// reached through the replace, may be newer than bench/go.sum.
		cmd.Env = append(os.Environ(), "GOFLAGS="+strings.TrimSpace(os.Getenv("GOFLAGS")+" -mod=mod"))
	}
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go %s: %w\n%s", strings.Join(full, " "), err, out)
	}
	samples := map[string]map[string][]float64{}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		if samples[name] == nil {
			samples[name] = map[string][]float64{}
		}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				samples[name][f[i+1]] = append(samples[name][f[i+1]], v)
			}
		}
	}
	res := map[string]benchResult{}
	for name, units := range samples {
		res[name] = benchResult{}
		for unit, vs := range units {
			res[name][unit] = median(vs)
		}
	}
	return res, nil
}

func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func quoteAll(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, "^$*|() ") {
			a = "'" + a + "'"
		}
		out[i] = a
	}
	return out
}
