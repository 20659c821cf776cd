package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/eeo"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/redistest"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"github.com/eeo-gateway/eeo-gateway/server"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const csvFile = "participant_id,first_name,last_name,email\n1,Ada,Lovelace,ada@example.com\n2,Alan,Turing,alan@example.com\n"

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// uploadGRPC sends md then data in chunks of size chunk, and returns
// CloseAndRecv's result.
func uploadGRPC(ctx context.Context, g *gateway, md *eeov1.ImportMetadata, data []byte, chunk int) (*eeov1.CreateImportResponse, error) {
	stream, err := eeov1.NewImportReportServiceClient(g.conn).CreateImport(ctx)
	if err != nil {
		return nil, err
	}
	if err := stream.Send(&eeov1.CreateImportRequest{Payload: &eeov1.CreateImportRequest_Metadata{Metadata: md}}); err != nil {
		return stream.CloseAndRecv()
	}
	for len(data) > 0 {
		n := min(chunk, len(data))
		if err := stream.Send(&eeov1.CreateImportRequest{Payload: &eeov1.CreateImportRequest_Chunk{Chunk: data[:n]}}); err != nil {
			break // the server answered early; CloseAndRecv says why
		}
		data = data[n:]
	}
	return stream.CloseAndRecv()
}

func meta(mutate ...func(*eeov1.ImportMetadata)) *eeov1.ImportMetadata {
	md := &eeov1.ImportMetadata{Account: "demo", ImportType: "participants", FileName: "people.csv"}
	for _, m := range mutate {
		m(md)
	}
	return md
}

func TestCreateImportStreamsFileUpstream(t *testing.T) {
	g := startGateway(t, nil)
	data := bytes.Repeat([]byte(csvFile), 1000)
	resp, err := uploadGRPC(t.Context(), g, meta(func(m *eeov1.ImportMetadata) { m.ExpectedSha256 = strings.ToUpper(sum(data)) }), data, 7919)
	if err != nil {
		t.Fatal(err)
	}
	imp := resp.GetDataImport()
	if imp.GetAccount() != "demo" || imp.GetImportId() == "" || imp.GetSha256() != sum(data) || imp.GetSizeBytes() != int64(len(data)) ||
		imp.GetContentType() != "text/csv" || imp.GetState() != eeov1.ImportState_IMPORT_STATE_QUEUED {
		t.Fatalf("import = %v", imp)
	}
	ups := g.up.recorded()
	if len(ups) != 1 || ups[0].readErr != nil || ups[0].sha256 != sum(data) || ups[0].u.ExpectedSHA256 != sum(data) {
		t.Fatalf("upstream saw %+v", ups)
	}
}

func TestCreateImportRefusesBadStreams(t *testing.T) {
	g := startGateway(t, func(c *server.Config) { c.MaxUploadBytes = 1000 })
	client := eeov1.NewImportReportServiceClient(g.conn)

	// No metadata first.
	stream, _ := client.CreateImport(t.Context())
	stream.Send(&eeov1.CreateImportRequest{Payload: &eeov1.CreateImportRequest_Chunk{Chunk: []byte("x")}})
	_, err := stream.CloseAndRecv()
	testkit.WantStatus(t, err, codes.InvalidArgument, server.ReasonInvalidArgument)

	for _, tc := range []struct {
		name   string
		md     *eeov1.ImportMetadata
		data   []byte
		code   codes.Code
		reason string
	}{
		{"empty file", meta(), nil, codes.InvalidArgument, server.ReasonEmptyFile},
		{"no import type", meta(func(m *eeov1.ImportMetadata) { m.ImportType = "" }), []byte(csvFile), codes.InvalidArgument, server.ReasonInvalidArgument},
		{"path in file name", meta(func(m *eeov1.ImportMetadata) { m.FileName = "../etc/passwd" }), []byte(csvFile), codes.InvalidArgument, server.ReasonInvalidArgument},
		{"bad checksum syntax", meta(func(m *eeov1.ImportMetadata) { m.ExpectedSha256 = "abc" }), []byte(csvFile), codes.InvalidArgument, server.ReasonInvalidArgument},
		{"unknown account", meta(func(m *eeov1.ImportMetadata) { m.Account = "nope" }), []byte(csvFile), codes.NotFound, server.ReasonAccountNotFound},
		{"declared too large", meta(func(m *eeov1.ImportMetadata) { m.SizeBytes = 1001 }), []byte(csvFile), codes.ResourceExhausted, server.ReasonUploadTooLarge},
	} {
		_, err := uploadGRPC(t.Context(), g, tc.md, tc.data, 100)
		if status.Code(err) != tc.code || testkit.ErrorInfo(t, err).GetReason() != tc.reason {
			t.Errorf("%s: %v, want %v %s", tc.name, err, tc.code, tc.reason)
		}
	}
	if n := len(g.up.recorded()); n != 0 {
		t.Fatalf("refused uploads reached EEO %d times", n)
	}
}

// Every way an upload can fail part way must fail the upstream body, so EEO
// creates nothing.
func TestFailedUploadCreatesNothingUpstream(t *testing.T) {
	g := startGateway(t, func(c *server.Config) { c.MaxUploadBytes = 1000 })
	data := bytes.Repeat([]byte("x"), 600)

	_, err := uploadGRPC(t.Context(), g, meta(), append(data, data...), 300)
	testkit.WantStatus(t, err, codes.ResourceExhausted, server.ReasonUploadTooLarge)

	_, err = uploadGRPC(t.Context(), g, meta(func(m *eeov1.ImportMetadata) { m.ExpectedSha256 = sum([]byte("other")) }), data, 300)
	testkit.WantStatus(t, err, codes.InvalidArgument, server.ReasonChecksumMismatch)

	for i, u := range g.up.recorded() {
		if u.readErr == nil {
			t.Errorf("upload %d: EEO received a complete body (%d bytes)", i, u.bytes)
		}
	}
	if len(g.up.recorded()) != 2 || g.up.importCount() != 0 {
		t.Fatalf("uploads %d, imports %d; want 2 failed bodies and no import", len(g.up.recorded()), g.up.importCount())
	}
}

func TestAbortedUploadCreatesNothingUpstream(t *testing.T) {
	started, events := make(chan struct{}, 1), make(chan upload, 1)
	g := startGateway(t, func(c *server.Config) {
		fake := c.Upstreams["demo"].(*fakeUpstream)
		fake.started, fake.events = started, events
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stream, err := eeov1.NewImportReportServiceClient(g.conn).CreateImport(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stream.Send(&eeov1.CreateImportRequest{Payload: &eeov1.CreateImportRequest_Metadata{Metadata: meta()}})
	stream.Send(&eeov1.CreateImportRequest{Payload: &eeov1.CreateImportRequest_Chunk{Chunk: []byte(csvFile)}})
	<-started // EEO is reading the body
	cancel()  // the caller goes away mid-upload
	if u := <-events; u.readErr == nil {
		t.Fatalf("EEO received a complete body (%d bytes) from an aborted upload", u.bytes)
	}
	if n := g.up.importCount(); n != 0 {
		t.Fatalf("%d imports created from an aborted upload", n)
	}
}

func TestCreateImportRequestIDIsIdempotent(t *testing.T) {
	g := startGateway(t, nil)
	withID := func(id string) func(*eeov1.ImportMetadata) {
		return func(m *eeov1.ImportMetadata) { m.RequestId = id }
	}
	first, err := uploadGRPC(t.Context(), g, meta(withID("req-1")), []byte(csvFile), 10)
	if err != nil {
		t.Fatal(err)
	}
	again, err := uploadGRPC(t.Context(), g, meta(withID("req-1")), []byte(csvFile), 10)
	if err != nil || again.GetDataImport().GetImportId() != first.GetDataImport().GetImportId() {
		t.Fatalf("retry = %v, %v; want the original import %s", again, err, first.GetDataImport().GetImportId())
	}
	byHash, err := uploadGRPC(t.Context(), g, meta(withID("req-1"), func(m *eeov1.ImportMetadata) { m.ExpectedSha256 = sum([]byte(csvFile)) }), []byte(csvFile), 10)
	if err != nil || byHash.GetDataImport().GetImportId() != first.GetDataImport().GetImportId() {
		t.Fatalf("retry with its checksum = %v, %v", byHash, err)
	}
	// A retry claiming the original's checksum must still send those bytes.
	_, err = uploadGRPC(t.Context(), g, meta(withID("req-1"), func(m *eeov1.ImportMetadata) { m.ExpectedSha256 = sum([]byte(csvFile)) }), []byte("x"), 10)
	testkit.WantStatus(t, err, codes.InvalidArgument, server.ReasonChecksumMismatch)
	_, err = uploadGRPC(t.Context(), g, meta(withID("req-1")), []byte(csvFile+"3,Grace,Hopper,grace@example.com\n"), 10)
	testkit.WantStatus(t, err, codes.AlreadyExists, server.ReasonRequestIDReused)
	if n := g.up.importCount(); n != 1 {
		t.Fatalf("imports upstream = %d, want 1", n)
	}
}

// A retry with the same request_id while the first upload is still at EEO
// creates nothing: it waits for the first and gets its import, or, if its
// deadline comes first, ABORTED (REQUEST_IN_PROGRESS) or DEADLINE_EXCEEDED.
func TestConcurrentRetryWaitsForTheFirst(t *testing.T) {
	hold, events := make(chan struct{}), make(chan upload, 1)
	g := startGateway(t, func(c *server.Config) {
		fake := c.Upstreams["demo"].(*fakeUpstream)
		fake.hold, fake.events = hold, events
	})
	md := meta(func(m *eeov1.ImportMetadata) { m.RequestId = "req-2" })
	firstDone := make(chan *eeov1.CreateImportResponse, 1)
	go func() {
		resp, err := uploadGRPC(t.Context(), g, md, []byte(csvFile), 10)
		if err != nil {
			t.Error(err)
		}
		firstDone <- resp
	}()
	<-events // the first upload's body is at EEO, which has not answered yet

	impatient, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err := uploadGRPC(impatient, g, md, []byte(csvFile), 10)
	if c := status.Code(err); c != codes.DeadlineExceeded {
		testkit.WantStatus(t, err, codes.Aborted, server.ReasonRequestInProgress)
	}
	retryDone := make(chan *eeov1.CreateImportResponse, 1)
	go func() {
		resp, err := uploadGRPC(t.Context(), g, md, []byte(csvFile), 10)
		if err != nil {
			t.Error(err)
		}
		retryDone <- resp
	}()

	close(hold)
	first, retry := <-firstDone, <-retryDone
	if first.GetDataImport().GetImportId() == "" || retry.GetDataImport().GetImportId() != first.GetDataImport().GetImportId() {
		t.Fatalf("first got %v, the waiting retry %v; want the same import", first, retry)
	}
	if n := g.up.importCount(); n != 1 {
		t.Fatalf("imports upstream = %d, want 1", n)
	}
}

func TestUpstreamRecordingDifferentBytesIsDataLoss(t *testing.T) {
	g := startGateway(t, nil)
	g.up.mu.Lock()
	g.up.corrupt = true
	g.up.mu.Unlock()
	_, err := uploadGRPC(t.Context(), g, meta(), []byte(csvFile), 10)
	testkit.WantStatus(t, err, codes.DataLoss, server.ReasonDataLoss)
	page, _ := g.up.ListImports(t.Context(), eeo.ListQuery{})
	if len(page.Imports) != 1 || page.Imports[0].State != "CANCELLED" {
		t.Fatalf("the damaged import was not cancelled: %+v", page.Imports)
	}
}

func TestUpstreamErrorsMapToDocumentedStatuses(t *testing.T) {
	g := startGateway(t, nil)
	client := eeov1.NewImportReportServiceClient(g.conn)
	for _, tc := range []struct {
		err    error
		code   codes.Code
		reason string
		http   int
		field  string
	}{
		{&eeo.Error{StatusCode: 404, Code: "not_found"}, codes.NotFound, server.ReasonImportNotFound, 404, ""},
		{&eeo.Error{StatusCode: 400, Code: "invalid_request", Field: "page_token"}, codes.InvalidArgument, server.ReasonEEOBadRequest, 400, "page_token"},
		{&eeo.Error{StatusCode: 401, Code: "token_rejected"}, codes.Internal, server.ReasonEEOTokenRejected, 500, ""},
		{&eeo.Error{StatusCode: 403, Code: "forbidden"}, codes.PermissionDenied, server.ReasonEEOPermissionDenied, 403, ""},
		{&eeo.Error{StatusCode: 409, Code: "not_cancellable"}, codes.FailedPrecondition, server.ReasonNotCancellable, 400, ""},
		{&eeo.Error{StatusCode: 409, Code: "idempotency_key_reused"}, codes.AlreadyExists, server.ReasonRequestIDReused, 409, ""},
		{&eeo.Error{StatusCode: 409, Code: "idempotency_key_in_use"}, codes.Aborted, server.ReasonRequestInProgress, 409, ""},
		{&eeo.Error{StatusCode: 429, Code: "rate_limited"}, codes.ResourceExhausted, server.ReasonEEORateLimited, 429, ""},
		{&eeo.Error{StatusCode: 503}, codes.Unavailable, server.ReasonEEOUnavailable, 503, ""},
		{&eeo.Error{StatusCode: 200, Code: "malformed_response"}, codes.Unavailable, server.ReasonEEOMalformedResponse, 503, ""},
		{&eeo.Error{Err: errors.New("connection refused")}, codes.Unavailable, server.ReasonEEOUnavailable, 503, ""},
		{&eeo.Error{Code: eeo.CodeCircuitOpen, RetryAfter: 5 * time.Second}, codes.Unavailable, server.ReasonEEOCircuitOpen, 503, ""},
		{&eeo.Error{Code: eeo.CodeConcurrencyLimited, Err: context.DeadlineExceeded}, codes.ResourceExhausted, server.ReasonEEOConcurrencyLimited, 429, ""},
	} {
		g.up.failWith(tc.err)
		_, err := client.GetImport(t.Context(), &eeov1.GetImportRequest{Account: "demo", ImportId: "imp_1"})
		if status.Code(err) != tc.code || testkit.ErrorInfo(t, err).GetReason() != tc.reason {
			t.Errorf("%v: got %v, want %v %s", tc.err, err, tc.code, tc.reason)
			continue
		}
		if tc.field != "" {
			st, _ := status.FromError(err)
			found := false
			for _, d := range st.Details() {
				if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 && br.GetFieldViolations()[0].GetField() == tc.field {
					found = true
				}
			}
			if !found {
				t.Errorf("%v: no field violation for %s", tc.err, tc.field)
			}
		}
		resp, _ := g.restCall(t, http.MethodGet, "/v1/accounts/demo/imports/imp_1")
		if resp.StatusCode != tc.http {
			t.Errorf("%v: REST status %d, want %d", tc.err, resp.StatusCode, tc.http)
		}
	}
}

func TestObjectIDsAreValidated(t *testing.T) {
	g := startGateway(t, nil)
	_, err := eeov1.NewImportReportServiceClient(g.conn).GetImport(t.Context(), &eeov1.GetImportRequest{Account: "demo", ImportId: "../x"})
	testkit.WantStatus(t, err, codes.InvalidArgument, server.ReasonInvalidArgument)
	_, err = eeov1.NewImportReportServiceClient(g.conn).GetReport(t.Context(), &eeov1.GetReportRequest{Account: "demo"})
	testkit.WantStatus(t, err, codes.InvalidArgument, server.ReasonInvalidArgument)
}

func TestCreateReportRequestIDIsIdempotent(t *testing.T) {
	g := startGateway(t, nil)
	client := eeov1.NewImportReportServiceClient(g.conn)
	req := &eeov1.CreateReportRequest{Account: "demo", ReportType: "grants", Parameters: map[string]string{"as_of": "2026-01-31", "rows": "5"}, RequestId: "r-1"}
	first, err := client.CreateReport(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if first.GetReport().GetFormat() != eeov1.ReportFormat_REPORT_FORMAT_CSV {
		t.Errorf("format = %v, want CSV by default", first.GetReport().GetFormat())
	}
	again, err := client.CreateReport(t.Context(), req)
	if err != nil || again.GetReport().GetReportId() != first.GetReport().GetReportId() {
		t.Fatalf("retry = %v, %v", again, err)
	}
	req.Parameters["rows"] = "6"
	_, err = client.CreateReport(t.Context(), req)
	testkit.WantStatus(t, err, codes.AlreadyExists, server.ReasonRequestIDReused)
}

func TestWatchImportSendsChangesUntilTerminal(t *testing.T) {
	g := startGateway(t, nil)
	resp, err := uploadGRPC(t.Context(), g, meta(), []byte(csvFile), 100)
	if err != nil {
		t.Fatal(err)
	}
	id := resp.GetDataImport().GetImportId()
	watch, err := eeov1.NewImportReportServiceClient(g.conn).WatchImport(t.Context(), &eeov1.WatchImportRequest{Account: "demo", ImportId: id})
	if err != nil {
		t.Fatal(err)
	}
	var states []eeov1.ImportState
	for _, next := range []string{"VALIDATING", "COMPLETED", ""} {
		msg, err := watch.Recv()
		if err != nil {
			t.Fatal(err)
		}
		states = append(states, msg.GetDataImport().GetState())
		if next != "" {
			g.up.setImportState(id, next)
		}
	}
	if _, err := watch.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("watch after COMPLETED: %v, want end of stream", err)
	}
	want := []eeov1.ImportState{eeov1.ImportState_IMPORT_STATE_QUEUED, eeov1.ImportState_IMPORT_STATE_VALIDATING, eeov1.ImportState_IMPORT_STATE_COMPLETED}
	if len(states) != 3 || states[0] != want[0] || states[1] != want[1] || states[2] != want[2] {
		t.Fatalf("states = %v, want %v", states, want)
	}
}

// A CreateReport whose handler panics after claiming its request_id does
// not leave the id claimed: the caller gets INTERNAL, and a retry runs at
// once instead of waiting for a first request that will never finish
// (which would be ABORTED at the retry's deadline), locally and in Redis.
func TestCreateReportPanicReleasesTheRequestID(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(t *testing.T, up *fakeUpstream) *gateway
	}{
		{"local", func(t *testing.T, up *fakeUpstream) *gateway {
			return startGateway(t, func(c *server.Config) { c.Upstreams["demo"] = up })
		}},
		{"redis", func(t *testing.T, up *fakeUpstream) *gateway {
			return startRedisReplica(t, redistest.Start(t, redistest.Options{}).Addr, up).gateway
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := newFakeUpstream()
			g := tc.start(t, up)
			up.panics.Store(true)
			_, err := createReport(t.Context(), g, "panics-1", "2026-01-31")
			testkit.WantStatus(t, err, codes.Internal, server.ReasonInternal)
			up.panics.Store(false)
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			resp, err := createReport(ctx, g, "panics-1", "2026-01-31")
			if err != nil || resp.GetReport().GetReportId() == "" {
				t.Fatalf("retry after the panic: %v, %v; want the report created now", resp, err)
			}
		})
	}
}
