package server_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// The access log line's fields are what log pipelines parse: they must not
// drift when the interceptor writing them changes.
func TestAccessLogLineFields(t *testing.T) {
	g := startGateway(t, nil)
	client := eeov1.NewTokenServiceClient(g.conn)
	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(t.Context(), "x-request-id", "fields-1"), time.Minute)
	defer cancel()
	if _, err := client.GetToken(ctx, &eeov1.GetTokenRequest{Account: "demo"}); err != nil {
		t.Fatal(err)
	}
	_, err := client.GetToken(t.Context(), &eeov1.GetTokenRequest{Account: "nobody"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("GetToken of an unknown account: %v, want NOT_FOUND", err)
	}
	lines := finishedCalls(t, g, "GetToken")
	if len(lines) != 2 {
		t.Fatalf("access log lines: %v", lines)
	}
	ok, failed := lines[0], lines[1]
	for k, want := range map[string]string{
		"level": "INFO", "request_id": "fields-1", "protocol": "grpc", "grpc.component": "server",
		"grpc.service": "eeo.v1.TokenService", "grpc.method": "GetToken", "grpc.method_type": "unary", "grpc.code": "OK",
	} {
		if ok[k] != want {
			t.Errorf("%s = %v, want %q (line %v)", k, ok[k], want, ok)
		}
	}
	if d, _ := ok["grpc.duration"].(string); d == "" {
		t.Errorf("grpc.duration missing: %v", ok)
	} else if _, err := time.ParseDuration(d); err != nil {
		t.Errorf("grpc.duration %q is not a duration: %v", d, err)
	}
	if dl, _ := ok["grpc.request.deadline"].(string); dl == "" {
		t.Errorf("grpc.request.deadline missing for a call with a deadline: %v", ok)
	}
	if a, _ := ok["peer.address"].(string); !strings.HasPrefix(a, "127.0.0.1:") {
		t.Errorf("peer.address = %q", a)
	}
	if _, has := ok["grpc.error"]; has {
		t.Errorf("a successful call has grpc.error: %v", ok)
	}
	if failed["grpc.code"] != "NotFound" || failed["level"] != "INFO" || failed["grpc.error"] == nil {
		t.Errorf("failed call's line %v, want NotFound at INFO (go-grpc-middleware's level) with grpc.error", failed)
	}
	if _, has := failed["grpc.request.deadline"]; has {
		t.Errorf("a call without a deadline has grpc.request.deadline: %v", failed)
	}
}

// Streams get the same line, with their kind.
func TestAccessLogLineOfAStream(t *testing.T) {
	g := startGateway(t, nil)
	stream, err := eeov1.NewImportReportServiceClient(g.conn).WatchImport(t.Context(), &eeov1.WatchImportRequest{Account: "nobody", ImportId: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err == nil || err == io.EOF {
		t.Fatalf("WatchImport of an unknown account: %v, want an error", err)
	}
	lines := finishedCalls(t, g, "WatchImport")
	if len(lines) != 1 || lines[0]["grpc.method_type"] != "server_stream" || lines[0]["grpc.service"] != "eeo.v1.ImportReportService" {
		t.Errorf("WatchImport access log lines %v", lines)
	}
}
