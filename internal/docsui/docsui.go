// Package docsui serves the API docs page: Swagger UI pointed at the
// gateway's own /openapi.json, with "Authorize" and "Try it out".
//
// Swagger UI is vendored in swagger-ui/ from the npm package
// swagger-ui-dist at the version pinned in the Makefile (`make docs-ui`
// fetches it, `make check-docs-ui` fails on drift) and embedded in the
// binary: nothing is fetched at run time, and the page's
// Content-Security-Policy keeps the browser from fetching anything but the
// gateway's own origin, so the page works offline.
package docsui

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed page swagger-ui
var files embed.FS

// ContentSecurityPolicy is sent with every docs response. Scripts and styles
// come only from the gateway, and no inline script or style runs; Swagger
// UI's icons are data: URIs; "Try it out" calls the gateway's own origin
// (connect-src 'self'). e2e's browser test fails on any violation.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// asset is one embedded file. It is served straight from the binary's
// read-only data (embed.FS files are io.ReadSeekers over it):
// embed.FS.ReadFile would copy every file (2.3 MiB of Swagger UI) onto the
// heap for the process's life, and the GC sizes its heap goal on live
// bytes, so that copy cost about twice its size in peak RSS even when
// nobody opens the docs.
type asset struct {
	path string // in the handler's file system
	etag string
}

// Handler serves the docs page at prefix (which ends in "/"), its script and
// the vendored Swagger UI files below it. It is public and read-only: the
// page holds no data, and every API call it makes carries the credentials
// the user gives to "Authorize".
//
// Every file is read through once here, for its ETag, so a file the binary
// cannot read is found at start-up rather than served as an empty 200. The
// files are the binary's own data, so that would be a broken build: Handler
// panics then, naming the file.
func Handler(prefix string) http.Handler {
	h, err := newHandler(files, prefix)
	if err != nil {
		panic(err)
	}
	return h
}

// newHandler is Handler over fsys, which holds the page in page/ and
// Swagger UI in swagger-ui/ as the embedded files do. It fails if a file
// cannot be read to its end or cannot be served (is not an io.ReadSeeker).
func newHandler(fsys fs.FS, prefix string) (http.Handler, error) {
	assets := map[string]asset{}
	// One buffer for every file: hashing allocates no more per file than
	// its digest.
	buf := make([]byte, 32<<10)
	for _, root := range []string{"page", "swagger-ui"} {
		err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			etag, err := etagOf(fsys, p, buf)
			if err != nil {
				return err
			}
			assets[strings.TrimPrefix(p, "page/")] = asset{path: p, etag: etag}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("docsui: %w", err)
		}
	}
	index, ok := assets["index.html"]
	if !ok {
		return nil, errors.New("docsui: no page/index.html")
	}
	assets[""] = index
	types := map[string]string{"": "text/html; charset=utf-8"}
	for name := range assets {
		if name != "" {
			types[name] = contentType(name)
		}
	}

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name, ok := strings.CutPrefix(r.URL.Path, prefix)
		a, found := assets[name]
		if !ok || !found {
			http.NotFound(w, r)
			return
		}
		h.Set("Content-Type", types[name])
		// Revalidate each time: an upgraded gateway must not run with a
		// cached page from the previous version.
		h.Set("Cache-Control", "no-cache")
		f, err := fsys.Open(a.path)
		if err != nil {
			http.Error(w, "docs asset unavailable", http.StatusInternalServerError)
			return
		}
		defer f.Close()
		h.Set("ETag", a.etag)
		// newHandler checked that each file is an io.ReadSeeker.
		http.ServeContent(w, r, name, time.Time{}, f.(io.ReadSeeker))
	}), nil
}

// etagOf reads the file at p to its end (through buf) and returns its
// ETag, the start of its SHA-256.
func etagOf(fsys fs.FS, p string, buf []byte) (string, error) {
	f, err := fsys.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, ok := f.(io.ReadSeeker); !ok {
		return "", fmt.Errorf("serving %s: not an io.ReadSeeker", p)
	}
	h := sha256.New()
	// Only Read: an io.WriterTo or io.ReaderFrom would bypass buf.
	if _, err := io.CopyBuffer(h, struct{ io.Reader }{f}, buf); err != nil {
		return "", fmt.Errorf("reading %s: %w", p, err)
	}
	return `"` + hex.EncodeToString(h.Sum(nil)[:8]) + `"`, nil
}

// contentType is the extension's registered type; the files without one
// (LICENSE, NOTICE) and .txt files are plain text.
func contentType(name string) string {
	if ctype := mime.TypeByExtension(path.Ext(name)); ctype != "" {
		return ctype
	}
	return "text/plain; charset=utf-8"
}
