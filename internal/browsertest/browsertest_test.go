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

// In CI, and under make test (which installs chromium first), a missing
// browser is a failure; a plain go test elsewhere may skip.
func TestRequired(t *testing.T) {
	for _, c := range []struct {
		ci, required string
		want         bool
	}{
		{"", "", false},
		{"true", "", true},
		{"", "1", true},
	} {
		t.Setenv("CI", c.ci)
		t.Setenv("EEO_BROWSER_REQUIRED", c.required)
		if got := browsertest.Required(); got != c.want {
			t.Errorf("CI=%q EEO_BROWSER_REQUIRED=%q: Required() = %v, want %v", c.ci, c.required, got, c.want)
		}
	}
}
