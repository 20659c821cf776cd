package multiprocess_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// The eeo-gateway binary is built once per test run, by the first test
// that needs it, into a directory TestMain removes.
var binary struct {
	once sync.Once
	dir  string
	path string
	err  error
	out  []byte
}

// gatewayBinary returns the path of an eeo-gateway binary built from this
// checkout, building it on first use. The build mirrors the test's race
// mode (see raceBuild), so under `go test -race` it links packages the
// test build already compiled instead of compiling everything again.
func gatewayBinary(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		binary.dir, binary.err = os.MkdirTemp("", "eeo-gateway-multiprocess-")
		if binary.err != nil {
			return
		}
		binary.path = filepath.Join(binary.dir, "eeo-gateway")
		args := []string{"build", "-o", binary.path}
		if raceBuild {
			args = append(args, "-race")
		}
		// go test puts its own go first on PATH.
		cmd := exec.Command("go", append(args, "github.com/eeo-gateway/eeo-gateway/cmd/eeo-gateway")...)
		binary.out, binary.err = cmd.CombinedOutput()
	})
	if binary.err != nil {
		t.Fatalf("building eeo-gateway: %v\n%s", binary.err, binary.out)
	}
	return binary.path
}

// removeBinary deletes what gatewayBinary built.
func removeBinary() {
	if binary.dir != "" {
		os.RemoveAll(binary.dir)
	}
}
