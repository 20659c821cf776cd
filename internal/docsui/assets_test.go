package docsui_test

import (
	"errors"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/eeo-gateway/eeo-gateway/internal/docsui"
)

var errDisk = errors.New("input/output error")

// brokenFS is fsys whose file bad opens but fails on Read, as a file on a
// failing disk does, and whose file unseekable opens without Seek.
type brokenFS struct {
	fstest.MapFS
	bad, unseekable string
}

func (b brokenFS) Open(name string) (fs.File, error) {
	f, err := b.MapFS.Open(name)
	switch {
	case err != nil:
		return nil, err
	case name == b.bad:
		return unreadable{f}, nil
	case name == b.unseekable:
		return struct{ fs.File }{f}, nil
	}
	return f, nil
}

// unreadable is a seekable file whose every Read fails.
type unreadable struct{ fs.File }

func (unreadable) Read([]byte) (int, error)            { return 0, errDisk }
func (u unreadable) Seek(int64, int) (int64, error)    { return 0, nil }
func (u unreadable) ReadAt([]byte, int64) (int, error) { return 0, errDisk }

func pageFS() fstest.MapFS {
	return fstest.MapFS{
		"page/index.html":           {Data: []byte("<!doctype html><title>docs</title>")},
		"page/docs.js":              {Data: []byte("// page script")},
		"swagger-ui/swagger-ui.css": {Data: []byte("body{}")},
	}
}

// A docs file that cannot be read is an error when the handler is built,
// naming the file and keeping the cause, not an empty 200 when the page is
// opened; so is one that cannot be served with ranges and revalidation.
func TestUnreadableAssetFailsConstruction(t *testing.T) {
	if _, err := docsui.NewHandler(brokenFS{MapFS: pageFS(), bad: "swagger-ui/swagger-ui.css"}, "/docs/"); !errors.Is(err, errDisk) ||
		!strings.Contains(err.Error(), "swagger-ui/swagger-ui.css") {
		t.Errorf("unreadable file: %v, want an error naming it and wrapping %v", err, errDisk)
	}
	if _, err := docsui.NewHandler(brokenFS{MapFS: pageFS(), unseekable: "page/docs.js"}, "/docs/"); err == nil ||
		!strings.Contains(err.Error(), "page/docs.js") {
		t.Errorf("unseekable file: %v, want an error naming it", err)
	}
	missing := pageFS()
	delete(missing, "page/index.html")
	if _, err := docsui.NewHandler(missing, "/docs/"); err == nil {
		t.Error("no index.html: no error")
	}
}

// The same handler over readable files serves them, so the failures above
// are the files' and not the fake file system's.
func TestHandlerServesItsFileSystem(t *testing.T) {
	h, err := docsui.NewHandler(brokenFS{MapFS: pageFS()}, "/docs/")
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"/docs/":                          "<!doctype html><title>docs</title>",
		"/docs/swagger-ui/swagger-ui.css": "body{}",
	} {
		resp := get(t, h, http.MethodGet, path, nil)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || string(body) != want || resp.Header.Get("ETag") == "" {
			t.Errorf("GET %s: %d %q ETag %q, want 200 %q with an ETag", path, resp.StatusCode, body, resp.Header.Get("ETag"), want)
		}
	}
}
