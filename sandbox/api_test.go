package sandbox_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/testkit"

	"github.com/eeo-gateway/eeo-gateway/sandbox"
)

// Helpers for the imports and reports endpoints.

// call sends an API request bearing tok. hdr holds header name, value pairs.
func call(t *testing.T, ts *httptest.Server, tok, method, path string, body io.Reader, hdr ...string) result {
	t.Helper()
	return send(t, ts, apiReq(t, ts, tok, method, path, body, hdr...))
}

func apiReq(t *testing.T, ts *httptest.Server, tok, method, path string, body io.Reader, hdr ...string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return req
}

// postImport uploads csv as a CSV file.
func postImport(t *testing.T, ts *httptest.Server, tok, query, csv string, hdr ...string) result {
	t.Helper()
	hdr = append([]string{"Content-Type", "text/csv"}, hdr...)
	return call(t, ts, tok, http.MethodPost, "/v1/imports?"+query, strings.NewReader(csv), hdr...)
}

// decode unmarshals a JSON body, failing the test on a wrong status.
func decode[T any](t *testing.T, res result, status int) T {
	t.Helper()
	var v T
	if res.status != status {
		t.Fatalf("status %d, want %d; body %s", res.status, status, res.body)
	}
	if err := json.Unmarshal(res.body, &v); err != nil {
		t.Fatalf("decode %s: %v", res.body, err)
	}
	return v
}

// wantError checks an error answer: status, code and field.
func wantError(t *testing.T, name string, res result, status int, code, field string) {
	t.Helper()
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Field       string `json:"field"`
	}
	if err := json.Unmarshal(res.body, &e); err != nil || res.status != status || e.Error != code || e.Field != field {
		t.Errorf("%s: got %d %s, want %d %s field %q", name, res.status, res.body, status, code, field)
	}
}

type wireImport struct {
	ID           string    `json:"id"`
	ImportType   string    `json:"import_type"`
	FileName     string    `json:"file_name"`
	ContentType  string    `json:"content_type"`
	RequestID    string    `json:"request_id"`
	State        string    `json:"state"`
	RowsTotal    int64     `json:"rows_total"`
	RowsAccepted int64     `json:"rows_accepted"`
	RowsRejected int64     `json:"rows_rejected"`
	SizeBytes    int64     `json:"size_bytes"`
	SHA256       string    `json:"sha256"`
	CreateTime   time.Time `json:"create_time"`
	UpdateTime   time.Time `json:"update_time"`
}

type wireRowError struct {
	Row     int64  `json:"row"`
	Column  string `json:"column"`
	Message string `json:"message"`
}

type wireReport struct {
	ID          string            `json:"id"`
	ReportType  string            `json:"report_type"`
	Parameters  map[string]string `json:"parameters"`
	Format      string            `json:"format"`
	RequestID   string            `json:"request_id"`
	State       string            `json:"state"`
	SizeBytes   int64             `json:"size_bytes"`
	SHA256      string            `json:"sha256"`
	FileName    string            `json:"file_name"`
	ContentType string            `json:"content_type"`
	CreateTime  time.Time         `json:"create_time"`
	UpdateTime  time.Time         `json:"update_time"`
}

func getImport(t *testing.T, ts *httptest.Server, tok, id string) wireImport {
	t.Helper()
	return decode[wireImport](t, call(t, ts, tok, http.MethodGet, "/v1/imports/"+id, nil), http.StatusOK)
}

func getReport(t *testing.T, ts *httptest.Server, tok, id string) wireReport {
	t.Helper()
	return decode[wireReport](t, call(t, ts, tok, http.MethodGet, "/v1/reports/"+id, nil), http.StatusOK)
}

// importErrors lists all of an import's row errors.
func importErrors(t *testing.T, ts *httptest.Server, tok, id string) []wireRowError {
	t.Helper()
	page := decode[struct {
		Errors []wireRowError `json:"errors"`
	}](t, call(t, ts, tok, http.MethodGet, "/v1/imports/"+id+"/errors", nil), http.StatusOK)
	return page.Errors
}

// stepped starts a sandbox on a fake clock with one-minute steps and
// issues a token for the default client.
func stepped(t *testing.T, opts sandbox.Options) (*sandbox.Sandbox, *httptest.Server, *testkit.Clock, string) {
	t.Helper()
	clk := testkit.NewClock()
	opts.Now = clk.Now
	if opts.StepDuration == 0 {
		opts.StepDuration = time.Minute
	}
	sb, ts := start(t, opts)
	return sb, ts, clk, issue(t, ts)
}

// issueFor obtains a token for another configured client.
func issueFor(t *testing.T, ts *httptest.Server, id, secret string) string {
	t.Helper()
	res := send(t, ts, tokenReq(t, ts, grant, &sandbox.Client{ID: id, Secret: secret}))
	if res.status != http.StatusOK {
		t.Fatalf("token for %s: %d %s", id, res.status, res.body)
	}
	tok, _ := res.field(t, "access_token").(string)
	return tok
}

// eventually waits for cond, which depends on a handler finishing after
// the client has already seen an error. The deadline is a hang guard,
// generous for a loaded CI machine.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// recordingBody is a request body that records whether it was read, to
// show which answers come before the body under Expect: 100-continue.
type recordingBody struct {
	r    io.Reader
	read atomic.Bool
}

func (b *recordingBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	return b.r.Read(p)
}

// failingBody returns data, then err.
type failingBody struct {
	data string
	err  error
}

func (b *failingBody) Read(p []byte) (int, error) {
	if b.data == "" {
		return 0, b.err
	}
	n := copy(p, b.data)
	b.data = b.data[n:]
	return n, nil
}

// expectClient returns a client that sends Expect: 100-continue bodies only
// once the server asks for them. The long timeout makes a body sent
// without the server's go-ahead a test failure rather than a slow pass.
func expectClient(t *testing.T, ts *httptest.Server) *http.Client {
	tr := ts.Client().Transport.(*http.Transport).Clone()
	tr.ExpectContinueTimeout = time.Minute
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}
