package sandbox_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/sandbox"
)

func postReport(t *testing.T, ts *httptest.Server, tok, body string, hdr ...string) result {
	t.Helper()
	hdr = append([]string{"Content-Type", "application/json"}, hdr...)
	return call(t, ts, tok, http.MethodPost, "/v1/reports", strings.NewReader(body), hdr...)
}

func download(t *testing.T, ts *httptest.Server, tok, id string) result {
	t.Helper()
	return call(t, ts, tok, http.MethodGet, "/v1/reports/"+id+"/content", nil)
}

const grantsReport = `{"report_type": "grants", "parameters": {"as_of": "2026-01-31", "rows": "1000"}, "format": "CSV"}`

func TestReportLifecycle(t *testing.T) {
	sb, ts, clk, tok := stepped(t, sandbox.Options{})
	created := clk.Now()
	rep := decode[wireReport](t, postReport(t, ts, tok, grantsReport), http.StatusCreated)
	want := wireReport{
		ID: rep.ID, ReportType: "grants", Parameters: map[string]string{"as_of": "2026-01-31", "rows": "1000"},
		Format: "CSV", State: "QUEUED", FileName: "grants-2026-01-31.csv", ContentType: "text/csv",
		CreateTime: created, UpdateTime: created,
	}
	if !strings.HasPrefix(rep.ID, "rpt_") || !reflect.DeepEqual(rep, want) {
		t.Fatalf("created report = %+v\nwant %+v", rep, want)
	}
	wantError(t, "download queued", download(t, ts, tok, rep.ID), 409, "report_not_ready", "")

	clk.Advance(2*time.Minute - time.Nanosecond)
	if got := getReport(t, ts, tok, rep.ID); got.State != "RUNNING" || !got.UpdateTime.Equal(created.Add(time.Minute)) || got.SHA256 != "" || got.SizeBytes != 0 {
		t.Errorf("after one step: %+v", got)
	}
	wantError(t, "download running", download(t, ts, tok, rep.ID), 409, "report_not_ready", "")

	clk.Advance(time.Nanosecond)
	got := getReport(t, ts, tok, rep.ID)
	if got.State != "SUCCEEDED" || !got.UpdateTime.Equal(created.Add(2*time.Minute)) || got.SizeBytes == 0 || len(got.SHA256) != 64 {
		t.Fatalf("after two steps: %+v", got)
	}

	res := download(t, ts, tok, rep.ID)
	sum := sha256.Sum256(res.body)
	for k, v := range map[string]string{
		"Content-Type":        "text/csv",
		"Content-Length":      strconv.FormatInt(got.SizeBytes, 10),
		"Content-Disposition": `attachment; filename="grants-2026-01-31.csv"`,
		"X-Content-SHA256":    got.SHA256,
	} {
		if res.header.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, res.header.Get(k), v)
		}
	}
	if res.status != 200 || int64(len(res.body)) != got.SizeBytes || hex.EncodeToString(sum[:]) != got.SHA256 {
		t.Fatalf("download: %d, %d bytes hashing to %x; report says %d bytes, %s", res.status, len(res.body), sum, got.SizeBytes, got.SHA256)
	}
	lines := strings.Split(strings.TrimSuffix(string(res.body), "\n"), "\n")
	if len(lines) != 1001 || lines[0] != "grant_id,participant_id,grant_date,shares,plan" ||
		!strings.HasPrefix(lines[1], "GRT-000000000001,PRT-") || !strings.HasPrefix(lines[1000], "GRT-000000001000,") {
		t.Errorf("content: %d lines, starting %q", len(lines), lines[:2])
	}
	// Generated grants pass the sandbox's own grants import rules.
	imp := decode[wireImport](t, postImport(t, ts, tok, "import_type=grants&file_name=g.csv", string(res.body)), http.StatusCreated)
	clk.Advance(3 * time.Minute)
	if got := getImport(t, ts, tok, imp.ID); got.State != "COMPLETED" || got.RowsAccepted != 1000 {
		t.Errorf("re-importing the report: %s with %d accepted", got.State, got.RowsAccepted)
	}

	if again := download(t, ts, tok, rep.ID); !bytes.Equal(again.body, res.body) {
		t.Errorf("second download differs")
	}
	if st := sb.Stats(); st.ReportsCreated != 1 || st.Downloads != 2 {
		t.Errorf("stats = %+v", st)
	}
}

func TestReportContentDiffersByReport(t *testing.T) {
	_, ts, clk, tok := stepped(t, sandbox.Options{})
	a := decode[wireReport](t, postReport(t, ts, tok, grantsReport), http.StatusCreated)
	b := decode[wireReport](t, postReport(t, ts, tok, grantsReport), http.StatusCreated)
	clk.Advance(2 * time.Minute)
	ra, rb := getReport(t, ts, tok, a.ID), getReport(t, ts, tok, b.ID)
	if ra.SizeBytes != rb.SizeBytes || ra.SHA256 == rb.SHA256 {
		t.Errorf("same parameters: sizes %d, %d (want equal), hashes equal %v (want different)", ra.SizeBytes, rb.SizeBytes, ra.SHA256 == rb.SHA256)
	}
}

func TestReportParticipants(t *testing.T) {
	_, ts, clk, tok := stepped(t, sandbox.Options{})
	rep := decode[wireReport](t, postReport(t, ts, tok, `{"report_type": "participants"}`), http.StatusCreated)
	if rep.FileName != "participants-"+clk.Now().Format(time.DateOnly)+".csv" || rep.Format != "CSV" || len(rep.Parameters) != 0 || rep.Parameters == nil {
		t.Errorf("report = %+v", rep)
	}
	clk.Advance(2 * time.Minute)
	res := download(t, ts, tok, rep.ID)
	if n := strings.Count(string(res.body), "\n"); res.status != 200 || n != 101 {
		t.Fatalf("download: %d with %d lines, want 200 with 101", res.status, n)
	}
	imp := decode[wireImport](t, postImport(t, ts, tok, participantsQuery, string(res.body)), http.StatusCreated)
	clk.Advance(3 * time.Minute)
	if got := getImport(t, ts, tok, imp.ID); got.State != "COMPLETED" || got.RowsAccepted != 100 {
		t.Errorf("re-importing the report: %s with %d accepted", got.State, got.RowsAccepted)
	}
}

func TestReportLargeDownload(t *testing.T) {
	_, ts, clk, tok := stepped(t, sandbox.Options{})
	rep := decode[wireReport](t, postReport(t, ts, tok, `{"report_type": "grants", "parameters": {"as_of": "2026-01-31", "rows": "100000"}}`), http.StatusCreated)
	clk.Advance(2 * time.Minute)
	got := getReport(t, ts, tok, rep.ID)
	res := download(t, ts, tok, rep.ID)
	sum := sha256.Sum256(res.body)
	if int64(len(res.body)) != got.SizeBytes || got.SizeBytes < 6<<20 || hex.EncodeToString(sum[:]) != got.SHA256 {
		t.Errorf("%d bytes, report says %d; hash match %v", len(res.body), got.SizeBytes, hex.EncodeToString(sum[:]) == got.SHA256)
	}
}

func TestReportSimulatedFailure(t *testing.T) {
	_, ts, clk, tok := stepped(t, sandbox.Options{})
	rep := decode[wireReport](t, postReport(t, ts, tok, `{"report_type": "grants", "parameters": {"as_of": "2026-01-31", "simulate_failure": "true"}}`), http.StatusCreated)
	clk.Advance(2 * time.Minute)
	if got := getReport(t, ts, tok, rep.ID); got.State != "FAILED" || got.SHA256 != "" || got.SizeBytes != 0 {
		t.Errorf("report = %+v, want FAILED without content", got)
	}
	wantError(t, "download failed", download(t, ts, tok, rep.ID), 409, "report_not_ready", "")
	rep = decode[wireReport](t, postReport(t, ts, tok, `{"report_type": "grants", "parameters": {"as_of": "2026-01-31", "simulate_failure": "false"}}`), http.StatusCreated)
	clk.Advance(2 * time.Minute)
	if got := getReport(t, ts, tok, rep.ID); got.State != "SUCCEEDED" {
		t.Errorf("simulate_failure=false: %s", got.State)
	}
}

func TestReportBadRequests(t *testing.T) {
	sb, ts, _, tok := stepped(t, sandbox.Options{})
	tests := []struct {
		name, body  string
		code, field string
	}{
		{"missing type", `{"parameters": {"as_of": "2026-01-31"}}`, "invalid_request", "report_type"},
		{"unknown type", `{"report_type": "payroll"}`, "invalid_report_type", "report_type"},
		{"unknown parameter", `{"report_type": "grants", "parameters": {"as_of": "2026-01-31", "colour": "red"}}`, "invalid_parameter", "colour"},
		{"parameter of another type", `{"report_type": "participants", "parameters": {"as_of": "2026-01-31"}}`, "invalid_parameter", "as_of"},
		{"missing required", `{"report_type": "grants", "parameters": {"rows": "5"}}`, "invalid_parameter", "as_of"},
		{"bad date", `{"report_type": "grants", "parameters": {"as_of": "2026-02-30"}}`, "invalid_parameter", "as_of"},
		{"integer not a number", `{"report_type": "grants", "parameters": {"as_of": "2026-01-31", "rows": "many"}}`, "invalid_parameter", "rows"},
		{"integer negative", `{"report_type": "grants", "parameters": {"as_of": "2026-01-31", "rows": "-1"}}`, "invalid_parameter", "rows"},
		{"integer too large", `{"report_type": "grants", "parameters": {"as_of": "2026-01-31", "rows": "100000001"}}`, "invalid_parameter", "rows"},
		{"value not a string", `{"report_type": "grants", "parameters": {"as_of": "2026-01-31", "rows": 5}}`, "invalid_parameter", "rows"},
		{"null value", `{"report_type": "grants", "parameters": {"as_of": null}}`, "invalid_parameter", "as_of"},
		{"bad boolean", `{"report_type": "grants", "parameters": {"as_of": "2026-01-31", "simulate_failure": "yes"}}`, "invalid_parameter", "simulate_failure"},
		{"XLSX", `{"report_type": "grants", "parameters": {"as_of": "2026-01-31"}, "format": "XLSX"}`, "unsupported_format", "format"},
		{"PDF", `{"report_type": "participants", "format": "PDF"}`, "unsupported_format", "format"},
		{"unknown format", `{"report_type": "participants", "format": "csv"}`, "invalid_request", "format"},
		{"unknown field", `{"report_type": "participants", "colour": "red"}`, "invalid_request", "colour"},
		{"wrong JSON type", `{"report_type": 7}`, "invalid_request", "report_type"},
		{"not JSON", `report please`, "invalid_request", ""},
		{"empty", ``, "invalid_request", ""},
		{"two objects", `{"report_type": "participants"} {}`, "invalid_request", ""},
	}
	for _, tt := range tests {
		wantError(t, tt.name, postReport(t, ts, tok, tt.body), 400, tt.code, tt.field)
	}
	wantError(t, "long key", postReport(t, ts, tok, grantsReport, "Idempotency-Key", strings.Repeat("k", 256)), 400, "invalid_request", "Idempotency-Key")
	if st := sb.Stats(); st.ReportsCreated != 0 {
		t.Errorf("ReportsCreated = %d", st.ReportsCreated)
	}
}

func TestReportIdempotency(t *testing.T) {
	sb, ts, clk, tok := stepped(t, sandbox.Options{})
	key := []string{"Idempotency-Key", "r1"}
	first := decode[wireReport](t, postReport(t, ts, tok, grantsReport, key...), http.StatusCreated)
	clk.Advance(2 * time.Minute)
	// The same request, spelt differently: key order, default format.
	same := `{"parameters": {"rows": "1000", "as_of": "2026-01-31"}, "report_type": "grants"}`
	again := decode[wireReport](t, postReport(t, ts, tok, same, key...), http.StatusOK)
	if again.ID != first.ID || again.State != "SUCCEEDED" || again.SHA256 == "" || again.RequestID != "r1" {
		t.Errorf("replay = %+v, want the original as it is now", again)
	}
	wantError(t, "different", postReport(t, ts, tok, `{"report_type": "participants"}`, key...), 409, "idempotency_key_reused", "")
	wantError(t, "default made explicit", postReport(t, ts, tok, `{"report_type": "grants", "parameters": {"as_of": "2026-01-31"}}`, key...), 409, "idempotency_key_reused", "")
	if st := sb.Stats(); st.ReportsCreated != 1 {
		t.Errorf("ReportsCreated = %d, want 1", st.ReportsCreated)
	}
}

func TestReportCancel(t *testing.T) {
	_, ts, clk, tok := stepped(t, sandbox.Options{})
	cancel := func(id string) result {
		return call(t, ts, tok, http.MethodPost, "/v1/reports/"+id+"/cancel", nil)
	}
	running := decode[wireReport](t, postReport(t, ts, tok, grantsReport), http.StatusCreated)
	clk.Advance(90 * time.Second)
	at := clk.Now()
	if got := decode[wireReport](t, cancel(running.ID), http.StatusOK); got.State != "CANCELLED" || !got.UpdateTime.Equal(at) {
		t.Errorf("cancelled: %+v", got)
	}
	clk.Advance(time.Minute)
	if got := getReport(t, ts, tok, running.ID); got.State != "CANCELLED" || got.SHA256 != "" {
		t.Errorf("later: %+v", got)
	}
	wantError(t, "download cancelled", download(t, ts, tok, running.ID), 409, "report_not_ready", "")
	wantError(t, "cancel twice", cancel(running.ID), 409, "not_cancellable", "")

	done := decode[wireReport](t, postReport(t, ts, tok, grantsReport), http.StatusCreated)
	clk.Advance(2 * time.Minute)
	wantError(t, "cancel succeeded", cancel(done.ID), 409, "not_cancellable", "")
}

func TestReportList(t *testing.T) {
	_, ts, clk, tok := stepped(t, sandbox.Options{})
	var ids []string
	for i := range 4 {
		body := grantsReport
		if i%2 == 1 {
			body = `{"report_type": "participants"}`
		}
		ids = append(ids, decode[wireReport](t, postReport(t, ts, tok, body), http.StatusCreated).ID)
		clk.Advance(time.Minute)
	}
	// Now ids[0..2] have SUCCEEDED, ids[3] is RUNNING.
	type list struct {
		Reports []wireReport `json:"reports"`
		Next    string       `json:"next_page_token"`
	}
	page := func(query string) ([]string, string) {
		l := decode[list](t, call(t, ts, tok, http.MethodGet, "/v1/reports?"+query, nil), http.StatusOK)
		var out []string
		for _, r := range l.Reports {
			if (r.State == "SUCCEEDED") != (r.SHA256 != "") {
				t.Errorf("listed %s %s with sha256 %q", r.ID, r.State, r.SHA256)
			}
			out = append(out, r.ID)
		}
		return out, l.Next
	}
	p1, next := page("page_size=3")
	p2, last := page("page_size=3&page_token=" + next)
	if !reflect.DeepEqual(append(p1, p2...), []string{ids[3], ids[2], ids[1], ids[0]}) || last != "" {
		t.Errorf("pages %v %v (last token %q)", p1, p2, last)
	}
	if got, _ := page("state=SUCCEEDED&report_type=participants"); !reflect.DeepEqual(got, []string{ids[1]}) {
		t.Errorf("filtered = %v", got)
	}
	if got, _ := page("state=RUNNING"); !reflect.DeepEqual(got, []string{ids[3]}) {
		t.Errorf("running = %v", got)
	}
	for _, tt := range []struct{ query, code, field string }{
		{"page_size=1.5", "invalid_request", "page_size"},
		{"page_token=!", "invalid_request", "page_token"},
		{"state=COMPLETED", "invalid_request", "state"},
		{"report_type=payroll", "invalid_report_type", "report_type"},
	} {
		wantError(t, tt.query, call(t, ts, tok, http.MethodGet, "/v1/reports?"+tt.query, nil), 400, tt.code, tt.field)
	}
}

func TestReportsPerClient(t *testing.T) {
	const other, otherSecret = "other", "s2"
	_, ts, clk, tok := stepped(t, sandbox.Options{Clients: []sandbox.Client{{ID: testID, Secret: testSecret}, {ID: other, Secret: otherSecret}}})
	rep := decode[wireReport](t, postReport(t, ts, tok, grantsReport), http.StatusCreated)
	clk.Advance(2 * time.Minute)
	otherTok := issueFor(t, ts, other, otherSecret)
	for _, tt := range []struct{ method, path string }{
		{http.MethodGet, "/v1/reports/" + rep.ID},
		{http.MethodGet, "/v1/reports/" + rep.ID + "/content"},
		{http.MethodPost, "/v1/reports/" + rep.ID + "/cancel"},
	} {
		wantError(t, tt.method+" "+tt.path, call(t, ts, otherTok, tt.method, tt.path, nil), 404, "not_found", "")
	}
	if res := call(t, ts, otherTok, http.MethodGet, "/v1/reports", nil); !strings.Contains(string(res.body), `"reports":[]`) {
		t.Errorf("other client lists %s", res.body)
	}
}

func TestReportTypes(t *testing.T) {
	_, ts, _, tok := stepped(t, sandbox.Options{})
	res := call(t, ts, tok, http.MethodGet, "/v1/report-types", nil)
	var got struct {
		Types []struct {
			Name       string           `json:"name"`
			Parameters []map[string]any `json:"parameters"`
			Formats    []string         `json:"formats"`
		} `json:"report_types"`
	}
	if err := json.Unmarshal(res.body, &got); err != nil || len(got.Types) != 2 {
		t.Fatalf("report types: %s", res.body)
	}
	g := got.Types[0]
	want := map[string]any{"name": "as_of", "type": "DATE", "required": true, "description": g.Parameters[0]["description"]}
	if g.Name != "grants" || len(g.Parameters) != 3 || !reflect.DeepEqual(g.Parameters[0], want) ||
		g.Parameters[2]["type"] != "BOOLEAN" || !reflect.DeepEqual(g.Formats, []string{"CSV"}) {
		t.Errorf("grants = %+v", g)
	}
}

func TestReportDownloadFaults(t *testing.T) {
	sb, ts, clk, tok := stepped(t, sandbox.Options{})
	rep := decode[wireReport](t, postReport(t, ts, tok, grantsReport), http.StatusCreated)
	clk.Advance(2 * time.Minute)
	sb.SetFaults(sandbox.Faults{API: sandbox.Fault{Malformed: true}})
	res := download(t, ts, tok, rep.ID)
	if res.status != 200 || json.Valid(res.body) || res.header.Get("X-Content-SHA256") != "" {
		t.Errorf("malformed download: %d %q", res.status, res.body)
	}
	sb.SetFaults(sandbox.Faults{})
	if st := sb.Stats(); st.Downloads != 0 {
		t.Errorf("Downloads = %d: a faulted download is not one", st.Downloads)
	}
}
