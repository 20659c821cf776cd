package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// soakHeapRE finds the soak summary's gateway heap line (e2e/soak_heap_test.go).
var soakHeapRE = regexp.MustCompile(`gateway heap after the soak: ([0-9.]+) MiB`)

// measureSoak runs the soak test (make soak) for -soak and reads the
// gateway's live heap after it, the sandbox's storage excluded: the soak
// runs sandbox, gateway and load in one process, so it attributes the heap
// from the memory profile (see heapOwners in e2e). A short soak keeps the
// report quick; the gateway's share grows with the request ids its
// idempotency log holds (24 h), which the summary counts.
func measureSoak(ctx context.Context, r *report) error {
	args := []string{"test", "-run", "^TestSoak$", "-count=1", "-timeout", "10m", "-v", "./e2e/"}
	r.commands = append(r.commands, fmt.Sprintf("(cd . && EEO_SOAK_DURATION=%v go %s)   # make soak SOAK_DURATION=%v",
		r.cfg.soak, strings.Join(quoteAll(args), " "), r.cfg.soak))
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = r.cfg.root
	cmd.Env = append(os.Environ(), "EEO_SOAK_DURATION="+r.cfg.soak.String())
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("soak: %w\n%s", err, tail(string(out), 40))
	}
	summary, ok := soakSummary(string(out))
	if !ok {
		return fmt.Errorf("soak: no gateway heap line in its output\n%s", tail(string(out), 40))
	}
	m := soakHeapRE.FindStringSubmatch(summary)
	r.soakHeapMiB, _ = strconv.ParseFloat(m[1], 64)
	r.soakSummary = summary
	return nil
}

// soakSummary returns the summary the soak prints on its standard output
// (the block from "soak summary:" to the gateway heap line).
func soakSummary(out string) (string, bool) {
	var b strings.Builder
	in := false
	for line := range strings.Lines(out) {
		if strings.HasPrefix(line, "soak summary:") {
			in = true
			b.Reset()
		}
		if !in {
			continue
		}
		b.WriteString(line)
		if soakHeapRE.MatchString(line) {
			return b.String(), true
		}
	}
	return "", false
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(l[max(0, len(l)-lines):], "\n")
}
