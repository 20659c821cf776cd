package browsertest_test

import (
	"testing"

	"github.com/eeo-gateway/eeo-gateway/internal/browsertest"
)

// EEO_CHROMIUM names the browser outright, for machines where it is not on
// PATH under a Debian name.
func TestFindHonoursEEOChromium(t *testing.T) {
	t.Setenv("EEO_CHROMIUM", "/opt/chrome/chrome")
	if got := browsertest.Find(); got != "/opt/chrome/chrome" {
		t.Fatalf("Find() = %q", got)
	}
}

// make test sets EEO_BROWSER_REQUIRED after installing the tool, so a missing
// browser fails there; the CI rule itself is testkit.ToolRequired's, tested
// there.
func TestRequired(t *testing.T) {
	t.Setenv("CI", "")
	t.Setenv("EEO_BROWSER_REQUIRED", "")
	if browsertest.Required() {
		t.Errorf("Required() with neither CI nor EEO_BROWSER_REQUIRED set = true")
	}
	t.Setenv("EEO_BROWSER_REQUIRED", "1")
	if !browsertest.Required() {
		t.Errorf("Required() with EEO_BROWSER_REQUIRED=1 = false")
	}
}
