package server

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/eeo-gateway/eeo-gateway/eeo"
	"github.com/eeo-gateway/eeo-gateway/internal/rpcerr"
	"google.golang.org/grpc/codes"
)

// ReasonUnsupportedContentType: EEO does not accept the upload's media
// type for its import type; the BadRequest names content_type and the
// formats ListImportTypes lists.
const ReasonUnsupportedContentType = "UNSUPPORTED_CONTENT_TYPE"

// Media types that say nothing about the file: none, the generic binary
// type curl -F and many tools send for a file they do not know, and the
// form type curl --data-binary sends by default.
const (
	mediaTypeOctetStream = "application/octet-stream"
	mediaTypeFormURL     = "application/x-www-form-urlencoded"
)

// fileMediaTypes are the formats EEO imports in, by file name extension.
// They come before mime.TypeByExtension, whose answers depend on the
// machine's mime.types files (some map .csv to text/comma-separated-values,
// some have no .tsv).
var fileMediaTypes = map[string]string{
	".csv":  "text/csv",
	".tsv":  "text/tab-separated-values",
	".txt":  "text/plain",
	".json": "application/json",
	".xml":  "application/xml",
	".xls":  "application/vnd.ms-excel",
	".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".zip":  "application/zip",
}

// defaultUploadType is the media type of an upload with neither a type nor
// a file name that says one: EEO's import types all take CSV.
const defaultUploadType = "text/csv"

// uploadContentType is the media type to send EEO: the caller's, unless it
// says nothing about the file (none, application/octet-stream), in which
// case the file name's extension decides; failing that, CSV for no type
// and application/octet-stream as given (EEO then refuses it, with the
// formats it accepts).
func uploadContentType(given, fileName string) string {
	if given != "" && given != mediaTypeOctetStream {
		return given
	}
	ext := strings.ToLower(path.Ext(fileName))
	if t, ok := fileMediaTypes[ext]; ok {
		return t
	}
	if ext != "" {
		if mt, _, err := mime.ParseMediaType(mime.TypeByExtension(ext)); err == nil {
			return mt
		}
	}
	if given == "" {
		return defaultUploadType
	}
	return given
}

// contentTypeRefused reports whether EEO refused an upload for its media
// type: a 415, or a 400/422 naming the Content-Type.
func contentTypeRefused(err error) bool {
	var ee *eeo.Error
	if !errors.As(err, &ee) {
		return false
	}
	switch ee.StatusCode {
	case http.StatusUnsupportedMediaType:
		return true
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		f := strings.ToLower(strings.ReplaceAll(ee.Field, "-", "_"))
		return f == "content_type"
	}
	return false
}

// unsupportedContentType is INVALID_ARGUMENT naming content_type and the
// formats EEO lists for the import type (looked up with ListImportTypes;
// without them if that fails).
func unsupportedContentType(ctx context.Context, up Upstream, u eeo.Upload) error {
	var formats []string
	if types, err := up.ListImportTypes(ctx); err == nil {
		for _, t := range types {
			if t.Name == u.ImportType {
				formats = t.FileFormats
			}
		}
	}
	msg := "EEO does not accept " + u.ContentType + " for import type " + u.ImportType
	if len(formats) > 0 {
		msg += "; accepted: " + strings.Join(formats, ", ")
	}
	return rpcerr.New(codes.InvalidArgument, ReasonUnsupportedContentType, msg,
		map[string]string{"content_type": u.ContentType, "accepted": strings.Join(formats, ",")},
		rpcerr.BadRequest("content_type", msg))
}
