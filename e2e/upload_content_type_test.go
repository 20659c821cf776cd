package e2e_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"testing"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/server"
)

// TestUploadContentTypeFromFileName: the natural curl uploads work — curl
// -F file=@people.csv labels the part application/octet-stream, curl
// --data-binary @people.csv labels the body a form, and a plain client
// sends no type — because the gateway takes the type from the file name.
// A file EEO does not take is INVALID_ARGUMENT naming content_type and the
// formats ListImportTypes lists.
func TestUploadContentTypeFromFileName(t *testing.T) {
	s := newStack(t, stackOptions{})
	file := participantsFile(4<<10, "ctype")

	post := func(t *testing.T, query url.Values, contentType string, body []byte) (int, []byte) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.restURL+importsPath+"?"+query.Encode(), bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		code, _, respBody := s.send(t, req)
		return code, respBody
	}
	// multipartAs is curl -F file=@<name>: the part typed octet-stream.
	multipartAs := func(t *testing.T, fileName string) (int, []byte) {
		t.Helper()
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, fileName))
		h.Set("Content-Type", "application/octet-stream")
		part, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		part.Write(file)
		mw.Close()
		return post(t, url.Values{"importType": {"participants"}}, mw.FormDataContentType(), b.Bytes())
	}
	accepted := func(t *testing.T, code int, body []byte) {
		t.Helper()
		var resp eeov1.CreateImportResponse
		decodeREST(t, "upload", code, body, &resp)
		if got := resp.GetDataImport().GetContentType(); got != "text/csv" {
			t.Errorf("import content_type = %q, want text/csv", got)
		}
	}
	csvQuery := url.Values{"importType": {"participants"}, "fileName": {"people.csv"}}

	t.Run("curl -F file=@people.csv", func(t *testing.T) {
		code, body := multipartAs(t, "people.csv")
		accepted(t, code, body)
	})
	t.Run("curl --data-binary @people.csv", func(t *testing.T) {
		code, body := post(t, csvQuery, "application/x-www-form-urlencoded", file)
		accepted(t, code, body)
	})
	t.Run("raw application/octet-stream", func(t *testing.T) {
		code, body := post(t, csvQuery, "application/octet-stream", file)
		accepted(t, code, body)
	})
	t.Run("raw without a type", func(t *testing.T) {
		code, body := post(t, csvQuery, "", file)
		accepted(t, code, body)
	})
	for _, refused := range []struct{ name, how string }{
		{"people.xlsx", "multipart"},
		{"people.json", "raw"},
	} {
		t.Run("EEO refuses "+refused.name+" ("+refused.how+")", func(t *testing.T) {
			var code int
			var body []byte
			if refused.how == "multipart" {
				code, body = multipartAs(t, refused.name)
			} else {
				code, body = post(t, url.Values{"importType": {"participants"}, "fileName": {refused.name}}, "application/octet-stream", file)
			}
			if code != http.StatusBadRequest {
				t.Fatalf("HTTP %d %s, want 400", code, body)
			}
			reason, fields := restStatus(t, body)
			if reason != server.ReasonUnsupportedContentType || !slices.Contains(fields, "content_type") {
				t.Errorf("reason %q fields %q, want %s naming content_type", reason, fields, server.ReasonUnsupportedContentType)
			}
			if !strings.Contains(string(body), "accepted: text/csv") {
				t.Errorf("the refusal does not list the accepted formats: %s", body)
			}
		})
	}
}
