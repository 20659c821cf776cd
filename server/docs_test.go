package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// /docs is the docs page on the REST port, public like /openapi.json: it
// holds no data, and its calls carry the credentials the user authorizes.
func TestDocsPageOnTheRESTPort(t *testing.T) {
	g := startGateway(t, nil)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(g.baseURL + "/docs")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/docs/" {
		t.Fatalf("GET /docs: %d to %q, want a redirect to /docs/", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = http.Get(g.baseURL + "/docs/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "swagger-ui-bundle.js") || resp.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("GET /docs/: %d, CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
}
