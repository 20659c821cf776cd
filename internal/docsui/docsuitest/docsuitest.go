// Package docsuitest drives the /docs page (Swagger UI) in a headless
// Chromium tab as a user would, for tests of the gateway's docs page: it
// opens the page, authorizes, and runs "Try it out" on an operation, and
// records every request the page made and every console error (a
// Content-Security-Policy violation is one).
package docsuitest

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
	"github.com/eeo-gateway/eeo-gateway/internal/browsertest"
)

// Timeout bounds a whole page session. It takes a few seconds on an idle
// machine; the bound is for a loaded CI machine.
const Timeout = 60 * time.Second

// Page is the docs page open in a browser tab.
type Page struct {
	t   testing.TB
	ctx context.Context

	mu          sync.Mutex
	requests    []string
	consoleErrs []string
	consoleDone chan struct{}
	stop        context.CancelFunc
}

// Open starts a browser (see browsertest.New), opens baseURL+"/docs" and
// waits until the given operations (Swagger UI ids such as
// "TokenService-TokenService_GetToken") have rendered.
func Open(t testing.TB, baseURL string, operations ...string) *Page {
	t.Helper()
	ctx, stop := context.WithTimeout(browsertest.New(t), Timeout)
	t.Cleanup(stop)
	p := &Page{t: t, ctx: ctx, stop: stop, consoleDone: make(chan struct{})}
	if err := chromedp.Listen(ctx, p.listen); err != nil {
		t.Fatal(err)
	}
	console := chromedp.Console(ctx)
	go func() {
		defer close(p.consoleDone)
		for m, err := range console {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException || strings.Contains(m.Text, "Content Security Policy") {
				p.mu.Lock()
				p.consoleErrs = append(p.consoleErrs, string(m.Type)+": "+m.Text)
				p.mu.Unlock()
			}
		}
	}()
	p.do("open /docs", chromedp.Navigate(baseURL+"/docs"))
	for _, op := range operations {
		p.do("operation "+op+" renders", chromedp.WaitVisible(opSel(op)))
	}
	return p
}

func (p *Page) listen(ev any) {
	if ev, ok := ev.(*network.EventRequestWillBeSent); ok {
		p.mu.Lock()
		p.requests = append(p.requests, ev.Request.URL)
		p.mu.Unlock()
	}
}

func opSel(op string) string { return "#operations-" + op }

// do runs one step, failing the test with a screenshot if it fails.
func (p *Page) do(what string, a chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, a); err != nil {
		p.screenshot()
		p.t.Fatalf("docs page: %s: %v", what, err)
	}
}

// Authorize enters credential in the "Authorize" dialog, as a user pasting
// a key would.
func (p *Page) Authorize(credential string) {
	p.t.Helper()
	p.do("open Authorize", chromedp.Click(`button.btn.authorize`))
	p.do("enter the credential", chromedp.SendKeys(`.modal-ux input`, credential))
	p.do("authorize", chromedp.Click(`.modal-ux button.authorize`))
	p.do("close the dialog", chromedp.Click(`.modal-ux button.btn-done`))
}

// TryItOut expands the operation, fills in the parameters (by name, as
// Swagger UI labels its inputs) and a file for a multipart "file" part if
// given, executes it and returns the response's status and body text.
func (p *Page) TryItOut(op string, params map[string]string, file string) (status, body string) {
	p.t.Helper()
	sel := opSel(op)
	p.do("expand "+op, chromedp.Click(sel+` .opblock-summary-control`))
	p.do("Try it out", chromedp.Click(sel+` button.try-out__btn`))
	for name, v := range params {
		p.do("enter "+name, chromedp.SendKeys(sel+` input[placeholder="`+name+`"]`, v))
	}
	if file != "" {
		p.do("choose the file", chromedp.SetUploadFiles(sel+` input[type="file"]`, []string{file}))
	}
	p.do("Execute", chromedp.Click(sel+` button.execute`))
	row := sel + ` .live-responses-table tr.response`
	p.do("the response arrives", chromedp.WaitVisible(row+` .response-col_status`))
	var err error
	if status, err = chromedp.Run(p.ctx, chromedp.Text(row+` .response-col_status`)); err != nil {
		p.t.Fatal(err)
	}
	if body, err = chromedp.Run(p.ctx, chromedp.Text(row+` .response-col_description pre`)); err != nil {
		p.t.Fatal(err)
	}
	return strings.TrimSpace(status), body
}

// Close ends the session and fails the test if the page requested anything
// off loopback or logged a console error. It returns the URLs requested.
func (p *Page) Close() []string {
	p.t.Helper()
	p.stop()
	<-p.consoleDone
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, u := range p.requests {
		if !loopback(u) {
			p.t.Errorf("the page requested %s: everything must come from the gateway", u)
		}
	}
	for _, e := range p.consoleErrs {
		p.t.Errorf("browser console: %s", e)
	}
	return p.requests
}

// loopback reports whether u is a data: URL or names a loopback host.
func loopback(u string) bool {
	pu, err := url.Parse(u)
	if err != nil {
		return false
	}
	if pu.Scheme == "data" {
		return true
	}
	ip := net.ParseIP(pu.Hostname())
	return ip != nil && ip.IsLoopback()
}

// screenshot saves the page as PNG for a failing test, in
// $EEO_SCREENSHOT_DIR if set.
func (p *Page) screenshot() {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(p.ctx), 5*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return
	}
	dir := os.Getenv("EEO_SCREENSHOT_DIR")
	if dir == "" {
		dir = p.t.TempDir()
	}
	name := filepath.Join(dir, "docs.png")
	if os.WriteFile(name, png, 0o644) == nil {
		p.t.Logf("screenshot: %s", name)
	}
}
