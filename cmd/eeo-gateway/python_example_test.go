package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
)

// debianPython is the interpreter Debian's python3-grpcio and
// python3-protobuf install for; a python3 earlier on PATH (pyenv, a venv)
// would not see them.
const debianPython = "/usr/bin/python3"

// pythonWithGRPC returns a python3 that can import grpc and protobuf. When
// there is none the test fails where testkit.ToolRequired says so (CI, or
// EEO_PYTHON_REQUIRED, which make test sets after `make python` installed
// them) and is skipped elsewhere.
func pythonWithGRPC(t *testing.T) string {
	t.Helper()
	py := debianPython
	if _, err := os.Stat(py); err != nil {
		py = "python3"
	}
	out, err := exec.Command(py, "-c", "import grpc, google.protobuf").CombinedOutput()
	if err == nil {
		return py
	}
	msg := "no python3 with grpc and protobuf (" + strings.TrimSpace(string(out)) + "): `make python` installs Debian's python3-grpcio and python3-protobuf"
	testkit.MissingTool(t, "EEO_PYTHON_REQUIRED", msg)
	return ""
}

// TestPythonExample runs examples/python/eeo_example.py, a client written
// from the README and proto/ alone, against `serve --dev`: token, a CSV
// uploaded as a client stream and followed to COMPLETED, a report
// downloaded and checked, and a failure's ErrorInfo decoded from the
// trailing metadata. It is the acceptance check that a Python caller can do
// all of that with the committed stubs in gen/python and without a
// reserved word.
func TestPythonExample(t *testing.T) {
	py := pythonWithGRPC(t)
	g := startDevGateway(t)
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "grants.csv")
	cmd := exec.CommandContext(t.Context(), py, filepath.Join(root, "examples/python/eeo_example.py"),
		"--addr", g.addr, "--csv", filepath.Join(root, "examples/python/people.csv"), "--out", out)
	// Only what the example needs: the stubs on PYTHONPATH, the key as the
	// README says.
	cmd.Env = []string{"PYTHONPATH=" + filepath.Join(root, "gen/python"), "EEO_KEY=" + g.key, "PATH=/usr/bin:/bin",
		"PYTHONDONTWRITEBYTECODE=1"} // no __pycache__ in gen/python
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("eeo_example.py: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	for _, want := range []string{
		`(?m)^token: account=demo type=Bearer fingerprint=[0-9a-f]{16} `,
		`(?m)^import: id=\S+ state=IMPORT_STATE_\w+ size_bytes=137 sha256=[0-9a-f]{64}$`,
		`(?m)^import: IMPORT_STATE_COMPLETED row_count=3 accepted_row_count=3 rejected_row_count=0$`,
		`(?m)^report: id=\S+ state=REPORT_STATE_SUCCEEDED$`,
		`(?m)^download: \S+ [1-9][0-9]* bytes sha256 ok$`,
		`(?m)^error, decoded: NOT_FOUND IMPORT_NOT_FOUND \(domain eeo-gateway\.github\.io\): `,
	} {
		if !regexp.MustCompile(want).MatchString(stdout.String()) {
			t.Errorf("output lacks %s:\n%s", want, stdout.String())
		}
	}
	if strings.Contains(stdout.String()+stderr.String(), "eeosbx_") {
		t.Errorf("the example printed an access token:\n%s", stdout.String())
	}
	if m := regexp.MustCompile(`(?m)^download: \S+ ([0-9]+) bytes`).FindStringSubmatch(stdout.String()); m != nil {
		if b, err := os.ReadFile(out); err != nil || strconv.Itoa(len(b)) != m[1] {
			t.Errorf("report file: %d bytes (%v), the example said %s", len(b), err, m[1])
		}
	}
}
