package docsui_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/internal/docsui"
)

func get(t *testing.T, h http.Handler, method, path string, header http.Header) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

// The page and everything it references are served from the binary, with
// the headers that keep the browser from loading anything else.
func TestPageAndItsAssetsAreServed(t *testing.T) {
	h := docsui.Handler("/docs/")
	resp := get(t, h, http.MethodGet, "/docs/", nil)
	page, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /docs/: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for k, v := range map[string]string{
		"Content-Security-Policy": docsui.ContentSecurityPolicy,
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
	} {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if strings.Contains(string(page), "<script>") || strings.Contains(string(page), "style=") {
		t.Error("the page has inline script or style, which the CSP forbids")
	}
	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(string(page), -1)
	if len(refs) < 3 {
		t.Fatalf("page references %v", refs)
	}
	want := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".png": "image/png"}
	for _, ref := range refs {
		if strings.Contains(ref[1], "//") || strings.HasPrefix(ref[1], "/") {
			t.Errorf("page references %q; assets must be relative to /docs/", ref[1])
			continue
		}
		resp := get(t, h, http.MethodGet, "/docs/"+ref[1], nil)
		ctype := resp.Header.Get("Content-Type")
		if resp.StatusCode != http.StatusOK || ctype != want[ref[1][strings.LastIndex(ref[1], "."):]] {
			t.Errorf("GET /docs/%s: %d %s", ref[1], resp.StatusCode, ctype)
		}
	}
}

func TestUnknownPathsAndMethods(t *testing.T) {
	h := docsui.Handler("/docs/")
	for _, c := range []struct {
		method, path string
		code         int
	}{
		{http.MethodGet, "/docs/nope.js", http.StatusNotFound},
		{http.MethodGet, "/docs/page/index.html", http.StatusNotFound}, // the embed layout is not the URL layout
		{http.MethodGet, "/other/", http.StatusNotFound},
		{http.MethodPost, "/docs/", http.StatusMethodNotAllowed},
		{http.MethodHead, "/docs/docs.js", http.StatusOK},
	} {
		if got := get(t, h, c.method, c.path, nil).StatusCode; got != c.code {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, got, c.code)
		}
	}
}

// A browser revalidates (an upgraded gateway must not run an old page) and
// gets 304 for an unchanged 1.7 MB bundle.
func TestRevalidationByETag(t *testing.T) {
	h := docsui.Handler("/docs/")
	first := get(t, h, http.MethodGet, "/docs/swagger-ui/swagger-ui-bundle.js", nil)
	etag := first.Header.Get("ETag")
	if etag == "" || first.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("ETag %q, Cache-Control %q", etag, first.Header.Get("Cache-Control"))
	}
	again := get(t, h, http.MethodGet, "/docs/swagger-ui/swagger-ui-bundle.js", http.Header{"If-None-Match": {etag}})
	if again.StatusCode != http.StatusNotModified {
		t.Fatalf("revalidation: %d, want 304", again.StatusCode)
	}
}

// The vendored copy is the release the Makefile pins (`make check-docs-ui`
// checks the bytes against npm; this checks the pin offline).
func TestVendoredSwaggerUIIsThePinnedRelease(t *testing.T) {
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	pin := regexp.MustCompile(`(?m)^SWAGGER_UI_VERSION\s*:=\s*(\S+)$`).FindSubmatch(mk)
	if pin == nil {
		t.Fatal("Makefile has no SWAGGER_UI_VERSION")
	}
	raw, err := os.ReadFile("swagger-ui/package.json")
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct{ Name, Version string }
	if err := json.Unmarshal(raw, &pkg); err != nil {
		t.Fatal(err)
	}
	if pkg.Name != "swagger-ui-dist" || pkg.Version != string(pin[1]) {
		t.Fatalf("vendored %s@%s, Makefile pins %s: run make docs-ui", pkg.Name, pkg.Version, pin[1])
	}
}

// The page's own script points Swagger UI at the gateway's document and
// turns off the one feature that calls a remote service.
func TestPageScriptStaysOffline(t *testing.T) {
	js, err := io.ReadAll(get(t, docsui.Handler("/docs/"), http.MethodGet, "/docs/docs.js", nil).Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"'../openapi.json'", "validatorUrl: null"} {
		if !strings.Contains(string(js), want) {
			t.Errorf("docs.js lacks %s", want)
		}
	}
	if regexp.MustCompile(`https?://`).Match(js) {
		t.Error("docs.js names a remote URL")
	}
}

// Building the handler must not copy the 2.3 MiB of embedded files onto
// the heap: a live copy costs the gateway about twice its size in peak RSS
// (issue 13's RSS target), whether or not anyone opens the docs.
func TestHandlerKeepsTheAssetsInTheBinary(t *testing.T) {
	docsui.Handler("/docs/") // the first builds the mime package's tables
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	h := docsui.Handler("/docs/")
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 256<<10 {
		t.Errorf("Handler allocated %d bytes; the assets belong in the binary's data, not the heap", got)
	}
	resp := get(t, h, http.MethodGet, "/docs/swagger-ui/swagger-ui-bundle.js", nil)
	body, _ := io.ReadAll(resp.Body)
	want, err := os.ReadFile("swagger-ui/swagger-ui-bundle.js")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || string(body) != string(want) {
		t.Errorf("served %d, %d bytes; want 200 and the vendored file's %d bytes", resp.StatusCode, len(body), len(want))
	}
}
