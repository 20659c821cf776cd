package eeo_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/eeo"
)

// TestCalls checks each JSON call's method, path, query, headers and body,
// and how its answer is decoded.
func TestCalls(t *testing.T) {
	tests := []struct {
		name   string
		method string
		path   string     // escaped
		query  url.Values // exactly these parameters
		header map[string]string
		body   string // the JSON body expected, if any
		status int
		reply  string
		call   func(context.Context, *eeo.Client) (any, error)
		want   any
	}{{
		name: "list import types", method: "GET", path: "/v1/import-types",
		reply: `{"import_types":[{"name":"participants","description":"People","file_formats":["text/csv"],
			"required_columns":["participant_id","email"],"optional_columns":["department"]}]}`,
		call: func(ctx context.Context, c *eeo.Client) (any, error) { return c.ListImportTypes(ctx) },
		want: []eeo.ImportType{{Name: "participants", Description: "People", FileFormats: []string{"text/csv"},
			RequiredColumns: []string{"participant_id", "email"}, OptionalColumns: []string{"department"}}},
	}, {
		name: "get import", method: "GET", path: "/v1/imports/imp_1", reply: importJSON,
		call: func(ctx context.Context, c *eeo.Client) (any, error) { return c.GetImport(ctx, "imp_1") },
		want: wantImport,
	}, {
		name: "list imports", method: "GET", path: "/v1/imports",
		query: url.Values{"page_size": {"20"}, "page_token": {"pt/1=="}, "state": {"COMPLETED"}, "import_type": {"participants"}},
		reply: `{"imports":[` + importJSON + `],"next_page_token":"next"}`,
		call: func(ctx context.Context, c *eeo.Client) (any, error) {
			return c.ListImports(ctx, eeo.ListQuery{PageSize: 20, PageToken: "pt/1==", State: "COMPLETED", Type: "participants"})
		},
		want: eeo.ImportPage{Imports: []eeo.Import{wantImport}, NextPageToken: "next"},
	}, {
		name: "list imports with defaults", method: "GET", path: "/v1/imports", query: url.Values{},
		reply: `{"imports":[],"next_page_token":""}`,
		call:  func(ctx context.Context, c *eeo.Client) (any, error) { return c.ListImports(ctx, eeo.ListQuery{}) },
		want:  eeo.ImportPage{Imports: []eeo.Import{}},
	}, {
		name: "list import errors", method: "GET", path: "/v1/imports/imp_1/errors",
		query: url.Values{"page_size": {"100"}, "page_token": {"p2"}},
		reply: `{"errors":[{"row":0,"column":"email","message":"missing"},{"row":3,"column":"email","message":"bad"}],"next_page_token":"p3"}`,
		call: func(ctx context.Context, c *eeo.Client) (any, error) {
			// State and Type do not apply to errors and are not sent.
			return c.ListImportErrors(ctx, "imp_1", eeo.ListQuery{PageSize: 100, PageToken: "p2", State: "X", Type: "Y"})
		},
		want: eeo.ImportErrorPage{Errors: []eeo.ImportError{{Row: 0, Column: "email", Message: "missing"},
			{Row: 3, Column: "email", Message: "bad"}}, NextPageToken: "p3"},
	}, {
		name: "cancel import", method: "POST", path: "/v1/imports/imp_1/cancel", reply: importJSON,
		call: func(ctx context.Context, c *eeo.Client) (any, error) { return c.CancelImport(ctx, "imp_1") },
		want: wantImport,
	}, {
		name: "list report types", method: "GET", path: "/v1/report-types",
		reply: `{"report_types":[{"name":"grants","description":"Grants",
			"parameters":[{"name":"as_of","type":"DATE","required":true,"description":"d"},
			{"name":"rows","type":"INTEGER","required":false,"description":"r"}],"formats":["CSV","PDF"]}]}`,
		call: func(ctx context.Context, c *eeo.Client) (any, error) { return c.ListReportTypes(ctx) },
		want: []eeo.ReportType{{Name: "grants", Description: "Grants", Parameters: []eeo.ReportParameter{
			{Name: "as_of", Type: "DATE", Required: true, Description: "d"},
			{Name: "rows", Type: "INTEGER", Description: "r"}}, Formats: []string{"CSV", "PDF"}}},
	}, {
		name: "create report", method: "POST", path: "/v1/reports", status: http.StatusCreated,
		header: map[string]string{"Content-Type": "application/json", "Idempotency-Key": "req-2"},
		body:   `{"report_type":"grants","parameters":{"as_of":"2026-01-31","rows":"1000"},"format":"CSV"}`,
		reply:  reportJSON,
		call: func(ctx context.Context, c *eeo.Client) (any, error) {
			return c.CreateReport(ctx, eeo.ReportRequest{ReportType: "grants",
				Parameters: map[string]string{"as_of": "2026-01-31", "rows": "1000"}, Format: "CSV", RequestID: "req-2"})
		},
		want: wantReport,
	}, {
		name: "create report minimal", method: "POST", path: "/v1/reports", status: http.StatusCreated,
		header: map[string]string{"Idempotency-Key": ""},
		body:   `{"report_type":"grants"}`,
		reply:  reportJSON,
		call: func(ctx context.Context, c *eeo.Client) (any, error) {
			return c.CreateReport(ctx, eeo.ReportRequest{ReportType: "grants"})
		},
		want: wantReport,
	}, {
		name: "get report", method: "GET", path: "/v1/reports/rpt_1", reply: reportJSON,
		call: func(ctx context.Context, c *eeo.Client) (any, error) { return c.GetReport(ctx, "rpt_1") },
		want: wantReport,
	}, {
		name: "list reports", method: "GET", path: "/v1/reports",
		query: url.Values{"page_size": {"5"}, "state": {"RUNNING"}, "report_type": {"grants"}},
		reply: `{"reports":[` + reportJSON + `,` + reportJSON + `],"next_page_token":""}`,
		call: func(ctx context.Context, c *eeo.Client) (any, error) {
			return c.ListReports(ctx, eeo.ListQuery{PageSize: 5, State: "RUNNING", Type: "grants"})
		},
		want: eeo.ReportPage{Reports: []eeo.Report{wantReport, wantReport}},
	}, {
		name: "cancel report", method: "POST", path: "/v1/reports/rpt_1/cancel", reply: reportJSON,
		call: func(ctx context.Context, c *eeo.Client) (any, error) { return c.CancelReport(ctx, "rpt_1") },
		want: wantReport,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Method != tt.method || r.URL.EscapedPath() != tt.path {
					t.Errorf("request %s %s, want %s %s", r.Method, r.URL.EscapedPath(), tt.method, tt.path)
				}
				if tt.query != nil && !reflect.DeepEqual(r.URL.Query(), tt.query) {
					t.Errorf("query %v, want %v", r.URL.Query(), tt.query)
				}
				for k, want := range map[string]string{"Authorization": "Bearer tok-1", "Accept": "application/json", "User-Agent": "eeo-gateway"} {
					if got := r.Header.Get(k); got != want {
						t.Errorf("%s: %q, want %q", k, got, want)
					}
				}
				for k, want := range tt.header {
					if got := r.Header.Get(k); got != want {
						t.Errorf("%s: %q, want %q", k, got, want)
					}
				}
				body, err := io.ReadAll(r.Body)
				if err != nil {
					t.Error(err)
				}
				if tt.body == "" {
					if len(body) != 0 {
						t.Errorf("unexpected body %q", body)
					}
				} else if !sameJSON(t, body, tt.body) {
					t.Errorf("body %s, want %s", body, tt.body)
				}
				reply(w, max(tt.status, http.StatusOK), tt.reply)
			})
			got, err := tt.call(testContext(t), h.client)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func sameJSON(t *testing.T, got []byte, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Errorf("body is not JSON: %v", err)
		return false
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(g, w)
}

func TestIDsArePathEscaped(t *testing.T) {
	const id = "a/b c?d#e%f;g"
	var gotPath, gotRaw string
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotRaw = r.URL.Path, r.URL.EscapedPath()
		reply(w, http.StatusOK, importJSON)
	})
	if _, err := h.client.GetImport(testContext(t), id); err != nil {
		t.Fatal(err)
	}
	if gotPath != "/v1/imports/"+id || gotRaw != "/v1/imports/a%2Fb%20c%3Fd%23e%25f%3Bg" {
		t.Errorf("path %q (escaped %q)", gotPath, gotRaw)
	}
}

func TestBaseURLPathPrefix(t *testing.T) {
	var got string
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.EscapedPath()
		reply(w, http.StatusOK, reportJSON)
	})
	for _, base := range []string{h.srv.URL + "/eeo", h.srv.URL + "/eeo/"} {
		c, err := eeo.New(testAccount, base, h.cache, eeo.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.CancelReport(testContext(t), "rpt_1"); err != nil {
			t.Fatal(err)
		}
		if got != "/eeo/v1/reports/rpt_1/cancel" {
			t.Errorf("base %q: path %q", base, got)
		}
	}
}

// Dot segments would be cleaned out of the path and address another
// resource, so they are refused without a request.
func TestInvalidIDsAreRefused(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) { t.Errorf("request %s", r.URL) })
	ctx := testContext(t)
	calls := map[string]func(string) error{
		"get import":         func(id string) error { _, err := h.client.GetImport(ctx, id); return err },
		"cancel import":      func(id string) error { _, err := h.client.CancelImport(ctx, id); return err },
		"list import errors": func(id string) error { _, err := h.client.ListImportErrors(ctx, id, eeo.ListQuery{}); return err },
		"get report":         func(id string) error { _, err := h.client.GetReport(ctx, id); return err },
		"cancel report":      func(id string) error { _, err := h.client.CancelReport(ctx, id); return err },
		"download report":    func(id string) error { _, err := h.client.DownloadReport(ctx, id); return err },
	}
	for op, call := range calls {
		for _, id := range []string{"", ".", ".."} {
			var ae *eeo.ArgumentError
			if err := call(id); !errors.As(err, &ae) || ae.Op != op || ae.Field != "id" {
				t.Errorf("%s(%q): %v", op, id, err)
			}
		}
	}
	if h.fetcher.Calls() != 0 {
		t.Errorf("%d token fetches for refused calls", h.fetcher.Calls())
	}
}

func TestNewValidates(t *testing.T) {
	h := newHarness(t, func(http.ResponseWriter, *http.Request) {})
	for _, tt := range []struct {
		account, base string
		tokens        eeo.TokenSource
	}{
		{"", "http://eeo.example", h.cache},
		{testAccount, "http://eeo.example", nil},
		{testAccount, "eeo.example/v1", h.cache},
		{testAccount, "ftp://eeo.example", h.cache},
		{testAccount, "http:///path", h.cache},
		{testAccount, "https://user:pass-SECRET@eeo.example", h.cache},
		{testAccount, "https://eeo.example/?k=SECRET", h.cache},
		{testAccount, "%zz-SECRET", h.cache},
	} {
		_, err := eeo.New(tt.account, tt.base, tt.tokens, eeo.Options{})
		if err == nil {
			t.Errorf("New(%q, %q) succeeded", tt.account, tt.base)
		} else if msg := err.Error(); strings.Contains(msg, "SECRET") {
			t.Errorf("New error quotes the URL: %q", msg)
		}
	}
	c, err := eeo.New(testAccount, "https://eeo.example", h.cache, eeo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Account() != testAccount {
		t.Errorf("Account() = %q", c.Account())
	}
}

// A transport that does not wait for "100 Continue" defeats the upload
// retry; New says so rather than changing the caller's transport.
func TestNewWarnsAboutExpectContinue(t *testing.T) {
	tr := &http.Transport{}
	h := newHarness(t, func(http.ResponseWriter, *http.Request) {}, func(o *eeo.Options) { o.HTTPClient = &http.Client{Transport: tr} })
	defer tr.CloseIdleConnections()
	if !strings.Contains(h.logs.String(), "ExpectContinueTimeout") {
		t.Errorf("no warning logged:\n%s", h.logs.String())
	}
	if tr.ExpectContinueTimeout != 0 {
		t.Error("the caller's transport was changed")
	}
}
