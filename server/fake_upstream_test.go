package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eeo-gateway/eeo-gateway/eeo"
)

// fakeUpstream is an in-memory EEO for the gateway's own logic: it records
// what each upload delivered and can hold uploads open or fail calls.
type fakeUpstream struct {
	mu       sync.Mutex
	imports  map[string]eeo.Import // guarded by mu
	reports  map[string]eeo.Report // guarded by mu
	content  map[string][]byte     // guarded by mu; report content
	uploads  []upload              // guarded by mu; every CreateImport call
	fail     error                 // guarded by mu; returned by every call while set
	hold     chan struct{}         // guarded by mu; CreateImport waits on it after reading the body
	started  chan struct{}         // receives when CreateImport starts reading, if set
	events   chan upload           // receives every finished CreateImport body, if set
	corrupt  bool                  // guarded by mu; report the wrong SHA-256 for uploads
	download func() io.ReadCloser  // guarded by mu; overrides report content
	n        int                   // guarded by mu
	panics   atomic.Bool           // CreateReport panics while set
	types    []eeo.ImportType      // set before use; ListImportTypes returns these instead of participants
}

// upload is what one CreateImport call received.
type upload struct {
	u       eeo.Upload
	bytes   int64
	sha256  string
	readErr error // non-nil when the body failed: no import was created
}

func newFakeUpstream() *fakeUpstream {
	return &fakeUpstream{imports: map[string]eeo.Import{}, reports: map[string]eeo.Report{}, content: map[string][]byte{}}
}

func (f *fakeUpstream) failWith(err error) { f.mu.Lock(); f.fail = err; f.mu.Unlock() }

func (f *fakeUpstream) failure() error { f.mu.Lock(); defer f.mu.Unlock(); return f.fail }

func (f *fakeUpstream) recorded() []upload {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]upload(nil), f.uploads...)
}

func (f *fakeUpstream) importCount() int { f.mu.Lock(); defer f.mu.Unlock(); return len(f.imports) }

func (f *fakeUpstream) ListImportTypes(context.Context) ([]eeo.ImportType, error) {
	if err := f.failure(); err != nil {
		return nil, err
	}
	if f.types != nil {
		return f.types, nil
	}
	return []eeo.ImportType{{Name: "participants", FileFormats: []string{"text/csv"}, RequiredColumns: []string{"participant_id"}}}, nil
}

func (f *fakeUpstream) CreateImport(ctx context.Context, u eeo.Upload) (eeo.Import, error) {
	if err := f.failure(); err != nil {
		return eeo.Import{}, err
	}
	if f.started != nil {
		f.started <- struct{}{}
	}
	h := sha256.New()
	n, readErr := io.Copy(h, u.Body)
	rec := upload{u: u, bytes: n, sha256: hex.EncodeToString(h.Sum(nil)), readErr: readErr}
	u.Body = nil
	f.mu.Lock()
	f.uploads = append(f.uploads, rec)
	hold := f.hold
	f.mu.Unlock()
	if f.events != nil {
		f.events <- rec
	}
	if readErr != nil {
		return eeo.Import{}, &eeo.BodyError{Err: readErr}
	}
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return eeo.Import{}, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	imp := eeo.Import{ID: fmt.Sprintf("imp_%d", f.n), ImportType: u.ImportType, FileName: u.FileName, ContentType: u.ContentType,
		RequestID: u.RequestID, State: "QUEUED", SizeBytes: n, SHA256: rec.sha256, CreateTime: time.Now(), UpdateTime: time.Now()}
	if f.corrupt {
		imp.SHA256 = "00" + imp.SHA256[2:]
	}
	f.imports[imp.ID] = imp
	return imp, nil
}

func (f *fakeUpstream) GetImport(_ context.Context, id string) (eeo.Import, error) {
	if err := f.failure(); err != nil {
		return eeo.Import{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	imp, ok := f.imports[id]
	if !ok {
		return eeo.Import{}, &eeo.Error{Op: "get import", StatusCode: 404, Code: "not_found"}
	}
	return imp, nil
}

func (f *fakeUpstream) setImportState(id, state string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	imp := f.imports[id]
	imp.State = state
	f.imports[id] = imp
}

func (f *fakeUpstream) ListImports(context.Context, eeo.ListQuery) (eeo.ImportPage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var page eeo.ImportPage
	for _, imp := range f.imports {
		page.Imports = append(page.Imports, imp)
	}
	return page, nil
}

func (f *fakeUpstream) ListImportErrors(context.Context, string, eeo.ListQuery) (eeo.ImportErrorPage, error) {
	return eeo.ImportErrorPage{Errors: []eeo.ImportError{{Row: 2, Column: "email", Message: "not an email address"}}}, nil
}

func (f *fakeUpstream) CancelImport(_ context.Context, id string) (eeo.Import, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	imp, ok := f.imports[id]
	if !ok {
		return eeo.Import{}, &eeo.Error{Op: "cancel import", StatusCode: 404, Code: "not_found"}
	}
	if imp.State == "COMPLETED" {
		return eeo.Import{}, &eeo.Error{Op: "cancel import", StatusCode: 409, Code: "not_cancellable"}
	}
	imp.State = "CANCELLED"
	f.imports[id] = imp
	return imp, nil
}

func (f *fakeUpstream) ListReportTypes(context.Context) ([]eeo.ReportType, error) {
	return []eeo.ReportType{{Name: "grants", Parameters: []eeo.ReportParameter{{Name: "as_of", Type: "DATE", Required: true}}, Formats: []string{"CSV"}}}, nil
}

func (f *fakeUpstream) CreateReport(_ context.Context, r eeo.ReportRequest) (eeo.Report, error) {
	if f.panics.Load() {
		panic("fake upstream: CreateReport panics")
	}
	if err := f.failure(); err != nil {
		return eeo.Report{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	content := bytes.Repeat([]byte("grant_id,shares\n"), 100_000)
	sum := sha256.Sum256(content)
	rep := eeo.Report{ID: fmt.Sprintf("rpt_%d", f.n), ReportType: r.ReportType, Parameters: r.Parameters, Format: r.Format,
		RequestID: r.RequestID, State: "SUCCEEDED", SizeBytes: int64(len(content)), SHA256: hex.EncodeToString(sum[:]),
		FileName: "grants.csv", ContentType: "text/csv"}
	f.reports[rep.ID] = rep
	f.content[rep.ID] = content
	return rep, nil
}

func (f *fakeUpstream) GetReport(_ context.Context, id string) (eeo.Report, error) {
	if err := f.failure(); err != nil {
		return eeo.Report{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	rep, ok := f.reports[id]
	if !ok {
		return eeo.Report{}, &eeo.Error{Op: "get report", StatusCode: 404, Code: "not_found"}
	}
	return rep, nil
}

func (f *fakeUpstream) setReportState(id, state string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rep := f.reports[id]
	rep.State = state
	f.reports[id] = rep
}

func (f *fakeUpstream) ListReports(context.Context, eeo.ListQuery) (eeo.ReportPage, error) {
	return eeo.ReportPage{}, nil
}

func (f *fakeUpstream) CancelReport(ctx context.Context, id string) (eeo.Report, error) {
	return f.GetReport(ctx, id)
}

func (f *fakeUpstream) DownloadReport(_ context.Context, id string) (*eeo.Download, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rep, ok := f.reports[id]
	if !ok {
		return nil, &eeo.Error{Op: "download report", StatusCode: 404, Code: "not_found"}
	}
	body := io.NopCloser(bytes.NewReader(f.content[id]))
	if f.download != nil {
		body = f.download()
	}
	return &eeo.Download{Body: body, ContentType: rep.ContentType, ContentLength: rep.SizeBytes, FileName: rep.FileName, SHA256: rep.SHA256}, nil
}
