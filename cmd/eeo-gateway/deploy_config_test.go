package main

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The README tells operators to run this before a deploy; the config the
// Kubernetes base ships must pass it (deploy/manifests_test.go checks it
// again with the Secret and ConfigMap mounted as the pod sees them).
func TestCheckConfigPassesOnTheKubernetesConfig(t *testing.T) {
	var out strings.Builder
	err := run(t.Context(), []string{"check-config", "../../deploy/base/config.yaml"}, env{getenv: noEnv, stdout: &out, stderr: io.Discard})
	if err != nil || !strings.Contains(out.String(), "deploy/base/config.yaml: OK") {
		t.Fatalf("check-config deploy/base/config.yaml: %v\n%s", err, out.String())
	}
}

// The Kubernetes config's commented-out redis section, uncommented, passes
// too: what it tells operators to enable is valid.
func TestCheckConfigPassesOnTheKubernetesConfigWithRedis(t *testing.T) {
	data, err := os.ReadFile("../../deploy/base/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), "\n# redis:\n", "\nredis:\n", 1)
	text = regexp.MustCompile(`(?m)^#   `).ReplaceAllString(text, "  ")
	if !strings.Contains(text, "\nredis:\n  url: ") {
		t.Fatal("no commented-out redis section in deploy/base/config.yaml")
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	err = run(t.Context(), []string{"check-config", path}, env{getenv: noEnv, stdout: &out, stderr: io.Discard})
	if err != nil || !strings.Contains(out.String(), "config.yaml: OK") || !strings.Contains(out.String(), "redis.encryption_key_file") {
		t.Fatalf("check-config with the redis section: %v\n%s", err, out.String())
	}
}
