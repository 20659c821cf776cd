package e2e_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/sandbox"
)

// TestRefusedLargeUploadsAlwaysGetTheirStatus: a 20 MiB REST upload the
// gateway refuses part way through its body reaches the client as the
// documented status and google.rpc.Status JSON every time, never as a reset
// connection — with and without Expect: 100-continue, raw and multipart,
// whether EEO refuses the import type or EEO is failing (then the breaker
// opens, and the answer carries Retry-After).
func TestRefusedLargeUploadsAlwaysGetTheirStatus(t *testing.T) {
	const size = 20 << 20
	file := bytes.Repeat([]byte("P1,Ann,Lee,ann@example.com,ENG\n"), size/31+1)[:size]

	type upload struct {
		name      string
		expect    bool
		multipart bool
		repeats   int
	}
	// Thirty of the case curl sends by default; fewer of the others, which
	// take the same path in the gateway, to keep the suite quick.
	uploads := []upload{
		{"raw, Expect 100-continue", true, false, 30},
		{"raw", false, false, 5},
		{"multipart, Expect 100-continue", true, true, 5},
		{"multipart", false, true, 5},
	}
	cases := []struct {
		name       string
		importType string
		faults     sandbox.Faults
		wantCode   int
		retryAfter bool
	}{
		{"unknown import type", "no-such-type", sandbox.Faults{}, http.StatusBadRequest, false},
		{"EEO failing, then the breaker open", "participants", sandbox.Faults{API: sandbox.Fault{Status: http.StatusServiceUnavailable}}, http.StatusServiceUnavailable, true},
	}
	for _, c := range cases {
		for _, u := range uploads {
			t.Run(c.name+"/"+u.name, func(t *testing.T) {
				s := newStack(t, stackOptions{})
				s.sb.SetFaults(c.faults)
				// Its own transport: the stack's would record 30 bodies.
				tr := http.DefaultTransport.(*http.Transport).Clone()
				tr.ExpectContinueTimeout = 10 * time.Second
				defer tr.CloseIdleConnections()
				hc := &http.Client{Transport: tr}
				for i := range u.repeats {
					req := refusedUploadRequest(t, s.restURL, c.importType, file, u.multipart)
					if u.expect {
						req.Header.Set("Expect", "100-continue")
					}
					resp, err := hc.Do(req)
					if err != nil {
						t.Fatalf("upload %d of %d: %v (the refusal was lost)", i+1, u.repeats, err)
					}
					body, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil {
						t.Fatalf("upload %d: reading the refusal: %v", i+1, err)
					}
					var st struct {
						Code    int    `json:"code"`
						Message string `json:"message"`
						Details []struct {
							Type   string `json:"@type"`
							Reason string `json:"reason"`
						} `json:"details"`
					}
					if err := json.Unmarshal(body, &st); err != nil || st.Code == 0 || len(st.Details) == 0 {
						t.Fatalf("upload %d: HTTP %d body %q is not a google.rpc.Status with details (%v)", i+1, resp.StatusCode, body, err)
					}
					if resp.StatusCode != c.wantCode {
						t.Fatalf("upload %d: HTTP %d (%s), want %d", i+1, resp.StatusCode, st.Message, c.wantCode)
					}
					if c.retryAfter && resp.Header.Get("Retry-After") == "" {
						t.Errorf("upload %d: HTTP %d without Retry-After", i+1, resp.StatusCode)
					}
				}
				if n := s.sb.Stats().ImportsCreated; n != 0 {
					t.Errorf("sandbox created %d imports from refused uploads", n)
				}
			})
		}
	}
}

// refusedUploadRequest is a POST of file to the imports route, as the raw
// body or a multipart form's "file" part. The body is a plain reader (no
// GetBody), so the transport can never quietly resend it.
func refusedUploadRequest(t *testing.T, restURL, importType string, file []byte, asMultipart bool) *http.Request {
	t.Helper()
	query := url.Values{"importType": {importType}, "fileName": {"people.csv"}}
	var body []byte
	contentType := "text/csv"
	if asMultipart {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		part, err := mw.CreateFormFile("file", "people.csv")
		if err != nil {
			t.Fatal(err)
		}
		part.Write(file)
		mw.Close()
		body, contentType = b.Bytes(), mw.FormDataContentType()
	} else {
		body = file
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, restURL+importsPath+"?"+query.Encode(), struct{ io.Reader }{bytes.NewReader(body)})
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Type", contentType)
	return req
}
