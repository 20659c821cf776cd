package main

import (
	"encoding/json"
	"io"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/cmd/eeo-gateway/internal/exitcode"
	"github.com/spf13/cobra"
)

// allCommandPaths lists every command in the tree, as argument lists.
func allCommandPaths() [][]string {
	var out [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		out = append(out, path)
		for _, sub := range c.Commands() {
			walk(sub, append(slices.Clip(path), sub.Name()))
		}
	}
	walk(newRootCmd(env{getenv: noEnv, stdout: io.Discard, stderr: io.Discard}), nil)
	return out
}

// Every command answers --help on stdout with exit status 0, so an
// operator exploring the tool never sees a help request treated as failure.
func TestHelpOnEveryCommandSucceeds(t *testing.T) {
	paths := allCommandPaths()
	if len(paths) < 5 {
		t.Fatalf("command tree has only %v", paths)
	}
	for _, path := range paths {
		var stdout strings.Builder
		err := run(t.Context(), append(slices.Clip(path), "--help"), env{getenv: noEnv, stdout: &stdout, stderr: io.Discard})
		if code := exitcode.Of(err); code != exitcode.OK {
			t.Errorf("%v --help: exit %d (%v)", path, code, err)
		}
		if !strings.Contains(stdout.String(), "Usage:") {
			t.Errorf("%v --help printed no usage:\n%s", path, stdout.String())
		}
	}
}

func TestUsageMistakesExitTwo(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"frobnicate"},
		{"serve", "--no-such-flag"},
		{"serve", "--dev", "extra-arg"},
		{"serve"},
		{"sandbox", "--step", "soon"},
		{"version", "extra"},
		{"completion", "tcsh"},
	} {
		err := run(t.Context(), args, env{getenv: noEnv, stdout: io.Discard, stderr: io.Discard})
		if code := exitcode.Of(err); code != exitcode.Usage {
			t.Errorf("%q: exit %d (%v), want %d", args, code, err, exitcode.Usage)
		} else if !strings.Contains(err.Error(), "--help' for usage") {
			t.Errorf("%q: %q does not point at --help", args, err)
		}
	}
}

func TestVersion(t *testing.T) {
	var out strings.Builder
	if err := run(t.Context(), []string{"version"}, env{getenv: noEnv, stdout: &out, stderr: io.Discard}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "eeo-gateway ") || !strings.Contains(out.String(), runtime.Version()) {
		t.Fatalf("version printed %q", out.String())
	}
	out.Reset()
	if err := run(t.Context(), []string{"version", "--json"}, env{getenv: noEnv, stdout: &out, stderr: io.Discard}); err != nil {
		t.Fatal(err)
	}
	var v struct {
		Version   string `json:"version"`
		Commit    string `json:"commit"`
		BuildDate string `json:"build_date"`
		GoVersion string `json:"go_version"`
	}
	if err := json.Unmarshal([]byte(out.String()), &v); err != nil || v.GoVersion != runtime.Version() || v.Version == "" || v.Commit == "" {
		t.Fatalf("version --json = %q (%v)", out.String(), err)
	}
}

func TestCompletionScripts(t *testing.T) {
	for shell, marker := range map[string]string{"bash": "complete -o default", "zsh": "#compdef eeo-gateway", "fish": "complete -c eeo-gateway"} {
		var out strings.Builder
		if err := run(t.Context(), []string{"completion", shell}, env{getenv: noEnv, stdout: &out, stderr: io.Discard}); err != nil {
			t.Fatalf("completion %s: %v", shell, err)
		}
		if !strings.Contains(out.String(), marker) {
			t.Errorf("completion %s lacks %q", shell, marker)
		}
	}
}
