package server_test

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/eeo"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"github.com/eeo-gateway/eeo-gateway/server"
)

// upstreamCodeReasons is the ErrorInfo reason each eeo.Code* constant becomes
// on GetImport, with the HTTP status EEO sends that code with. It is keyed
// by the constant's name: TestEveryEEOCodeMapsToADocumentedReason reads the
// names from eeo's source, so a code added to or renamed in eeo/ without an
// entry here fails instead of silently falling to EEO_BAD_REQUEST.
var upstreamCodeReasons = map[string]struct {
	status int
	err    error // the cause, for codes the client sets without a response
	reason string
}{
	"CodeInvalidRequest":         {400, nil, server.ReasonEEOBadRequest},
	"CodeInvalidImportType":      {400, nil, server.ReasonInvalidImportType},
	"CodeInvalidReportType":      {400, nil, server.ReasonInvalidReportType},
	"CodeInvalidParameter":       {400, nil, server.ReasonInvalidParameter},
	"CodeUnsupportedFormat":      {400, nil, server.ReasonUnsupportedFormat},
	"CodeEmptyFile":              {400, nil, server.ReasonEmptyFile},
	"CodeNotFound":               {404, nil, server.ReasonImportNotFound},
	"CodeIdempotencyKeyReused":   {409, nil, server.ReasonRequestIDReused},
	"CodeIdempotencyKeyInUse":    {409, nil, server.ReasonRequestInProgress},
	"CodeNotCancellable":         {409, nil, server.ReasonNotCancellable},
	"CodeReportNotReady":         {409, nil, server.ReasonReportNotReady},
	"CodeFileTooLarge":           {413, nil, server.ReasonUploadTooLarge},
	"CodeChecksumMismatch":       {422, nil, server.ReasonChecksumMismatch},
	"CodeRateLimited":            {429, nil, server.ReasonEEORateLimited},
	"CodeMalformedResponse":      {200, nil, server.ReasonEEOMalformedResponse},
	"CodeTokenRejected":          {401, nil, server.ReasonEEOTokenRejected},
	"CodeTokenRejectedMidUpload": {401, nil, server.ReasonEEOTokenRejectedUpload},
	"CodeCircuitOpen":            {0, nil, server.ReasonEEOCircuitOpen},
	"CodeConcurrencyLimited":     {0, context.DeadlineExceeded, server.ReasonEEOConcurrencyLimited},
}

func TestEveryEEOCodeMapsToADocumentedReason(t *testing.T) {
	codes := eeoCodeConstants(t)
	if len(codes) == 0 {
		t.Fatal("found no Code* constants in eeo/")
	}
	documented := documentedReasons(t)
	g := startGateway(t, nil)
	client := eeov1.NewImportReportServiceClient(g.conn)
	for name, value := range codes {
		want, ok := upstreamCodeReasons[name]
		if !ok {
			t.Errorf("eeo.%s (%q) has no entry in upstreamCodeReasons: map it in server/upstream_errors.go and document its reason in the README", name, value)
			continue
		}
		if !documented[want.reason] {
			t.Errorf("eeo.%s maps to %s, which the README's error table does not list", name, want.reason)
		}
		g.up.failWith(&eeo.Error{Op: "get import", StatusCode: want.status, Code: value, Err: want.err})
		_, err := client.GetImport(t.Context(), &eeov1.GetImportRequest{Account: "demo", ImportId: "imp_1"})
		if got := testkit.ErrorInfo(t, err).GetReason(); got != want.reason {
			t.Errorf("eeo.%s (HTTP %d): reason %s, want %s (%v)", name, want.status, got, want.reason, err)
		}
	}
	for name := range upstreamCodeReasons {
		if _, ok := codes[name]; !ok {
			t.Errorf("upstreamCodeReasons names eeo.%s, which eeo/ no longer declares", name)
		}
	}
}

// eeoCodeConstants returns eeo's exported string constants named Code*, by
// name, read from its source so that the list cannot drift from it.
func eeoCodeConstants(t *testing.T) map[string]string {
	t.Helper()
	return stringConstants(t, "../eeo", "Code")
}

// stringConstants returns the exported string constants of the package in
// dir whose names start with prefix, by name.
func stringConstants(t *testing.T, dir, prefix string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	consts := map[string]string{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if !strings.HasPrefix(n.Name, prefix) || !n.IsExported() || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						continue // an alias of another package's constant, checked there
					}
					v, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					consts[n.Name] = v
				}
			}
		}
	}
	return consts
}

func TestEveryServerReasonIsDocumented(t *testing.T) {
	documented := documentedReasons(t)
	reasons := stringConstants(t, ".", "Reason")
	if len(reasons) == 0 {
		t.Fatal("found no Reason* constants in server/")
	}
	for name, v := range reasons {
		if !documented[v] {
			t.Errorf("server.%s (%s) is not in the README's error table", name, v)
		}
	}
}

// documentedReasons returns every reason in the README's error table.
func documentedReasons(t *testing.T) map[string]bool {
	t.Helper()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start := strings.Index(text, "### Errors")
	if start < 0 {
		t.Fatal(`README has no "### Errors" section`)
	}
	text = text[start:]
	if end := strings.Index(text[len("### Errors"):], "\n#"); end >= 0 {
		text = text[:len("### Errors")+end]
	}
	reasons := map[string]bool{}
	backticked := regexp.MustCompile("`([A-Z][A-Z0-9_]+)`")
	for line := range strings.SplitSeq(text, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 6 { // | situation | code | HTTP | reason | retry |
			continue
		}
		for _, m := range backticked.FindAllStringSubmatch(cells[4], -1) {
			reasons[m[1]] = true
		}
	}
	if len(reasons) == 0 {
		t.Fatal("README error table lists no reasons")
	}
	return reasons
}
