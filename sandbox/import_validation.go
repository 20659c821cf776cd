package sandbox

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"io"
	"slices"
	"strings"
	"time"
)

// maxRowErrors bounds the row errors kept per import; counts stay exact.
const maxRowErrors = 10_000

// importType is a kind of file the sandbox accepts, as listed by
// GET /v1/import-types.
type importType struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	FileFormats []string `json:"file_formats"`
	Required    []string `json:"required_columns"`
	Optional    []string `json:"optional_columns"`
}

// importTypes are built in: the gateway discovers them, so tests have no
// reason to configure others.
var importTypes = []importType{
	{
		Name:        "participants",
		Description: "Adds or updates plan participants.",
		FileFormats: []string{"text/csv"},
		Required:    []string{"participant_id", "first_name", "last_name", "email"},
		Optional:    []string{"department"},
	},
	{
		Name:        "grants",
		Description: "Records equity grants to participants.",
		FileFormats: []string{"text/csv"},
		Required:    []string{"grant_id", "participant_id", "grant_date", "shares"},
		Optional:    []string{"plan"},
	},
	{
		Name:        "terminations",
		Description: "Records participants' termination dates.",
		FileFormats: []string{"text/csv"},
		Required:    []string{"participant_id", "termination_date"},
		Optional:    []string{"reason"},
	},
}

func findImportType(name string) *importType {
	for i := range importTypes {
		if importTypes[i].Name == name {
			return &importTypes[i]
		}
	}
	return nil
}

// rowError is one failed check, as listed by GET /v1/imports/{id}/errors.
// Row 0 is the header; data rows count from 1.
type rowError struct {
	Row     int64  `json:"row"`
	Column  string `json:"column"`
	Message string `json:"message"`
}

// validation is the outcome of checking a file.
type validation struct {
	total, accepted, rejected int64
	errors                    []rowError // the first maxRowErrors
	// broken marks a file that cannot be imported at all: a missing
	// required column or unparseable CSV. Every row then counts as rejected.
	broken bool
}

// failed reports whether the import ends FAILED rather than COMPLETED.
func (v *validation) failed() bool { return v.broken || v.accepted == 0 }

func (v *validation) addError(e rowError) {
	if len(v.errors) < maxRowErrors {
		v.errors = append(v.errors, e)
	}
}

// colCheck is the validation of one header column.
type colCheck struct {
	idx      int
	name     string
	required bool
	format   func(string) string // returns what is wrong with a non-empty value, or ""
}

// formatCheck returns the check the contract applies to columns named
// name, whatever the import type, or nil.
func formatCheck(name string) func(string) string {
	switch {
	case name == "email":
		return checkEmail
	case strings.HasSuffix(name, "_date"):
		return checkDate
	case name == "quantity" || name == "shares":
		return checkPositive
	}
	return nil
}

func checkEmail(v string) string {
	if i := strings.IndexByte(v, '@'); i <= 0 || i == len(v)-1 || strings.Count(v, "@") != 1 {
		return "must contain one @ with text on both sides"
	}
	return ""
}

func checkDate(v string) string {
	if _, err := time.Parse(time.DateOnly, v); err != nil {
		return "must be a date in YYYY-MM-DD form"
	}
	return ""
}

func checkPositive(v string) string {
	if len(v) > 18 || strings.ContainsFunc(v, func(c rune) bool { return c < '0' || c > '9' }) || strings.Trim(v, "0") == "" {
		return "must be a positive integer"
	}
	return ""
}

// validator checks CSV records one at a time, so a file of any size is
// validated in constant memory (apart from the bounded error list).
type validator struct {
	typ    *importType
	header bool // the header row has been seen
	checks []colCheck
	res    validation
}

// record checks the next record of the file.
func (v *validator) record(rec []string) {
	switch {
	case !v.header:
		v.header = true
		v.readHeader(rec)
	case v.res.broken:
		v.res.total++
	default:
		v.row(rec)
	}
}

// readHeader maps the columns the checks need. Unknown columns are
// ignored; a repeated column is checked at its first position.
func (v *validator) readHeader(rec []string) {
	if len(rec) > 0 {
		rec[0] = strings.TrimPrefix(rec[0], "\uFEFF") // spreadsheet programs write a BOM
	}
	var missing []string
	for _, name := range v.typ.Required {
		if !slices.Contains(rec, name) {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		v.res.broken = true
		v.res.addError(rowError{Row: 0, Column: missing[0], Message: "header lacks required column(s): " + strings.Join(missing, ", ")})
		return
	}
	for i, name := range rec {
		if slices.ContainsFunc(v.checks, func(c colCheck) bool { return c.name == name }) {
			continue
		}
		required := slices.Contains(v.typ.Required, name)
		if format := formatCheck(name); required || format != nil {
			v.checks = append(v.checks, colCheck{idx: i, name: name, required: required, format: format})
		}
	}
}

// row checks a data row; each failing check is one row error.
func (v *validator) row(rec []string) {
	v.res.total++
	ok := true
	for _, c := range v.checks {
		val := ""
		if c.idx < len(rec) {
			val = rec[c.idx]
		}
		msg := ""
		switch {
		case val == "":
			if c.required {
				msg = "required value is empty"
			}
		case c.format != nil:
			msg = c.format(val)
		}
		if msg != "" {
			ok = false
			v.res.addError(rowError{Row: v.res.total, Column: c.name, Message: msg})
		}
	}
	if ok {
		v.res.accepted++
	} else {
		v.res.rejected++
	}
}

// unparseable records that the CSV could not be parsed past this point.
func (v *validator) unparseable(err error) {
	row := int64(0)
	if v.header {
		v.res.total++
		row = v.res.total
	}
	v.res.broken = true
	v.res.addError(rowError{Row: row, Message: "invalid CSV: " + err.Error()})
}

// finish returns the outcome once the whole file has been read.
func (v *validator) finish() validation {
	switch {
	case !v.header && !v.res.broken:
		v.res.broken = true
		v.res.addError(rowError{Row: 0, Message: "file has no header row"})
	case v.res.total == 0 && !v.res.broken:
		v.res.addError(rowError{Row: 0, Message: "file has no data rows"})
	}
	if v.res.broken {
		v.res.accepted, v.res.rejected = 0, v.res.total
	}
	return v.res
}

// upload is a received file.
type upload struct {
	size int64
	sum  string // lower-case hex SHA-256
	res  validation
}

// sourceReader counts the bytes of a request body and remembers its first
// read error, so that a failing body can be told from unparseable CSV after
// encoding/csv has returned either.
type sourceReader struct {
	r   io.Reader
	n   int64
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.n += int64(n)
	if err != nil && !errors.Is(err, io.EOF) && s.err == nil {
		s.err = err
	}
	return n, err
}

// receive reads body to its end, hashing and validating it in the same
// pass so that the file is never held in memory. It returns the body's
// read error, if any; unparseable CSV is not an error but an outcome.
func receive(body io.Reader, typ *importType) (upload, error) {
	src := &sourceReader{r: body}
	h := sha256.New()
	tee := io.TeeReader(src, h)
	cr := csv.NewReader(tee)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1 // short and long rows are row errors, not parse errors
	v := &validator{typ: typ}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if src.err == nil {
				v.unparseable(err)
			}
			break
		}
		v.record(rec)
	}
	// After a parse error the rest must still be hashed (and counted
	// against the limit); after EOF this reads nothing.
	if src.err == nil {
		_, _ = io.Copy(io.Discard, tee)
	}
	if src.err != nil {
		return upload{}, src.err
	}
	return upload{size: src.n, sum: hex.EncodeToString(h.Sum(nil)), res: v.finish()}, nil
}
