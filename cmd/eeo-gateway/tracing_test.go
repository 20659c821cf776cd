package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// One trace runs from a REST caller's traceparent through the REST facade,
// the in-process gRPC call and the token fetch to EEO, whose request
// carries a traceparent of the same trace; the log lines of the call carry
// its trace id; no span carries a secret or a token.
func TestOneTraceFromRESTCallerToEEO(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	s := startProdStack(t, prodStackOptions{spanExporter: exp})
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	const callerSpan = "00f067aa0ba902b7"

	code, _, body := s.rest(t, http.MethodGet, "/v1/accounts/acme/token", nil,
		http.Header{"Traceparent": {"00-" + traceID + "-" + callerSpan + "-01"}})
	if code != http.StatusOK {
		t.Fatalf("GET token: %d %s", code, body)
	}

	// The server spans end after their responses are written; wait for them.
	byName := map[string]tracetest.SpanStub{}
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, sp := range exp.GetSpans() {
			name := sp.Name
			if sp.SpanKind == trace.SpanKindClient && name == "eeo.v1.TokenService/GetToken" {
				name = "client " + name
			}
			byName[name] = sp
		}
		_, rest := byName["GET /v1/accounts/{account}/token"]
		_, grpc := byName["eeo.v1.TokenService/GetToken"]
		if rest && grpc || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	restSpan, ok := byName["GET /v1/accounts/{account}/token"]
	grpcSpan, ok2 := byName["eeo.v1.TokenService/GetToken"]
	fetchSpan, ok3 := byName["EEO token POST"]
	facadeSpan, ok4 := byName["client eeo.v1.TokenService/GetToken"]
	if !ok || !ok2 || !ok3 || !ok4 {
		t.Fatalf("spans %v: want the REST request, the gRPC call and the token fetch", names(exp.GetSpans()))
	}
	for _, sp := range []tracetest.SpanStub{restSpan, grpcSpan, fetchSpan} {
		if sp.SpanContext.TraceID().String() != traceID {
			t.Errorf("span %q is in trace %s, want the caller's %s", sp.Name, sp.SpanContext.TraceID(), traceID)
		}
	}
	if restSpan.Parent.SpanID().String() != callerSpan || !restSpan.Parent.IsRemote() || restSpan.SpanKind != trace.SpanKindServer {
		t.Errorf("REST span's parent = %v (kind %v), want the caller's span %s", restSpan.Parent, restSpan.SpanKind, callerSpan)
	}
	if grpcSpan.SpanKind != trace.SpanKindServer || attr(grpcSpan, "eeo.account") != "acme" || attr(grpcSpan, "eeo.request_id") == "" {
		t.Errorf("gRPC span: kind %v, attributes %v; want a server span with the account and request id", grpcSpan.SpanKind, grpcSpan.Attributes)
	}
	if fetchSpan.SpanKind != trace.SpanKindClient {
		t.Errorf("token fetch span kind = %v, want client", fetchSpan.SpanKind)
	}
	// REST request → the facade's in-process gRPC call → the gRPC server's
	// handling → the token request to EEO.
	for _, link := range []struct{ child, parent tracetest.SpanStub }{
		{facadeSpan, restSpan}, {grpcSpan, facadeSpan}, {fetchSpan, grpcSpan},
	} {
		if link.child.Parent.SpanID() != link.parent.SpanContext.SpanID() {
			t.Errorf("span %q (%v)'s parent is %s, want %q's %s", link.child.Name, link.child.SpanKind,
				link.child.Parent.SpanID(), link.parent.Name, link.parent.SpanContext.SpanID())
		}
	}

	// EEO received the trace: the token request's traceparent is the fetch span.
	var seen string
	for _, r := range s.sb.Stats().Recent {
		if r.Path == "/oauth2/token" {
			seen = r.Traceparent
		}
	}
	if want := "00-" + traceID + "-" + fetchSpan.SpanContext.SpanID().String() + "-01"; seen != want {
		t.Errorf("traceparent at EEO = %q, want %q", seen, want)
	}

	// The call's log lines carry its trace id. The server has written them
	// before answering, but they reach s.logs through the harness's copier
	// goroutine, which a loaded machine can leave behind: wait for them.
	wantTraced := []string{"finished call", "audit", "token fetched"}
	traced := map[string]bool{}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		for _, l := range s.logLines("") {
			if l["trace_id"] == traceID {
				traced[l["msg"].(string)] = true
			}
		}
		if allSet(traced, wantTraced) || time.Now().After(deadline) {
			break
		}
	}
	for _, msg := range wantTraced {
		if !traced[msg] {
			t.Errorf("no %q log line with trace_id %s (traced lines: %v)", msg, traceID, traced)
		}
	}

	// The call's gRPC metrics carry its trace id as an exemplar (OpenMetrics).
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.adminURL+"/metrics", nil)
	req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	exposition, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(exposition), `# {trace_id="`+traceID+`"}`) {
		t.Errorf("no exemplar with trace_id %s in the OpenMetrics exposition", traceID)
	}

	// An upload works traced (otelhttp wraps its body), and its request to
	// EEO carries the trace too.
	const uploadTrace = "5bf92f3577b34da6a3ce929d0e0e4737"
	csv := "participant_id,first_name,last_name,email\nP1,Ada,Lovelace,ada@example.com\n"
	if code, _, body := s.rest(t, http.MethodPost, "/v1/accounts/acme/imports?importType=participants&fileName=p.csv", strings.NewReader(csv),
		http.Header{"Content-Type": {"text/csv"}, "Traceparent": {"00-" + uploadTrace + "-" + callerSpan + "-01"}}); code != http.StatusOK {
		t.Fatalf("traced upload: %d %s", code, body)
	}
	var uploadTraced bool
	for _, r := range s.sb.Stats().Recent {
		uploadTraced = uploadTraced || r.Path == "/v1/imports" && strings.Contains(r.Traceparent, uploadTrace)
	}
	if !uploadTraced {
		t.Errorf("the upload's request to EEO carried no traceparent of trace %s: %+v", uploadTrace, s.sb.Stats().Recent)
	}

	// Nothing secret in any span.
	tok := strings.TrimSuffix(strings.SplitN(strings.SplitN(body, `"accessToken":"`, 2)[1], `"`, 2)[0], `"`)
	for _, sp := range exp.GetSpans() {
		for _, kv := range sp.Attributes {
			v := kv.Value.Emit()
			if strings.Contains(v, tok) || strings.Contains(v, s.secret) || strings.Contains(v, s.key) {
				t.Errorf("span %q attribute %s carries a credential", sp.Name, kv.Key)
			}
		}
	}
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}

func attr(s tracetest.SpanStub, key string) string {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

// allSet reports whether every key in keys is set in m.
func allSet(m map[string]bool, keys []string) bool {
	for _, k := range keys {
		if !m[k] {
			return false
		}
	}
	return true
}
