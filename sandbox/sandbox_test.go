package sandbox_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/eeo-gateway/eeo-gateway/sandbox"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	testID     = "gateway"
	testSecret = "p@ss:w/rd+&=" // needs RFC 6749 §2.3.1 encoding to survive Basic
)

// start serves a sandbox over loopback. With no Clients in opts it accepts
// testID/testSecret.
func start(t *testing.T, opts sandbox.Options) (*sandbox.Sandbox, *httptest.Server) {
	t.Helper()
	if opts.Clients == nil {
		opts.Clients = []sandbox.Client{{ID: testID, Secret: testSecret}}
	}
	sb := sandbox.New(opts)
	ts := httptest.NewServer(sb)
	t.Cleanup(ts.Close)
	return sb, ts
}

// result is a fully read HTTP response.
type result struct {
	status int
	header http.Header
	body   []byte
}

// field returns a top-level field of the JSON body, failing if the body is
// not a JSON object.
func (r result) field(t *testing.T, name string) any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m[name]
}

func send(t *testing.T, ts *httptest.Server, req *http.Request) result {
	t.Helper()
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return result{status: resp.StatusCode, header: resp.Header, body: body}
}

// tokenReq builds a token request with form body; if basic is set it is
// used as RFC 6749 §2.3.1-encoded Basic credentials.
func tokenReq(t *testing.T, ts *httptest.Server, form url.Values, basic *sandbox.Client) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.URL+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic != nil {
		req.SetBasicAuth(url.QueryEscape(basic.ID), url.QueryEscape(basic.Secret))
	}
	return req
}

var grant = url.Values{"grant_type": {"client_credentials"}}

// issue obtains a token for the default client, failing on anything but 200.
func issue(t *testing.T, ts *httptest.Server) string {
	t.Helper()
	res := send(t, ts, tokenReq(t, ts, grant, &sandbox.Client{ID: testID, Secret: testSecret}))
	if res.status != http.StatusOK {
		t.Fatalf("token: status %d, body %s", res.status, res.body)
	}
	tok, _ := res.field(t, "access_token").(string)
	return tok
}

// whoami calls the probe endpoint with token (none if empty).
func whoami(t *testing.T, ts *httptest.Server, token string) result {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, ts.URL+"/v1/whoami", nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return send(t, ts, req)
}

func get(t *testing.T, ts *httptest.Server, path string) result {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return send(t, ts, req)
}

func TestNotFound(t *testing.T) {
	_, ts := start(t, sandbox.Options{})
	for _, path := range []string{"/", "/nope", "/oauth2/token/extra", "/v1/whoami/x"} {
		res := get(t, ts, path)
		if res.status != http.StatusNotFound || res.field(t, "error") != "not_found" {
			t.Errorf("GET %s = %d %s, want 404 not_found", path, res.status, res.body)
		}
	}
}

func TestServeStopsOnCancel(t *testing.T) {
	sb := sandbox.New(sandbox.Options{Clients: []sandbox.Client{{ID: testID, Secret: testSecret}}})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- sb.Serve(ctx, lis) }()

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("http://" + addr + "/sandbox/stats")
	if err != nil {
		t.Fatalf("GET while serving: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET while serving: status %d", resp.StatusCode)
	}

	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Serve = %v, want nil", err)
		}
	case <-time.After(10 * time.Second): // a hang guard, not time logic
		t.Fatal("Serve did not return after cancel")
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatal("listener still accepting after Serve returned")
	}
}
