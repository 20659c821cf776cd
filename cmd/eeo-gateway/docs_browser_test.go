package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/internal/docsui/docsuitest"
)

// A new user's path from `make run` to a token in a browser: the banner's
// docs URL, "Authorize" with the banner's key, "Try it out" on GetToken.
func TestServeDevDocsPageInABrowser(t *testing.T) {
	banner, stop := startDev(t)
	defer stop()
	docs := regexp.MustCompile(`Docs +(http://\S+)/docs/`).FindStringSubmatch(banner)
	key := regexp.MustCompile(`export EEO_KEY=(\S+)`).FindStringSubmatch(banner)
	if docs == nil || key == nil {
		t.Fatalf("banner lacks the docs URL or the key:\n%s", banner)
	}
	page := docsuitest.Open(t, docs[1], "TokenService-TokenService_GetToken", "ImportReportService-ImportReportService_CreateImport")
	page.Authorize(key[1])
	status, body := page.TryItOut("TokenService-TokenService_GetToken", map[string]string{"account": devAccount}, "")
	var got struct {
		Token struct{ AccessToken string } `json:"token"`
	}
	if status != "200" || json.Unmarshal([]byte(body), &got) != nil || !strings.HasPrefix(got.Token.AccessToken, "eeosbx_") {
		t.Fatalf("GetToken through the docs page: status %q", status)
	}
	page.Close()
}
