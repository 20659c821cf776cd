package testkit_test

import (
	"testing"

	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
)

// The named variable wins over PATH, so a machine without the Debian
// package can point at its own build.
func TestFindToolHonoursEnv(t *testing.T) {
	t.Setenv("EEO_TESTKIT_TOOL", "/opt/tool/bin")
	if got := testkit.FindTool("EEO_TESTKIT_TOOL", "no-such-tool-on-path"); got != "/opt/tool/bin" {
		t.Fatalf("FindTool() = %q", got)
	}
}

func TestFindToolMissing(t *testing.T) {
	t.Setenv("EEO_TESTKIT_TOOL", "")
	if got := testkit.FindTool("EEO_TESTKIT_TOOL", "no-such-tool-on-path"); got != "" {
		t.Fatalf("FindTool() = %q, want none", got)
	}
}

// In CI, and under make test (which installs the tool first and sets the
// variable), a missing tool is a failure; a plain go test elsewhere may skip.
func TestToolRequired(t *testing.T) {
	for _, c := range []struct {
		ci, required string
		want         bool
	}{
		{"", "", false},
		{"true", "", true},
		{"", "1", true},
	} {
		t.Setenv("CI", c.ci)
		t.Setenv("EEO_TESTKIT_TOOL_REQUIRED", c.required)
		if got := testkit.ToolRequired("EEO_TESTKIT_TOOL_REQUIRED"); got != c.want {
			t.Errorf("CI=%q EEO_TESTKIT_TOOL_REQUIRED=%q: ToolRequired() = %v, want %v", c.ci, c.required, got, c.want)
		}
	}
}
