package sandbox_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/sandbox"
)

// participantsCSV has five data rows; rows 2 and 4 are bad, row 2 twice.
const participantsCSV = "participant_id,first_name,last_name,email,department\n" +
	"P1,Ann,Lee,ann@example.com,ENG\n" +
	"P2,,,bob@example.com,\n" +
	"P3,Cat,Kim,cat@example.com,\n" +
	"P4,Dan,Ray,dan.example.com,OPS\n" +
	"P5,Eve,Fox,eve@example.com,FIN\n"

const participantsQuery = "import_type=participants&file_name=p.csv"

func hexSHA(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestImportLifecycle(t *testing.T) {
	sb, ts, clk, tok := stepped(t, sandbox.Options{})
	created := clk.Now()
	imp := decode[wireImport](t, postImport(t, ts, tok, participantsQuery, participantsCSV), http.StatusCreated)
	want := wireImport{
		ID: imp.ID, ImportType: "participants", FileName: "p.csv", ContentType: "text/csv",
		State: "QUEUED", SizeBytes: int64(len(participantsCSV)), SHA256: hexSHA(participantsCSV),
		CreateTime: created, UpdateTime: created,
	}
	if !strings.HasPrefix(imp.ID, "imp_") || !reflect.DeepEqual(imp, want) {
		t.Fatalf("created import = %+v\nwant %+v", imp, want)
	}

	steps := []struct {
		after time.Duration // since creation
		state string
		rows  bool // counts and errors visible
		upd   time.Duration
	}{
		{time.Minute - time.Nanosecond, "QUEUED", false, 0},
		{time.Minute, "VALIDATING", false, time.Minute},
		{2*time.Minute - 1, "VALIDATING", false, time.Minute},
		{2 * time.Minute, "PROCESSING", true, 2 * time.Minute},
		{3 * time.Minute, "COMPLETED", true, 3 * time.Minute},
		{50 * time.Minute, "COMPLETED", true, 3 * time.Minute},
	}
	for _, st := range steps {
		clk.Advance(created.Add(st.after).Sub(clk.Now()))
		got := getImport(t, ts, tok, imp.ID)
		if got.State != st.state || !got.UpdateTime.Equal(created.Add(st.upd)) || !got.CreateTime.Equal(created) {
			t.Errorf("at +%v: %s updated %v, want %s updated +%v", st.after, got.State, got.UpdateTime, st.state, st.upd)
		}
		wantCounts, wantErrs := [3]int64{}, 0
		if st.rows {
			wantCounts, wantErrs = [3]int64{5, 3, 2}, 3
		}
		if c := [3]int64{got.RowsTotal, got.RowsAccepted, got.RowsRejected}; c != wantCounts {
			t.Errorf("at +%v: counts %v, want %v", st.after, c, wantCounts)
		}
		if errs := importErrors(t, ts, tok, imp.ID); len(errs) != wantErrs {
			t.Errorf("at +%v: %d errors, want %d", st.after, len(errs), wantErrs)
		}
	}
	errs := importErrors(t, ts, tok, imp.ID)
	var got []string
	for _, e := range errs {
		got = append(got, fmt.Sprintf("%d %s", e.Row, e.Column))
	}
	if strings.Join(got, ", ") != "2 first_name, 2 last_name, 4 email" {
		t.Errorf("errors = %+v", errs)
	}
	if errs[2].Message == "" {
		t.Errorf("error without message: %+v", errs[2])
	}
	if st := sb.Stats(); st.ImportsCreated != 1 || st.UploadsAborted != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestImportOutcomes(t *testing.T) {
	tests := []struct {
		name, query, csv string
		state            string
		counts           [3]int64
		firstErr         wireRowError // Message is matched as a substring
	}{
		{"missing column", participantsQuery, "participant_id,first_name,last_name\nP1,A,B\nP2,C,D\n",
			"FAILED", [3]int64{2, 0, 2}, wireRowError{0, "email", "email"}},
		{"no valid row", participantsQuery, "participant_id,first_name,last_name,email\nP1,A,B,x\n",
			"FAILED", [3]int64{1, 0, 1}, wireRowError{1, "email", "@"}},
		{"header only", participantsQuery, "participant_id,first_name,last_name,email\n",
			"FAILED", [3]int64{}, wireRowError{0, "", "no data rows"}},
		{"blank lines only", participantsQuery, "\n\n",
			"FAILED", [3]int64{}, wireRowError{0, "", "no header"}},
		{"unparseable", participantsQuery, "participant_id,first_name,last_name,email\nP1,A,B,a@b\nP2,\"C,D,c@d\n",
			"FAILED", [3]int64{2, 0, 2}, wireRowError{2, "", "invalid CSV"}},
		{"BOM, CRLF, extra column, short row", participantsQuery,
			"\uFEFFparticipant_id,first_name,last_name,email,extra\r\nP1,A,B,a@b,x\r\nP2,C\r\n",
			"COMPLETED", [3]int64{2, 1, 1}, wireRowError{2, "last_name", "empty"}},
		{"grants checks", "import_type=grants&file_name=g.csv",
			"grant_id,participant_id,grant_date,shares,plan\n" +
				"G1,P1,2026-01-31,100,\n" + "G2,P1,2026-02-30,100,\n" + "G3,P1,2026-01-31,0,\n" +
				"G4,P1,2026-1-31,-5,\n" + "G5,P1,2026-01-31,12x,\n",
			"COMPLETED", [3]int64{5, 1, 4}, wireRowError{2, "grant_date", "YYYY-MM-DD"}},
		{"terminations", "import_type=terminations&file_name=t.csv",
			"participant_id,termination_date,reason\nP1,2026-03-01,\n",
			"COMPLETED", [3]int64{1, 1, 0}, wireRowError{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ts, clk, tok := stepped(t, sandbox.Options{})
			imp := decode[wireImport](t, postImport(t, ts, tok, tt.query, tt.csv), http.StatusCreated)
			clk.Advance(3 * time.Minute)
			got := getImport(t, ts, tok, imp.ID)
			if c := [3]int64{got.RowsTotal, got.RowsAccepted, got.RowsRejected}; got.State != tt.state || c != tt.counts {
				t.Errorf("%s %v, want %s %v", got.State, c, tt.state, tt.counts)
			}
			errs := importErrors(t, ts, tok, imp.ID)
			if tt.firstErr == (wireRowError{}) {
				if len(errs) != 0 {
					t.Errorf("errors = %+v, want none", errs)
				}
				return
			}
			if len(errs) == 0 || errs[0].Row != tt.firstErr.Row || errs[0].Column != tt.firstErr.Column ||
				!strings.Contains(errs[0].Message, tt.firstErr.Message) {
				t.Errorf("errors = %+v, want first %+v", errs, tt.firstErr)
			}
			if tt.firstErr.Row == 0 && len(errs) != 1 {
				t.Errorf("errors = %+v, want only the row 0 error", errs)
			}
		})
	}
}

func TestImportRowErrorsAreBounded(t *testing.T) {
	_, ts, clk, tok := stepped(t, sandbox.Options{})
	var b strings.Builder
	b.WriteString("participant_id,first_name,last_name,email\n")
	const rows = 10_050
	for i := range rows {
		fmt.Fprintf(&b, "P%d,A,B,bad\n", i)
	}
	imp := decode[wireImport](t, postImport(t, ts, tok, participantsQuery, b.String()), http.StatusCreated)
	clk.Advance(2 * time.Minute)
	if got := getImport(t, ts, tok, imp.ID); got.RowsTotal != rows || got.RowsRejected != rows {
		t.Errorf("counts %d/%d, want exact %d", got.RowsTotal, got.RowsRejected, rows)
	}
	n, path := 0, "/v1/imports/"+imp.ID+"/errors?page_size=1000"
	for token := ""; ; {
		page := decode[struct {
			Errors []wireRowError `json:"errors"`
			Next   string         `json:"next_page_token"`
		}](t, call(t, ts, tok, http.MethodGet, path+"&page_token="+token, nil), http.StatusOK)
		n += len(page.Errors)
		if token = page.Next; token == "" {
			break
		}
	}
	if n != 10_000 {
		t.Errorf("listed %d errors, want the 10000 kept", n)
	}
}

func TestImportEmptyFile(t *testing.T) {
	sb, ts, _, tok := stepped(t, sandbox.Options{})
	wantError(t, "Content-Length 0", postImport(t, ts, tok, participantsQuery, ""), 400, "empty_file", "")
	req := apiReq(t, ts, tok, http.MethodPost, "/v1/imports?"+participantsQuery, &failingBody{err: io.EOF})
	req.ContentLength = -1 // chunked: the emptiness is found by reading
	wantError(t, "chunked", send(t, ts, req), 400, "empty_file", "")
	if st := sb.Stats(); st.ImportsCreated != 0 {
		t.Errorf("ImportsCreated = %d", st.ImportsCreated)
	}
}

func TestImportBadRequests(t *testing.T) {
	sb, ts, _, tok := stepped(t, sandbox.Options{})
	tests := []struct {
		name, query string
		hdr         []string
		code, field string
	}{
		{"unknown type", "import_type=payroll&file_name=p.csv", nil, "invalid_import_type", "import_type"},
		{"missing type", "file_name=p.csv", nil, "invalid_request", "import_type"},
		{"missing file name", "import_type=participants", nil, "invalid_request", "file_name"},
		{"control character in file name", "import_type=participants&file_name=a%0Ab", nil, "invalid_request", "file_name"},
		{"bad checksum header", participantsQuery, []string{"X-Content-SHA256", strings.ToUpper(hexSHA(participantsCSV))}, "invalid_request", "X-Content-SHA256"},
		{"wrong media type", participantsQuery, []string{"Content-Type", "application/json"}, "invalid_request", "content_type"},
		{"long idempotency key", participantsQuery, []string{"Idempotency-Key", strings.Repeat("k", 256)}, "invalid_request", "Idempotency-Key"},
	}
	for _, tt := range tests {
		wantError(t, tt.name, postImport(t, ts, tok, tt.query, participantsCSV, tt.hdr...), 400, tt.code, tt.field)
	}
	// A media type parameter is fine, as is no Content-Type at all.
	postImport(t, ts, tok, participantsQuery, participantsCSV, "Content-Type", "text/csv; charset=utf-8")
	imp := decode[wireImport](t, call(t, ts, tok, http.MethodPost, "/v1/imports?"+participantsQuery, strings.NewReader(participantsCSV)), http.StatusCreated)
	if imp.ContentType != "text/csv" {
		t.Errorf("content_type = %q, want the default text/csv", imp.ContentType)
	}
	if st := sb.Stats(); st.ImportsCreated != 2 {
		t.Errorf("ImportsCreated = %d, want 2", st.ImportsCreated)
	}
}

func TestImportExpectContinue(t *testing.T) {
	sb, ts := start(t, sandbox.Options{MaxUploadBytes: 1 << 10})
	tok := issue(t, ts)
	hc := expectClient(t, ts)
	tests := []struct {
		name, tok, query string
		length           int64
		status           int
	}{
		{"bad token", "eeosbx_nope", participantsQuery, int64(len(participantsCSV)), 401},
		{"unknown type", tok, "import_type=payroll&file_name=p.csv", int64(len(participantsCSV)), 400},
		{"missing file name", tok, "import_type=participants", int64(len(participantsCSV)), 400},
		{"declared too large", tok, participantsQuery, 1<<10 + 1, 413},
		{"valid", tok, participantsQuery, int64(len(participantsCSV)), 201},
	}
	for _, tt := range tests {
		body := &recordingBody{r: strings.NewReader(participantsCSV)}
		req := apiReq(t, ts, tt.tok, http.MethodPost, "/v1/imports?"+tt.query, body, "Expect", "100-continue", "Content-Type", "text/csv")
		req.ContentLength = tt.length
		resp, err := hc.Do(req)
		if tt.status == 413 && err != nil {
			// The body is shorter than declared, which the transport may
			// notice first; what matters is that it was never read.
			if body.read.Load() {
				t.Errorf("%s: body was read", tt.name)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d", tt.name, resp.StatusCode, tt.status)
		}
		if wantRead := tt.status == 201; body.read.Load() != wantRead {
			t.Errorf("%s: body read = %v, want %v", tt.name, body.read.Load(), wantRead)
		}
	}
	if st := sb.Stats(); st.ImportsCreated != 1 {
		t.Errorf("ImportsCreated = %d, want 1", st.ImportsCreated)
	}
}

func TestImportChecksum(t *testing.T) {
	sb, ts, _, tok := stepped(t, sandbox.Options{})
	res := postImport(t, ts, tok, participantsQuery, participantsCSV, "X-Content-SHA256", hexSHA("something else"))
	wantError(t, "mismatch", res, 422, "checksum_mismatch", "X-Content-SHA256")
	if list := listImports(t, ts, tok, ""); len(list.Imports) != 0 || sb.Stats().ImportsCreated != 0 {
		t.Fatalf("a mismatched upload created %+v", list.Imports)
	}
	imp := decode[wireImport](t, postImport(t, ts, tok, participantsQuery, participantsCSV, "X-Content-SHA256", hexSHA(participantsCSV)), http.StatusCreated)
	if imp.SHA256 != hexSHA(participantsCSV) {
		t.Errorf("sha256 = %s", imp.SHA256)
	}
}

func TestImportAborted(t *testing.T) {
	sb, ts, _, tok := stepped(t, sandbox.Options{})
	hc := expectClient(t, ts)
	for i, key := range []string{"", "retry-me"} {
		// Expect: 100-continue makes sure the handler is reading when the
		// body fails, rather than the request never leaving the client.
		body := &failingBody{data: participantsCSV[:40], err: errors.New("disk on fire")}
		req := apiReq(t, ts, tok, http.MethodPost, "/v1/imports?"+participantsQuery, body, "Expect", "100-continue", "Idempotency-Key", key)
		req.ContentLength = int64(len(participantsCSV))
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			t.Fatalf("upload with a failing body succeeded: %d", resp.StatusCode)
		}
		eventually(t, "the aborted upload to be counted", func() bool { return sb.Stats().UploadsAborted == int64(i+1) })
	}
	if list := listImports(t, ts, tok, ""); len(list.Imports) != 0 || sb.Stats().ImportsCreated != 0 {
		t.Fatalf("aborted uploads created %+v", list.Imports)
	}
	// The aborted upload released its key.
	res := postImport(t, ts, tok, participantsQuery, participantsCSV, "Idempotency-Key", "retry-me")
	if imp := decode[wireImport](t, res, http.StatusCreated); imp.RequestID != "retry-me" {
		t.Errorf("request_id = %q", imp.RequestID)
	}
}

func TestImportSizeLimit(t *testing.T) {
	const limit = 1 << 10
	sb, ts, _, tok := stepped(t, sandbox.Options{MaxUploadBytes: limit})
	exact := participantsCSV + strings.Repeat("P9,A,B,c@d,\n", (limit-len(participantsCSV))/12)
	exact += strings.Repeat("\n", limit-len(exact))
	decode[wireImport](t, postImport(t, ts, tok, participantsQuery, exact), http.StatusCreated)
	wantError(t, "declared", postImport(t, ts, tok, participantsQuery, exact+"\n"), 413, "file_too_large", "")

	// A chunked body is refused as soon as it passes the limit, while the
	// client is still sending.
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() { _, _ = pw.Write([]byte(strings.Repeat("\n", 8*limit))) }() // more than the transport buffers
	req := apiReq(t, ts, tok, http.MethodPost, "/v1/imports?"+participantsQuery, pr)
	wantError(t, "streamed", send(t, ts, req), 413, "file_too_large", "")
	pw.CloseWithError(errors.New("test done"))
	if st := sb.Stats(); st.ImportsCreated != 1 || st.UploadsAborted != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestImportIdempotency(t *testing.T) {
	const other, otherSecret = "other", "s2"
	sb, ts, clk, tok := stepped(t, sandbox.Options{Clients: []sandbox.Client{{ID: testID, Secret: testSecret}, {ID: other, Secret: otherSecret}}})
	key := []string{"Idempotency-Key", "k1"}
	first := decode[wireImport](t, postImport(t, ts, tok, participantsQuery, participantsCSV, key...), http.StatusCreated)
	clk.Advance(time.Minute)
	again := decode[wireImport](t, postImport(t, ts, tok, participantsQuery, participantsCSV, key...), http.StatusOK)
	if again.ID != first.ID || again.RequestID != "k1" || again.State != "VALIDATING" {
		t.Errorf("replay = %+v, want the original import as it is now", again)
	}

	// With the hash declared, a replay is answered without reading the body.
	hc := expectClient(t, ts)
	body := &recordingBody{r: strings.NewReader(participantsCSV)}
	req := apiReq(t, ts, tok, http.MethodPost, "/v1/imports?"+participantsQuery, body,
		"Expect", "100-continue", "Idempotency-Key", "k1", "X-Content-SHA256", hexSHA(participantsCSV))
	req.ContentLength = int64(len(participantsCSV))
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || body.read.Load() {
		t.Errorf("declared-hash replay: %d, body read %v; want 200 unread", resp.StatusCode, body.read.Load())
	}

	different := participantsCSV + "P6,Fay,Roe,fay@example.com,\n"
	wantError(t, "different file", postImport(t, ts, tok, participantsQuery, different, key...), 409, "idempotency_key_reused", "")
	wantError(t, "different name", postImport(t, ts, tok, "import_type=participants&file_name=q.csv", participantsCSV, key...), 409, "idempotency_key_reused", "")
	wantError(t, "different hash declared", postImport(t, ts, tok, participantsQuery, different, "Idempotency-Key", "k1", "X-Content-SHA256", hexSHA(different)), 409, "idempotency_key_reused", "")

	// Keys are per client.
	otherTok := issueFor(t, ts, other, otherSecret)
	if imp := decode[wireImport](t, postImport(t, ts, otherTok, participantsQuery, participantsCSV, key...), http.StatusCreated); imp.ID == first.ID {
		t.Errorf("another client's key returned this client's import")
	}
	if st := sb.Stats(); st.ImportsCreated != 2 {
		t.Errorf("ImportsCreated = %d, want 2", st.ImportsCreated)
	}

	// Keys are forgotten after 24 hours.
	clk.Advance(24 * time.Hour)
	tok = issue(t, ts) // the old one went idle
	if imp := decode[wireImport](t, postImport(t, ts, tok, participantsQuery, different, key...), http.StatusCreated); imp.ID == first.ID {
		t.Errorf("expired key replayed the original")
	}
}

func TestImportIdempotencyKeyInUse(t *testing.T) {
	sb, ts, _, tok := stepped(t, sandbox.Options{})
	key := []string{"Idempotency-Key", "slow"}
	pr, pw := io.Pipe()
	defer pw.Close()
	req := apiReq(t, ts, tok, http.MethodPost, "/v1/imports?"+participantsQuery, pr, append(key, "Expect", "100-continue")...)
	req.ContentLength = int64(len(participantsCSV))
	hc := expectClient(t, ts)
	done := make(chan result, 1)
	go func() {
		resp, err := hc.Do(req)
		if err != nil {
			done <- result{status: -1, body: []byte(err.Error())}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		done <- result{status: resp.StatusCode, body: b}
	}()
	// The transport takes body bytes only after 100 Continue, which the
	// server sends once it has reserved the key and started reading.
	if _, err := pw.Write([]byte(participantsCSV[:30])); err != nil {
		t.Fatal(err)
	}
	wantError(t, "concurrent", postImport(t, ts, tok, participantsQuery, participantsCSV, key...), 409, "idempotency_key_in_use", "")
	if _, err := pw.Write([]byte(participantsCSV[30:])); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	first := decode[wireImport](t, <-done, http.StatusCreated)
	if again := decode[wireImport](t, postImport(t, ts, tok, participantsQuery, participantsCSV, key...), http.StatusOK); again.ID != first.ID {
		t.Errorf("replay id %s, want %s", again.ID, first.ID)
	}
	if st := sb.Stats(); st.ImportsCreated != 1 {
		t.Errorf("ImportsCreated = %d, want 1", st.ImportsCreated)
	}
}

func TestImportCancel(t *testing.T) {
	_, ts, clk, tok := stepped(t, sandbox.Options{})
	cancel := func(id string) result {
		return call(t, ts, tok, http.MethodPost, "/v1/imports/"+id+"/cancel", nil)
	}
	queued := decode[wireImport](t, postImport(t, ts, tok, participantsQuery, participantsCSV), http.StatusCreated)
	clk.Advance(30 * time.Second)
	at := clk.Now()
	got := decode[wireImport](t, cancel(queued.ID), http.StatusOK)
	if got.State != "CANCELLED" || !got.UpdateTime.Equal(at) || got.RowsTotal != 0 {
		t.Errorf("cancelled while queued: %+v", got)
	}

	processing := decode[wireImport](t, postImport(t, ts, tok, participantsQuery, participantsCSV), http.StatusCreated)
	clk.Advance(2*time.Minute + time.Second)
	decode[wireImport](t, cancel(processing.ID), http.StatusOK)

	clk.Advance(50 * time.Minute)
	if got := getImport(t, ts, tok, queued.ID); got.State != "CANCELLED" || !got.UpdateTime.Equal(at) {
		t.Errorf("later: %s at %v, want CANCELLED at %v", got.State, got.UpdateTime, at)
	}
	if got := getImport(t, ts, tok, processing.ID); got.State != "CANCELLED" || got.RowsTotal != 5 {
		t.Errorf("cancelled while processing: %+v, want counts kept", got)
	}
	wantError(t, "cancel twice", cancel(queued.ID), 409, "not_cancellable", "")

	done := decode[wireImport](t, postImport(t, ts, tok, participantsQuery, participantsCSV), http.StatusCreated)
	clk.Advance(3 * time.Minute)
	wantError(t, "cancel completed", cancel(done.ID), 409, "not_cancellable", "")
	wantError(t, "cancel unknown", cancel("imp_nope"), 404, "not_found", "")
	if res := call(t, ts, tok, http.MethodGet, "/v1/imports/"+done.ID+"/cancel", nil); res.status != 405 || res.header.Get("Allow") != "POST" {
		t.Errorf("GET cancel: %d Allow %q", res.status, res.header.Get("Allow"))
	}
}

type importList struct {
	Imports []wireImport `json:"imports"`
	Next    string       `json:"next_page_token"`
}

func listImports(t *testing.T, ts *httptest.Server, tok, query string) importList {
	t.Helper()
	return decode[importList](t, call(t, ts, tok, http.MethodGet, "/v1/imports?"+query, nil), http.StatusOK)
}

func TestImportList(t *testing.T) {
	_, ts, clk, tok := stepped(t, sandbox.Options{})
	var ids []string // oldest first
	for i, typ := range []string{"participants", "terminations", "participants", "participants", "terminations"} {
		csv := participantsCSV
		if typ == "terminations" {
			csv = "participant_id,termination_date\nP1,2026-01-01\n"
		}
		imp := decode[wireImport](t, postImport(t, ts, tok, fmt.Sprintf("import_type=%s&file_name=f%d.csv", typ, i), csv), http.StatusCreated)
		ids = append(ids, imp.ID)
		clk.Advance(time.Minute) // so they are in different states
	}
	// Now: ids[0..2] COMPLETED (≥3 steps), ids[3] PROCESSING, ids[4] VALIDATING.

	var got []string
	query := "page_size=2"
	for pages := 0; ; pages++ {
		list := listImports(t, ts, tok, query)
		for _, imp := range list.Imports {
			got = append(got, imp.ID)
		}
		if list.Next == "" {
			break
		}
		if pages == 0 { // a new import must not shift later pages
			postImport(t, ts, tok, participantsQuery, participantsCSV)
		}
		query = "page_size=2&page_token=" + url.QueryEscape(list.Next)
	}
	if want := []string{ids[4], ids[3], ids[2], ids[1], ids[0]}; !reflect.DeepEqual(got, want) {
		t.Errorf("paged ids = %v, want newest first %v", got, want)
	}

	filtered := func(query string) []string {
		var out []string
		for _, imp := range listImports(t, ts, tok, query).Imports {
			out = append(out, imp.ID)
		}
		return out
	}
	if got := filtered("import_type=terminations"); !reflect.DeepEqual(got, []string{ids[4], ids[1]}) {
		t.Errorf("import_type filter = %v", got)
	}
	if got := filtered("state=COMPLETED&import_type=participants"); !reflect.DeepEqual(got, []string{ids[2], ids[0]}) {
		t.Errorf("state filter = %v", got)
	}
	// A filtered page that fills up exactly has no token when nothing else matches.
	if list := listImports(t, ts, tok, "import_type=terminations&page_size=2"); list.Next != "" {
		t.Errorf("next_page_token %q after the last match", list.Next)
	}

	for _, tt := range []struct{ query, code, field string }{
		{"page_size=x", "invalid_request", "page_size"},
		{"page_size=-1", "invalid_request", "page_size"},
		{"page_token=%25%25", "invalid_request", "page_token"},
		{"state=DONE", "invalid_request", "state"},
		{"import_type=payroll", "invalid_import_type", "import_type"},
	} {
		wantError(t, tt.query, call(t, ts, tok, http.MethodGet, "/v1/imports?"+tt.query, nil), 400, tt.code, tt.field)
	}
	if list := listImports(t, ts, tok, "page_size=5000"); len(list.Imports) != 6 {
		t.Errorf("page_size over the maximum: %d imports, want all 6", len(list.Imports))
	}
}

func TestImportErrorsPagination(t *testing.T) {
	_, ts, clk, tok := stepped(t, sandbox.Options{})
	imp := decode[wireImport](t, postImport(t, ts, tok, participantsQuery, participantsCSV), http.StatusCreated)
	clk.Advance(2 * time.Minute)
	path := "/v1/imports/" + imp.ID + "/errors?page_size=2"
	type page struct {
		Errors []wireRowError `json:"errors"`
		Next   string         `json:"next_page_token"`
	}
	p1 := decode[page](t, call(t, ts, tok, http.MethodGet, path, nil), http.StatusOK)
	p2 := decode[page](t, call(t, ts, tok, http.MethodGet, path+"&page_token="+p1.Next, nil), http.StatusOK)
	if len(p1.Errors) != 2 || p1.Next == "" || len(p2.Errors) != 1 || p2.Next != "" || p2.Errors[0].Row != 4 {
		t.Errorf("pages %+v then %+v", p1, p2)
	}
	wantError(t, "bad token", call(t, ts, tok, http.MethodGet, path+"&page_token=bm9wZQ", nil), 400, "invalid_request", "page_token")
}

func TestImportsPerClient(t *testing.T) {
	const other, otherSecret = "other", "s2"
	_, ts, _, tok := stepped(t, sandbox.Options{Clients: []sandbox.Client{{ID: testID, Secret: testSecret}, {ID: other, Secret: otherSecret}}})
	imp := decode[wireImport](t, postImport(t, ts, tok, participantsQuery, participantsCSV), http.StatusCreated)
	otherTok := issueFor(t, ts, other, otherSecret)
	for _, tt := range []struct{ method, path string }{
		{http.MethodGet, "/v1/imports/" + imp.ID},
		{http.MethodGet, "/v1/imports/" + imp.ID + "/errors"},
		{http.MethodPost, "/v1/imports/" + imp.ID + "/cancel"},
	} {
		wantError(t, tt.method+" "+tt.path, call(t, ts, otherTok, tt.method, tt.path, nil), 404, "not_found", "")
	}
	if list := listImports(t, ts, otherTok, ""); len(list.Imports) != 0 {
		t.Errorf("other client lists %+v", list.Imports)
	}
	if got := getImport(t, ts, tok, imp.ID); got.State != "QUEUED" {
		t.Errorf("owner's import after the other client's cancel: %s", got.State)
	}
}

func TestImportTypes(t *testing.T) {
	_, ts, _, tok := stepped(t, sandbox.Options{})
	got := decode[struct {
		Types []struct {
			Name     string   `json:"name"`
			Formats  []string `json:"file_formats"`
			Required []string `json:"required_columns"`
			Optional []string `json:"optional_columns"`
		} `json:"import_types"`
	}](t, call(t, ts, tok, http.MethodGet, "/v1/import-types", nil), http.StatusOK)
	if len(got.Types) != 3 || got.Types[0].Name != "participants" ||
		!reflect.DeepEqual(got.Types[0].Required, []string{"participant_id", "first_name", "last_name", "email"}) ||
		!reflect.DeepEqual(got.Types[0].Optional, []string{"department"}) || got.Types[0].Formats[0] != "text/csv" {
		t.Errorf("import types = %+v", got.Types)
	}
}

// TestImportEndpointsAreProtected checks that the idle rule, faults and the
// bearer-before-method order apply to the new endpoints as to the probe.
func TestImportEndpointsAreProtected(t *testing.T) {
	sb, ts, clk, tok := stepped(t, sandbox.Options{})
	imp := decode[wireImport](t, postImport(t, ts, tok, participantsQuery, participantsCSV), http.StatusCreated)
	clk.Advance(idle - time.Nanosecond)
	getImport(t, ts, tok, imp.ID) // slides the window
	clk.Advance(idle)
	for _, path := range []string{"/v1/imports", "/v1/imports/" + imp.ID, "/v1/import-types", "/v1/reports"} {
		assertInvalidToken(t, path, call(t, ts, tok, http.MethodGet, path, nil))
	}
	assertInvalidToken(t, "DELETE with no token", call(t, ts, "", http.MethodDelete, "/v1/imports/"+imp.ID, nil))

	tok = issue(t, ts)
	sb.SetFaults(sandbox.Faults{API: sandbox.Fault{Status: http.StatusServiceUnavailable}})
	if res := postImport(t, ts, tok, participantsQuery, participantsCSV); res.status != 503 {
		t.Errorf("faulted upload: %d", res.status)
	}
	sb.SetFaults(sandbox.Faults{})
	if st := sb.Stats(); st.ImportsCreated != 1 {
		t.Errorf("ImportsCreated = %d, want 1", st.ImportsCreated)
	}
	res := call(t, ts, tok, http.MethodDelete, "/v1/imports/"+imp.ID, bytes.NewReader(nil))
	if res.status != 405 || res.header.Get("Allow") != "GET" {
		t.Errorf("DELETE: %d Allow %q", res.status, res.header.Get("Allow"))
	}
}
