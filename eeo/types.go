package eeo

import (
	"io"
	"time"
)

// Import states, as EEO spells them. QUEUED → VALIDATING → PROCESSING →
// COMPLETED | FAILED, or CANCELLED from any non-terminal state.
const (
	ImportQueued     = "QUEUED"
	ImportValidating = "VALIDATING"
	ImportProcessing = "PROCESSING"
	ImportCompleted  = "COMPLETED"
	ImportFailed     = "FAILED"
	ImportCancelled  = "CANCELLED"
)

// Report states, as EEO spells them. QUEUED → RUNNING → SUCCEEDED | FAILED,
// or CANCELLED from a non-terminal state.
const (
	ReportQueued    = "QUEUED"
	ReportRunning   = "RUNNING"
	ReportSucceeded = "SUCCEEDED"
	ReportFailed    = "FAILED"
	ReportCancelled = "CANCELLED"
)

// Upload is a file to import. Body is read once and streamed to EEO; it is
// never buffered whole.
type Upload struct {
	// ImportType names an import type from ListImportTypes.
	ImportType string
	// FileName is the file's name, recorded on the import.
	FileName string
	// ContentType is the file's media type; empty means "text/csv".
	ContentType string
	// RequestID, if set, is sent as the Idempotency-Key.
	RequestID string
	// ExpectedSHA256, if set, is the hex SHA-256 of the body (sent in lower
	// case); EEO refuses a body that does not match (422
	// checksum_mismatch).
	ExpectedSHA256 string
	// Size is the body's exact length; -1 or 0 when unknown, which sends it
	// chunked. A body that ends short of a positive Size, or runs past it,
	// fails with a *BodyError.
	Size int64
	// Body is the file's content. CreateImport never closes it; when it
	// returns, no Read of Body is in progress and none starts later, even
	// if EEO answered before the end of the file. The one exception is a
	// Read still blocked when the call's context ended, or when nothing
	// had moved for Options.StreamIdleTimeout: it is abandoned rather than
	// waited for, so CreateImport returns and that Read may complete
	// later, its result dropped. So Body must allow such a Read to overlap
	// whatever the caller does with it afterwards (as an io.Pipe does), and
	// its Read should return once the caller gives up (as an io.Pipe's does
	// when either end is closed).
	Body io.Reader
}

// ListQuery selects one page of a list. Zero values are not sent, so EEO's
// defaults apply.
type ListQuery struct {
	// PageSize is the most items wanted; EEO caps it (1000).
	PageSize int
	// PageToken is a previous page's NextPageToken; empty for the first page.
	PageToken string
	// State filters by state (e.g. ImportCompleted). Ignored for import errors.
	State string
	// Type filters by import_type or report_type. Ignored for import errors.
	Type string
}

// ReportRequest asks EEO to run a report.
type ReportRequest struct {
	// ReportType names a report type from ListReportTypes.
	ReportType string
	// Parameters are the report's parameters; values are always strings.
	Parameters map[string]string
	// Format is "CSV", "XLSX" or "PDF"; empty lets EEO choose.
	Format string
	// RequestID, if set, is sent as the Idempotency-Key.
	RequestID string
}

// Download is a report's content as EEO streams it.
type Download struct {
	// Body is the live response body; the caller must close it. Reading it
	// fails once the context given to DownloadReport ends.
	Body io.ReadCloser
	// ContentType is the content's media type as EEO sent it.
	ContentType string
	// ContentLength is the body's length; -1 when unknown.
	ContentLength int64
	// FileName is the name from Content-Disposition reduced to its last
	// path element; empty when absent or unusable.
	FileName string
	// SHA256 is EEO's lower-case hex SHA-256 of the content
	// (X-Content-SHA256); empty when absent or not 64 hex digits.
	SHA256 string
}

// ImportType describes a kind of file EEO imports.
type ImportType struct {
	// Name identifies the type in CreateImport.
	Name string `json:"name"`
	// Description is EEO's text for people.
	Description string `json:"description"`
	// FileFormats are the accepted media types.
	FileFormats []string `json:"file_formats"`
	// RequiredColumns must be present and non-empty in every row.
	RequiredColumns []string `json:"required_columns"`
	// OptionalColumns may be present.
	OptionalColumns []string `json:"optional_columns"`
}

// Import is an uploaded file and its processing state.
type Import struct {
	// ID is EEO's id, "imp_…".
	ID string `json:"id"`
	// ImportType is the type the file was imported as.
	ImportType string `json:"import_type"`
	// FileName is the name given at upload.
	FileName string `json:"file_name"`
	// ContentType is the media type given at upload.
	ContentType string `json:"content_type"`
	// RequestID is the Idempotency-Key it was created with, if any.
	RequestID string `json:"request_id"`
	// State is one of the Import* state constants.
	State string `json:"state"`
	// RowsTotal, RowsAccepted and RowsRejected are final from PROCESSING on.
	RowsTotal    int64 `json:"rows_total"`
	RowsAccepted int64 `json:"rows_accepted"`
	RowsRejected int64 `json:"rows_rejected"`
	// SizeBytes is the length of the body EEO received.
	SizeBytes int64 `json:"size_bytes"`
	// SHA256 is the lower-case hex SHA-256 of the body EEO received.
	SHA256 string `json:"sha256"`
	// CreateTime and UpdateTime are EEO's timestamps.
	CreateTime time.Time `json:"create_time"`
	UpdateTime time.Time `json:"update_time"`
}

// ImportPage is one page of imports, newest first.
type ImportPage struct {
	// Imports are the page's imports.
	Imports []Import `json:"imports"`
	// NextPageToken fetches the next page; empty on the last.
	NextPageToken string `json:"next_page_token"`
}

// ImportError is one failed validation check of an import's row.
type ImportError struct {
	// Row is the 1-based data row; 0 for the header.
	Row int64 `json:"row"`
	// Column names the column checked.
	Column string `json:"column"`
	// Message is EEO's text for people.
	Message string `json:"message"`
}

// ImportErrorPage is one page of an import's errors, in row order.
type ImportErrorPage struct {
	// Errors are the page's row errors.
	Errors []ImportError `json:"errors"`
	// NextPageToken fetches the next page; empty on the last.
	NextPageToken string `json:"next_page_token"`
}

// ReportParameter describes one parameter of a report type.
type ReportParameter struct {
	// Name is the key in ReportRequest.Parameters.
	Name string `json:"name"`
	// Type is STRING, INTEGER, DATE (YYYY-MM-DD) or BOOLEAN.
	Type string `json:"type"`
	// Required parameters must be given.
	Required bool `json:"required"`
	// Description is EEO's text for people.
	Description string `json:"description"`
}

// ReportType describes a report EEO can run.
type ReportType struct {
	// Name identifies the type in CreateReport.
	Name string `json:"name"`
	// Description is EEO's text for people.
	Description string `json:"description"`
	// Parameters are the parameters the report takes.
	Parameters []ReportParameter `json:"parameters"`
	// Formats are the formats it can be produced in.
	Formats []string `json:"formats"`
}

// Report is a requested report and its state.
type Report struct {
	// ID is EEO's id, "rpt_…".
	ID string `json:"id"`
	// ReportType is the type requested.
	ReportType string `json:"report_type"`
	// Parameters are the parameters requested.
	Parameters map[string]string `json:"parameters"`
	// Format is the format requested (or chosen by EEO).
	Format string `json:"format"`
	// RequestID is the Idempotency-Key it was created with, if any.
	RequestID string `json:"request_id"`
	// State is one of the Report* state constants.
	State string `json:"state"`
	// SizeBytes and SHA256 describe the content once SUCCEEDED.
	SizeBytes int64  `json:"size_bytes"`
	SHA256    string `json:"sha256"`
	// FileName and ContentType are what the download will carry.
	FileName    string `json:"file_name"`
	ContentType string `json:"content_type"`
	// CreateTime and UpdateTime are EEO's timestamps.
	CreateTime time.Time `json:"create_time"`
	UpdateTime time.Time `json:"update_time"`
}

// ReportPage is one page of reports, newest first.
type ReportPage struct {
	// Reports are the page's reports.
	Reports []Report `json:"reports"`
	// NextPageToken fetches the next page; empty on the last.
	NextPageToken string `json:"next_page_token"`
}
