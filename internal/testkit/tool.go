package testkit

import (
	"os"
	"os/exec"
	"testing"
)

// FindTool returns the path of an external program a test needs: the one
// the environment variable env names, if set (for a build of one's own or a
// binary off PATH), else the first of names found on PATH, else "".
func FindTool(env string, names ...string) string {
	if p := os.Getenv(env); p != "" {
		return p
	}
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// ToolRequired reports whether a missing external program fails the test
// instead of skipping it: in CI (CI set), and when env is set (make test
// sets it after installing the program), so CI never passes by skipping
// while a plain go test on a bare machine still works.
func ToolRequired(env string) bool {
	return os.Getenv("CI") != "" || os.Getenv(env) != ""
}

// MissingTool ends the test because its external program is missing: it
// fails when ToolRequired(env) and skips otherwise. msg should say how to
// install the program.
func MissingTool(t testing.TB, env, msg string) {
	t.Helper()
	if ToolRequired(env) {
		t.Fatal(msg)
	}
	t.Skip(msg)
}
