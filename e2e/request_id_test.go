package e2e_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/access"
	"github.com/eeo-gateway/eeo-gateway/internal/permission"
	"github.com/eeo-gateway/eeo-gateway/internal/requestid"
	"github.com/eeo-gateway/eeo-gateway/sandbox"
)

// logLines returns the JSON log lines of this test's stack s whose msg is
// msg. The stack, not only the test, is matched: with -count the same test
// runs again in one process, and its earlier runs' lines are still there.
func logLines(t *testing.T, s *stack, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(allLogs()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil || m["test"] != t.Name() || m["msg"] != msg {
			continue
		}
		if id, _ := m["stack"].(float64); int64(id) != s.id {
			continue
		}
		out = append(out, m)
	}
	return out
}

// linesWith filters lines to those whose key has value.
func linesWith(lines []map[string]any, key, value string) []map[string]any {
	var out []map[string]any
	for _, l := range lines {
		if l[key] == value {
			out = append(out, l)
		}
	}
	return out
}

// A REST call's access log line and audit event name the REST client's
// real (loopback) address, not the in-process connection, and carry the
// request id the client sent, which is returned to it and reaches EEO.
func TestRESTRequestIDAndClientAddressReachLogsAuditAndEEO(t *testing.T) {
	cfg := &access.Config{}
	key := grant(cfg, "ops", []string{access.AllAccounts}, permission.All()...)
	s := newStack(t, stackOptions{Access: cfg})
	caller := s.as(t, view{Bearer: key})

	const id = "e2e-rest-req-1"
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.restURL+"/v1/accounts/"+account+"/token", nil)
	req.Header.Set(requestid.Header, id)
	code, header, body := caller.send(t, req)
	if code != http.StatusOK || header.Get(requestid.Header) != id {
		t.Fatalf("GET token: %d %s, X-Request-Id %q; want 200 and %q back", code, body, header.Get(requestid.Header), id)
	}

	accessLines := linesWith(logLines(t, s, "finished call"), "request_id", id)
	if len(accessLines) != 1 {
		t.Fatalf("access log lines with request_id %s: %v", id, accessLines)
	}
	if addr, _ := accessLines[0]["peer.address"].(string); !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Errorf("access log peer.address = %q, want the REST client's loopback address", addr)
	}
	audit := linesWith(logLines(t, s, "audit"), "request_id", id)
	if len(audit) != 1 {
		t.Fatalf("audit events with request_id %s: %v", id, audit)
	}
	if addr, _ := audit[0]["client_addr"].(string); !strings.HasPrefix(addr, "127.0.0.1:") || addr != accessLines[0]["peer.address"] {
		t.Errorf("audit client_addr = %q, want the access log's %q", addr, accessLines[0]["peer.address"])
	}
	if !seenAtEEO(s.sb.Stats(), "/oauth2/token", id) {
		t.Errorf("the token fetch for call %s did not carry X-Request-Id %s to EEO: %+v", id, id, s.sb.Stats().Recent)
	}

	// An upload's id reaches EEO's import endpoint too.
	upID := "e2e-upload-req-1"
	upReq, _ := http.NewRequestWithContext(t.Context(), http.MethodPost,
		s.restURL+importsPath+"?"+url.Values{"importType": {"participants"}, "fileName": {"p.csv"}}.Encode(),
		bytes.NewReader(participantsFile(200, "rid")))
	upReq.Header.Set("Content-Type", "text/csv")
	upReq.Header.Set(requestid.Header, upID)
	if code, header, body := caller.send(t, upReq); code != http.StatusOK || header.Get(requestid.Header) != upID {
		t.Fatalf("upload: %d %s, X-Request-Id %q", code, body, header.Get(requestid.Header))
	}
	if !seenAtEEO(s.sb.Stats(), "/v1/imports", upID) {
		t.Errorf("the upload did not carry X-Request-Id %s to EEO: %+v", upID, s.sb.Stats().Recent)
	}

	// A malformed id is replaced, and the replacement is what is returned.
	bad, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.restURL+"/v1/accounts/"+account+"/token", nil)
	bad.Header.Set(requestid.Header, "not a valid id; DROP TABLE")
	_, header, _ = caller.send(t, bad)
	if got := header.Get(requestid.Header); !requestid.Valid(got) || strings.Contains(got, "DROP") {
		t.Errorf("X-Request-Id for a malformed one = %q, want a fresh valid id", got)
	}
}

func seenAtEEO(st sandbox.Stats, path, id string) bool {
	for _, r := range st.Recent {
		if r.Path == path && r.RequestID == id {
			return true
		}
	}
	return false
}
