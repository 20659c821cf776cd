package sandbox

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Report states, in lifecycle order.
const (
	reportQueued    = "QUEUED"
	reportRunning   = "RUNNING"
	reportSucceeded = "SUCCEEDED"
	reportFailed    = "FAILED"
	reportCancelled = "CANCELLED"
)

// reportSteps is how many steps a report takes to reach a terminal state.
const reportSteps = 2

// reportStates are the valid values of the state filter.
var reportStates = []string{reportQueued, reportRunning, reportSucceeded, reportFailed, reportCancelled}

// maxReportRows bounds the rows parameter: 100 million rows is about 6 GB.
const maxReportRows = 100_000_000

// paramSpec describes a report parameter, as listed by GET /v1/report-types.
type paramSpec struct {
	Name        string `json:"name"`
	Type        string `json:"type"` // STRING, INTEGER, DATE or BOOLEAN
	Required    bool   `json:"required"`
	Description string `json:"description"`
	def         string // the value used when an optional parameter is omitted
	max         int64  // INTEGER only; the minimum is 0
}

// check returns what is wrong with v as a value of p, or "".
func (p *paramSpec) check(v string) string {
	switch p.Type {
	case "INTEGER":
		if n, err := strconv.ParseInt(v, 10, 64); err != nil || n < 0 || n > p.max {
			return fmt.Sprintf("must be an integer from 0 to %d", p.max)
		}
	case "DATE":
		if _, err := time.Parse(time.DateOnly, v); err != nil {
			return "must be a date in YYYY-MM-DD form"
		}
	case "BOOLEAN":
		if v != "true" && v != "false" {
			return `must be "true" or "false"`
		}
	}
	return ""
}

// reportType is a report the sandbox can run, as listed by
// GET /v1/report-types.
type reportType struct {
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Parameters  []paramSpec `json:"parameters"`
	Formats     []string    `json:"formats"`
	// layout returns the content generator for resolved parameters.
	layout func(params map[string]string, seed uint64) rowLayout
}

// reportFormats are the formats the contract knows; the sandbox produces
// only CSV.
var reportFormats = []string{"CSV", "XLSX", "PDF"}

// rowsParam is the rows parameter with its default.
func rowsParam(def string) paramSpec {
	return paramSpec{Name: "rows", Type: "INTEGER", def: def, max: maxReportRows,
		Description: "How many data rows to generate (sandbox only); default " + def + "."}
}

// reportTypes are built in, like importTypes.
var reportTypes = []reportType{
	{
		Name:        "grants",
		Description: "Equity grants outstanding as of a date.",
		Parameters: []paramSpec{
			{Name: "as_of", Type: "DATE", Required: true, Description: "Report grants made up to this date."},
			rowsParam("1000"),
			{Name: "simulate_failure", Type: "BOOLEAN", def: "false", Description: `"true" makes the report end FAILED (sandbox only).`},
		},
		Formats: []string{"CSV"},
		layout: func(p map[string]string, seed uint64) rowLayout {
			asOf, _ := time.Parse(time.DateOnly, p["as_of"]) // validated
			return newGrantsLayout(asOf, seed)
		},
	},
	{
		Name:        "participants",
		Description: "Plan participants.",
		Parameters:  []paramSpec{rowsParam("100")},
		Formats:     []string{"CSV"},
		layout:      func(_ map[string]string, seed uint64) rowLayout { return participantsLayout{seed: seed} },
	},
}

func findReportType(name string) *reportType {
	for i := range reportTypes {
		if reportTypes[i].Name == name {
			return &reportTypes[i]
		}
	}
	return nil
}

// reportRecord is one report. Only cancelled changes after creation.
type reportRecord struct {
	id, typ, format, requestID, fileName string
	params                               map[string]string // as requested; read-only
	fail                                 bool
	layout                               rowLayout
	rows, size                           int64
	created                              time.Time
	cancelled                            time.Time // guarded by store.mu; zero unless cancelled

	sumOnce sync.Once
	sum     string // set by sumOnce
}

// content returns a fresh reader of the report's content.
func (rec *reportRecord) content() *contentReader { return newContentReader(rec.layout, rec.rows) }

// sha256 returns the content's hash, generating the content the first
// time. This is lazy because most reports are never looked at once
// SUCCEEDED, and it runs outside the store's lock because it takes seconds
// for a GiB; concurrent first callers wait for the one computation.
func (rec *reportRecord) sha256() string {
	rec.sumOnce.Do(func() {
		h := sha256.New()
		_, _ = rec.content().WriteTo(h) // hash writes never fail
		rec.sum = hex.EncodeToString(h.Sum(nil))
	})
	return rec.sum
}

// reportJSON is the wire form of a report.
type reportJSON struct {
	ID          string            `json:"id"`
	ReportType  string            `json:"report_type"`
	Parameters  map[string]string `json:"parameters"`
	Format      string            `json:"format"`
	RequestID   string            `json:"request_id"`
	State       string            `json:"state"`
	SizeBytes   int64             `json:"size_bytes"`
	SHA256      string            `json:"sha256"`
	FileName    string            `json:"file_name"`
	ContentType string            `json:"content_type"`
	CreateTime  time.Time         `json:"create_time"`
	UpdateTime  time.Time         `json:"update_time"`

	rec *reportRecord // for finish
}

// finish fills in size_bytes and sha256 of a SUCCEEDED report. It is
// called outside the store's lock since the hash may need computing.
func (v *reportJSON) finish() {
	if v.State == reportSucceeded {
		v.SizeBytes, v.SHA256 = v.rec.size, v.rec.sha256()
	}
}

// reportView renders rec as seen at now, except for what finish adds.
// The caller holds s.reports.mu.
func (s *Sandbox) reportView(rec *reportRecord, now time.Time) reportJSON {
	if !rec.cancelled.IsZero() {
		now = rec.cancelled
	}
	n, at := stage(rec.created, now, s.step, reportSteps)
	v := reportJSON{
		ID: rec.id, ReportType: rec.typ, Parameters: rec.params, Format: rec.format, RequestID: rec.requestID,
		FileName: rec.fileName, ContentType: "text/csv", CreateTime: rec.created, UpdateTime: at, rec: rec,
		State: [...]string{reportQueued, reportRunning, reportSucceeded}[n],
	}
	switch {
	case !rec.cancelled.IsZero():
		v.State, v.UpdateTime = reportCancelled, rec.cancelled
	case n == reportSteps && rec.fail:
		v.State = reportFailed
	}
	return v
}

// handleReportTypes serves GET /v1/report-types.
func (s *Sandbox) handleReportTypes(w http.ResponseWriter, r *http.Request) {
	if methodAllowed(w, r, http.MethodGet) {
		writeJSON(w, http.StatusOK, map[string][]reportType{"report_types": reportTypes})
	}
}

// handleReports serves POST (create) and GET (list) /v1/reports.
func (s *Sandbox) handleReports(w http.ResponseWriter, r *http.Request) {
	if !methodAllowed(w, r, http.MethodGet, http.MethodPost) {
		return
	}
	if r.Method == http.MethodPost {
		s.createReport(w, r)
		return
	}
	q := r.URL.Query()
	p, aerr := parsePage(q, 50)
	state, typ := q.Get("state"), q.Get("report_type")
	switch {
	case aerr != nil:
	case state != "" && !slices.Contains(reportStates, state):
		aerr = errRequest("state", "unknown report state")
	case typ != "" && findReportType(typ) == nil:
		aerr = errInvalid("invalid_report_type", "report_type", "unknown report type")
	}
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	now := s.now()
	s.reports.mu.Lock()
	list, next := newestFirst(s.reports.lists[clientIDFrom(r.Context())], p, func(rec *reportRecord) (reportJSON, bool) {
		v := s.reportView(rec, now)
		return v, (typ == "" || v.ReportType == typ) && (state == "" || v.State == state)
	})
	s.reports.mu.Unlock()
	for i := range list {
		list[i].finish()
	}
	writeJSON(w, http.StatusOK, struct {
		Reports       []reportJSON `json:"reports"`
		NextPageToken string       `json:"next_page_token"`
	}{list, next})
}

// reportRequest is the body of POST /v1/reports.
type reportRequest struct {
	ReportType string `json:"report_type"`
	// Values are raw so that a non-string value is reported as that
	// parameter's invalid_parameter rather than as a malformed body.
	Parameters map[string]json.RawMessage `json:"parameters"`
	Format     string                     `json:"format"`
}

// decodeReportRequest reads a reportRequest, refusing unknown fields so
// that a misspelt field is not silently ignored.
func decodeReportRequest(body io.Reader) (reportRequest, *apiError) {
	var req reportRequest
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	err := dec.Decode(&req)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("data after the JSON object")
	}
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return req, nil
	case errors.As(err, &typeErr):
		return req, errRequest(typeErr.Field, "wrong JSON type")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return req, errRequest(field, "unknown field")
	}
	return req, errRequest("", "the body must be one JSON object: "+err.Error())
}

// resolve validates the requested parameters and returns them as given and
// with defaults filled in. Names are checked in sorted order so the error
// for a request with several bad parameters is deterministic.
func (t *reportType) resolve(raw map[string]json.RawMessage) (given, resolved map[string]string, aerr *apiError) {
	given = make(map[string]string, len(raw))
	for _, name := range slices.Sorted(maps.Keys(raw)) {
		i := slices.IndexFunc(t.Parameters, func(p paramSpec) bool { return p.Name == name })
		if i < 0 {
			return nil, nil, errInvalid("invalid_parameter", name, "unknown parameter")
		}
		var v string
		if b := raw[name]; len(b) == 0 || b[0] != '"' || json.Unmarshal(b, &v) != nil {
			return nil, nil, errInvalid("invalid_parameter", name, "must be a JSON string")
		}
		if msg := t.Parameters[i].check(v); msg != "" {
			return nil, nil, errInvalid("invalid_parameter", name, msg)
		}
		given[name] = v
	}
	resolved = maps.Clone(given)
	for _, p := range t.Parameters {
		if _, ok := given[p.Name]; !ok {
			if p.Required {
				return nil, nil, errInvalid("invalid_parameter", p.Name, "required parameter is missing")
			}
			resolved[p.Name] = p.def
		}
	}
	return given, resolved, nil
}

// createReport serves POST /v1/reports. The body is small and read before
// the key is looked up, so looking up and creating are one atomic step and
// idempotency_key_in_use cannot arise for reports.
func (s *Sandbox) createReport(w http.ResponseWriter, r *http.Request) {
	client := clientIDFrom(r.Context())
	key, aerr := idempotencyKey(r)
	var req reportRequest
	if aerr == nil {
		req, aerr = decodeReportRequest(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	}
	var typ *reportType
	if aerr == nil {
		switch typ = findReportType(req.ReportType); {
		case req.ReportType == "":
			aerr = errRequest("report_type", "report_type is required")
		case typ == nil:
			aerr = errInvalid("invalid_report_type", "report_type", "unknown report type "+req.ReportType)
		}
	}
	var given, resolved map[string]string
	if aerr == nil {
		given, resolved, aerr = typ.resolve(req.Parameters)
	}
	if req.Format == "" {
		req.Format = "CSV"
	}
	switch {
	case aerr != nil:
	case !slices.Contains(reportFormats, req.Format):
		aerr = errRequest("format", "format must be one of "+strings.Join(reportFormats, ", "))
	case !slices.Contains(typ.Formats, req.Format):
		aerr = errInvalid("unsupported_format", "format", "this report is only available as "+strings.Join(typ.Formats, ", "))
	}
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}

	// Parameters are fingerprinted as given, and json.Marshal sorts map keys.
	fpb, _ := json.Marshal([]any{typ.Name, given, req.Format})
	fp := string(fpb)
	now := s.now().UTC()
	s.reports.mu.Lock()
	k := idemKey{client, key}
	if e := s.reports.keys.get(k, now); e != nil { // never for key ""
		v, aerr := reportJSON{}, idemCheck(e, e.fp == fp)
		if aerr == nil {
			v = s.reportView(s.reports.get(client, e.id), now)
		}
		s.reports.mu.Unlock()
		if aerr == nil {
			v.finish()
		}
		answer(w, http.StatusOK, v, aerr)
		return
	}
	rec := s.newReport(typ, given, resolved, req.Format, key, now)
	s.reports.add(client, rec.id, rec)
	if key != "" {
		s.reports.keys.complete(s.reports.keys.reserve(k), fp, rec.id, now)
	}
	v := s.reportView(rec, now)
	s.reports.mu.Unlock()
	s.stats.reportsCreated.Add(1)
	s.log.Info("sandbox: report created", "client_id", client, "report_id", rec.id, "report_type", rec.typ, "rows", rec.rows)
	writeJSON(w, http.StatusCreated, v)
}

// newReport builds a report record. The content's seed hashes the id and
// the resolved parameters, so content is a function of both.
func (s *Sandbox) newReport(typ *reportType, given, resolved map[string]string, format, key string, now time.Time) *reportRecord {
	rec := &reportRecord{
		id: newID("rpt_"), typ: typ.Name, format: format, requestID: key, params: given,
		fail: resolved["simulate_failure"] == "true", created: now,
	}
	rec.rows, _ = strconv.ParseInt(resolved["rows"], 10, 64) // validated
	h := fnv.New64a()
	p, _ := json.Marshal(resolved)
	_, _ = fmt.Fprintf(h, "%s\x00%s\x00%s", rec.id, typ.Name, p)
	rec.layout = typ.layout(resolved, h.Sum64())
	rec.size = contentSize(rec.layout, rec.rows)
	date := resolved["as_of"]
	if date == "" {
		date = now.Format(time.DateOnly)
	}
	rec.fileName = typ.Name + "-" + date + ".csv"
	return rec
}

// withReport renders client's report id through f under the store's lock,
// then finishes the view and answers outside it.
func (s *Sandbox) withReport(w http.ResponseWriter, r *http.Request, f func(*reportRecord, time.Time) (reportJSON, *apiError)) {
	now := s.now().UTC()
	s.reports.mu.Lock()
	rec := s.reports.get(clientIDFrom(r.Context()), r.PathValue("id"))
	v, aerr := reportJSON{}, errNotFound
	if rec != nil {
		v, aerr = f(rec, now)
	}
	s.reports.mu.Unlock()
	if aerr == nil {
		v.finish()
	}
	answer(w, http.StatusOK, v, aerr)
}

// handleReport serves GET /v1/reports/{id}.
func (s *Sandbox) handleReport(w http.ResponseWriter, r *http.Request) {
	if methodAllowed(w, r, http.MethodGet) {
		s.withReport(w, r, func(rec *reportRecord, now time.Time) (reportJSON, *apiError) {
			return s.reportView(rec, now), nil
		})
	}
}

// handleCancelReport serves POST /v1/reports/{id}/cancel.
func (s *Sandbox) handleCancelReport(w http.ResponseWriter, r *http.Request) {
	if methodAllowed(w, r, http.MethodPost) {
		s.withReport(w, r, func(rec *reportRecord, now time.Time) (reportJSON, *apiError) {
			if v := s.reportView(rec, now); v.State != reportQueued && v.State != reportRunning {
				return reportJSON{}, errConflict("not_cancellable", "the report has finished")
			}
			rec.cancelled = now
			return s.reportView(rec, now), nil
		})
	}
}

// handleReportContent serves GET /v1/reports/{id}/content, streaming the
// generated content so that no report is ever held in memory.
func (s *Sandbox) handleReportContent(w http.ResponseWriter, r *http.Request) {
	if !methodAllowed(w, r, http.MethodGet) {
		return
	}
	var v reportJSON
	s.reports.mu.Lock()
	if rec := s.reports.get(clientIDFrom(r.Context()), r.PathValue("id")); rec != nil {
		v = s.reportView(rec, s.now())
	}
	s.reports.mu.Unlock()
	switch {
	case v.rec == nil:
		writeAPIError(w, errNotFound)
		return
	case v.State != reportSucceeded:
		writeAPIError(w, errConflict("report_not_ready", "the report is "+v.State))
		return
	}
	v.finish()
	h := w.Header()
	h.Set("Content-Type", v.ContentType)
	h.Set("Content-Length", strconv.FormatInt(v.SizeBytes, 10))
	h.Set("Content-Disposition", `attachment; filename="`+v.FileName+`"`)
	h.Set("X-Content-SHA256", v.SHA256)
	w.WriteHeader(http.StatusOK)
	s.stats.downloads.Add(1)
	if _, err := io.Copy(w, v.rec.content()); err != nil {
		s.log.Debug("sandbox: download cut short", "report_id", v.ID, "err", err.Error())
	}
}
