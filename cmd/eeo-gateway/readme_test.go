package main

import (
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/cmd/eeo-gateway/internal/exitcode"
)

// The README's eeo-gateway command lines name commands and flags that
// exist: each, with --help added, parses (cobra answers --help right after
// parsing flags, so positional placeholders do not matter). The end-to-end
// tests run the same commands for real against `serve --dev`.
func TestREADMECommandLinesParse(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := regexp.MustCompile(`(?m)^\s*(?:source <\()?\./eeo-gateway ([^#\n)]*)`).FindAllStringSubmatch(string(readme), -1)
	if len(lines) < 9 {
		t.Fatalf("found only %d eeo-gateway command lines in the README", len(lines))
	}
	for _, l := range lines {
		args := append(strings.Fields(l[1]), "--help")
		err := run(t.Context(), args, env{getenv: noEnv, stdout: io.Discard, stderr: io.Discard})
		if code := exitcode.Of(err); code != exitcode.OK {
			t.Errorf("README line %q: exit %d (%v)", "./eeo-gateway "+l[1], code, err)
		}
	}
}
