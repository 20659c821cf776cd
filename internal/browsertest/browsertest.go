// Package browsertest starts a headless Chromium for tests that drive a real
// page with chromedp.
//
// The browser is Debian's chromium package: `make test` and `.ci/run`
// install it when it is missing. Without it a test fails when CI or
// EEO_BROWSER_REQUIRED is set (make test sets the latter), and is skipped
// otherwise, so `go test ./...` still works on a machine without it.
package browsertest

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
)

// requiredEnv, set by make test, makes a missing browser a failure.
const requiredEnv = "EEO_BROWSER_REQUIRED"

// Binaries are the names looked up on PATH, in order; EEO_CHROMIUM, if
// set, names the binary instead.
var binaries = []string{"chromium", "chromium-browser", "google-chrome"}

// Find returns the Chromium binary's path, or "" if there is none.
func Find() string {
	return testkit.FindTool("EEO_CHROMIUM", binaries...)
}

// Required reports whether a missing browser fails the test instead of
// skipping it.
func Required() bool {
	return testkit.ToolRequired(requiredEnv)
}

// New starts a fresh headless Chromium (its own temporary profile, no
// sandbox, no GPU, no background or component-update traffic, so it only
// talks to the pages the test opens) and returns a chromedp context for a
// tab in it. The browser is closed when the test ends.
func New(t testing.TB) context.Context {
	t.Helper()
	bin := Find()
	if bin == "" {
		const msg = "no chromium on PATH: `make browser` (or apt-get install -y chromium) installs it"
		testkit.MissingTool(t, requiredEnv, msg)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.WindowSize(1280, 1600),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	// Start the browser now, so a broken install fails here and clearly.
	if err := chromedp.Do(ctx); err != nil {
		cancelTab()
		cancelAlloc()
		t.Fatalf("starting %s: %v", bin, err)
	}
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	return ctx
}
