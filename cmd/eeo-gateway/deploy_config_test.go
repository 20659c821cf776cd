package main

import (
	"io"
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
