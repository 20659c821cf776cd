package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/eeo-gateway/eeo-gateway/eeo"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"github.com/eeo-gateway/eeo-gateway/server"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The request rules as documented in validate.go, for the oracle.
var (
	fuzzIDRE        = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	fuzzNameRE      = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	fuzzPrintableRE = regexp.MustCompile(`^[\x21-\x7e]+$`)
	fuzzAccountRE   = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
	fuzzMediaTypeRE = regexp.MustCompile(`^[a-zA-Z0-9!#$&^_.+-]{1,127}/[a-zA-Z0-9!#$&^_.+-]{1,127}$`)
	fuzzSHA256RE    = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
)

// fuzzUpstream is the fake upstream with bounded memory under fuzzing: its
// reports carry no content (the fake's are 1.6 MB each) and its import list
// is one short page (the fake's grows with every upload, past gRPC's
// message limit).
type fuzzUpstream struct{ *fakeUpstream }

func (f fuzzUpstream) CreateReport(_ context.Context, r eeo.ReportRequest) (eeo.Report, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	rep := eeo.Report{ID: fmt.Sprintf("rpt_%d", f.n), ReportType: r.ReportType, Parameters: r.Parameters, Format: r.Format,
		RequestID: r.RequestID, State: "SUCCEEDED", FileName: "r.csv", ContentType: "text/csv"}
	f.reports[rep.ID] = rep
	return rep, nil
}

func (f fuzzUpstream) ListImports(ctx context.Context, q eeo.ListQuery) (eeo.ImportPage, error) {
	page, err := f.fakeUpstream.ListImports(ctx, q)
	page.Imports = page.Imports[:min(len(page.Imports), 5)]
	return page, err
}

// fuzzPanicWatch is the server's log under fuzzing: it keeps the lines that
// report a recovered panic (gRPC's recovery interceptor, net/http's handler
// recovery) and drops the rest, so memory stays flat however long the
// fuzzer runs. In slog's JSON a quote inside a value is escaped, so fuzzed
// text echoed into a log line cannot forge these.
type fuzzPanicWatch struct {
	mu     sync.Mutex
	panics []string // guarded by mu
}

var fuzzPanicLines = [][]byte{[]byte(`"msg":"panic`), []byte(`"msg":"http: panic`)}

func (w *fuzzPanicWatch) Write(p []byte) (int, error) {
	for _, pat := range fuzzPanicLines {
		if bytes.Contains(p, pat) {
			w.mu.Lock()
			w.panics = append(w.panics, string(p[:min(len(p), 4096)]))
			w.mu.Unlock()
		}
	}
	return len(p), nil
}

// check fails t if the server logged a panic, or g.logs (the token cache's
// log, which no fuzzed text reaches) mentions one.
func (w *fuzzPanicWatch) check(t *testing.T, g *gateway) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.panics) > 0 {
		t.Fatalf("server logged a panic:\n%s", strings.Join(w.panics, "\n"))
	}
	if strings.Contains(g.logs.String(), "panic") {
		t.Fatalf("logs mention a panic:\n%s", g.logs.String())
	}
}

// startFuzzGateway is startGateway with a bounded upstream and log.
func startFuzzGateway(f *testing.F, mutate func(*server.Config)) (*gateway, *fuzzPanicWatch) {
	watch := &fuzzPanicWatch{}
	g := startGateway(f, func(c *server.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(watch, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.Upstreams["demo"] = fuzzUpstream{c.Upstreams["demo"].(*fakeUpstream)}
		if mutate != nil {
			mutate(c)
		}
	})
	return g, watch
}

// fuzzUTF8 makes s a valid proto3 string, which the gRPC client insists on.
func fuzzUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// fuzzOutcome is what the oracle expects of a call: OK, meaning success or
// any failure other than a validation error; INVALID_ARGUMENT naming a
// field; or another code.
type fuzzOutcome struct {
	code  codes.Code
	field string // for INVALID_ARGUMENT
	also  string // with OK: INVALID_ARGUMENT for this field is acceptable too
}

var fuzzValid = fuzzOutcome{code: codes.OK}

func fuzzInvalid(field string) fuzzOutcome {
	return fuzzOutcome{code: codes.InvalidArgument, field: field}
}

// fuzzCheckStatus checks one call's error against the gateway's error
// contract and the oracle's expectation.
func fuzzCheckStatus(t *testing.T, rpc string, err error, want fuzzOutcome) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok {
		t.Fatalf("%s: %v is not a gRPC status", rpc, err)
	}
	switch st.Code() {
	case codes.OK:
	case codes.Unknown, codes.Internal:
		t.Fatalf("%s: %v (code %v)", rpc, err, st.Code())
	default:
		// Every failure carries the gateway's ErrorInfo (AIP-193).
		if info := testkit.ErrorInfo(t, err); info.GetDomain() != server.ErrorDomain || info.GetReason() == "" {
			t.Fatalf("%s: ErrorInfo %v, want domain %q and a reason", rpc, info, server.ErrorDomain)
		}
	}
	if st.Code() == codes.InvalidArgument && testkit.ErrorInfo(t, err).GetReason() == server.ReasonInvalidArgument {
		field := testkit.ErrorInfo(t, err).GetMetadata()["field"]
		var violations []string
		for _, d := range st.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				for _, v := range br.GetFieldViolations() {
					violations = append(violations, v.GetField())
				}
			}
		}
		if field == "" || len(violations) != 1 || violations[0] != field {
			t.Fatalf("%s: INVALID_ARGUMENT names field %q, violations %q", rpc, field, violations)
		}
	}

	validationErr := st.Code() == codes.InvalidArgument && testkit.ErrorInfo(t, err).GetReason() == server.ReasonInvalidArgument
	switch want.code {
	case codes.OK:
		if validationErr && (want.also == "" || testkit.ErrorInfo(t, err).GetMetadata()["field"] != want.also) {
			t.Fatalf("%s: a valid request refused: %v", rpc, err)
		}
	case codes.InvalidArgument:
		if !validationErr || testkit.ErrorInfo(t, err).GetMetadata()["field"] != want.field {
			t.Fatalf("%s: %v, want INVALID_ARGUMENT for field %q", rpc, err, want.field)
		}
	default:
		if st.Code() != want.code {
			t.Fatalf("%s: %v, want %v", rpc, err, want.code)
		}
	}
}

// FuzzRequestValidation sends fuzzed fields through every unary RPC of
// ImportReportService and TokenService, and CreateImport's metadata, over
// one running gateway's gRPC connection.
//
// Properties: no call ends UNKNOWN or INTERNAL; every error carries an
// ErrorInfo of domain "eeo-gateway.github.io"; a validation failure names one field
// in ErrorInfo.metadata and in exactly one BadRequest violation; the outcome
// matches validate.go's documented rules (an empty account is
// INVALID_ARGUMENT "account", an unconfigured one NOT_FOUND, a bad id, page
// size, page token, type, parameter, request id, checksum, file name or
// content type INVALID_ARGUMENT naming it, a valid request is never refused
// as invalid); and nothing panics (the server logs no recovered panic).
func FuzzRequestValidation(f *testing.F) {
	type seed struct {
		accSel                                       uint8
		account, id, pageToken, typ, requestID       string
		paramKey, paramVal, sha, fileName, mediaType string
		pageSize, enum                               int32
	}
	for _, s := range []seed{
		{0, "", "imp_1", "", "participants", "req-1", "as_of", "2026-01-31", "", "people.csv", "text/csv", 10, 1},
		{0, "", "rpt_1", "next", "grants", "", "rows", "1000", strings.Repeat("Ab", 32), "p.csv", "", 2000, 3},
		{0, "", "../etc", strings.Repeat("t", 1025), "bad type!", "has space", "bad key", strings.Repeat("v", 1025), "abc", "a/b.csv", "csv", -1, 99},
		{0, "", "", "", "", "", "", "", "", "", "text/csv; charset=utf-8", 0, -5},
		{0, "", strings.Repeat("x", 129), "\x00", "a.b-c_d", "\x7f", "k", "", strings.Repeat("g", 64), "nul\x00.csv", "text/", 1000, 2},
		{0, "", "imp_\xff", "tok\xc3\x28", "t\xe2\x82", "r\xff", "k\xff", "v", "", "\xff.csv", "a/b", 1, 0},
		{1, "", "imp_1", "", "", "", "", "", "", "", "", 0, 0},
		{2, "", "imp_1", "", "", "", "", "", "", "", "", 0, 0},
		{3, "nobody", "imp_1", "", "", "", "", "", "", "", "", 0, 0},
		{3, "demo\x00", "imp_1", "", "", "", "", "", "", "", "", 0, 0},
		{0, "", "imp_1", "", "participants", "req-1", "as_of", "2026-02-28", "", "people.csv", "text/csv", 10, 1}, // request id reused
	} {
		f.Add(s.accSel, s.account, s.id, s.pageToken, s.typ, s.requestID, s.paramKey, s.paramVal, s.sha, s.fileName, s.mediaType, s.pageSize, s.enum)
	}

	g, watch := startFuzzGateway(f, nil)
	ir := eeov1.NewImportReportServiceClient(g.conn)
	ts := eeov1.NewTokenServiceClient(g.conn)

	f.Fuzz(func(t *testing.T, accSel uint8, account, id, pageToken, typ, requestID, paramKey, paramVal, sha, fileName, mediaType string, pageSize, enum int32) {
		switch accSel % 4 {
		case 0:
			account = "demo"
		case 1:
			account = "other" // has tokens, but no upstream
		case 2:
			account = ""
		}
		account, id, pageToken, typ = fuzzUTF8(account), fuzzUTF8(id), fuzzUTF8(pageToken), fuzzUTF8(typ)
		requestID, paramKey, paramVal = fuzzUTF8(requestID), fuzzUTF8(paramKey), fuzzUTF8(paramVal)
		sha, fileName, mediaType = fuzzUTF8(sha), fuzzUTF8(fileName), fuzzUTF8(mediaType)
		var params map[string]string
		if paramKey != "" || paramVal != "" {
			params = map[string]string{paramKey: paramVal}
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()

		// The oracle, from validate.go's rules, in the handlers' order.
		accountOutcome := func(configured ...string) *fuzzOutcome {
			// Empty, or not shaped like an account name (the config's
			// ^[a-z][a-z0-9-]{0,62}$): refused where it enters.
			if account == "" || !fuzzAccountRE.MatchString(account) {
				o := fuzzInvalid("account")
				return &o
			}
			for _, c := range configured {
				if account == c {
					return nil
				}
			}
			return &fuzzOutcome{code: codes.NotFound}
		}
		first := func(o *fuzzOutcome, rest ...func() *fuzzOutcome) fuzzOutcome {
			if o != nil {
				return *o
			}
			for _, r := range rest {
				if o := r(); o != nil {
					return *o
				}
			}
			return fuzzValid
		}
		idOutcome := func(field string) func() *fuzzOutcome {
			return func() *fuzzOutcome {
				if !fuzzIDRE.MatchString(id) {
					o := fuzzInvalid(field)
					return &o
				}
				return nil
			}
		}
		listOutcome := func(withType bool) func() *fuzzOutcome {
			return func() *fuzzOutcome {
				var o fuzzOutcome
				switch {
				case pageSize < 0:
					o = fuzzInvalid("page_size")
				case len(pageToken) > 1024:
					o = fuzzInvalid("page_token")
				case withType && typ != "" && !fuzzNameRE.MatchString(typ):
					o = fuzzInvalid("type")
				default:
					return nil
				}
				return &o
			}
		}
		check := func(field string, ok bool) func() *fuzzOutcome {
			return func() *fuzzOutcome {
				if !ok {
					o := fuzzInvalid(field)
					return &o
				}
				return nil
			}
		}
		requestIDOK := requestID == "" || (len(requestID) <= 255 && fuzzPrintableRE.MatchString(requestID))
		paramsOK, paramField := true, "parameters"
		for k, v := range params {
			switch {
			case !fuzzNameRE.MatchString(k):
				paramsOK = false
			case len(v) > 1024:
				paramsOK, paramField = false, "parameters["+k+"]"
			}
		}
		formatOK := enum >= 0 && enum <= 3
		ct := mediaType
		if ct == "" {
			ct = "text/csv"
		}
		irAccount := accountOutcome("demo")
		tsAccount := accountOutcome("demo", "other")

		var err error
		_, err = ir.ListImportTypes(ctx, &eeov1.ListImportTypesRequest{Account: account})
		fuzzCheckStatus(t, "ListImportTypes", err, first(irAccount))
		_, err = ir.GetImport(ctx, &eeov1.GetImportRequest{Account: account, ImportId: id})
		fuzzCheckStatus(t, "GetImport", err, first(irAccount, idOutcome("import_id")))
		_, err = ir.ListImports(ctx, &eeov1.ListImportsRequest{Account: account, PageSize: pageSize, PageToken: pageToken,
			State: eeov1.ImportState(enum), ImportType: typ})
		fuzzCheckStatus(t, "ListImports", err, first(irAccount, listOutcome(true)))
		_, err = ir.ListImportErrors(ctx, &eeov1.ListImportErrorsRequest{Account: account, ImportId: id, PageSize: pageSize, PageToken: pageToken})
		fuzzCheckStatus(t, "ListImportErrors", err, first(irAccount, idOutcome("import_id"), listOutcome(false)))
		_, err = ir.CancelImport(ctx, &eeov1.CancelImportRequest{Account: account, ImportId: id})
		fuzzCheckStatus(t, "CancelImport", err, first(irAccount, idOutcome("import_id")))
		_, err = ir.ListReportTypes(ctx, &eeov1.ListReportTypesRequest{Account: account})
		fuzzCheckStatus(t, "ListReportTypes", err, first(irAccount))
		_, err = ir.CreateReport(ctx, &eeov1.CreateReportRequest{Account: account, ReportType: typ, Parameters: params,
			Format: eeov1.ReportFormat(enum), RequestId: requestID})
		fuzzCheckStatus(t, "CreateReport", err, first(irAccount, check("report_type", fuzzNameRE.MatchString(typ)),
			check(paramField, paramsOK), check("request_id", requestIDOK), check("format", formatOK)))
		_, err = ir.GetReport(ctx, &eeov1.GetReportRequest{Account: account, ReportId: id})
		fuzzCheckStatus(t, "GetReport", err, first(irAccount, idOutcome("report_id")))
		_, err = ir.ListReports(ctx, &eeov1.ListReportsRequest{Account: account, PageSize: pageSize, PageToken: pageToken,
			State: eeov1.ReportState(enum), ReportType: typ})
		fuzzCheckStatus(t, "ListReports", err, first(irAccount, listOutcome(true)))
		_, err = ir.CancelReport(ctx, &eeov1.CancelReportRequest{Account: account, ReportId: id})
		fuzzCheckStatus(t, "CancelReport", err, first(irAccount, idOutcome("report_id")))

		// CreateImport's metadata is where checksums, file names and media
		// types are validated; the file is paramVal.
		md := &eeov1.ImportMetadata{Account: account, ImportType: typ, FileName: fileName, ContentType: mediaType,
			RequestId: requestID, ExpectedSha256: sha, SizeBytes: int64(pageSize)}
		_, err = uploadGRPC(ctx, g, md, []byte(paramVal), 1024)
		want := first(irAccount,
			check("expected_sha256", sha == "" || fuzzSHA256RE.MatchString(sha)),
			check("import_type", fuzzNameRE.MatchString(typ)),
			check("file_name", fileName != "" && len(fileName) <= 255 && !strings.ContainsAny(fileName, "/\\\x00\r\n")),
			check("content_type", fuzzMediaTypeRE.MatchString(ct)),
			check("request_id", requestIDOK),
			check("size_bytes", pageSize >= 0))
		if want == fuzzValid && pageSize > 0 && int(pageSize) != len(paramVal) {
			want.also = "size_bytes" // the declared size does not match the bytes sent
		}
		fuzzCheckStatus(t, "CreateImport", err, want)

		_, err = ts.GetToken(ctx, &eeov1.GetTokenRequest{Account: account})
		fuzzCheckStatus(t, "GetToken", err, first(tsAccount))
		_, err = ts.RefreshToken(ctx, &eeov1.RefreshTokenRequest{Account: account})
		fuzzCheckStatus(t, "RefreshToken", err, first(tsAccount))
		_, err = ts.InvalidateToken(ctx, &eeov1.InvalidateTokenRequest{Account: account, Fingerprint: id})
		fuzzCheckStatus(t, "InvalidateToken", err, first(tsAccount))
		_, err = ts.ListAccounts(ctx, &eeov1.ListAccountsRequest{})
		fuzzCheckStatus(t, "ListAccounts", err, fuzzValid)

		watch.check(t, g)
	})
}

// fuzzRESTCodes are the statuses the upload route may answer with (README's
// error table); 500 only for DATA_LOSS.
var fuzzRESTCodes = map[int]bool{200: true, 400: true, 404: true, 409: true, 413: true, 499: true, 500: true, 503: true}

// fuzzHeaderValue drops what cannot travel in an HTTP header value.
func fuzzHeaderValue(s string) string {
	return strings.Map(func(r rune) rune {
		if (r < ' ' && r != '\t') || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// fuzzRawQuery percent-encodes the bytes a request target cannot carry and
// keeps everything else (stray '%', ';', '&', '=') as the fuzzer wrote it.
func fuzzRawQuery(s string) string {
	var b strings.Builder
	for i := range len(s) {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '#' {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// FuzzRESTUpload posts to POST /v1/accounts/{account}/imports with a fuzzed
// query string, Content-Type (including multipart with a fuzzed boundary),
// Idempotency-Key and body (at most 64 KiB; the gateway's limit is 4 KiB
// so that 413 is reachable), as a raw body with a length, a chunked raw
// body, a fuzzed body under a multipart Content-Type, or a well-formed
// multipart form.
//
// Properties: the status is one of 200, 400, 404, 409, 413, 499, 503 (500
// only with reason DATA_LOSS); every non-200 body is a JSON google.rpc.Status
// whose code matches the HTTP status and whose details[0] is an ErrorInfo of
// domain "eeo-gateway.github.io"; an unconfigured account is 404; a 200 is an import
// whose size and SHA-256 are those of the file sent (when the file is known:
// raw bodies and well-formed forms); nothing panics.
func FuzzRESTUpload(f *testing.F) {
	const maxUpload = 4 << 10
	csv := []byte("participant_id,email\n1,ada@example.com\n")
	csvSum := sha256.Sum256(csv)
	for _, s := range []struct {
		accSel, mode               uint8
		query, ctype, boundary     string
		body                       []byte
		repeat                     uint8
		idemKey, fileName, partCTy string
	}{
		{0, 0, "importType=participants&fileName=people.csv", "text/csv", "", csv, 0, "", "", ""},
		{0, 0, "import_type=participants&file_name=p.csv&expected_sha256=" + hex.EncodeToString(csvSum[:]), "text/csv; charset=utf-8", "", csv, 0, "", "", ""},
		{0, 0, "importType=participants&fileName=p.csv&expectedSha256=" + strings.Repeat("0", 64), "text/csv", "", csv, 0, "", "", ""},
		{0, 0x10, "importType=participants&fileName=p.csv", "text/csv", "", csv, 0, "idem-1", "", ""},
		{0, 0x10, "importType=participants&fileName=p.csv", "text/csv", "", []byte("other bytes"), 0, "idem-1", "", ""}, // key reused
		{0, 0, "importType=participants&fileName=p.csv&requestId=has space", "", "", csv, 0, "", "", ""},
		{0, 0, "importType=participants&fileName=big.csv", "text/csv", "", csv, 200, "", "", ""}, // over the limit, declared
		{0, 3, "importType=participants&fileName=big.csv", "text/csv", "", csv, 200, "", "", ""}, // over the limit, chunked
		{0, 3, "importType=participants&fileName=p.csv", "", "", csv, 0, "", "", ""},
		{0, 0, "importType=participants&fileName=empty.csv", "text/csv", "", nil, 0, "", "", ""},
		{0, 0, "importType=participants&fileName=..%2Fetc%2Fpasswd", "text/csv", "", csv, 0, "", "", ""},
		{0, 0, "importType=a%zz&fileName=p.csv;x=1&&=&%", "*/*", "", csv, 0, "", "", ""},
		{1, 0, "importType=participants&fileName=p.csv", "text/csv", "", csv, 0, "", "", ""},
		{2, 0, "importType=participants&fileName=p.csv", "text/csv", "", csv, 0, "", "", ""},
		{0, 1, "importType=participants", "", "XyZ", []byte("--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\n1,2\r\n--XyZ--\r\n"), 0, "", "", ""},
		{0, 1, "importType=participants", "", "XyZ", []byte("--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n1,2"), 0, "", "", ""},
		{0, 1, "", "", "", []byte("no boundary at all"), 0, "", "", ""},
		{0, 1, "", "", "a\"b", []byte("--a\"b\r\n\r\n"), 0, "", "", ""},
		{0, 2, "importType=participants", "", "b0undary", csv, 0, "", "form.csv", "text/csv"},
		{0, 2, "importType=participants&fileName=q.csv", "", "", csv, 0, "", "", "application/vnd.ms-excel"},
		{0, 2, "", "", "", csv, 0, "", "form.csv", ""},
		{0, 2, "importType=participants", "", "", nil, 0, "", "../../x.csv", "text/csv"},
	} {
		f.Add(s.accSel, s.mode, s.query, s.ctype, s.boundary, s.body, s.repeat, s.idemKey, s.fileName, s.partCTy)
	}

	g, watch := startFuzzGateway(f, func(c *server.Config) { c.MaxUploadBytes = maxUpload })
	account := []string{"demo", "other", "nobody"}

	f.Fuzz(func(t *testing.T, accSel, mode uint8, query, ctype, boundary string, body []byte, repeat uint8, idemKey, fileName, partCType string) {
		acct := account[int(accSel)%len(account)]
		file := bytes.Repeat(body, 1+int(repeat))
		file = file[:min(len(file), 64<<10)]
		target := g.baseURL + "/v1/accounts/" + acct + "/imports"
		if q := fuzzRawQuery(query); q != "" {
			target += "?" + q
		}

		var reqBody io.Reader
		contentType := fuzzHeaderValue(ctype)
		switch mode % 4 {
		case 0: // raw body with a length
			reqBody = bytes.NewReader(file)
		case 1: // a fuzzed body under a multipart Content-Type
			contentType = "multipart/form-data; boundary=" + fuzzHeaderValue(boundary)
			reqBody = bytes.NewReader(file)
		case 2: // a well-formed form: fields from the query, then the file
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			if mw.SetBoundary(boundary) != nil {
				mw.SetBoundary("fuzz-boundary")
			}
			if v, err := url.ParseQuery(fuzzRawQuery(query)); err == nil {
				for k := range v {
					// The file part is the one below; a name with control
					// characters would make the form itself malformed.
					if name := fuzzHeaderValue(k); name == k && k != "file" {
						mw.WriteField(k, v.Get(k))
					}
				}
			}
			h := textproto.MIMEHeader{}
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, fuzzHeaderValue(fileName)))
			if pct := fuzzHeaderValue(partCType); pct != "" {
				h.Set("Content-Type", pct)
			}
			pw, _ := mw.CreatePart(h)
			pw.Write(file)
			mw.Close()
			contentType = mw.FormDataContentType()
			reqBody = &buf
			target = g.baseURL + "/v1/accounts/" + acct + "/imports"
		case 3: // raw body, chunked
			reqBody = io.MultiReader(bytes.NewReader(file))
		}

		// The gateway knows the file's bytes are file for a raw body and for
		// the well-formed form; only then do the account and the import's
		// checksum follow from what was sent, since a broken form is refused
		// before the account is looked at.
		mt, _, _ := mime.ParseMediaType(contentType)
		knownFile := mode%4 == 2 || mt != "multipart/form-data"

		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, reqBody)
		if err != nil {
			t.Fatalf("building the request: %v", err)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if mode&0x10 != 0 {
			if k := fuzzHeaderValue(idemKey); k != "" {
				req.Header.Set("Idempotency-Key", k)
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("POST %s: %v", target, err)
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("reading the %d answer: %v", resp.StatusCode, err)
		}
		watch.check(t, g)

		if !fuzzRESTCodes[resp.StatusCode] {
			t.Fatalf("status %d: %s", resp.StatusCode, raw)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("status %d with Content-Type %q: %s", resp.StatusCode, ct, raw)
		}
		if resp.StatusCode == http.StatusOK {
			var ok struct {
				Import struct {
					ImportID  string `json:"importId"`
					SizeBytes string `json:"sizeBytes"`
					SHA256    string `json:"sha256"`
				} `json:"dataImport"`
			}
			if err := json.Unmarshal(raw, &ok); err != nil || ok.Import.ImportID == "" {
				t.Fatalf("200 without an import: %s (%v)", raw, err)
			}
			if acct != "demo" {
				t.Fatalf("account %q without an upstream: 200 %s", acct, raw)
			}
			if knownFile {
				want := sha256.Sum256(file)
				if ok.Import.SHA256 != hex.EncodeToString(want[:]) || ok.Import.SizeBytes != fmt.Sprint(len(file)) {
					t.Fatalf("sent %d bytes (sha256 %x); import says %s bytes, sha256 %s", len(file), want, ok.Import.SizeBytes, ok.Import.SHA256)
				}
			}
			return
		}

		var st struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Details []struct {
				Type   string `json:"@type"`
				Reason string `json:"reason"`
				Domain string `json:"domain"`
			} `json:"details"`
		}
		if err := json.Unmarshal(raw, &st); err != nil {
			t.Fatalf("status %d body is not JSON: %q (%v)", resp.StatusCode, raw, err)
		}
		if st.Code == 0 || len(st.Details) == 0 || st.Details[0].Type != "type.googleapis.com/google.rpc.ErrorInfo" || st.Details[0].Domain != server.ErrorDomain {
			t.Fatalf("status %d body is not a google.rpc.Status led by the gateway's ErrorInfo: %s", resp.StatusCode, raw)
		}
		reason := st.Details[0].Reason
		if resp.StatusCode == http.StatusInternalServerError && reason != server.ReasonDataLoss {
			t.Fatalf("500 with reason %q: %s", reason, raw)
		}
		if knownFile && (acct != "demo") != (resp.StatusCode == http.StatusNotFound && reason == server.ReasonAccountNotFound) {
			t.Fatalf("account %q: %d %s", acct, resp.StatusCode, raw)
		}
		if want := fuzzHTTPStatus(codes.Code(st.Code), reason); want != resp.StatusCode {
			t.Fatalf("gRPC code %v (%s) answered as HTTP %d, want %d", codes.Code(st.Code), reason, resp.StatusCode, want)
		}
	})
}

// fuzzHTTPStatus is grpc-gateway's mapping plus the gateway's 413.
func fuzzHTTPStatus(c codes.Code, reason string) int {
	if reason == server.ReasonUploadTooLarge {
		return http.StatusRequestEntityTooLarge
	}
	switch c {
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange:
		return http.StatusBadRequest
	case codes.NotFound:
		return http.StatusNotFound
	case codes.AlreadyExists, codes.Aborted:
		return http.StatusConflict
	case codes.Canceled:
		return 499
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout
	case codes.Unimplemented:
		return http.StatusNotImplemented
	}
	return http.StatusInternalServerError
}
