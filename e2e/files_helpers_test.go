package e2e_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"testing"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/server"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

const participantsHeader = "participant_id,first_name,last_name,email\n"

// mixedParticipants is a participants file of five data rows, two of them
// bad: row 2 lacks its last_name and row 4's email has no @.
var mixedParticipants = []byte(participantsHeader +
	"P001,Ada,Lovelace,ada@example.com\n" +
	"P002,Alan,,alan@example.com\n" +
	"P003,Grace,Hopper,grace@example.com\n" +
	"P004,Edsger,Dijkstra,edsger.example.com\n" +
	"P005,Barbara,Liskov,barbara@example.com\n")

// mixedParticipantsErrors are the row errors EEO must report for
// mixedParticipants, in row order.
var mixedParticipantsErrors = []struct {
	row    int64
	column string
}{{2, "last_name"}, {4, "email"}}

// participantsFile returns a valid participants file of at least size bytes.
// tag goes into every row, so files with different tags differ.
func participantsFile(size int, tag string) []byte {
	b := make([]byte, 0, size+128)
	b = append(b, participantsHeader...)
	for i := int64(1); len(b) < size; i++ {
		b = append(b, 'P')
		b = strconv.AppendInt(b, 1_000_000+i, 10)
		b = append(b, ",First"+tag+",Last,p"...)
		b = strconv.AppendInt(b, i, 10)
		b = append(b, "."+tag+"@example.com\n"...)
	}
	return b
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// upload sends data over gRPC CreateImport: md (with the stack's account if
// it names none) first, then chunks of chunkSize bytes. It stops sending
// when the server has already answered; the returned error is the call's
// status.
func (s *stack) upload(ctx context.Context, md *eeov1.ImportMetadata, data []byte, chunkSize int) (*eeov1.Import, error) {
	md = proto.CloneOf(md)
	if md.GetAccount() == "" {
		md.Account = account
	}
	stream, err := s.files.CreateImport(ctx)
	if err != nil {
		return nil, err
	}
	if err := stream.Send(&eeov1.CreateImportRequest{Payload: &eeov1.CreateImportRequest_Metadata{Metadata: md}}); err == nil {
		for off := 0; off < len(data); off += chunkSize {
			chunk := data[off:min(off+chunkSize, len(data))]
			if err := stream.Send(&eeov1.CreateImportRequest{Payload: &eeov1.CreateImportRequest_Chunk{Chunk: chunk}}); err != nil {
				break // io.EOF: the server has answered; CloseAndRecv says how
			}
		}
	}
	resp, err := stream.CloseAndRecv()
	return resp.GetDataImport(), err
}

// importsPath is the REST collection of the stack's account's imports.
const importsPath = "/v1/accounts/" + account + "/imports"

// restUpload POSTs data to the REST facade as the raw body.
func (s *stack) restUpload(t *testing.T, query url.Values, data []byte) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.restURL+importsPath+"?"+query.Encode(), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/csv")
	return s.send(t, req)
}

// restMultipartUpload POSTs data to the REST facade as the part named
// "file" of a multipart/form-data body, with fileName as its file name.
func (s *stack) restMultipartUpload(t *testing.T, query url.Values, fileName string, data []byte) (int, http.Header, []byte) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, fileName))
	h.Set("Content-Type", "text/csv")
	part, err := mw.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	part.Write(data)
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.restURL+importsPath+"?"+query.Encode(), &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return s.send(t, req)
}

// restJSON does a REST request with a JSON body.
func (s *stack) restJSON(t *testing.T, method, path, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.restURL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return s.send(t, req)
}

// decodeREST decodes a successful REST body into m, failing the test on any
// other status.
func decodeREST(t *testing.T, what string, code int, body []byte, m proto.Message) {
	t.Helper()
	if code != http.StatusOK {
		t.Fatalf("%s: HTTP %d, body %s", what, code, body)
	}
	if err := protojson.Unmarshal(body, m); err != nil {
		t.Fatalf("%s: body %s is not a %T: %v", what, body, m, err)
	}
}

func (s *stack) getImport(t *testing.T, id string) *eeov1.Import {
	t.Helper()
	resp, err := s.files.GetImport(t.Context(), &eeov1.GetImportRequest{Account: account, ImportId: id})
	if err != nil {
		t.Fatalf("GetImport(%s): %v", id, err)
	}
	return resp.GetDataImport()
}

func (s *stack) getReport(t *testing.T, id string) *eeov1.Report {
	t.Helper()
	resp, err := s.files.GetReport(t.Context(), &eeov1.GetReportRequest{Account: account, ReportId: id})
	if err != nil {
		t.Fatalf("GetReport(%s): %v", id, err)
	}
	return resp.GetReport()
}

// restStatus decodes a REST error body (a google.rpc.Status in JSON) and
// returns the ErrorInfo reason and the BadRequest field violations.
func restStatus(t *testing.T, body []byte) (reason string, fields []string) {
	t.Helper()
	var st struct {
		Details []struct {
			Type            string `json:"@type"`
			Reason          string `json:"reason"`
			Domain          string `json:"domain"`
			FieldViolations []struct {
				Field string `json:"field"`
			} `json:"fieldViolations"`
		} `json:"details"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("REST error body %q is not a status: %v", body, err)
	}
	for _, d := range st.Details {
		switch d.Type {
		case "type.googleapis.com/google.rpc.ErrorInfo":
			if d.Domain != server.ErrorDomain {
				t.Errorf("REST ErrorInfo domain %q, want %q", d.Domain, server.ErrorDomain)
			}
			reason = d.Reason
		case "type.googleapis.com/google.rpc.BadRequest":
			for _, v := range d.FieldViolations {
				fields = append(fields, v.Field)
			}
		}
	}
	if reason == "" {
		t.Fatalf("REST error body %s has no ErrorInfo", body)
	}
	return reason, fields
}

// wantREST fails the test unless the REST answer is an error with the given
// HTTP status and reason; it returns the field violations.
func wantREST(t *testing.T, what string, code int, body []byte, wantCode int, wantReason string) []string {
	t.Helper()
	if code != wantCode {
		t.Fatalf("%s: HTTP %d, want %d (body %s)", what, code, wantCode, body)
	}
	reason, fields := restStatus(t, body)
	if reason != wantReason {
		t.Fatalf("%s: reason %q, want %q (body %s)", what, reason, wantReason, body)
	}
	return fields
}

// downloadGRPC reads a report over gRPC DownloadReport and returns the bytes,
// the first message's content type and the response header metadata.
func (s *stack) downloadGRPC(ctx context.Context, id string) ([]byte, string, metadata.MD, error) {
	stream, err := s.files.DownloadReport(ctx, &eeov1.DownloadReportRequest{Account: account, ReportId: id})
	if err != nil {
		return nil, "", nil, err
	}
	var data bytes.Buffer
	var contentType string
	for first := true; ; first = false {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, "", nil, err
		}
		if first {
			contentType = msg.GetContentType()
		}
		data.Write(msg.GetData())
	}
	md, err := stream.Header()
	return data.Bytes(), contentType, md, err
}

// logs returns the log lines of s, decoded.
func (s *stack) logs(t *testing.T) []map[string]any {
	t.Helper()
	var lines []map[string]any
	tag := `"stack":` + strconv.FormatInt(s.id, 10)
	for line := range strings.Lines(allLogs()) {
		if !strings.Contains(line, tag+",") && !strings.Contains(line, tag+"}") {
			continue
		}
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if id, ok := entry["stack"].(float64); ok && int64(id) == s.id {
			lines = append(lines, entry)
		}
	}
	return lines
}

// finishedCalls returns the server's "finished call" log lines of s for the
// ImportReportService method.
func (s *stack) finishedCalls(t *testing.T, method string) []map[string]any {
	t.Helper()
	var calls []map[string]any
	for _, e := range s.logs(t) {
		if e["component"] == "server" && e["msg"] == "finished call" &&
			e["grpc.service"] == "eeo.v1.ImportReportService" && e["grpc.method"] == method {
			calls = append(calls, e)
		}
	}
	return calls
}

// countLogs counts the log lines of s with the given message and attributes.
func (s *stack) countLogs(t *testing.T, msg string, attrs map[string]string) int {
	t.Helper()
	n := 0
	for _, e := range s.logs(t) {
		match := e["msg"] == msg
		for k, v := range attrs {
			match = match && e[k] == v
		}
		if match {
			n++
		}
	}
	return n
}
