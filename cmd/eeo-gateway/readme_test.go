package main

import (
	"io"
	"io/fs"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/cmd/eeo-gateway/internal/exitcode"
	"github.com/eeo-gateway/eeo-gateway/config"
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

// The README's Redis configuration — the section's example and the file
// its local try writes — loads and validates, so what it tells operators
// to write is accepted.
func TestREADMERedisConfigLoads(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(readme)
	start := strings.Index(section, "### Running several replicas (Redis)")
	if start < 0 {
		t.Fatal("no Redis section in the README")
	}
	section = section[start:]
	section = section[:strings.Index(section, "\n## ")]
	example := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindStringSubmatch(section)
	try := regexp.MustCompile(`(?s)<<'YAML'\n(.*?)\nYAML\n`).FindStringSubmatch(section)
	if example == nil || try == nil {
		t.Fatalf("found the example %v and the local try's file %v; want both", example != nil, try != nil)
	}
	const account = `
accounts:
  - name: acme
    token_url: https://eeo.example.com/oauth2/token
    base_url: https://eeo.example.com/api
    client_id: acme-client
    client_secret_env: EEO_SANDBOX_CLIENT_SECRET
`
	getenv := func(k string) string {
		switch k {
		case "EEO_REDIS_PASSWORD", "EEO_SANDBOX_CLIENT_SECRET":
			return "s3cret"
		case "EEO_REDIS_ENCRYPTION_KEY":
			return "3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
		}
		return ""
	}
	for name, yaml := range map[string]string{"example": example[1] + account, "local try": try[1]} {
		files := map[string]string{"/cfg.yaml": yaml}
		cfg, err := config.Load("/cfg.yaml", getenv, func(p string) ([]byte, error) {
			if f, ok := files[p]; ok {
				return []byte(f), nil
			}
			return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
		})
		if err == nil {
			err = cfg.Validate()
		}
		if err != nil || cfg.Redis == nil {
			t.Errorf("README %s: %v (redis section %v)", name, err, cfg.Redis != nil)
		}
	}
}
