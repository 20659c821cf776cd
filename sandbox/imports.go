package sandbox

import (
	"errors"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Import states, in lifecycle order.
const (
	importQueued     = "QUEUED"
	importValidating = "VALIDATING"
	importProcessing = "PROCESSING"
	importCompleted  = "COMPLETED"
	importFailed     = "FAILED"
	importCancelled  = "CANCELLED"
)

// importSteps is how many steps an import takes to reach a terminal state.
const importSteps = 3

// importStates are the valid values of the state filter.
var importStates = []string{importQueued, importValidating, importProcessing, importCompleted, importFailed, importCancelled}

// importRecord is one import. Only cancelled changes after creation.
type importRecord struct {
	id, importType, fileName, contentType, requestID, sum string
	size                                                  int64
	created                                               time.Time
	res                                                   validation
	cancelled                                             time.Time // guarded by store.mu; zero unless cancelled
}

// importJSON is the wire form of an import.
type importJSON struct {
	ID           string    `json:"id"`
	ImportType   string    `json:"import_type"`
	FileName     string    `json:"file_name"`
	ContentType  string    `json:"content_type"`
	RequestID    string    `json:"request_id"`
	State        string    `json:"state"`
	RowsTotal    int64     `json:"rows_total"`
	RowsAccepted int64     `json:"rows_accepted"`
	RowsRejected int64     `json:"rows_rejected"`
	SizeBytes    int64     `json:"size_bytes"`
	SHA256       string    `json:"sha256"`
	CreateTime   time.Time `json:"create_time"`
	UpdateTime   time.Time `json:"update_time"`
}

// importStage returns how far rec has got at now: the number of completed
// steps, frozen at the instant of cancellation if it was cancelled.
func (s *Sandbox) importStage(rec *importRecord, now time.Time) (int, time.Time) {
	if !rec.cancelled.IsZero() {
		now = rec.cancelled
	}
	return stage(rec.created, now, s.step, importSteps)
}

// importView renders rec as seen at now. The caller holds s.imports.mu.
// Counts are validation results, so they appear once validation is over
// (from PROCESSING on) although they were computed during the upload.
func (s *Sandbox) importView(rec *importRecord, now time.Time) importJSON {
	n, at := s.importStage(rec, now)
	v := importJSON{
		ID: rec.id, ImportType: rec.importType, FileName: rec.fileName, ContentType: rec.contentType,
		RequestID: rec.requestID, SizeBytes: rec.size, SHA256: rec.sum,
		CreateTime: rec.created, UpdateTime: at,
		State: [...]string{importQueued, importValidating, importProcessing, importCompleted}[n],
	}
	if n == importSteps && rec.res.failed() {
		v.State = importFailed
	}
	if n >= 2 {
		v.RowsTotal, v.RowsAccepted, v.RowsRejected = rec.res.total, rec.res.accepted, rec.res.rejected
	}
	if !rec.cancelled.IsZero() {
		v.State, v.UpdateTime = importCancelled, rec.cancelled
	}
	return v
}

// handleImportTypes serves GET /v1/import-types.
func (s *Sandbox) handleImportTypes(w http.ResponseWriter, r *http.Request) {
	if methodAllowed(w, r, http.MethodGet) {
		writeJSON(w, http.StatusOK, map[string][]importType{"import_types": importTypes})
	}
}

// handleImports serves POST (create) and GET (list) /v1/imports.
func (s *Sandbox) handleImports(w http.ResponseWriter, r *http.Request) {
	if !methodAllowed(w, r, http.MethodGet, http.MethodPost) {
		return
	}
	if r.Method == http.MethodPost {
		s.createImport(w, r)
		return
	}
	q := r.URL.Query()
	p, aerr := parsePage(q, 50)
	state, typ := q.Get("state"), q.Get("import_type")
	switch {
	case aerr != nil:
	case state != "" && !slices.Contains(importStates, state):
		aerr = errRequest("state", "unknown import state")
	case typ != "" && findImportType(typ) == nil:
		aerr = errInvalid("invalid_import_type", "import_type", "unknown import type")
	}
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	now := s.now()
	s.imports.mu.Lock()
	list, next := newestFirst(s.imports.lists[clientIDFrom(r.Context())], p, func(rec *importRecord) (importJSON, bool) {
		v := s.importView(rec, now)
		return v, (typ == "" || v.ImportType == typ) && (state == "" || v.State == state)
	})
	s.imports.mu.Unlock()
	writeJSON(w, http.StatusOK, struct {
		Imports       []importJSON `json:"imports"`
		NextPageToken string       `json:"next_page_token"`
	}{list, next})
}

// importRequest is what POST /v1/imports says before its body.
type importRequest struct {
	typ                        *importType
	fileName, contentType, key string
	sum                        string // X-Content-SHA256, if given
	fp                         string // idempotency fingerprint without the body's hash
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// parseImportRequest checks everything that can be checked before reading
// the body, so that a client using Expect: 100-continue never sends a body
// the server would refuse.
func parseImportRequest(r *http.Request) (importRequest, *apiError) {
	q := r.URL.Query()
	req := importRequest{fileName: q.Get("file_name"), sum: r.Header.Get("X-Content-SHA256")}
	if name := q.Get("import_type"); name == "" {
		return req, errRequest("import_type", "import_type is required")
	} else if req.typ = findImportType(name); req.typ == nil {
		return req, errInvalid("invalid_import_type", "import_type", "unknown import type "+name)
	}
	switch {
	case req.fileName == "":
		return req, errRequest("file_name", "file_name is required")
	case len(req.fileName) > 255 || strings.ContainsFunc(req.fileName, func(c rune) bool { return c < 0x20 || c == 0x7f }):
		return req, errRequest("file_name", "must be at most 255 bytes without control characters")
	case req.sum != "" && !sha256Hex.MatchString(req.sum):
		return req, errRequest("X-Content-SHA256", "must be 64 lower-case hex digits")
	}
	// A missing media type is taken to be the type's first format; a wrong
	// one is refused, since the file would be misread.
	req.contentType = req.typ.FileFormats[0]
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !slices.Contains(req.typ.FileFormats, mt) {
			return req, errRequest("content_type", "must be one of "+strings.Join(req.typ.FileFormats, ", "))
		}
		req.contentType = mt
	}
	var aerr *apiError
	if req.key, aerr = idempotencyKey(r); aerr != nil {
		return req, aerr
	}
	req.fp = req.typ.Name + "\x00" + req.fileName + "\x00"
	return req, nil
}

var (
	errEmptyFile   = errInvalid("empty_file", "", "the upload has no bytes")
	errTooLarge    = &apiError{status: http.StatusRequestEntityTooLarge, code: "file_too_large", desc: "the upload exceeds the size limit"}
	errChecksum    = &apiError{status: http.StatusUnprocessableEntity, code: "checksum_mismatch", field: "X-Content-SHA256", desc: "the body's SHA-256 differs from X-Content-SHA256"}
	errUploadAbort = errRequest("", "the upload ended early")
)

// createImport serves POST /v1/imports. Nothing is created until the whole
// body has arrived and checked out, so an aborted upload leaves no trace
// except in Stats.UploadsAborted.
func (s *Sandbox) createImport(w http.ResponseWriter, r *http.Request) {
	client := clientIDFrom(r.Context())
	req, aerr := parseImportRequest(r)
	switch {
	case aerr != nil:
	case r.ContentLength > s.maxUpload:
		aerr = errTooLarge
	case r.ContentLength == 0:
		aerr = errEmptyFile
	}
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}

	// Reserve the key before reading the body, so a retry racing a slow
	// upload is told idempotency_key_in_use instead of creating a twin.
	// A key whose import exists is decided now if the body's hash is
	// declared or the rest differs, and after reading the body otherwise.
	k := idemKey{client, req.key}
	var mine *idemEntry
	if req.key != "" {
		s.imports.mu.Lock()
		e := s.imports.keys.get(k, s.now())
		if e == nil {
			mine = s.imports.keys.reserve(k)
		} else if e.inFlight() || !strings.HasPrefix(e.fp, req.fp) || req.sum != "" {
			v, aerr := s.originalImport(e, e.fp == req.fp+req.sum)
			s.imports.mu.Unlock()
			answer(w, http.StatusOK, v, aerr)
			return
		}
		s.imports.mu.Unlock()
		defer func() {
			if mine != nil { // still reserved: this request created nothing
				s.imports.mu.Lock()
				s.imports.keys.release(mine)
				s.imports.mu.Unlock()
			}
		}()
	}

	up, err := receive(http.MaxBytesReader(w, r.Body, s.maxUpload), req.typ)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		aerr = errTooLarge
	case err != nil:
		s.stats.uploadsAborted.Add(1)
		s.log.Info("sandbox: upload aborted", "client_id", client, "import_type", req.typ.Name, "err", err.Error())
		aerr = errUploadAbort // probably to no one
	case up.size == 0:
		aerr = errEmptyFile
	case req.sum != "" && req.sum != up.sum:
		aerr = errChecksum
	}
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}

	now := s.now().UTC()
	fp := req.fp + up.sum
	s.imports.mu.Lock()
	var e *idemEntry
	if req.key != "" {
		if e = s.imports.keys.get(k, now); e == nil { // the original expired while this body arrived
			e = s.imports.keys.reserve(k)
			mine = e
		}
	}
	if e != nil && e != mine {
		v, aerr := s.originalImport(e, e.fp == fp)
		s.imports.mu.Unlock()
		answer(w, http.StatusOK, v, aerr)
		return
	}
	rec := &importRecord{
		id: newID("imp_"), importType: req.typ.Name, fileName: req.fileName, contentType: req.contentType,
		requestID: req.key, sum: up.sum, size: up.size, created: now, res: up.res,
	}
	s.imports.add(client, rec.id, rec)
	if mine != nil {
		s.imports.keys.complete(mine, fp, rec.id, now)
		mine = nil
	}
	v := s.importView(rec, now)
	s.imports.mu.Unlock()
	s.stats.importsCreated.Add(1)
	s.log.Info("sandbox: import created", "client_id", client, "import_id", rec.id, "import_type", rec.importType,
		"size_bytes", rec.size, "rows", up.res.total, "rejected", up.res.rejected)
	writeJSON(w, http.StatusCreated, v)
}

// originalImport decides a request whose Idempotency-Key is known: the
// original import if the requests match, else a 409. The caller holds
// s.imports.mu.
func (s *Sandbox) originalImport(e *idemEntry, match bool) (importJSON, *apiError) {
	if aerr := idemCheck(e, match); aerr != nil {
		return importJSON{}, aerr
	}
	return s.importView(s.imports.get(e.key.client, e.id), s.now()), nil
}

// answer writes v with status, or aerr if it is not nil.
func answer(w http.ResponseWriter, status int, v any, aerr *apiError) {
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	writeJSON(w, status, v)
}

// withImport renders client's import id through f under the store's lock,
// then answers outside it, so a slow client never holds the lock.
func (s *Sandbox) withImport(w http.ResponseWriter, r *http.Request, f func(*importRecord, time.Time) (importJSON, *apiError)) {
	now := s.now().UTC()
	s.imports.mu.Lock()
	rec := s.imports.get(clientIDFrom(r.Context()), r.PathValue("id"))
	v, aerr := importJSON{}, errNotFound
	if rec != nil {
		v, aerr = f(rec, now)
	}
	s.imports.mu.Unlock()
	answer(w, http.StatusOK, v, aerr)
}

// handleImport serves GET /v1/imports/{id}.
func (s *Sandbox) handleImport(w http.ResponseWriter, r *http.Request) {
	if methodAllowed(w, r, http.MethodGet) {
		s.withImport(w, r, func(rec *importRecord, now time.Time) (importJSON, *apiError) {
			return s.importView(rec, now), nil
		})
	}
}

// handleImportErrors serves GET /v1/imports/{id}/errors. Like the counts,
// errors are listed once validation is over (from PROCESSING on).
func (s *Sandbox) handleImportErrors(w http.ResponseWriter, r *http.Request) {
	if !methodAllowed(w, r, http.MethodGet) {
		return
	}
	p, aerr := parsePage(r.URL.Query(), 100)
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	s.imports.mu.Lock()
	rec := s.imports.get(clientIDFrom(r.Context()), r.PathValue("id"))
	var n int
	if rec != nil {
		n, _ = s.importStage(rec, s.now())
	}
	s.imports.mu.Unlock()
	if rec == nil {
		writeAPIError(w, errNotFound)
		return
	}
	var errs []rowError // immutable once created, so readable without the lock
	if n >= 2 {
		errs = rec.res.errors
	}
	list, next := inOrder(errs, p)
	writeJSON(w, http.StatusOK, struct {
		Errors        []rowError `json:"errors"`
		NextPageToken string     `json:"next_page_token"`
	}{list, next})
}

// handleCancelImport serves POST /v1/imports/{id}/cancel. The import is
// frozen in CANCELLED at this instant unless it is already terminal.
func (s *Sandbox) handleCancelImport(w http.ResponseWriter, r *http.Request) {
	if methodAllowed(w, r, http.MethodPost) {
		s.withImport(w, r, func(rec *importRecord, now time.Time) (importJSON, *apiError) {
			if n, _ := s.importStage(rec, now); n == importSteps || !rec.cancelled.IsZero() {
				return importJSON{}, errConflict("not_cancellable", "the import has finished")
			}
			rec.cancelled = now
			return s.importView(rec, now), nil
		})
	}
}
