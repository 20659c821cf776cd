package eeo_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/auth/authtest"
	"github.com/eeo-gateway/eeo-gateway/eeo"
)

// fuzzBodyMarker is planted in seed bodies (descriptions, codes, fields,
// ids, garbage). It is over 8 bytes and outside both the error-code and the
// field alphabets, so no error message or log line may ever carry it.
const fuzzBodyMarker = "BODY-MARKER-7Q!"

// fuzzEEOStatuses are EEO's answers the fuzzer picks from. A 3xx without a
// Location is handed back by http.Client as is.
var fuzzEEOStatuses = []int{200, 201, 204, 302, 400, 401, 403, 404, 409, 413, 422, 429, 500, 502, 503, 504}

const (
	fuzzBase        = "https://eeo.example/eeo"
	fuzzMaxJSON     = 4096
	fuzzMaxErrBytes = 64 << 10 // the client's cap on error bodies
)

var (
	fuzzBearer    = regexp.MustCompile(`^Bearer tok-[0-9]+$`)
	fuzzCodeRE    = regexp.MustCompile(`^[a-z_]{1,64}$`)
	fuzzFieldRE   = regexp.MustCompile(`^[A-Za-z0-9_.]{1,64}$`)
	fuzzCauseText = []*regexp.Regexp{ // every cause an in-memory EEO can provoke
		regexp.MustCompile(`^invalid JSON at byte [0-9]+$`),
		regexp.MustCompile(`^JSON value at byte [0-9]+ cannot be a ([A-Za-z0-9_.\[\]*]+|struct \{ [A-Za-z]+ \[\]eeo\.[A-Za-z]+ "json:\\"[a-z_]+\\"" \})$`),
		regexp.MustCompile(`^invalid JSON value \(timestamps must be RFC 3339\)$`),
		regexp.MustCompile(`^response body exceeds [0-9]+ bytes$`),
		regexp.MustCompile(`^(import|report) has no id$`),
		regexp.MustCompile(`^fuzz: (connection reset by peer|answer cut off)$`),
	}
)

// fuzzEEO is an in-memory EEO: every request gets the same fuzzed answer.
type fuzzEEO struct {
	status      int
	body        []byte
	header      http.Header
	failSend    bool // no answer at all
	cutBody     bool // the body breaks off after its bytes
	checkURL    func(*http.Request) error
	calls       atomic.Int64
	mu          sync.Mutex
	checkFailed string // guarded by mu
}

func (e *fuzzEEO) RoundTrip(req *http.Request) (*http.Response, error) {
	e.calls.Add(1)
	if req.Body != nil {
		req.Body.Close()
	}
	var problems []string
	if a := req.Header.Get("Authorization"); !fuzzBearer.MatchString(a) {
		problems = append(problems, fmt.Sprintf("Authorization %q", a))
	}
	if err := e.checkURL(req); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		e.mu.Lock()
		e.checkFailed = strings.Join(problems, "; ")
		e.mu.Unlock()
	}
	if e.failSend {
		return nil, errors.New("fuzz: connection reset by peer")
	}
	var body io.Reader = bytes.NewReader(e.body)
	if e.cutBody {
		body = io.MultiReader(body, fuzzCutReader{})
	}
	return &http.Response{
		StatusCode: e.status, Status: fmt.Sprintf("%d %s", e.status, http.StatusText(e.status)),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: e.header.Clone(), Body: io.NopCloser(body), ContentLength: int64(len(e.body)), Request: req,
	}, nil
}

type fuzzCutReader struct{}

func (fuzzCutReader) Read([]byte) (int, error) { return 0, errors.New("fuzz: answer cut off") }

// fuzzLogs is a slog destination that keeps only whether a line carried a
// token or the marker.
type fuzzLogs struct {
	mu   sync.Mutex
	leak string // guarded by mu
}

func (l *fuzzLogs) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("tok-")) || bytes.Contains(p, []byte(fuzzBodyMarker)) {
		l.mu.Lock()
		l.leak = string(p)
		l.mu.Unlock()
	}
	return len(p), nil
}

// fuzzSegment checks that the request path is prefix + one segment naming
// id + suffix.
func fuzzSegment(req *http.Request, prefix, suffix, id string) error {
	p := req.URL.EscapedPath()
	if !strings.HasPrefix(p, prefix) || !strings.HasSuffix(p, suffix) || len(p) < len(prefix)+len(suffix) {
		return fmt.Errorf("path %q is not %s{id}%s", p, prefix, suffix)
	}
	seg := p[len(prefix) : len(p)-len(suffix)]
	if strings.Contains(seg, "/") {
		return fmt.Errorf("id %q spans path segments: %q", id, p)
	}
	if got, err := url.PathUnescape(seg); err != nil || got != id {
		return fmt.Errorf("path segment %q names %q, not %q", seg, got, id)
	}
	return nil
}

// FuzzResponses feeds GetImport, ListImports, ListReportTypes and
// DownloadReport arbitrary EEO answers (status, body, Retry-After,
// Content-Disposition, X-Content-SHA256), with the id / page token fuzzed too.
//
// Properties: no panic; the request addresses exactly the object asked for,
// with a bearer token; an error is an *eeo.ArgumentError (for "", "." and
// ".." ids only, sent nowhere) or an *eeo.Error whose status, code, field,
// Retry-After and cause are consistent with the answer, whose code and field
// are in their alphabets and whose cause is one of the client's own texts —
// so its message holds no body text beyond a well-formed code or field, no
// bearer token ("tok-") and never the planted marker; the logs hold neither
// either; a success comes from a 2xx and has non-empty ids, and a download
// has a safe file name, a canonical SHA-256 and exactly the body sent.
func FuzzResponses(f *testing.F) {
	const imp = `{"id":"imp_1","import_type":"participants","file_name":"p.csv","state":"QUEUED","rows_total":3,"create_time":"2026-01-02T03:04:05Z"}`
	const sum = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	errDoc := func(code, field string) string {
		return `{"error":"` + code + `","field":"` + field + `","error_description":"` + fuzzBodyMarker + ` tok-1 echoed"}`
	}
	for _, s := range []struct {
		call, status uint8
		body         string
		retry, disp  string
		sha, id      string
	}{
		// GetImport
		{0, 0, imp, "", "", "", "imp_1"},
		{0, 0, `{"import_type":"participants"}`, "", "", "", "imp_1"},
		{0, 0, `{"id":"imp_1","create_time":"yesterday ` + fuzzBodyMarker + `"}`, "", "", "", "imp_1"},
		{0, 0, `{"id":"imp_1","rows_total":"` + fuzzBodyMarker + `"}`, "", "", "", "imp_1"},
		{0, 0, `{"id":"imp_1","rows_total":1e99}`, "", "", "", "imp_1"},
		{0, 0, `{"id":` + strings.Repeat("[", 100) + `}`, "", "", "", "a/b"},
		{0, 0, "\xff\xfe" + fuzzBodyMarker, "", "", "", "imp 1?x=%2F"},
		{0, 7, errDoc("not_found", "id"), "", "", "", "imp_404"},
		{0, 7, errDoc(fuzzBodyMarker, "id "+fuzzBodyMarker), "", "", "", "."},
		{0, 5, errDoc("invalid_token", ""), "", "", "", "imp_1"},
		{0, 11, errDoc("rate_limited", ""), "7", "", "", "imp_1"},
		{0, 11, errDoc("rate_limited", ""), "Wed, 21 Oct 2099 07:28:00 GMT", "", "", "imp_1"},
		{0, 12, "<html>" + fuzzBodyMarker + "</html>", "-1", "", "", "imp_1"},
		{0x10, 0, imp, "", "", "", "imp_1"}, // body cut off
		{0x20, 12, "", "", "", "", "imp_1"}, // no answer
		// ListImports
		{1, 0, `{"imports":[` + imp + `],"next_page_token":"` + fuzzBodyMarker + `"}`, "", "", "", "tok en/&=?"},
		{1, 0, `{"imports":[{"id":""}]}`, "", "", "", ""},
		{1, 0, `{"imports":{"id":"x"}}`, "", "", "", "page-2"},
		{0x41, 0, `{"imports":[` + strings.Repeat(imp+",", 40) + imp + `]}`, "", "", "", ""}, // over the JSON cap
		{1, 4, errDoc("invalid_request", "page_token"), "", "", "", "bad"},
		{1, 9, errDoc("file_too_large", ""), "", "", "", ""},
		// ListReportTypes
		{2, 0, `{"report_types":[{"name":"grants","parameters":[{"name":"as_of","type":"DATE","required":true}],"formats":["CSV"]}]}`, "", "", "", ""},
		{2, 0, `{"report_types":[{"parameters":[{"required":"yes"}]}]}`, "", "", "", ""},
		{2, 0, ``, "", "", "", ""},
		{2, 13, errDoc("unavailable", ""), "3600", "", "", ""},
		// DownloadReport
		{3, 0, "grant_id,shares\n1,100\n", "", `attachment; filename="grants.csv"`, sum, "rpt_1"},
		{3, 0, "x", "", `attachment; filename="../../etc/passwd"`, strings.ToUpper(sum), "rpt_1"},
		{3, 0, "x", "", `attachment; filename*=UTF-8''..%2F..%2Fboot.ini`, "zz" + sum[2:], "rpt_1"},
		{3, 0, "x", "", "attachment; filename=\"a\\\\..\"", sum[:10], "rpt_1"},
		{3, 0, "x", "", `attachment; filename*=UTF-8''%0D%0Aevil.csv`, "", "rpt_1"},
		{3, 0, "x", "", `attachment; filename=".."`, "", "rpt_1"},
		{3, 0, "x", "", `inline; filename=`, "", ".."},
		{3, 8, errDoc("report_not_ready", ""), "", "", "", "rpt_1"},
		{0x13, 0, "partial", "", `attachment; filename=r.csv`, sum, "rpt_1"},
	} {
		f.Add(s.call, s.status, []byte(s.body), s.retry, s.disp, s.sha, s.id)
	}

	fetcher := &authtest.Fetcher{}
	cache, err := auth.NewCache([]auth.Account{{Name: "acme", Fetcher: fetcher}}, auth.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(cache.Close)

	f.Fuzz(func(t *testing.T, call, statusSel uint8, body []byte, retryAfter, disposition, sha, id string) {
		status := fuzzEEOStatuses[int(statusSel)%len(fuzzEEOStatuses)]
		h := http.Header{"Content-Type": {"application/json"}}
		for k, v := range map[string]string{"Retry-After": retryAfter, "Content-Disposition": disposition, "X-Content-Sha256": sha} {
			if v != "" {
				h.Set(k, v)
			}
		}
		up := &fuzzEEO{status: status, body: body, header: h, cutBody: call&0x10 != 0, failSend: call&0x20 != 0}
		logs := &fuzzLogs{}
		opts := eeo.Options{
			HTTPClient: &http.Client{Transport: up},
			Logger:     slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			Retry:      eeo.RetryPolicy{Disabled: true, MaxAttempts: 1},
		}
		if call&0x40 != 0 {
			opts.MaxJSONBytes = fuzzMaxJSON
		}
		client, err := eeo.New("acme", fuzzBase, cache, opts)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()

		idCall := false
		var check func() error // properties of a success
		switch call % 4 {
		case 0:
			idCall = true
			up.checkURL = func(r *http.Request) error {
				if r.Method != http.MethodGet {
					return fmt.Errorf("method %s", r.Method)
				}
				return fuzzSegment(r, "/eeo/v1/imports/", "", id)
			}
			var got eeo.Import
			got, err = client.GetImport(ctx, id)
			check = func() error {
				if got.ID == "" {
					return errors.New("import without an id")
				}
				return nil
			}
		case 1:
			q := eeo.ListQuery{PageSize: int(statusSel >> 4), PageToken: id, Type: id}
			up.checkURL = func(r *http.Request) error {
				if p := r.URL.EscapedPath(); p != "/eeo/v1/imports" {
					return fmt.Errorf("path %q", p)
				}
				v := r.URL.Query()
				if v.Get("page_token") != q.PageToken || v.Get("import_type") != q.Type {
					return fmt.Errorf("query %q does not carry page token and type %q", r.URL.RawQuery, id)
				}
				if want := strconv.Itoa(q.PageSize); q.PageSize > 0 && v.Get("page_size") != want {
					return fmt.Errorf("query %q: page_size is not %s", r.URL.RawQuery, want)
				}
				return nil
			}
			var page eeo.ImportPage
			page, err = client.ListImports(ctx, q)
			check = func() error {
				for i, imp := range page.Imports {
					if imp.ID == "" {
						return fmt.Errorf("import %d of the page has no id", i)
					}
				}
				return nil
			}
		case 2:
			up.checkURL = func(r *http.Request) error {
				if p := r.URL.EscapedPath(); p != "/eeo/v1/report-types" || r.URL.RawQuery != "" {
					return fmt.Errorf("URL %q", r.URL)
				}
				return nil
			}
			_, err = client.ListReportTypes(ctx)
			check = func() error { return nil }
		case 3:
			idCall = true
			up.checkURL = func(r *http.Request) error {
				if r.Header.Get("Accept") != "*/*" {
					return fmt.Errorf("Accept %q", r.Header.Get("Accept"))
				}
				return fuzzSegment(r, "/eeo/v1/reports/", "/content", id)
			}
			var dl *eeo.Download
			dl, err = client.DownloadReport(ctx, id)
			check = func() error {
				defer dl.Body.Close()
				content, readErr := io.ReadAll(dl.Body)
				switch {
				case up.cutBody && readErr == nil:
					return errors.New("a download cut off read as complete")
				case !up.cutBody && (readErr != nil || !bytes.Equal(content, body)):
					return fmt.Errorf("download read %d of %d bytes: %v", len(content), len(body), readErr)
				case dl.ContentType != h.Get("Content-Type"):
					return fmt.Errorf("ContentType %q", dl.ContentType)
				case dl.ContentLength != int64(len(body)):
					return fmt.Errorf("ContentLength %d, sent %d", dl.ContentLength, len(body))
				}
				if readErr != nil && strings.Contains(readErr.Error(), "tok-") {
					return fmt.Errorf("read error leaks a token: %v", readErr)
				}
				if n := dl.FileName; n != "" {
					if n == "." || n == ".." || strings.ContainsAny(n, `/\`) || strings.ContainsFunc(n, func(r rune) bool { return r < ' ' || r == 0x7f }) {
						return fmt.Errorf("unsafe FileName %q from %q", n, disposition)
					}
				}
				if b, err := hex.DecodeString(sha); err == nil && len(b) == 32 {
					if dl.SHA256 != strings.ToLower(sha) {
						return fmt.Errorf("SHA256 %q from %q", dl.SHA256, sha)
					}
				} else if dl.SHA256 != "" {
					return fmt.Errorf("SHA256 %q from malformed %q", dl.SHA256, sha)
				}
				return nil
			}
		}

		up.mu.Lock()
		problem := up.checkFailed
		up.mu.Unlock()
		if problem != "" {
			t.Fatalf("request to EEO: %s", problem)
		}
		logs.mu.Lock()
		leak := logs.leak
		logs.mu.Unlock()
		if leak != "" {
			t.Fatalf("log line leaks a token or body text: %s", leak)
		}

		badID := idCall && (id == "" || id == "." || id == "..")
		if err == nil {
			switch {
			case badID:
				t.Fatalf("id %q accepted", id)
			case status < 200 || status > 299 || up.failSend:
				t.Fatalf("HTTP %d (no answer: %v) read as a success", status, up.failSend)
			}
			if err := check(); err != nil {
				t.Fatal(err)
			}
			return
		}

		msg := err.Error()
		if strings.Contains(msg, "tok-") || strings.Contains(msg, fuzzBodyMarker) {
			t.Fatalf("error leaks a token or body text: %q", msg)
		}
		var ae *eeo.ArgumentError
		if errors.As(err, &ae) {
			if !badID || up.calls.Load() != 0 {
				t.Fatalf("ArgumentError %v for id %q after %d requests", err, id, up.calls.Load())
			}
			return
		}
		if badID {
			t.Fatalf("id %q: %T %v, want *eeo.ArgumentError", id, err, err)
		}
		var ee *eeo.Error
		if !errors.As(err, &ee) {
			t.Fatalf("error %T %v is not an *eeo.Error", err, err)
		}
		if ee.Code != "" && !fuzzCodeRE.MatchString(ee.Code) {
			t.Fatalf("Code %q outside the code alphabet", ee.Code)
		}
		if ee.Field != "" && !fuzzFieldRE.MatchString(ee.Field) {
			t.Fatalf("Field %q outside the field alphabet", ee.Field)
		}
		if ee.RetryAfter < 0 || ee.RetryAfter > 24*time.Hour {
			t.Fatalf("RetryAfter %v out of range (Retry-After %q)", ee.RetryAfter, retryAfter)
		}
		if ee.Err != nil {
			cause, known := ee.Err.Error(), false
			for _, re := range fuzzCauseText {
				known = known || re.MatchString(cause)
			}
			if !known {
				t.Fatalf("cause %q is not one of the client's own texts", cause)
			}
		}

		// The error agrees with the answer.
		var doc struct {
			Error string `json:"error"`
			Field string `json:"field"`
		}
		_ = json.Unmarshal(body[:min(len(body), fuzzMaxErrBytes)], &doc)
		switch {
		case up.failSend:
			if ee.StatusCode != 0 || ee.Err == nil {
				t.Fatalf("no answer: %+v", ee)
			}
		case status == http.StatusUnauthorized:
			if ee.StatusCode != 401 || ee.Code != eeo.CodeTokenRejected || up.calls.Load() != 2 {
				t.Fatalf("401 twice: %+v after %d requests", ee, up.calls.Load())
			}
		case status >= 200 && status <= 299:
			if !(ee.StatusCode == 0 && up.cutBody) && !(ee.StatusCode == status && ee.Code == eeo.CodeMalformedResponse) {
				t.Fatalf("HTTP %d: %+v", status, ee)
			}
		default:
			if ee.StatusCode != status {
				t.Fatalf("StatusCode %d, EEO answered %d", ee.StatusCode, status)
			}
			if want := doc.Error; !fuzzCodeRE.MatchString(want) && want != "" {
				if ee.Code != "" {
					t.Fatalf("Code %q from ill-formed %q", ee.Code, want)
				}
			} else if ee.Code != want {
				t.Fatalf("Code %q, EEO said %q", ee.Code, want)
			}
			if want := doc.Field; fuzzFieldRE.MatchString(want) && ee.Field != want {
				t.Fatalf("Field %q, EEO said %q", ee.Field, want)
			}
		}
	})
}
