// Package deploy_test checks the deployment artefacts — the Dockerfile at
// the repository root and the kustomize base in deploy/base — against the
// Makefile and the gateway's own configuration rules. No Docker daemon or
// cluster is needed: the files are parsed, rendered and validated.
package deploy_test

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
