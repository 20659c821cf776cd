package e2e_test

import (
	"context"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/eeo-gateway/eeo-gateway/access"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/browsertest"
	"github.com/eeo-gateway/eeo-gateway/internal/permission"
	"google.golang.org/protobuf/encoding/protojson"
)

// browserLog collects what the page did that a test checks afterwards:
// every URL it requested and its console errors (a CSP violation is one).
type browserLog struct {
	mu       sync.Mutex
	requests []string
	errors   []string
}

func (l *browserLog) listen(ev any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		l.requests = append(l.requests, ev.Request.URL)
	}
}

// TestDocsPageGetsATokenInABrowser opens /docs in headless Chromium against
// a gateway wired as `serve --dev` wires it (sandbox, an API key for caller
// "dev" with every permission), and does what a new user does: find the
// TokenService and ImportReportService operations, "Authorize" with the key
// (pasted without "Bearer "), and "Try it out" on GetToken, then upload a
// file through the hand-described upload route. The page must get the
// cached token and create the import, load nothing from outside the
// gateway, and run under its Content-Security-Policy without a violation.
func TestDocsPageGetsATokenInABrowser(t *testing.T) {
	cfg := &access.Config{}
	key := grant(cfg, "dev", []string{access.AllAccounts}, permission.All()...)
	s := newStack(t, stackOptions{Access: cfg})
	ctx := browsertest.New(t)
	// About 5 s on an idle machine; the bound is for a loaded CI machine.
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	var log browserLog
	if err := chromedp.Listen(ctx, log.listen); err != nil {
		t.Fatal(err)
	}
	console := chromedp.Console(ctx)
	var consoleErrs []string
	var consoleMu sync.Mutex
	consoleDone := make(chan struct{})
	go func() {
		defer close(consoleDone)
		for m, err := range console {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException || strings.Contains(m.Text, "Content Security Policy") {
				consoleMu.Lock()
				consoleErrs = append(consoleErrs, string(m.Type)+": "+m.Text)
				consoleMu.Unlock()
			}
		}
	}()

	getToken := `#operations-TokenService-TokenService_GetToken`
	steps := []struct {
		what string
		do   chromedp.Action[chromedp.Void]
	}{
		{"open /docs", chromedp.Navigate(s.restURL + "/docs")},
		{"TokenService operations render", chromedp.WaitVisible(getToken)},
		{"ImportReportService operations render, the upload route included", chromedp.WaitVisible(`#operations-ImportReportService-ImportReportService_CreateImport`)},
		{"open Authorize", chromedp.Click(`button.btn.authorize`)},
		{"type the dev key", chromedp.SendKeys(`.modal-ux input`, key)},
		{"authorize", chromedp.Click(`.modal-ux button.authorize`)},
		{"close the dialog", chromedp.Click(`.modal-ux button.btn-done`)},
		{"expand GetToken", chromedp.Click(getToken + ` .opblock-summary-control`)},
		{"Try it out", chromedp.Click(getToken + ` button.try-out__btn`)},
		{"enter the account", chromedp.SendKeys(getToken+` input[placeholder="account"]`, account)},
		{"Execute", chromedp.Click(getToken + ` button.execute`)},
		{"the response arrives", chromedp.WaitVisible(getToken + ` .live-responses-table tr.response .response-col_status`)},
	}
	for _, st := range steps {
		if err := chromedp.Do(ctx, st.do); err != nil {
			shot(t, ctx)
			t.Fatalf("%s: %v", st.what, err)
		}
	}
	status, err := chromedp.Run(ctx, chromedp.Text(getToken+` .live-responses-table tr.response .response-col_status`))
	if err != nil {
		t.Fatal(err)
	}
	body, err := chromedp.Run(ctx, chromedp.Text(getToken+` .live-responses-table tr.response .response-col_description pre`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(status) != "200" {
		shot(t, ctx)
		t.Fatalf("GetToken through the docs page: status %q", status) // the body may hold a token
	}
	// The upload route, described by hand in proto/openapi, works from the
	// page too: a multipart file part plus query parameters.
	csv := filepath.Join(t.TempDir(), "people.csv")
	if err := os.WriteFile(csv, []byte(participantsHeader+"P001,Ada,Lovelace,ada@example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	upload := `#operations-ImportReportService-ImportReportService_CreateImport`
	for _, st := range []struct {
		what string
		do   chromedp.Action[chromedp.Void]
	}{
		{"expand CreateImport", chromedp.Click(upload + ` .opblock-summary-control`)},
		{"Try it out", chromedp.Click(upload + ` button.try-out__btn`)},
		{"enter the account", chromedp.SendKeys(upload+` input[placeholder="account"]`, account)},
		{"enter the import type", chromedp.SendKeys(upload+` input[placeholder="importType"]`, "participants")},
		{"choose the file", chromedp.SetUploadFiles(upload+` input[type="file"]`, []string{csv})},
		{"Execute", chromedp.Click(upload + ` button.execute`)},
		{"the response arrives", chromedp.WaitVisible(upload + ` .live-responses-table tr.response .response-col_status`)},
	} {
		if err := chromedp.Do(ctx, st.do); err != nil {
			shot(t, ctx)
			t.Fatalf("upload: %s: %v", st.what, err)
		}
	}
	upStatus, err := chromedp.Run(ctx, chromedp.Text(upload+` .live-responses-table tr.response .response-col_status`))
	if err != nil {
		t.Fatal(err)
	}
	upBody, err := chromedp.Run(ctx, chromedp.Text(upload+` .live-responses-table tr.response .response-col_description pre`))
	if err != nil {
		t.Fatal(err)
	}
	var created eeov1.CreateImportResponse
	if strings.TrimSpace(upStatus) != "200" || protojson.Unmarshal([]byte(upBody), &created) != nil || created.GetDataImport().GetFileName() != "people.csv" {
		shot(t, ctx)
		t.Fatalf("upload through the docs page: status %q, body %s", upStatus, upBody)
	}

	var got eeov1.GetTokenResponse
	if err := protojson.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("response body (%d bytes) is not a GetTokenResponse: %v", len(body), err)
	}
	want := s.as(t, view{Bearer: key}).mustToken(t)
	if got.GetToken().GetAccessToken() != want.GetAccessToken() || want.GetAccessToken() == "" {
		t.Errorf("the page got token %s, gRPC %s: not the cached token", got.GetToken().GetFingerprint(), want.GetFingerprint())
	}

	cancel()
	<-consoleDone
	log.mu.Lock()
	defer log.mu.Unlock()
	var sawDoc, sawToken bool
	for _, u := range log.requests {
		if !loopback(u) {
			t.Errorf("the page requested %s: everything must come from the gateway", u)
		}
		sawDoc = sawDoc || strings.HasSuffix(u, "/openapi.json")
		sawToken = sawToken || strings.HasSuffix(u, "/v1/accounts/"+account+"/token")
	}
	if !sawDoc || !sawToken {
		t.Errorf("requests seen: %v; want /openapi.json and the token call among them", log.requests)
	}
	consoleMu.Lock()
	defer consoleMu.Unlock()
	for _, e := range consoleErrs {
		t.Errorf("browser console: %s", e)
	}
}

// loopback reports whether u is a data: URL or names a loopback host.
func loopback(u string) bool {
	p, err := url.Parse(u)
	if err != nil {
		return false
	}
	if p.Scheme == "data" {
		return true
	}
	ip := net.ParseIP(p.Hostname())
	return ip != nil && ip.IsLoopback()
}

// shot saves a screenshot of the page for a failing test.
func shot(t *testing.T, ctx context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return
	}
	p := t.TempDir() + "/docs.png"
	if dir := os.Getenv("EEO_SCREENSHOT_DIR"); dir != "" {
		p = dir + "/docs.png"
	}
	if os.WriteFile(p, png, 0o644) == nil {
		t.Logf("screenshot: %s", p)
	}
}
